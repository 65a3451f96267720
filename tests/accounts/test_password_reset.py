"""Password reset: the email goes through the configured backend, and a failed send is said."""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Sequence
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client

from .factories import make_user_with_password

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"
NOT_SENT = "Could not send the email"


class RefusingBackend(BaseEmailBackend):
    """A mail server that answers, then refuses every message (as a full mailbox or a policy does)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPDataError(554, b"5.7.1 message refused")


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mail_server_down(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    settings.EMAIL_TIMEOUT = 5


def test_reset_email_goes_out_and_its_link_sets_a_new_password() -> None:
    make_user_with_password("ada", email="ada@example.org")
    client = Client()
    sent = client.post(RESET, {"email": "ada@example.org"})
    assert sent.status_code == 302 and sent["Location"] == DONE
    assert "has taken an email" in client.get(DONE).content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.org"]

    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    form_page = client.get(link[1], follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    new = "a brand new passphrase 42"
    done = client.post(set_url, {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert (
        Client().post("/accounts/login/", {"username": "ada", "password": new}).status_code == 302
    )


def test_an_address_without_an_account_gets_the_same_answer_and_no_email() -> None:
    make_user_with_password("ada", email="ada@example.org")
    sent = Client().post(RESET, {"email": "nobody@example.org"})
    assert sent.status_code == 302 and sent["Location"] == DONE
    assert mail.outbox == []


@pytest.mark.usefixtures("mail_server_down")
def test_a_mail_server_that_is_down_is_said_not_hidden() -> None:
    make_user_with_password("ada", email="ada@example.org")
    answer = Client().post(RESET, {"email": "ada@example.org"})
    assert answer.status_code == 503
    page = answer.content.decode()
    assert NOT_SENT in page and "Ask an administrator" in page
    assert "has taken an email" not in page
    # The form is there to try again, with the address kept.
    assert 'value="ada@example.org"' in page


@pytest.mark.usefixtures("mail_server_down")
def test_a_mail_server_that_is_down_says_so_whether_or_not_the_account_exists() -> None:
    make_user_with_password("ada", email="ada@example.org")
    known = Client().post(RESET, {"email": "ada@example.org"})
    unknown = Client().post(RESET, {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 503
    assert NOT_SENT in unknown.content.decode()


def test_a_message_the_mail_server_refuses_is_said_not_hidden(settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    make_user_with_password("ada", email="ada@example.org")
    answer = Client().post(RESET, {"email": "ada@example.org"})
    assert answer.status_code == 503
    assert NOT_SENT in answer.content.decode()


def test_the_login_page_links_to_the_reset() -> None:
    assert f'href="{RESET}"' in Client().get("/accounts/login/").content.decode()
