"""Small builders for campaign tests. Each call makes fresh rows through the services."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User

from receipts.api.tokens import issue_token
from receipts.campaigns import services
from receipts.campaigns.models import Campaign, Demand
from receipts.evidence.models import Entity, Source
from receipts.evidence.services import CitationInput
from tests.factories import make_entity, make_source

_counter = itertools.count(1)


def cite(
    source: Source | None = None, quote: str = "a quote", locator: str = "p. 1"
) -> CitationInput:
    return CitationInput(source or make_source(), quote, locator)


def make_campaign(
    name: str | None = None, *, targets: list[Entity] | None = None, **kwargs: Any
) -> Campaign:
    return services.create_campaign(
        name=name or f"Campaign {next(_counter)}", targets=targets or [], **kwargs
    )


def make_demand(campaign: Campaign, text: str = "End the contract", **kwargs: Any) -> Demand:
    return services.add_demand(campaign, text, **kwargs)


def make_organisation(name: str | None = None) -> Entity:
    return make_entity(name or f"Organisation {next(_counter)}", kind="organization")


def make_user(username: str, **kwargs: Any) -> User:
    # No password: tests log in with force_login, and hashing one costs a quarter second.
    return User.objects.create_user(username=username, password=None, **kwargs)


def make_member(campaign: Campaign, username: str, role: str) -> User:
    user = User.objects.filter(username=username).first() or make_user(username)
    services.add_campaign_member(campaign, user, role)
    return user


def make_token(user: User, campaign: Campaign | None = None) -> str:
    return issue_token(user.username, "tests", campaign=campaign)
