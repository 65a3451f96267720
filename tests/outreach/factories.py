"""Small builders for outreach tests: forms, flyers and sign-ups through the real services and pages."""

from __future__ import annotations

import itertools
import time
from typing import Any

from django.test import Client
from django.urls import reverse

from receipts.campaigns.models import Action, Campaign
from receipts.outreach import services
from receipts.outreach.forms import HONEYPOT, started_token
from receipts.outreach.models import Flyer, FormField, SignupForm, Submission
from tests.factories import make_entity

_counter = itertools.count(1)

ALL_FIELDS = [f.value for f in FormField]
CONSENT = "I agree that the organisers keep what I send to contact me about this campaign."


def make_form(campaign: Campaign, **kwargs: Any) -> SignupForm:
    n = next(_counter)
    values: dict[str, Any] = {
        "slug": f"join-{n}",
        "title": f"Join us {n}",
        "consent_text": CONSENT,
        "fields": ALL_FIELDS,
        "required_fields": [FormField.NAME, FormField.EMAIL],
    }
    values.update(kwargs)
    return services.save_form(campaign, **values)


def make_flyer(
    campaign: Campaign, form: SignupForm, code: str | None = None, action: Action | None = None
) -> Flyer:
    code = code or f"flyer-{next(_counter)}"
    return services.create_flyer(
        campaign, form=form, label=f"Flyer {code}", code=code, action=action
    )


def person(n: int | None = None, **overrides: str) -> dict[str, str]:
    """Answers of a made-up person; every value is unique to ``n``."""
    n = next(_counter) if n is None else n
    answers = {
        FormField.NAME: f"Quillon Testperson{n}",
        FormField.EMAIL: f"quillon.{n}@example.org",
        FormField.PHONE: f"+1 206 555 {n % 10000:04d}",
        FormField.EMPLOYER: f"Zyxwv Logistics {n}",
        FormField.ROLE: f"Picker grade {n}",
        FormField.CITY: f"Tukwilaville {n}",
        FormField.MESSAGE: f"Count me in, number {n}.",
    }
    answers.update(overrides)
    return answers


def signup_data(
    form: SignupForm, answers: dict[str, str], *, source: str = "", started_ago: float = 60
) -> dict[str, str]:
    """What the browser posts: the answers, consent, an empty honeypot and an old start time."""
    data = {
        "started": started_token(form, at=time.time() - started_ago),
        "source": source,
        "consent": "on",
        HONEYPOT: "",
    }
    data.update({k: v for k, v in answers.items() if k in form.fields})
    return data


def post_signup(
    client: Client,
    form: SignupForm,
    answers: dict[str, str],
    *,
    source: str = "",
    ip: str = "198.51.100.7",
    **extra: Any,
) -> Any:
    url = reverse("outreach-join", args=[form.campaign.slug, form.slug])
    data = signup_data(form, answers, source=source)
    data.update(extra)
    return client.post(url, data, REMOTE_ADDR=ip)


def sign_up(form: SignupForm, answers: dict[str, str] | None = None, **kwargs: Any) -> Submission:
    """A sign-up stored through the service, as the page would store it."""
    values = {k: v for k, v in (answers or person()).items() if k in form.fields}
    kwargs.setdefault("client_key", f"client-{next(_counter)}")
    return services.record_signup(form, values, consent_text_shown=form.consent_text, **kwargs)


def website_target(name: str, website: str) -> Any:
    return make_entity(name, identifiers={"website": [website]})
