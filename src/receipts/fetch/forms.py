"""The editor's form for a new subscription."""

from __future__ import annotations

import datetime as dt

from django import forms

from .models import Subscription


def _a_year_ago() -> dt.date:
    return dt.date.today() - dt.timedelta(days=365)


class SubscriptionForm(forms.Form):
    agency = forms.CharField(
        max_length=300,
        help_text="Awarding agency by name, abbreviation or code: ICE, 7012, "
        "U.S. Customs and Border Protection.",
    )
    every = forms.ChoiceField(choices=Subscription.Every.choices, initial=Subscription.Every.DAY)
    since = forms.DateField(
        initial=_a_year_ago,
        help_text="The first run fetches contracts with actions from this day (YYYY-MM-DD).",
    )
