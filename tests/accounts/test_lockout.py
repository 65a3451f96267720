"""Wrong codes lock the user out, per user in the database, so codes cannot be guessed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from receipts.accounts import services
from receipts.accounts.models import CodeAttempts, RecoveryCode

from .factories import enrol, make_user_with_password, next_code, password_login, wrong_code

VERIFY = "/accounts/two-factor/verify/"


def test_lockout_doubles_every_five_wrong_codes_up_to_a_day() -> None:
    after = services.lockout_after
    assert [after(n) for n in (0, 1, 4, 6, 9)] == [None] * 5
    assert after(5) == timedelta(minutes=5)
    assert after(10) == timedelta(minutes=10)
    assert after(15) == timedelta(minutes=20)
    assert after(45) == timedelta(minutes=5 * 2**8)
    assert after(50) == timedelta(days=1)
    assert after(5 * 10**6) == timedelta(days=1)


@pytest.mark.django_db
def test_brute_force_is_locked_out_even_from_a_fresh_session() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    client = Client()
    password_login(client, user)
    for _ in range(5):
        assert client.post(VERIFY, {"code": wrong_code(device)}).status_code == 400
    attempts = CodeAttempts.objects.get(user=user)
    assert attempts.failures == 5
    assert attempts.locked_until is not None
    remaining = attempts.locked_until - timezone.now()
    assert timedelta(minutes=4) < remaining <= timedelta(minutes=5)

    # The right code is not even checked while locked, nor a recovery code.
    locked = client.post(VERIFY, {"code": next_code(device)})
    assert locked.status_code == 400
    assert "Too many wrong codes" in locked.content.decode()
    assert client.get("/")["Location"].startswith(VERIFY)

    # A new browser session starts no new count.
    fresh = Client()
    password_login(fresh, user)
    assert (
        "Too many wrong codes" in fresh.post(VERIFY, {"code": next_code(device)}).content.decode()
    )
    assert CodeAttempts.objects.get(user=user).failures == 5

    # Five minutes on, the right code works and the count starts again.
    CodeAttempts.objects.filter(user=user).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert client.post(VERIFY, {"code": next_code(device)}).status_code == 302
    attempts.refresh_from_db()
    assert (attempts.failures, attempts.locked_until) == (0, None)


@pytest.mark.django_db
def test_wrong_recovery_codes_count_toward_the_same_lockout() -> None:
    user = make_user_with_password("ada")
    codes = enrol(user).recovery_codes
    client = Client()
    password_login(client, user)
    for _ in range(5):
        client.post(VERIFY, {"code": "aaaa-aaaa-aaaa"})
    assert client.post(VERIFY, {"code": codes[0]}).status_code == 400
    # The refused code is still unused.
    assert RecoveryCode.objects.filter(code_set__user=user).count() == 10


@pytest.mark.django_db
def test_lockout_of_one_user_leaves_another_alone() -> None:
    ada = make_user_with_password("ada")
    bob = make_user_with_password("bob")
    ada_device = enrol(ada).device
    bob_device = enrol(bob).device
    for _ in range(5):
        with pytest.raises(services.CodeRefused):
            services.verify_code(ada, wrong_code(ada_device))
    with pytest.raises(services.LockedOut):
        services.verify_code(ada, next_code(ada_device))
    assert services.verify_code(bob, next_code(bob_device)).device == bob_device


@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_sent_twice_at_once_logs_in_once() -> None:
    user = make_user_with_password("ada")
    code = enrol(user).recovery_codes[0]
    results: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            services.verify_code(user, code)
        except services.CodeRefused:
            results.append("refused")
        except OperationalError:
            # SQLite's in-memory test database answers "table is locked" where a
            # file database waits; either way the code is not accepted twice.
            results.append("busy")
        else:
            results.append("accepted")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and results.count("accepted") == 1
    if connection.vendor == "postgresql":
        assert sorted(results) == ["accepted", "refused", "refused", "refused"]
    assert RecoveryCode.objects.filter(code_set__user=user).count() == 9
