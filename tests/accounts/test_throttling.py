"""Wrong passwords are throttled per account and per address, through the real login form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.http import HttpResponse
from django.test import Client

from receipts.pagecache import generation
from tests.factories import make_entity

from .factories import PASSWORD, make_user_with_password

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
WRONG = "not the password"
LOCKED = "Too many failed logins for this account or from this address."


def _from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _log_in(client: Client, username: str, password: str, path: str = LOGIN) -> HttpResponse:
    return client.post(path, {"username": username, "password": password, "next": "/"})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _cool_off_minutes() -> int:
    return round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)


def _turn_the_clock(minutes: float) -> None:
    """Move every counted failure back in time, as if ``minutes`` had passed."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


pytestmark = pytest.mark.django_db


def test_forty_wrong_passwords_for_one_account_lock_it_even_for_the_right_one() -> None:
    user = make_user_with_password("ada")
    limit = settings.AXES_FAILURE_LIMIT
    answers = []
    # Each try from another address: the account's own count locks it.
    for n in range(40):
        answers.append(_log_in(_from(f"198.51.100.{n + 1}"), "ada", WRONG).status_code)
    assert answers[: limit - 1] == [200] * (limit - 1)
    assert answers[limit - 1 :] == [429] * (40 - limit + 1)

    client = _from("203.0.113.9")
    refused = _log_in(client, user.username, PASSWORD)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert LOCKED in page
    assert f"the next {_cool_off_minutes()} minutes" in page
    assert refused["Retry-After"] == str(_cool_off_minutes() * 60)
    # The login page again, to try later, with the name filled in.
    assert 'name="password"' in page and 'value="ada"' in page
    assert not _logged_in(client)


def test_forty_wrong_passwords_from_one_address_lock_that_address_for_every_account() -> None:
    make_user_with_password("ada")
    address = _from("198.51.100.7")
    answers = [_log_in(address, f"guess{n}", WRONG).status_code for n in range(40)]
    assert answers.count(200) == settings.AXES_FAILURE_LIMIT - 1
    assert answers[-1] == 429

    refused = _log_in(address, "ada", PASSWORD)
    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()
    assert not _logged_in(address)

    # The same account from another address is not locked: only that address is.
    elsewhere = _from("203.0.113.9")
    assert _log_in(elsewhere, "ada", PASSWORD).status_code == 302
    assert _logged_in(elsewhere)


def test_a_locked_account_leaves_another_account_from_another_address_alone(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    make_user_with_password("ada")
    make_user_with_password("bob")
    attacker = _from("198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(attacker, "ada", WRONG)
    assert _log_in(_from("203.0.113.9"), "ada", PASSWORD).status_code == 429

    bob = _from("192.0.2.44")
    assert _log_in(bob, "bob", PASSWORD).status_code == 302
    assert _logged_in(bob)


def test_the_wait_shown_is_the_wait_there_is_and_tries_meanwhile_do_not_lengthen_it(
    settings: Any,
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    make_user_with_password("ada")
    client = _from("198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "ada", WRONG)
    minutes = _cool_off_minutes()
    _turn_the_clock(minutes - 5)
    # Tries while locked out are refused unchecked and counted nowhere.
    for _ in range(5):
        refused = _log_in(client, "ada", WRONG)
        assert "the next 5 minutes" in refused.content.decode()
    assert _log_in(client, "ada", PASSWORD).status_code == 429

    _turn_the_clock(5)
    assert _log_in(client, "ada", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_wrong_passwords_below_the_limit_get_the_ordinary_error() -> None:
    make_user_with_password("ada")
    client = _from("198.51.100.7")
    answer = _log_in(client, "ada", WRONG)
    assert answer.status_code == 200
    assert "Please enter a correct username and password" in answer.content.decode()
    assert LOCKED not in answer.content.decode()
    assert _log_in(client, "ada", PASSWORD).status_code == 302


def test_the_admin_login_counts_and_refuses_alike(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    make_user_with_password("root", is_staff=True, is_superuser=True)
    client = _from("198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(client, "root", WRONG, ADMIN_LOGIN).status_code == 200
    assert _log_in(client, "root", WRONG, ADMIN_LOGIN).status_code == 429
    # The site's login page answers for the same account in the same way.
    refused = _log_in(_from("203.0.113.9"), "root", PASSWORD)
    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()


def test_counted_failures_keep_no_password() -> None:
    make_user_with_password("ada")
    _log_in(_from("198.51.100.7"), "ada", "hunter2-secret")
    stored = AccessAttempt.objects.get()
    assert "hunter2-secret" not in stored.post_data


@pytest.mark.django_db(transaction=True)
def test_failed_logins_leave_the_page_cache_warm(settings: Any) -> None:
    """Counting a failure writes to the database, but to nothing a public page shows."""
    settings.AXES_FAILURE_LIMIT = 3
    make_user_with_password("ada")
    make_entity("A public row, so that a generation exists")
    before = generation.current()
    assert before is not None
    client = _from("198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        _log_in(client, "ada", WRONG)
    assert AccessAttempt.objects.exists()
    assert generation.current() == before


@pytest.mark.parametrize(
    "username", ["a" * 10_000, "ada\x00", "<script>alert(1)</script>", "' OR 1=1 --"]
)
def test_hostile_usernames_get_the_form_error_and_are_counted_safely(username: str) -> None:
    make_user_with_password("ada")
    answer = _log_in(_from("198.51.100.7"), username, WRONG)
    assert answer.status_code == 200
    assert "<script>alert(1)</script>" not in answer.content.decode()
    assert AccessAttempt.objects.count() <= 1


def _via_proxy(forwarded_for: str) -> Client:
    return Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)


def test_behind_a_proxy_each_client_address_is_counted_and_spoofing_it_does_not_help(
    settings: Any,
) -> None:
    settings.LOGIN_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    make_user_with_password("ada")
    # One client, writing a new address of its own into the header each time.
    for n in range(3):
        _log_in(_via_proxy(f"192.0.2.{n + 1}, 198.51.100.7"), f"guess{n}", WRONG)
    refused = _log_in(_via_proxy("192.0.2.99, 198.51.100.7"), "ada", PASSWORD)
    assert refused.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    # Another client behind the same proxy is not locked out with it.
    assert _log_in(_via_proxy("203.0.113.9"), "ada", PASSWORD).status_code == 302


def test_without_proxies_the_forwarded_header_is_ignored(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    make_user_with_password("ada")
    for n in range(3):
        _log_in(_via_proxy(f"192.0.2.{n + 1}"), f"guess{n}", WRONG)
    assert _log_in(_via_proxy("203.0.113.9"), "ada", PASSWORD).status_code == 429
