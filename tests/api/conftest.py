"""Builders for API tests: a writer's token and the header that carries it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from receipts.api.tokens import issue_token
from tests.factories import make_editor


def bearer(token: str) -> dict[str, str]:
    """Request headers that send ``token`` as a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def post_json(client: Client, path: str, body: Any, token: str | None = None) -> Any:
    headers = bearer(token) if token is not None else {}
    return client.post(path, body, content_type="application/json", headers=headers)


def patch_json(client: Client, path: str, body: Any, token: str | None = None) -> Any:
    headers = bearer(token) if token is not None else {}
    return client.patch(path, body, content_type="application/json", headers=headers)


@pytest.fixture
def writer_token(db: None) -> str:
    """A live token of a user allowed to record evidence."""
    make_editor("writer")
    return issue_token("writer", "tests")
