"""What the database keeps of logins: session rows under a digest, sealed keys, keyed digests."""

from __future__ import annotations

import binascii
import hashlib
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from receipts.accounts import keys, recovery
from receipts.accounts.models import (
    AuthenticatorApp,
    CodeAttempts,
    RecoveryCode,
    RecoveryCodeSet,
)
from receipts.accounts.sessions import SessionStore, stored_key
from receipts.outreach.crypto import DecryptionError

from .factories import code_at, enrol, make_user_with_password, next_code, password_login

pytestmark = pytest.mark.django_db

VERIFY = "/accounts/two-factor/verify/"


def test_a_session_row_is_filed_under_a_digest_of_the_cookie() -> None:
    user = make_user_with_password("ada")
    client = Client()
    password_login(client, user)
    cookie = client.cookies["sessionid"].value
    assert not Session.objects.filter(session_key=cookie).exists()
    assert Session.objects.filter(session_key=stored_key(cookie)).exists()
    assert client.get("/accounts/two-factor/").status_code == 200


def test_the_stored_key_sent_as_a_cookie_opens_nothing() -> None:
    user = make_user_with_password("ada")
    password_login(Client(), user)
    (stored,) = Session.objects.values_list("session_key", flat=True)
    thief = Client()
    thief.cookies["sessionid"] = stored
    response = thief.get("/accounts/two-factor/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_cycling_the_key_moves_the_row_and_ends_the_old_key() -> None:
    store = SessionStore()
    store["campaign"] = "amazon-dump-ice"
    store.save()
    old = store.session_key
    assert old is not None and store.exists(old)
    store.cycle_key()
    assert store.session_key != old
    assert not store.exists(old) and store.exists(store.session_key)
    assert SessionStore(old).load() == {}
    assert SessionStore(store.session_key).load() == {"campaign": "amazon-dump-ice"}
    assert Session.objects.count() == 1


def test_deleting_and_clearing_expired_sessions_work_on_digests() -> None:
    kept, gone, expired = SessionStore(), SessionStore(), SessionStore()
    for store in (kept, gone, expired):
        store["x"] = 1
    expired.set_expiry(timezone.now() - timedelta(seconds=1))
    for store in (kept, gone, expired):
        store.save()
    gone.delete()
    SessionStore.clear_expired()
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        stored_key(kept.session_key or "")
    ]


def test_the_authenticator_key_is_stored_sealed_and_opens_only_with_the_keyring(
    outreach_key_dir: Path,
) -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    stored = TOTPDevice.objects.get(pk=device.pk).key
    secret = device.bin_key
    assert stored.startswith("sealed-1:") and secret.hex() not in stored
    with pytest.raises(binascii.Error):
        binascii.unhexlify(stored)
    assert (outreach_key_dir / "logins.keyring").is_file()
    # Moved to another user's row, the sealed key does not open.
    other = make_user_with_password("grace")
    with pytest.raises(DecryptionError):
        keys.open_totp_key(stored, user_id=other.pk)
    # With another keyring, nothing opens either.
    (outreach_key_dir / "logins.keyring").unlink()
    keys.keyring()
    with pytest.raises(DecryptionError):
        AuthenticatorApp.objects.get(pk=device.pk).bin_key  # noqa: B018


def test_a_device_saved_with_a_plain_key_by_django_otp_is_sealed() -> None:
    user = make_user_with_password("ada")
    plain = TOTPDevice.objects.create(user=user, name="admin-made", key="ab" * 20)
    assert keys.is_sealed(TOTPDevice.objects.get(pk=plain.pk).key)
    assert AuthenticatorApp.objects.get(pk=plain.pk).bin_key == bytes.fromhex("ab" * 20)


def test_recovery_digests_are_keyed() -> None:
    user = make_user_with_password("ada")
    codes = enrol(user).recovery_codes
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    plain = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert len(stored) == 10 and not stored & plain


def test_migration_seals_keys_keys_digests_and_ends_sessions() -> None:
    """Rows as the previous version wrote them: they keep working, sessions end."""
    from importlib import import_module

    migration = import_module("receipts.accounts.migrations.0002_sealed_two_factor_keys")
    user = make_user_with_password("ada")
    hex_key = "3132333435363738393031323334353637383930"
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(key=hex_key)
    code_set = RecoveryCodeSet.objects.create(user=user, name="Recovery codes", confirmed=True)
    code = "abcd-efgh-ijkl"
    RecoveryCode.objects.create(code_set=code_set, digest=recovery.digest_of(code) or "")
    password_login(Client(), user)
    assert Session.objects.exists()

    # The data step reads only the editor's connection; a real schema editor cannot
    # open inside the test's transaction on SQLite.
    migration.seal_existing(apps, SimpleNamespace(connection=connection))

    assert keys.is_sealed(TOTPDevice.objects.get(pk=device.pk).key)
    assert not Session.objects.exists()
    app = AuthenticatorApp.objects.get(pk=device.pk)
    assert app.bin_key == bytes.fromhex(hex_key)
    client = Client()
    password_login(client, user)
    assert client.post(VERIFY, {"code": next_code(app)}).status_code == 302
    again = Client()
    password_login(again, user)
    assert again.post(VERIFY, {"code": code}).status_code == 302


def test_plain_django_otp_cannot_compute_codes_from_the_stored_key() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    plain = TOTPDevice.objects.get(pk=device.pk)
    with pytest.raises(binascii.Error):
        plain.bin_key  # noqa: B018
    assert code_at(device, 1) == code_at(AuthenticatorApp.objects.get(pk=device.pk), 1)


def test_without_the_login_keyring_the_code_page_says_so_and_counts_nothing(
    outreach_key_dir: Path,
) -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    code = next_code(device)
    (outreach_key_dir / "logins.keyring").unlink()
    client = Client()
    password_login(client, user)
    refused = client.post(VERIFY, {"code": code})
    assert refused.status_code == 400
    assert "login keyring is missing" in refused.content.decode()
    assert CodeAttempts.objects.filter(user=user, failures__gt=0).count() == 0
    assert client.get("/accounts/two-factor/").status_code == 302
