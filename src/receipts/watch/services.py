"""Writes of the watch app: change events as changes happen, and watchlists with their channels.

Events are recorded from signals the evidence, ingest and campaign services
send inside their own transactions, after the change's citations are stored
(``receivers``). That covers every path in (web, admin, API, CLI, importers,
bulk inserts) without a ``post_save`` handler, which would fire before the
citations exist and never for bulk inserts. Each change has a ``dedupe_key``
that names it, so repeating an import or saving a tie twice records nothing
new: one change, one event.

Every event is recorded, on a first import too (an import of 50,000 contract
ties makes 50,000 events, in bulk): the event log is complete, and a feed
made later still shows the recent past. That costs an import about a quarter
more time (200,000 transactions making 31,000 events: 14 s of CPU time
becomes 17.5 s on SQLite). The flood is kept from watchers instead: a
watchlist only sees events touching its entities, and a push channel only
sends events recorded after it was made.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, models, transaction
from django.db.models import Max, Min, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from receipts import outbound
from receipts.campaigns.models import CampaignCitation, DemandStatusChange
from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence import bulk
from receipts.evidence.models import Citation, Entity, Source, Tie, TieKind, TieStatus
from receipts.refusals import Refusal

from .models import (
    ChangeEvent,
    Channel,
    ChannelKind,
    EventEntity,
    EventKind,
    Watchlist,
    new_feed_token,
)
from .tasks import schedule_delivery

# Keep IN lists under every backend's parameter limit.
_CHUNK = 900


class WatchError(Refusal):
    """A watch write that cannot be done, keyed by the field it concerns."""


# --- change events ------------------------------------------------------------------

# An event as the row it is stored as: column (attname) -> value. Imports record
# tens of thousands at once, so events are built and inserted as plain rows.
Row = dict[str, Any]

_EVENT_COLUMNS = [f.attname for f in ChangeEvent._meta.concrete_fields if not f.primary_key]


def _money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return f"{currency or 'USD'} {amount:,.2f}"


def _event_row(**values: Any) -> Row:
    row: Row = {
        "uid": uuid.uuid4(),
        "date": "",
        "tie_id": None,
        "award_id": None,
        "demand_id": None,
        "status_change_id": None,
        "campaign_id": None,
        "subject_id": None,
        "object_id": None,
        "subject_name": "",
        "object_name": "",
        "amount": None,
        "currency": "",
        "source_id": None,
        "source_title": "",
        "source_url": "",
        "citation_locator": "",
        "citation_quote": "",
        "lead_days": None,
    }
    row.update(values)
    row["dedupe_key"] = row["dedupe_key"][:300]
    row["summary"] = row["summary"][:1000]
    return row


def _insert_ignoring_repeats(model: type[Any], columns: Sequence[str], rows: Sequence[Row]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, many rows at once (SQLite and PostgreSQL alike).

    The unique keys decide: a change a concurrent writer recorded first is
    skipped, never a reason to fail the writer's transaction.
    """
    if not rows:
        return
    fields = [model._meta.get_field(c) for c in columns]
    # Only the cells that need it are adapted: an import inserts tens of thousands of rows.
    adapt = [
        (i, f)
        for i, f in enumerate(fields)
        if isinstance(f, (models.DateTimeField, models.DecimalField, models.UUIDField))
    ]
    values = []
    for row in rows:
        cells = [row[c] for c in columns]
        for i, f in adapt:
            if isinstance(f, models.UUIDField):
                cells[i] = f.get_db_prep_value(cells[i], connection)
            else:
                cells[i] = bulk.db_value(f, cells[i])
        values.append(cells)
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    if connection.vendor == "postgresql":
        # executemany costs PostgreSQL a round trip per row: COPY the rows into a
        # scratch table instead, then move them over in one statement.
        scratch = connection.ops.quote_name(f"scratch_{model._meta.db_table}")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {scratch} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {cols} FROM {table} WITH NO DATA"
            )
            # Through Django's error translation, as bulk.insert_rows does.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {scratch} ({cols}) FROM STDIN") as copy,
            ):
                for cells in values:
                    copy.write_row(cells)
            cursor.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {scratch} "  # noqa: S608
                "ON CONFLICT DO NOTHING"
            )
            cursor.execute(f"DROP TABLE {scratch}")
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        for i in range(0, len(values), 2000):
            cursor.executemany(sql, values[i : i + 2000])


