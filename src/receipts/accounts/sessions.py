"""Database sessions filed under a digest of the cookie's value, never under the value itself.

Django's database backend stores each session under the key the browser sends
as its cookie, so whoever reads the session table (a copy of the database, a
backup) can log in as every signed-in user. This backend files the row under
the first 40 hex digits of SHA-256 of that key instead: the browser's key
finds its row, a value read from the table is no cookie. Session keys are 32
random characters (over 160 bits), so the digest cannot be turned back into a
key. Rows written before this backend are never found again and expire.

Set with ``SESSION_ENGINE = "receipts.accounts.sessions"``; cycling keys,
``exists`` and ``clearsessions`` work as with Django's own backend.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

# The length of django_session.session_key.
DIGEST_LENGTH = 40


def stored_key(session_key: str) -> str:
    """The primary key of a session's row: a digest of the key the browser holds."""
    return hashlib.sha256(session_key.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


class SessionStore(db.SessionStore):
    """Django's database session store, with rows filed under ``stored_key``."""

    def _get_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        try:
            return self.model.objects.get(
                session_key=stored_key(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation):
            self._session_key = None
            return None

    async def _aget_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        try:
            return await self.model.objects.aget(
                session_key=stored_key(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation):
            self._session_key = None
            return None

    def exists(self, session_key: str) -> bool:
        return bool(self.model.objects.filter(session_key=stored_key(session_key)).exists())

    async def aexists(self, session_key: str) -> bool:
        return bool(await self.model.objects.filter(session_key=stored_key(session_key)).aexists())

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        return self.model(
            session_key=stored_key(self._get_or_create_session_key()),  # type: ignore[attr-defined]
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data: dict[str, Any]) -> Any:
        return self.model(
            session_key=stored_key(await self._aget_or_create_session_key()),  # type: ignore[attr-defined]
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=stored_key(session_key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        await self.model.objects.filter(session_key=stored_key(session_key)).adelete()
