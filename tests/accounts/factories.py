"""Builders for two-factor tests: enrolled users, codes computed with django-otp's own TOTP."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import hotp

from receipts.accounts import services
from receipts.accounts.models import AuthenticatorApp

PASSWORD = "correct horse battery staple"


def make_user_with_password(username: str, **kwargs: Any) -> User:
    return User.objects.create_user(username=username, password=PASSWORD, **kwargs)


def _time_step(device: AuthenticatorApp) -> int:
    return (int(time.time()) - device.t0) // device.step


def code_at(device: AuthenticatorApp, t: int) -> str:
    return str(hotp(device.bin_key, t, device.digits)).zfill(device.digits)


def next_code(device: AuthenticatorApp) -> str:
    """The app's current code, or the next one if the current one is used up.

    The device accepts one step either side of now, and never a step at or
    before the last one it accepted; a test has room for two or three codes.
    """
    device.refresh_from_db()
    return code_at(device, max(_time_step(device), device.last_t + 1))


def wrong_code(device: AuthenticatorApp) -> str:
    """A code the device cannot accept now: none of the codes near the current time."""
    device.refresh_from_db()
    now = _time_step(device) + device.drift
    near = {code_at(device, t) for t in range(now - 3, now + 4)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def enrol(user: User) -> services.Enrolled:
    """Two-factor login turned on through the services, as the set-up page does."""
    device = services.start_enrolment(user)
    return services.confirm_enrolment(user, next_code(device))


def password_login(client: Client, user: User, next_path: str = "/") -> None:
    """Log in through Django's login page, as a browser does."""
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "next": next_path}
    )
    assert response.status_code == 302, response.content[:500]
