"""Every change to a user's two-factor login goes through these functions.

Invariant: no code is checked while the user is locked out, and every code
checked (authenticator or recovery, at verification, at set-up or when turning
off) either resets the user's wrong-code counter or adds one to it, in the same
transaction as the check. Five wrong codes in a row lock the user out for five
minutes; each further five double the lockout, up to a day. The counter lives
in the database, not in the browser's session, so a fresh session or a second
browser does not start a fresh count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_otp.models import Device

from receipts.outreach import crypto

from . import keys, recovery
from .models import AuthenticatorApp, CodeAttempts, RecoveryCode, RecoveryCodeSet

FAILURES_PER_LOCKOUT = 5
FIRST_LOCKOUT = timedelta(minutes=5)
LONGEST_LOCKOUT = timedelta(days=1)
DEVICE_NAME = "Authenticator app"
TOTP_DIGITS = 6


KEY_UNAVAILABLE = (
    "The key of this authenticator app cannot be opened: the login keyring is missing or "
    "is not the one it was sealed with. An administrator restores the keyring, or deletes "
    "this device so that the app can be set up again."
)


class CodeRefused(Exception):
    """The code was wrong, malformed, or not checked at all; the message says which."""


class LockedOut(CodeRefused):
    """Too many wrong codes in a row: no code is checked before ``until``."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
        super().__init__(
            f"Too many wrong codes. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class Enrolled:
    """A confirmed authenticator app and its recovery codes, in printed form, shown once."""

    device: AuthenticatorApp
    code_set: RecoveryCodeSet
    recovery_codes: list[str]


@dataclass(frozen=True)
class Verified:
    """The device that accepted a code, and how many recovery codes are left."""

    device: Device
    used_recovery_code: bool
    recovery_codes_left: int


def is_totp_shaped(code: str) -> bool:
    # ASCII digits only: int() would also take "١٢٣٤٥٦", "+12345" and "12_345".
    return len(code) == TOTP_DIGITS and all("0" <= c <= "9" for c in code)


# A code check: the device that accepted the code, or None.
Check = Callable[[], Device | None]


def lockout_after(failures: int) -> timedelta | None:
    """How long the failures-th wrong code in a row locks the user out, if at all."""
    if failures <= 0 or failures % FAILURES_PER_LOCKOUT != 0:
        return None
    # Capped before the power: 5 minutes times 2**9 is already past a day.
    doublings = min(failures // FAILURES_PER_LOCKOUT - 1, 9)
    return min(FIRST_LOCKOUT * 2**doublings, LONGEST_LOCKOUT)


def _count_attempt(user: Any, check: Check) -> Device | None:
    """Run ``check`` under the user's lockout and count its answer.

    Call inside a transaction that commits even when the code is wrong: the
    caller raises ``CodeRefused`` only after it, or the count would roll back
    and guessing would be free. The counter row is locked for update first, so
    two requests of one user check their codes one after the other (a TOTP
    code cannot be used twice, nor the count be raced).
    """
    CodeAttempts.objects.get_or_create(user=user)
    attempts = CodeAttempts.objects.select_for_update().get(user=user)
    now = timezone.now()
    if attempts.locked_until is not None and attempts.locked_until > now:
        return None
    device = check()
    if device is not None:
        attempts.failures = 0
        attempts.locked_until = None
    else:
        attempts.failures += 1
        lockout = lockout_after(attempts.failures)
        if lockout is not None:
            attempts.locked_until = now + lockout
    attempts.save(update_fields=["failures", "locked_until"])
    return device


def _refuse(user: Any) -> CodeRefused:
    """The refusal for a code that was not accepted: a lockout, or a wrong code."""
    until = CodeAttempts.objects.filter(user=user).values_list("locked_until", flat=True).first()
    if until is not None and until > timezone.now():
        return LockedOut(until)
    return CodeRefused("That code is not right. Check the time on your phone and try again.")


def _totp_check(user: Any, code: str, *, confirmed: bool) -> Check:
    def check() -> Device | None:
        # Loaded under the counter's row lock, so last_t is the latest one.
        device = (
            AuthenticatorApp.objects.select_for_update()
            .filter(user=user, confirmed=confirmed)
            .order_by("-id")
            .first()
        )
        if device is None:
            return None
        try:
            accepted = device.verify_token(code)
        except (crypto.KeyringError, crypto.DecryptionError):
            # Not the user's fault, and no guess: nothing is counted (the transaction
            # rolls back) and the message says what an administrator must do.
            raise CodeRefused(KEY_UNAVAILABLE) from None
        return device if accepted else None

    return check


def _recovery_check(user: Any, code: str) -> Check:
    def check() -> Device | None:
        code_set = RecoveryCodeSet.objects.filter(user=user, confirmed=True).first()
        if code_set is None or not code_set.verify_token(code):
            return None
        return code_set

    return check


def start_enrolment(user: Any) -> AuthenticatorApp:
    """The device to set up: the one already waiting for its first code, or a new one.

    Keeping the waiting device means a reload shows the same QR code the user
    may already have scanned.
    """
    with transaction.atomic():
        if AuthenticatorApp.objects.filter(user=user, confirmed=True).exists():
            raise CodeRefused("Two-factor login is already on.")
        pending = (
            AuthenticatorApp.objects.filter(user=user, confirmed=False).order_by("-id").first()
        )
        if pending is not None:
            return pending
        return AuthenticatorApp.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def confirm_enrolment(user: Any, code: str) -> Enrolled:
    """Turn two-factor login on with a first code from the app; return the recovery codes.

    The codes are returned once, in their printed form, and stored only as
    digests. Any earlier set of recovery codes is replaced.
    """
    code = code.strip().replace(" ", "")
    if not is_totp_shaped(code):
        raise CodeRefused("Enter the 6-digit code your authenticator app shows.")
    if AuthenticatorApp.objects.filter(user=user, confirmed=True).exists():
        raise CodeRefused("Two-factor login is already on.")
    if not AuthenticatorApp.objects.filter(user=user, confirmed=False).exists():
        raise CodeRefused("Start again: there is no authenticator app waiting to be set up.")
    codes = recovery.new_codes()
    with transaction.atomic():
        device = _count_attempt(user, _totp_check(user, code, confirmed=False))
        if isinstance(device, AuthenticatorApp):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            AuthenticatorApp.objects.filter(user=user, confirmed=False).delete()
            RecoveryCodeSet.objects.filter(user=user).delete()
            code_set = RecoveryCodeSet.objects.create(user=user, name="Recovery codes")
            RecoveryCode.objects.bulk_create(
                RecoveryCode(
                    code_set=code_set, digest=keys.recovery_digest(recovery.digest_of(c) or "")
                )
                for c in codes
            )
            return Enrolled(device=device, code_set=code_set, recovery_codes=codes)
    raise _refuse(user)


def _parse_code(user: Any, code: str) -> tuple[Check, bool]:
    """The check for a code from the app or a recovery code, and whether it is the latter."""
    code = code.strip()
    compact = code.replace(" ", "")
    if is_totp_shaped(compact):
        check, used_recovery = _totp_check(user, compact, confirmed=True), False
    elif recovery.looks_like_recovery_code(code):
        check, used_recovery = _recovery_check(user, code), True
    else:
        raise CodeRefused(
            "Enter the 6-digit code your authenticator app shows, or one of your recovery codes."
        )
    if not AuthenticatorApp.objects.filter(user=user, confirmed=True).exists():
        raise CodeRefused("Two-factor login is not on for this account.")
    return check, used_recovery


def verify_code(user: Any, code: str) -> Verified:
    """Check a code from the app, or a recovery code (used up by this call)."""
    check, used_recovery = _parse_code(user, code)
    with transaction.atomic():
        device = _count_attempt(user, check)
        left = RecoveryCode.objects.filter(code_set__user=user).count()
    if device is None:
        raise _refuse(user)
    return Verified(device=device, used_recovery_code=used_recovery, recovery_codes_left=left)


def turn_off(user: Any, code: str) -> None:
    """Turn two-factor login off; it takes a current code (or a recovery code)."""
    check, _recovery = _parse_code(user, code)
    with transaction.atomic():
        device = _count_attempt(user, check)
        if device is not None:
            AuthenticatorApp.objects.filter(user=user).delete()
            RecoveryCodeSet.objects.filter(user=user).delete()
    if device is None:
        raise _refuse(user)
