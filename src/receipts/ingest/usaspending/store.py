"""Batched writes of staged rows into the Receipts database, idempotent on natural keys.

Each batch is one transaction: a crash leaves whole batches stored, and a
re-run stores nothing twice because every row is matched on its unique key
first. New rows go in with executemany on SQLite and COPY on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from receipts.contracts.models import ContractAward, ContractTransaction, DeletedContractRecord
from receipts.evidence import bulk
from receipts.evidence.bulk import quote_name


@dataclass
class UpsertCounts:
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    # Rows of records a delta file deleted before, not modified since: not stored again.
    kept_deleted: int = 0
    # Deletion marks for records not stored (their deletion is remembered all the same),
    # and rows left out with an award deleted in the same run.
    marks_not_found: int = 0
    with_deleted_award: int = 0


def update_rows(
    table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Rows are (values of ``columns``..., key)."""
    if not rows:
        return
    sets = ", ".join(f"{quote_name(c)} = %s" for c in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote_name(table)} SET {sets} WHERE {quote_name(key)} = %s", rows
        )  # noqa: S608


def delete_keys(table: str, key: str, keys: Sequence[str]) -> int:
    deleted = 0
    with connection.cursor() as cursor:
        for where, params in bulk.in_clauses(quote_name(key), keys):
            cursor.execute(f"DELETE FROM {quote_name(table)} WHERE {where}", params)  # noqa: S608
            deleted += cursor.rowcount
    return deleted


class TransactionRow(NamedTuple):
    """A transaction as stored: the columns of ``ContractTransaction`` in ``TX_COLUMNS`` order."""

    transaction_key: str
    award_key: str
    modification_number: str
    action_date: str
    fiscal_year: int
    obligation_cents: int
    recipient_id: int | None
    recipient_uei: str
    recipient_duns: str
    recipient_name: str
    parent_uei: str
    parent_duns: str
    parent_name: str
    # A delta file's correction (C): it replaces a stored row of the same version.
    corrected: bool
    last_modified: str


@dataclass(slots=True)
class AwardRow:
    """An award record as stored: the columns of ``ContractAward`` in ``AWARD_COLUMNS``
    order. Mutable: the record is settled against every stored action, and gets its
    source, before it is written."""

    award_key: str
    piid: str
    parent_piid: str
    awarding_agency_code: str
    awarding_sub_agency_code: str
    awarding_office_code: str
    sub_agency_id: int
    recipient_id: int | None
    recipient_uei: str
    recipient_duns: str
    recipient_name: str
    parent_uei: str
    parent_duns: str
    parent_name: str
    description: str
    summary_obligated_cents: int | None
    summary_base_date: str
    summary_latest_date: str
    permalink: str
    last_modified: str
    current_end_date: str
    potential_end_date: str
    source_id: int | None = None

    def values(self) -> tuple[Any, ...]:
        """The values in ``AWARD_COLUMNS`` order."""
        return _award_values(self)  # type: ignore[no-any-return]


TX_TABLE = ContractTransaction._meta.db_table
TX_COLUMNS = list(TransactionRow._fields)
AWARD_TABLE = ContractAward._meta.db_table
AWARD_COLUMNS = [f.name for f in fields(AwardRow)]
_award_values = attrgetter(*AWARD_COLUMNS)


