"""Small builders for test data. Each call makes fresh rows through the services."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import Permission, User

from receipts.evidence import services
from receipts.evidence.models import Entity, Source, Tie

_counter = itertools.count(1)


def make_entity(name: str | None = None, kind: str = "company", **kwargs: Any) -> Entity:
    return services.save_entity(name=name or f"Entity {next(_counter)}", kind=kind, **kwargs)


def make_source(title: str | None = None, kind: str = "news_report", **kwargs: Any) -> Source:
    return services.save_source(title=title or f"Report {next(_counter)}", kind=kind, **kwargs)


def make_tie(
    subject: Entity, kind: str, obj: Entity, source: Source | None = None, **kwargs: Any
) -> Tie:
    source = source or make_source()
    return services.record_tie(
        subject, obj, kind, citations=[services.CitationInput(source, "a quote", "p. 1")], **kwargs
    )


def make_editor(username: str = "editor", password: str = "correct horse battery") -> User:
    """A user allowed to record evidence (add/change ties, entities and sources)."""
    user = User.objects.create_user(username=username, password=password)
    perms = Permission.objects.filter(
        content_type__app_label="evidence",
        codename__in=[
            f"{action}_{model}"
            for action in ("add", "change", "delete", "view")
            for model in ("entity", "tie", "source", "citation", "identifier")
        ],
    )
    user.user_permissions.set(perms)
    return user


def login_verified(client: Any, user: User) -> User:
    """Log ``user`` in as having passed two-factor login, enrolling a device if needed.

    Supporter-data pages ask organisers for a second factor; tests that are not
    about two-factor login start from a verified login.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return user