def _insert_events(rows: Sequence[Row], involved: Mapping[str, Iterable[int | None]]) -> int:
    """Store the events whose change has none yet, with the entities each involves."""
    unique: dict[str, Row] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)
    keys = list(unique)
    known = {k for (k,) in bulk.select_in(ChangeEvent, ["dedupe_key"], "dedupe_key", keys)}
    fresh = [row for key, row in unique.items() if key not in known]
    if not fresh:
        return 0
    _insert_ignoring_repeats(ChangeEvent, _EVENT_COLUMNS, fresh)
    fresh_keys = [row["dedupe_key"] for row in fresh]
    ids: dict[str, int] = dict(
        bulk.select_in(ChangeEvent, ["dedupe_key", "id"], "dedupe_key", fresh_keys)
    )
    links = [
        {"event_id": ids[key], "entity_id": entity_id}
        for key in fresh_keys
        if key in ids
        for entity_id in {e for e in involved.get(key, ()) if e is not None}
    ]
    _insert_ignoring_repeats(EventEntity, ["event_id", "entity_id"], links)
    # The queue sends them once they are committed; robust: a queue that cannot
    # take the task never undoes the change (``receipts watch run`` still sends).
    transaction.on_commit(schedule_delivery, robust=True)
    return len(fresh)


def _cite(row: Row, citation: tuple[Any, ...] | None) -> Row:
    """Copy a receipt into the event: (source id, title, URL, locator, quote)."""
    if citation is not None:
        source_id, title, url, locator, quote = citation
        row.update(
            source_id=source_id,
            source_title=title[:500],
            source_url=url,
            citation_locator=locator,
            citation_quote=quote,
        )
    return row


_CITATION_FIELDS = ("source_id", "source__title", "source__url", "locator", "quote")


def _tie_citations(
    tie_ids: Sequence[int], latest: bool, given: Mapping[int, int]
) -> dict[int, tuple[Any, ...]]:
    """The receipt to quote for each tie: the citation given, else its first (or latest) one.

    A contract tie may cite thousands of award records, so only one id per tie
    is read, then those rows.
    """
    wanted = {t: given[t] for t in tie_ids if t in given}
    rest = [t for t in tie_ids if t not in wanted]
    pick = Max("id") if latest else Min("id")
    for i in range(0, len(rest), _CHUNK):
        wanted.update(
            Citation.objects.filter(tie_id__in=rest[i : i + _CHUNK])
            .values("tie_id")
            .annotate(pick=pick)
            .values_list("tie_id", "pick")
        )
    by_id: dict[int, tuple[Any, ...]] = {}
    chosen = list(wanted.values())
    for i in range(0, len(chosen), _CHUNK):
        for pk, *receipt in Citation.objects.filter(pk__in=chosen[i : i + _CHUNK]).values_list(
            "pk", *_CITATION_FIELDS
        ):
            by_id[pk] = tuple(receipt)
    return {t: by_id[c] for t, c in wanted.items() if c in by_id}


_TIE_FIELDS = (
    "pk",
    "ftm_id",
    "kind",
    "status",
    "start_date",
    "end_date",
    "amount",
    "currency",
    "subject_id",
    "object_id",
    "subject__name",
    "object__name",
)


_ADDED, _ENDED, _REMOVED = "added", "ended", "removed"


