"""Builders for watch tests: the Amazon family and DHS tree, and watchlists over them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from receipts.evidence.models import Entity, Source
from receipts.watch import services
from receipts.watch.models import Watchlist
from tests.factories import make_entity, make_source, make_tie


@dataclass
class Case:
    amazon: Entity
    aws: Entity
    ring: Entity
    dhs: Entity
    ice: Entity
    google: Entity
    source: Source


def make_case() -> Case:
    """Amazon owns AWS and Ring; ICE is part of DHS; Google stands apart."""
    source = make_source("Report on the rally", url="https://news.example/rally")
    amazon = make_entity("Amazon")
    aws = make_entity("Amazon Web Services")
    ring = make_entity("Ring")
    dhs = make_entity("U.S. Department of Homeland Security", kind="agency")
    ice = make_entity("U.S. Immigration and Customs Enforcement", kind="agency")
    google = make_entity("Google")
    make_tie(amazon, "owns", aws, source)
    make_tie(amazon, "owns", ring, source)
    make_tie(ice, "part_of", dhs, source)
    return Case(amazon, aws, ring, dhs, ice, google, source)


def make_watchlist(*entities: Entity, name: str = "Targets", **kwargs: Any) -> Watchlist:
    return services.create_watchlist(name, entities=entities, **kwargs)
