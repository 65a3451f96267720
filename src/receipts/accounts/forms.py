"""The forms of logging in: a two-factor code, and the request for a password-reset email."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template import loader

from . import recovery


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=recovery.MAX_INPUT,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, numeric: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if numeric:
            # Only at set-up: elsewhere a recovery code has letters.
            self.fields["code"].widget.attrs["inputmode"] = "numeric"
            self.fields["code"].help_text = "The 6-digit code your authenticator app shows."
        else:
            self.fields[
                "code"
            ].help_text = (
                "The 6-digit code your authenticator app shows, or one of your recovery codes."
            )


class EmailNotSent(Exception):
    """The configured email backend could not send the password-reset email."""


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, but a failed send is raised, never swallowed.

    Django's own form logs a failed send and lets the page say the email went
    out. Here the connection to the email backend is opened before the address
    is looked up, so a mail server that is down or misconfigured gives the same
    answer whether or not an account has that address.
    """

    _connection: BaseEmailBackend | None = None

    def save(self, *args: Any, **kwargs: Any) -> None:
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except Exception as exc:
            raise EmailNotSent("the email backend could not be reached") from exc
        self._connection = connection
        try:
            super().save(*args, **kwargs)
        finally:
            self._connection = None
            # Closing fails only after the messages were taken, or were refused already.
            with contextlib.suppress(Exception):
                connection.close()

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(
            subject, body, from_email, [to_email], connection=self._connection
        )
        if html_email_template_name is not None:
            message.attach_alternative(
                loader.render_to_string(html_email_template_name, context), "text/html"
            )
        try:
            sent = message.send()
        except Exception as exc:
            raise EmailNotSent("the email backend refused the message") from exc
        if sent != 1:
            raise EmailNotSent("the email backend sent nothing")
