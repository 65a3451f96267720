"""Connects the services' signals to the recording of change events.

The evidence, ingest and campaign services send these signals inside their
own transactions, after the citations are stored (see their ``signals``
modules); the events recorded here commit or roll back with the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from receipts.campaigns.models import DemandStatusChange
from receipts.campaigns.signals import demand_status_changed
from receipts.evidence.signals import ties_changed, ties_removing
from receipts.ingest.signals import awards_stored

from . import services


def _on_ties_changed(
    sender: Any,
    *,
    added: Sequence[int] = (),
    ended: Sequence[int] = (),
    citations: Mapping[int, int] | None = None,
    **kwargs: Any,
) -> None:
    services.record_tie_events(added, ended, citations)


def _on_ties_removing(sender: Any, *, removed: Sequence[int] = (), **kwargs: Any) -> None:
    services.record_tie_removals(removed)


def _on_awards_stored(sender: Any, *, award_keys: Sequence[str] = (), **kwargs: Any) -> None:
    services.record_award_events(award_keys)


def _on_demand_status_changed(sender: Any, *, change: DemandStatusChange, **kwargs: Any) -> None:
    services.record_demand_event(change)


def connect() -> None:
    ties_changed.connect(_on_ties_changed, dispatch_uid="receipts.watch.ties")
    ties_removing.connect(_on_ties_removing, dispatch_uid="receipts.watch.removals")
    awards_stored.connect(_on_awards_stored, dispatch_uid="receipts.watch.awards")
    demand_status_changed.connect(_on_demand_status_changed, dispatch_uid="receipts.watch.demands")