def _tie_event(tie: tuple[Any, ...], *, change: str, now: Any) -> Row:
    pk, ftm_id, kind, status, start, end, amount, currency, s_id, o_id, s_name, o_name = tie
    line = f"{s_name} — {TieKind(kind).label.lower()} — {o_name}"
    if change == _REMOVED:
        event_kind = EventKind.TIE_REMOVED
        date = now.date().isoformat()
        key = f"tie_removed:{ftm_id}:{date}"
        summary = f"Tie removed: {line} (no stored record supports it any more)"
        pk = None  # the tie is going; the snapshot fields say what it was
    elif change == _ENDED:
        event_kind = EventKind.TIE_ENDED
        key = f"tie_ended:{ftm_id}:{end}"
        summary = f"Tie ended: {line}" + (f" (ended {end})" if end else "")
        date = end
    else:
        event_kind = EventKind.CONTRACT_NEW if kind == TieKind.CONTRACT else EventKind.TIE_ADDED
        # One key for both kinds: a tie is new once, whatever its kind becomes.
        key = f"tie_added:{ftm_id}"
        label = "New contract" if event_kind == EventKind.CONTRACT_NEW else "New tie"
        money = _money(amount, currency)
        notes = [money] if money else []
        if status != TieStatus.ACTIVE:
            notes.append(TieStatus(status).label.lower())
        summary = f"{label}: {line}" + (f" ({', '.join(notes)})" if notes else "")
        date = start
    return _event_row(
        kind=event_kind,
        dedupe_key=key,
        summary=summary,
        date=date,
        occurred_at=now,
        tie_id=pk,
        subject_id=s_id,
        object_id=o_id,
        subject_name=s_name[:300],
        object_name=o_name[:300],
        amount=amount,
        currency=currency,
    )


def record_tie_events(
    added: Sequence[int], ended: Sequence[int], citations: Mapping[int, int] | None = None
) -> int:
    """Events for new ties (``contract_new`` for contracts) and ties that ended; returns how many.

    A new tie that is already ended (a historical ownership) makes one
    ``tie_added`` saying so, not a second ``tie_ended``. The citation quoted
    is the one that backs the change when the caller knows it, else the
    tie's first citation (new ties) or its latest (ended ties).
    """
    given = dict(citations or {})
    return _record_tie_changes(added, _ADDED, given) + _record_tie_changes(ended, _ENDED, given)


def record_tie_removals(tie_ids: Sequence[int]) -> int:
    """``tie_removed`` events for ties about to be deleted because no stored record
    supports them any more (a delta file deleted the last award behind a contract
    tie); returns how many. The receipt quoted is the tie's latest citation, whose
    source stays.
    """
    return _record_tie_changes(tie_ids, _REMOVED, {})


def _record_tie_changes(tie_ids: Sequence[int], change: str, given: Mapping[int, int]) -> int:
    now = timezone.now()
    made = 0
    ids = list(tie_ids)
    for i in range(0, len(ids), _CHUNK):
        ties = list(Tie.objects.filter(pk__in=ids[i : i + _CHUNK]).values_list(*_TIE_FIELDS))
        cited = _tie_citations([t[0] for t in ties], change != _ADDED, given)
        rows = [_cite(_tie_event(t, change=change, now=now), cited.get(t[0])) for t in ties]
        made += _insert_events(
            rows, {r["dedupe_key"]: (r["subject_id"], r["object_id"]) for r in rows}
        )
    return made


def award_threshold_cents() -> int:
    return int(Decimal(str(settings.WATCH_AWARD_THRESHOLD)) * 100)