def store_transactions(
    rows: Sequence[TransactionRow], counts: UpsertCounts, *, table_was_empty: bool = False
) -> set[int]:
    """One batch of transaction rows: new ones in, newer ones over; returns the
    recipients that replaced rows had before, whose ties may change.

    A row replaces the stored one when its ``last_modified`` is later; when a
    delta file marks it as a correction of the stored version or a later one
    (an old correction read again does not undo a newer modification); or
    when it says something else under the same ``last_modified`` (a file read
    again with the right ``--date-format``, a re-export), unless the stored
    row is a correction and this one is not (the download it corrected, read
    again). A row older than the stored one never replaces it: importing an
    old download after a newer one changes nothing.
    """
    # Into a table that was empty when the import began, every row is new: keys
    # are unique in staging, so the lookup can be skipped.
    stored = (
        {}
        if table_was_empty
        else {
            row[0]: TransactionRow._make(row)
            for row in bulk.select_in(
                ContractTransaction,
                TX_COLUMNS,
                "transaction_key",
                [r.transaction_key for r in rows],
            )
        }
    )
    fresh, newer = [], []
    before: set[int] = set()
    for r in rows:
        old = stored.get(r.transaction_key)
        if old is None:
            fresh.append(r)
            continue
        old_modified = old.last_modified or ""
        said_else = r._replace(corrected=False) != old._replace(corrected=False)
        if (
            r.last_modified > old_modified
            or (r.corrected and r.last_modified >= old_modified)
            or (r.last_modified == old_modified and said_else and not old.corrected)
        ):
            newer.append([*r[1:], r.transaction_key])
            if old.recipient_id is not None:
                before.add(old.recipient_id)
        else:
            counts.unchanged += 1
    with transaction.atomic():
        bulk.insert_rows(ContractTransaction, TX_COLUMNS, fresh)
        update_rows(TX_TABLE, "transaction_key", TX_COLUMNS[1:], newer)
    counts.stored += len(fresh)
    counts.updated += len(newer)
    return before


def stored_awards(keys: Sequence[str]) -> dict[str, AwardRow]:
    """The stored records of these awards, by key."""
    return {
        row[0]: AwardRow(*row)
        for row in bulk.select_in(ContractAward, AWARD_COLUMNS, "award_key", keys)
    }


def store_awards(
    rows: Sequence[AwardRow], counts: UpsertCounts, *, table_was_empty: bool = False
) -> dict[str, tuple[int | None, int | None]]:
    """One batch of award rows; returns the (recipient, sub-agency) each changed award
    had before, so ties it left can be recomputed.

    A summary total already stored is kept when the new row has none (a
    transactions file says nothing about summaries). A row older than the
    stored record (``last_modified``) does not replace it: it only adds a
    summary total where none is stored.
    """
    stored = {} if table_was_empty else stored_awards([r.award_key for r in rows])
    fresh, changed = [], []
    before: dict[str, tuple[int | None, int | None]] = {}
    for r in rows:
        old = stored.get(r.award_key)
        if old is None:
            fresh.append(r.values())
            continue
        new = replace(r)
        if (new.last_modified or "") < (old.last_modified or ""):
            # An older record: keep the stored one, taking only a summary it lacks.
            summary = new.summary_obligated_cents, new.summary_base_date, new.summary_latest_date
            new = replace(old)
            if new.summary_obligated_cents is None and summary[0] is not None:
                (new.summary_obligated_cents, new.summary_base_date, new.summary_latest_date) = (
                    summary
                )
        elif new.summary_obligated_cents is None:
            new.summary_obligated_cents = old.summary_obligated_cents
            new.summary_base_date = old.summary_base_date
            new.summary_latest_date = old.summary_latest_date
        if new == old:
            counts.unchanged += 1
            continue
        before[r.award_key] = (old.recipient_id, old.sub_agency_id)
        changed.append([*new.values()[1:], r.award_key])
    with transaction.atomic():
        bulk.insert_rows(ContractAward, AWARD_COLUMNS, fresh)
        update_rows(AWARD_TABLE, "award_key", AWARD_COLUMNS[1:], changed)
    counts.stored += len(fresh)
    counts.updated += len(changed)
    return before


# --- deletions that stay deleted --------------------------------------------------------


def deletion_stamps(kind: str, keys: Sequence[str]) -> dict[str, str]:
    """The ``last_modified`` each deleted record of ``kind`` had, for those of ``keys`` deleted."""
    return {
        key: stamp
        for k, key, stamp in bulk.select_in(
            DeletedContractRecord, ["kind", "key", "last_modified"], "key", keys
        )
        if k == kind
    }


