"""The one form of two-factor login: a code, from the authenticator app or a recovery code."""

from __future__ import annotations

from typing import Any

from django import forms

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