def _transaction_sums(award_keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """(sum of obligations in cents, first action date) of the stored transactions, per award."""
    table = connection.ops.quote_name(ContractTransaction._meta.db_table)
    out: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for where, params in bulk.in_clauses("award_key", award_keys):
            cursor.execute(
                f"SELECT award_key, SUM(obligation_cents), MIN(action_date) FROM {table} "  # noqa: S608
                f"WHERE {where} GROUP BY award_key",
                params,
            )
            out.update((key, (int(cents), first)) for key, cents, first in cursor.fetchall())
    return out


def record_award_events(award_keys: Sequence[str]) -> int:
    """``award_new`` events for awards at or above ``RECEIPTS_WATCH_AWARD_THRESHOLD`` (USD).

    An award counts its stored transactions' obligations, or its summary's
    total when none are stored, as its contract tie does. It is reported
    once, the first time an import sees it at or above the threshold. Most
    awards are small: their amounts are read first, and only the large ones
    in full.
    """
    threshold = award_threshold_cents()
    now = timezone.now()
    made = 0
    keys = sorted(set(award_keys))
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        seen = {
            k
            for (k,) in bulk.select_in(
                ChangeEvent, ["dedupe_key"], "dedupe_key", [f"award_new:{k}" for k in chunk]
            )
        }
        todo = [k for k in chunk if f"award_new:{k}" not in seen]
        if not todo:
            continue
        from_tx = _transaction_sums(todo)
        large: dict[str, tuple[int, str]] = {}
        for key, summary_cents, base_date in bulk.select_in(
            ContractAward,
            ["award_key", "summary_obligated_cents", "summary_base_date"],
            "award_key",
            todo,
        ):
            cents, first = from_tx.get(key, (summary_cents, base_date))
            if cents is not None and cents >= threshold:
                large[key] = (int(cents), first or "")
        if not large:
            continue
        rows: list[Row] = []
        for (
            pk,
            key,
            piid,
            recipient_id,
            agency_id,
            recipient,
            agency,
            source_id,
            source_title,
            source_url,
        ) in ContractAward.objects.filter(award_key__in=list(large)).values_list(
            "pk",
            "award_key",
            "piid",
            "recipient_id",
            "sub_agency_id",
            Coalesce("recipient__name", "recipient_name"),
            Coalesce("sub_agency__name", "awarding_sub_agency_code"),
            "source_id",
            "source__title",
            Coalesce(NullIf("source__url", Value("")), "permalink"),
        ):
            cents, first = large[key]
            amount = Decimal(cents) / 100
            row = _event_row(
                kind=EventKind.AWARD_NEW,
                dedupe_key=f"award_new:{key}",
                summary=(
                    f"New award: {agency} to {recipient}, {_money(amount, 'USD')} ({piid or key})"
                ),
                date=first,
                occurred_at=now,
                award_id=pk,
                subject_id=recipient_id,
                object_id=agency_id,
                subject_name=recipient[:300],
                object_name=agency[:300],
                amount=amount,
                currency="USD",
                citation_locator=key,
            )
            if source_id is not None:
                _cite(row, (source_id, source_title, source_url, key, ""))
            rows.append(row)
        made += _insert_events(
            rows, {r["dedupe_key"]: (r["subject_id"], r["object_id"]) for r in rows}
        )
    return made


def _agency_short(code: str, name: str) -> str:
    """ICE for U.S. Immigration and Customs Enforcement: the abbreviation the importer knows."""
    from receipts.ingest.usaspending.formats import KNOWN_AGENCIES

    known = KNOWN_AGENCIES.get(code)
    short = [a for a in (known.aliases if known else ()) if a.isupper() and " " not in a]
    return short[0] if short else name


def ending_windows(lead_days: Iterable[int]) -> list[tuple[int, int, int]]:
    """(lead days, from, to): a warning at each lead time covers the contracts whose current
    end is that many days away or fewer, down to the next shorter lead time (excluded), so a
    contract first seen late gets the one warning that fits, then each shorter one in turn."""
    days = sorted({int(d) for d in lead_days if int(d) >= 0}, reverse=True)
    return [(d, days[i + 1] + 1 if i + 1 < len(days) else 0, d) for i, d in enumerate(days)]


def record_contract_ending_events(today: Any = None) -> int:
    """``contract_ending`` events ahead of each award's current end, at every lead time some
    watchlist asks for (``Watchlist.ending_warning_days``); returns how many were recorded.

    Reads the award's ``period_of_performance_current_end_date`` and
    ``..._potential_end_date``: when the potential end is later, the warning
    says the contract ends unless the agency exercises its options. The
    award record is the receipt. Each (award, end date, lead time) is warned
    of once; an end a modification moves is warned of again.
    """
    import datetime as dt

    today = today or timezone.localdate()
    lead_days: set[int] = set()
    for days in Watchlist.objects.values_list("ending_warning_days", flat=True):
        lead_days.update(int(d) for d in (days or []))
    now = timezone.now()
    made = 0
    for days, nearest, farthest in ending_windows(lead_days):
        start = (today + dt.timedelta(days=nearest)).isoformat()
        end = (today + dt.timedelta(days=farthest)).isoformat()
        awards = list(
            ContractAward.objects.filter(current_end_date__gte=start, current_end_date__lte=end)
            .order_by("award_key")
            .values_list(
                "pk",
                "award_key",
                "piid",
                "recipient_id",
                "sub_agency_id",
                Coalesce("recipient__name", "recipient_name"),
                Coalesce("sub_agency__name", "awarding_sub_agency_code"),
                "awarding_sub_agency_code",
                "current_end_date",
                "potential_end_date",
                "summary_obligated_cents",
                "source_id",
                "source__title",
                Coalesce(NullIf("source__url", Value("")), "permalink"),
            )
        )
        for i in range(0, len(awards), _CHUNK):
            chunk = awards[i : i + _CHUNK]
            keys = {a[1]: f"contract_ending:{a[1]}:{a[8]}:{days}" for a in chunk}
            seen = {
                k
                for (k,) in bulk.select_in(
                    ChangeEvent, ["dedupe_key"], "dedupe_key", list(keys.values())
                )
            }
            chunk = [a for a in chunk if keys[a[1]] not in seen]
            sums = _transaction_sums([a[1] for a in chunk])
            rows: list[Row] = []
            for (pk, key, piid, recipient_id, agency_id, recipient, agency, code, current,
                 potential, summary_cents, source_id, source_title, source_url) in chunk:  # fmt: skip
                cents = sums[key][0] if key in sums else summary_cents
                amount = Decimal(cents) / 100 if cents is not None else None
                line = f"Award {piid or key} to {recipient} ends {current}"
                if potential and potential > current:
                    line += (
                        f" unless {_agency_short(code, agency)} exercises its options "
                        f"(to {potential})"
                    )
                if amount is not None:
                    line += f"; {_money(amount, 'USD')} obligated so far"
                row = _event_row(
                    kind=EventKind.CONTRACT_ENDING,
                    dedupe_key=keys[key],
                    summary=line,
                    date=current,
                    occurred_at=now,
                    award_id=pk,
                    subject_id=recipient_id,
                    object_id=agency_id,
                    subject_name=recipient[:300],
                    object_name=agency[:300],
                    amount=amount,
                    currency="USD" if amount is not None else "",
                    citation_locator=key,
                    lead_days=days,
                )
                if source_id is not None:
                    _cite(row, (source_id, source_title, source_url, key, ""))
                rows.append(row)
            made += _insert_events(
                rows, {r["dedupe_key"]: (r["subject_id"], r["object_id"]) for r in rows}
            )
    return made


def record_demand_event(change: DemandStatusChange) -> int:
    """A ``demand_status_changed`` event, involving the campaign's targets and the demand's ties."""
    demand = change.demand
    campaign = demand.campaign
    involved = set(campaign.targets.values_list("pk", flat=True))
    for subject_id, object_id in demand.ties.values_list("subject_id", "object_id"):
        involved.update((subject_id, object_id))
    citation = (
        CampaignCitation.objects.filter(status_change=change)
        .order_by("id")
        .values_list(*_CITATION_FIELDS)
        .first()
    )
    was = change.get_from_status_display().lower()
    now_status = change.get_to_status_display().lower()
    row = _event_row(
        kind=EventKind.DEMAND_STATUS_CHANGED,
        dedupe_key=f"demand:{change.pk}",
        summary=f"Demand {now_status} (was {was}): “{demand.text}” — {campaign.name}",
        date=change.date,
        occurred_at=timezone.now(),
        demand_id=demand.pk,
        status_change_id=change.pk,
        campaign_id=campaign.pk,
    )
    return _insert_events([_cite(row, citation)], {row["dedupe_key"]: involved})


# --- watchlists and channels --------------------------------------------------------


def record_source_event(source: Source, kind: str, summary: str, *, key: str, now: Any) -> int:
    """A ``source_changed`` or ``source_gone`` event for the entities whose receipts cite ``source``.

    ``key`` names the change (a capture's fingerprint, the day it was found
    gone), so a change found twice makes one event.
    """
    involved: set[int] = set()
    for subject_id, object_id, entity_id in Citation.objects.filter(source=source).values_list(
        "tie__subject_id", "tie__object_id", "entity_id"
    ):
        involved.update(e for e in (subject_id, object_id, entity_id) if e is not None)
    row = _event_row(
        kind=kind,
        dedupe_key=f"{kind}:{source.ftm_id}:{key}",
        summary=summary,
        date=now.date().isoformat(),
        occurred_at=now,
        source_id=source.pk,
        source_title=source.title[:500],
        source_url=source.url,
    )
    return _insert_events([row], {row["dedupe_key"]: involved})


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise WatchError("name", "a watchlist needs a name")
    if len(name) > 200:
        raise WatchError("name", "longer than 200 characters")
    return name


@transaction.atomic
def create_watchlist(
    name: str,
    *,
    owner: Any = None,
    entities: Iterable[Entity] = (),
    webhook_url: str = "",
    webhook_secret: str = "",
    emails: Iterable[str] = (),
) -> Watchlist:
    """A watchlist of entities, with a webhook and an email digest if asked for."""
    watchlist = Watchlist.objects.create(
        name=_name(name), owner=owner if getattr(owner, "pk", None) else None
    )
    watchlist.entities.set(list(entities))
    if webhook_url:
        add_webhook(watchlist, webhook_url, webhook_secret)
    emails = list(emails)
    if emails:
        add_email_digest(watchlist, emails)
    return watchlist


@transaction.atomic
def rename_watchlist(watchlist: Watchlist, name: str) -> Watchlist:
    watchlist.name = _name(name)
    watchlist.save(update_fields=["name", "updated_at"])
    return watchlist


@transaction.atomic
def watch_entity(watchlist: Watchlist, entity: Entity) -> None:
    """Add an entity (and so its subsidiaries and components) to the watchlist."""
    watchlist.entities.add(entity)
    watchlist.save(update_fields=["updated_at"])


@transaction.atomic
def unwatch_entity(watchlist: Watchlist, entity: Entity) -> None:
    watchlist.entities.remove(entity)
    watchlist.save(update_fields=["updated_at"])


@transaction.atomic
def set_ending_warning_days(watchlist: Watchlist, days: Iterable[int]) -> Watchlist:
    """How many days before a watched contract's current end the watchlist hears of it."""
    chosen = sorted({int(d) for d in days}, reverse=True)
    if any(not 0 <= d <= 3650 for d in chosen):
        raise WatchError("ending_warning_days", "lead times go from 0 to 3650 days")
    watchlist.ending_warning_days = chosen
    watchlist.save(update_fields=["ending_warning_days", "updated_at"])
    return watchlist


def rotate_feed_token(watchlist: Watchlist) -> Watchlist:
    """A new secret feed address; the old one stops working at once."""
    watchlist.feed_token = new_feed_token()
    watchlist.save(update_fields=["feed_token", "updated_at"])
    return watchlist


@transaction.atomic
def delete_watchlist(watchlist: Watchlist) -> None:
    watchlist.delete()


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def add_webhook(watchlist: Watchlist, url: str, secret: str = "") -> Channel:
    """A webhook channel; the URL is checked as at every send (http(s), no private address).

    Without a secret a random one is made; the caller shows it once to the
    person who configures the receiver.
    """
    url = str(url or "").strip()
    try:
        outbound.check_url(url)
    except outbound.Refused as exc:
        raise WatchError("url", f"{exc}") from exc
    secret = str(secret or "").strip() or new_webhook_secret()
    if len(secret) < 16:
        raise WatchError("secret", "use at least 16 characters")
    if len(secret) > 200:
        raise WatchError("secret", "longer than 200 characters")
    return Channel.objects.create(
        watchlist=watchlist, kind=ChannelKind.WEBHOOK, url=url, secret=secret
    )


@transaction.atomic
def add_email_digest(watchlist: Watchlist, recipients: Iterable[str]) -> Channel:
    """An email digest channel: one email per run to each recipient, listing new events."""
    addresses: list[str] = []
    for raw in recipients:
        address = str(raw).strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise WatchError("email", f"{address!r} is not an email address") from exc
        if address.lower() not in (a.lower() for a in addresses):
            addresses.append(address)
    if not addresses:
        raise WatchError("email", "an email digest needs at least one address")
    return Channel.objects.create(watchlist=watchlist, kind=ChannelKind.EMAIL, recipients=addresses)


@transaction.atomic
def remove_channel(channel: Channel) -> None:
    """Remove a channel with its delivery log."""
    channel.delete()