def record_deletions(kind: str, stamps: dict[str, str]) -> None:
    """Remember deleted keys, each with the later of its earlier stamp and the new one.

    A deletion known by its key alone (no row of it stored or read, the mark
    undated) is stored undated; ``drop_deleted_rows`` dates it by the first
    row of the record it meets later (the download the delta deleted it from).
    """
    if not stamps:
        return
    keys = sorted(stamps)
    earlier = deletion_stamps(kind, keys)
    forget_deletions(kind, keys)
    now = timezone.now()
    DeletedContractRecord.objects.bulk_create(
        DeletedContractRecord(
            kind=kind,
            key=key,
            last_modified=max(stamps[key] or "", earlier.get(key, "")),
            deleted_at=now,
        )
        for key in keys
    )


def forget_deletions(kind: str, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), 900):
        DeletedContractRecord.objects.filter(kind=kind, key__in=keys[start : start + 900]).delete()


def drop_deleted_rows(rows: list[Any], counts: UpsertCounts, *, transactions: bool) -> list[Any]:
    """The rows that may be stored: those of records a delta file deleted go, unless
    modified after the deletion (then the record comes back and its mark goes).

    Rows are transactions (``transactions``: checked against their own mark and
    their award's) or awards, each with its ``award_key`` and ``last_modified``.
    """
    if not rows:
        return rows
    own_kind = (
        DeletedContractRecord.Kind.TRANSACTION if transactions else DeletedContractRecord.Kind.AWARD
    )
    key_of = attrgetter("transaction_key" if transactions else "award_key")
    own = deletion_stamps(own_kind, [key_of(r) for r in rows])
    of_award = (
        deletion_stamps(DeletedContractRecord.Kind.AWARD, sorted({r.award_key for r in rows}))
        if transactions
        else {}
    )
    if not own and not of_award:
        return rows
    kept, revived = [], []
    # Undated deletions take the date of the first rows of their record met since:
    # those rows (the download the delta deleted it from) stay out, later ones return.
    dated: dict[tuple[str, str], str] = {}
    for r in rows:
        modified_at = r.last_modified or ""
        key = key_of(r)
        marks = [(own_kind, key, own.get(key))]
        if transactions:
            marks.append((DeletedContractRecord.Kind.AWARD, r.award_key, of_award.get(r.award_key)))
        stamps = [stamp for _kind, _key, stamp in marks if stamp is not None]
        undated = [(k, key_) for k, key_, stamp in marks if stamp == ""]
        for mark in undated:
            dated[mark] = max(dated.get(mark, ""), modified_at)
        if undated or (stamps and modified_at <= max(stamps)):
            counts.kept_deleted += 1
            continue
        if key in own:
            revived.append(key)
        kept.append(r)
    forget_deletions(own_kind, revived)
    for (kind, key_), stamp in dated.items():
        DeletedContractRecord.objects.filter(kind=kind, key=key_).update(last_modified=stamp)
    return kept


# --- award records from every stored action ----------------------------------------------

# Fields of an award record that its latest action gives, and the one its first action gives.
_LATEST_FIELDS = (
    "piid",
    "parent_piid",
    "awarding_agency_code",
    "awarding_sub_agency_code",
    "awarding_office_code",
    "sub_agency_id",
    "permalink",
    "current_end_date",
    "potential_end_date",
)
_RECIPIENT_FIELDS = (
    "recipient_id",
    "recipient_uei",
    "recipient_duns",
    "recipient_name",
    "parent_uei",
    "parent_duns",
    "parent_name",
)


def latest_order(action_date: str, last_modified: str, modification: str, key: str) -> tuple:
    """The order that picks an award's latest action (the greatest): by date, then version,
    modification number and key. Staging picks the latest of an import's rows the same way
    (``LATEST_ACTION_SQL``), so it is one row whichever files brought it, in whichever run."""
    return (action_date or "", last_modified or "", modification or "", key or "")


