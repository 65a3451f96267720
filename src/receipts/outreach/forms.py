"""Forms: the public sign-up form built from a ``SignupForm``, and the editor's forms.

The public form carries three guards besides CSRF: a signed start time (a
sign-up sent sooner than ``OUTREACH_MIN_FILL_SECONDS`` after the page was
served, or from a page older than ``OUTREACH_MAX_FORM_AGE_SECONDS``, is
refused), a honeypot field hidden by the stylesheet that people leave empty,
and a maximum length on every field. Error messages never repeat a value.
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError

from receipts.campaigns.models import Action, Campaign

from .crypto import parse_phone
from .models import FormField, FormKind, SignupForm
from .queries import at_employer_domain
from .services import FIELD_MAX_LENGTH, clean_source_code, consent_hash

STARTED_SALT = "receipts.outreach.form-started"
HONEYPOT = "fax_number_confirm"
TOO_FAST = (
    "This form was sent too quickly after it was opened. Wait a few seconds and send it again."
)
STALE = "This form is too old or was not served by this site. Reload the page and send it again."
CONSENT_CHANGED = (
    "The consent text changed since this page was opened: read it again and tick the box."
)
HONEYPOT_FILLED = "This form could not be sent: the field hidden from view must stay empty."

FIELD_LABELS: dict[str, str] = {
    FormField.NAME: "Name",
    FormField.EMAIL: "Email",
    FormField.PHONE: "Phone",
    FormField.EMPLOYER: "Employer",
    FormField.ROLE: "Role or job title",
    FormField.CITY: "City",
    FormField.MESSAGE: "Anything you want the organisers to know",
}
AUTOCOMPLETE: dict[str, str] = {
    FormField.NAME: "name",
    FormField.EMAIL: "email",
    FormField.PHONE: "tel",
    FormField.EMPLOYER: "organization",
    FormField.ROLE: "organization-title",
    FormField.CITY: "address-level2",
    FormField.MESSAGE: "off",
}


def started_token(form: SignupForm, at: float | None = None) -> str:
    """A signed note of when the page with ``form`` was served, and which consent text it showed."""
    return signing.dumps(
        {
            "form": form.pk,
            "t": time.time() if at is None else at,
            "c": consent_hash(form.consent_text),
        },
        salt=STARTED_SALT,
    )


def _field(name: str, required: bool) -> forms.Field:
    max_length = FIELD_MAX_LENGTH[name]
    attrs = {"autocomplete": AUTOCOMPLETE[name], "maxlength": str(max_length)}
    label = FIELD_LABELS[name]
    if name == FormField.EMAIL:
        return forms.EmailField(
            label=label,
            required=required,
            max_length=max_length,
            widget=forms.EmailInput(attrs=attrs),
            help_text="Use a personal address, not one your employer can read.",
        )
    if name == FormField.PHONE:
        return forms.CharField(
            label=label,
            required=required,
            max_length=max_length,
            widget=forms.TextInput(attrs={**attrs, "type": "tel"}),
            help_text="A personal number, not a work phone.",
        )
    if name == FormField.MESSAGE:
        return forms.CharField(
            label=label,
            required=required,
            max_length=max_length,
            widget=forms.Textarea(attrs={**attrs, "rows": 4}),
        )
    return forms.CharField(
        label=label, required=required, max_length=max_length, widget=forms.TextInput(attrs=attrs)
    )


class SignupFields(forms.Form):
    """The public form: the fields the editor picked, consent, and the abuse guards."""

    # No length limit here: a mangled source code is dropped, never a reason to lose a sign-up.
    source = forms.CharField(required=False, widget=forms.HiddenInput)
    started = forms.CharField(max_length=500, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, signup_form: SignupForm, domains: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.signup_form = signup_form
        self.domains = domains
        self.at_work_domain = False
        self.consent_shown = ""
        for name in signup_form.fields:
            self.fields[name] = _field(name, name in signup_form.required_fields)
        self.fields[HONEYPOT] = forms.CharField(
            required=False,
            max_length=100,
            label="Leave this field empty",
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        self.fields["consent"] = forms.BooleanField(
            required=True,
            label=signup_form.consent_text,
            error_messages={"required": "Tick the box to agree, or the sign-up cannot be kept."},
        )
        self.fields["work_address_ok"] = forms.BooleanField(
            required=False,
            label="I understand; use this address anyway.",
        )

    @property
    def visible_fields_asked(self) -> list[forms.BoundField]:
        return [self[name] for name in self.signup_form.fields]

    def clean_source(self) -> str:
        return clean_source_code(self.cleaned_data.get("source"))

    def clean_started(self) -> float:
        token = self.cleaned_data.get("started", "")
        try:
            data = signing.loads(
                token, salt=STARTED_SALT, max_age=settings.OUTREACH_MAX_FORM_AGE_SECONDS
            )
            started = float(data["t"])
            form_id = int(data["form"])
            self.consent_shown = str(data["c"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise ValidationError(STALE) from None
        age = time.time() - started
        if form_id != self.signup_form.pk or age > settings.OUTREACH_MAX_FORM_AGE_SECONDS:
            raise ValidationError(STALE)
        if age < settings.OUTREACH_MIN_FILL_SECONDS:
            raise ValidationError(TOO_FAST)
        return started

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "").strip()
        if not value:
            return ""
        if parse_phone(value, settings.OUTREACH_PHONE_REGION) is None:
            raise ValidationError(
                "Enter a phone number, with its country code if it is not a US one."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get(HONEYPOT):
            raise ValidationError(HONEYPOT_FILLED)
        if self.consent_shown and self.consent_shown != consent_hash(self.signup_form.consent_text):
            # The record must name the text the person saw: they read the new one first.
            self.add_error("consent", CONSENT_CHANGED)
        for name in self.signup_form.fields:
            value = data.get(name)
            if not isinstance(value, str):
                continue
            value = data[name] = value.replace("\r\n", "\n")
            allowed = "\n\t" if name == FormField.MESSAGE else ""
            if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
                self.add_error(name, "Remove the control characters from this field.")
        email = data.get(FormField.EMAIL) or ""
        if email and at_employer_domain(email, self.domains):
            self.at_work_domain = True
            if not data.get("work_address_ok"):
                self.add_error(
                    FormField.EMAIL,
                    "This looks like a work address. Your employer can read mail sent there: "
                    "use a personal address, or tick the box below to keep this one.",
                )
        # Every form asks for an email or a phone (services.save_form): one of them is needed.
        if not email and not data.get(FormField.PHONE) and not self.errors:
            raise ValidationError(
                "Give an email or a phone number so the organisers can reach you."
            )
        return data

    def answers(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.signup_form.fields}


# --- editor forms ----------------------------------------------------------------------


class FormSettingsForm(forms.Form):
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=80, required=False, help_text="The form's address; made from the title if empty."
    )
    kind = forms.ChoiceField(choices=FormKind.choices)
    intro = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown above the fields; for a pledge, the words pledged.",
    )
    asked = forms.MultipleChoiceField(
        choices=FormField.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Fields asked",
        help_text="Ask for as little as the campaign needs; email or phone is one of them.",
    )
    required = forms.MultipleChoiceField(
        choices=FormField.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Fields required",
    )
    consent_text = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Consent text",
        help_text="What people agree to: who sees their data, what it is used for, how to "
        "be removed. Required.",
    )
    employer_domains = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Employer email domains",
        help_text="One per line, e.g. amazon.com. A sign-up with an address there is warned "
        "to use a personal one. The targets' website identifiers are added.",
    )
    thank_you = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Thank-you text",
    )
    is_open = forms.BooleanField(required=False, initial=True, label="Open for sign-ups")
    confirm_first = forms.BooleanField(
        required=False,
        label="Ask people to confirm their email address first",
        help_text="A sign-up reaches the review queue only once the person opens the link "
        "emailed to them. Needs a required email field.",
    )


class FlyerForm(forms.Form):
    label = forms.CharField(max_length=200, help_text="For organisers, e.g. Seattle rally flyer.")
    code = forms.CharField(
        max_length=40,
        label="Source code",
        help_text="Short, for the address /f/<code>: letters, digits, - and _.",
    )
    form = forms.ModelChoiceField(queryset=SignupForm.objects.none(), label="Form")
    action = forms.ModelChoiceField(
        queryset=Action.objects.none(), required=False, label="Action it is handed out at"
    )

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field = self.fields["form"]
        action_field = self.fields["action"]
        assert isinstance(form_field, forms.ModelChoiceField)
        assert isinstance(action_field, forms.ModelChoiceField)
        form_field.queryset = SignupForm.objects.filter(campaign=campaign).order_by("title")
        action_field.queryset = Action.objects.filter(campaign=campaign).order_by("date", "id")

    def clean_code(self) -> str:
        code = clean_source_code(self.cleaned_data["code"])
        if not code:
            raise ValidationError("Use letters, digits, - and _ only.")
        return code


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label="Erase this person everywhere: every sign-up, consent record and key. This "
        "cannot be undone.",
    )