def first_order(action_date: str, modification: str, key: str) -> tuple:
    """The order that picks an award's first action (the least), as ``FIRST_ACTION_SQL``."""
    return (action_date or "", modification or "", key or "")


# The same orders in DuckDB, over staged transaction rows.
LATEST_ACTION_SQL = "[coalesce(action_date, ''), coalesce(last_modified, ''), coalesce(modification_number, ''), transaction_key]"
FIRST_ACTION_SQL = "[coalesce(action_date, ''), coalesce(modification_number, ''), transaction_key]"


class StagedActions(NamedTuple):
    """An award's first and latest action among this import's rows: (transaction key,
    version) each, compared with what the stored actions say (``StoredActions``)."""

    first: tuple[str, str]
    latest: tuple[str, str]


@dataclass(frozen=True)
class StoredActions:
    """What an award's stored transactions say of it: its first and latest action
    (transaction key and version), the latest one's recipient and parent, and the
    date of its latest action."""

    first: tuple[str, str]
    latest: tuple[str, str]
    recipient: tuple[Any, ...]  # as _RECIPIENT_FIELDS
    last_action: str


def stored_actions(award_keys: Sequence[str]) -> dict[str, StoredActions]:
    columns = [
        "award_key",
        "transaction_key",
        "action_date",
        "last_modified",
        "modification_number",
    ]
    best: dict[str, list[Any]] = {}
    for row in bulk.select_in(
        ContractTransaction,
        [*columns, *(f for f in _RECIPIENT_FIELDS if f not in ("recipient_uei",)), "recipient_uei"],
        "award_key",
        award_keys,
    ):
        award_key, key, date, modified, mod = row[:5]
        first, latest = first_order(date, mod, key), latest_order(date, modified, mod, key)
        seen = best.get(award_key)
        if seen is None:
            best[award_key] = [first, row, latest, row]
            continue
        if first < seen[0]:
            seen[0], seen[1] = first, row
        if latest > seen[2]:
            seen[2], seen[3] = latest, row
    out = {}
    for award_key, (_first_order, first, _latest_order, latest) in best.items():
        recipient_id, duns, name, parent_uei, parent_duns, parent_name, uei = latest[5:]
        out[award_key] = StoredActions(
            first=(first[1], first[3] or ""),
            latest=(latest[1], latest[3] or ""),
            recipient=(recipient_id, uei, duns, name, parent_uei, parent_duns, parent_name),
            last_action=latest[2],
        )
    return out


def settle_awards(rows: Sequence[AwardRow], staged: dict[str, StagedActions]) -> dict[str, str]:
    """Make each award row (changed in place) say what all the actions stored for it
    say, not only those of this import; returns the date of each award's latest
    stored action.

    ``staged`` gives, for awards whose record this import builds from transactions
    alone, the first and the latest action among this import's rows. The recipient
    and parent are those of the latest stored action; the office and the other
    fields of the latest action, and the description of the first, stay as stored
    when that action came from an earlier import; the record is dated by the newest
    change of any of its rows. So the record is the same whichever files came first.
    """
    keys = [r.award_key for r in rows]
    actions = stored_actions(keys)
    stored = stored_awards([k for k in keys if k in staged])
    for r in rows:
        acts = actions.get(r.award_key)
        if acts is None:
            continue
        for f, value in zip(_RECIPIENT_FIELDS, acts.recipient, strict=True):
            setattr(r, f, value if value is not None or f == "recipient_id" else "")
        old = stored.get(r.award_key)
        if r.award_key not in staged or old is None:
            continue
        ours = staged[r.award_key]
        if ours.latest != acts.latest:
            for f in _LATEST_FIELDS:
                setattr(r, f, getattr(old, f))
        if ours.first != acts.first:
            r.description = old.description
        r.last_modified = max(r.last_modified or "", old.last_modified or "")
    return {key: a.last_action for key, a in actions.items()}
