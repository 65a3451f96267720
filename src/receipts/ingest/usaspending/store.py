"""Batched writes of staged rows into the Receipts database, idempotent on natural keys.

Each batch is one transaction: a crash leaves whole batches stored, and a
re-run stores nothing twice because every row is matched on its unique key
first. New rows go in with executemany on SQLite and COPY on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
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


def existing_rows(
    model: type[Model], key: str, columns: Sequence[str], keys: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    """Stored rows by key, with the given columns, for a batch of keys."""
    return {row[0]: row[1:] for row in bulk.select_in(model, [key, *columns], key, keys)}


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


TX_TABLE = ContractTransaction._meta.db_table
TX_COLUMNS = [
    "transaction_key",
    "award_key",
    "modification_number",
    "action_date",
    "fiscal_year",
    "obligation_cents",
    "recipient_id",
    "recipient_uei",
    "recipient_duns",
    "recipient_name",
    "parent_uei",
    "parent_duns",
    "parent_name",
    "corrected",
    "last_modified",
]
AWARD_TABLE = ContractAward._meta.db_table
AWARD_COLUMNS = [
    "award_key",
    "piid",
    "parent_piid",
    "awarding_agency_code",
    "awarding_sub_agency_code",
    "awarding_office_code",
    "sub_agency_id",
    "recipient_id",
    "recipient_uei",
    "recipient_duns",
    "recipient_name",
    "parent_uei",
    "parent_duns",
    "parent_name",
    "description",
    "summary_obligated_cents",
    "summary_base_date",
    "summary_latest_date",
    "permalink",
    "last_modified",
    "current_end_date",
    "potential_end_date",
    "source_id",
]


def store_transactions(
    rows: Sequence[Sequence[Any]],
    corrections: set[str],
    counts: UpsertCounts,
    *,
    table_was_empty: bool = False,
) -> set[int]:
    """One batch of transaction rows in TX_COLUMNS order: new ones in, newer ones over;
    returns the recipients that replaced rows had before, whose ties may change.

    A row replaces the stored one when its ``last_modified`` is later; when a
    delta file marks it as a correction of the stored version or a later one
    (an old correction read again does not undo a newer modification); or
    when it says something else under the same ``last_modified`` (a file read
    again with the right ``--date-format``, a re-export), unless the stored
    row is a correction and this one is not (the download it corrected, read
    again). A row older than the stored one never replaces it: importing an
    old download after a newer one changes nothing.
    """
    keys = [r[0] for r in rows]
    # Into a table that was empty when the import began, every row is new: keys
    # are unique in staging, so the lookup can be skipped.
    stored = (
        {}
        if table_was_empty
        else existing_rows(ContractTransaction, "transaction_key", TX_COLUMNS[1:], keys)
    )
    i_recipient = TX_COLUMNS.index("recipient_id") - 1
    i_corrected = TX_COLUMNS.index("corrected") - 1
    fresh, newer = [], []
    before: set[int] = set()
    for r in rows:
        old = stored.get(r[0])
        if old is None:
            fresh.append(r)
            continue
        old_modified = old[-1] or ""
        said_else = [v for i, v in enumerate(r[1:]) if i != i_corrected] != [
            v for i, v in enumerate(old) if i != i_corrected
        ]
        if (
            r[-1] > old_modified
            or (r[0] in corrections and r[-1] >= old_modified)
            or (r[-1] == old_modified and said_else and not old[i_corrected])
        ):
            newer.append([*r[1:], r[0]])
            if old[i_recipient] is not None:
                before.add(old[i_recipient])
        else:
            counts.unchanged += 1
    with transaction.atomic():
        bulk.insert_rows(ContractTransaction, TX_COLUMNS, fresh)
        update_rows(TX_TABLE, "transaction_key", TX_COLUMNS[1:], newer)
    counts.stored += len(fresh)
    counts.updated += len(newer)
    return before


def store_awards(
    rows: Sequence[Sequence[Any]], counts: UpsertCounts, *, table_was_empty: bool = False
) -> dict[str, tuple[int | None, int | None]]:
    """One batch of award rows in AWARD_COLUMNS order; returns the (recipient, sub-agency)
    each changed award had before, so ties it left can be recomputed.

    A summary total already stored is kept when the new row has none (a
    transactions file says nothing about summaries). A row older than the
    stored record (``last_modified``) does not replace it: it only adds a
    summary total where none is stored.
    """
    keys = [r[0] for r in rows]
    fields = AWARD_COLUMNS[1:]
    stored = {} if table_was_empty else existing_rows(ContractAward, "award_key", fields, keys)
    i_sum, i_base, i_latest, i_recipient, i_sub, i_modified = (
        fields.index(c)
        for c in (
            "summary_obligated_cents",
            "summary_base_date",
            "summary_latest_date",
            "recipient_id",
            "sub_agency_id",
            "last_modified",
        )
    )
    fresh, changed = [], []
    before: dict[str, tuple[int | None, int | None]] = {}
    for r in rows:
        old = stored.get(r[0])
        if old is None:
            fresh.append(r)
            continue
        values = list(r[1:])
        if (values[i_modified] or "") < (old[i_modified] or ""):
            # An older record: keep the stored one, taking only a summary it lacks.
            summary = values[i_sum], values[i_base], values[i_latest]
            values = list(old)
            if values[i_sum] is None and summary[0] is not None:
                values[i_sum], values[i_base], values[i_latest] = summary
        elif values[i_sum] is None:
            values[i_sum], values[i_base], values[i_latest] = old[i_sum], old[i_base], old[i_latest]
        if tuple(values) == tuple(old):
            counts.unchanged += 1
            continue
        before[r[0]] = (old[i_recipient], old[i_sub])
        changed.append([*values, r[0]])
    with transaction.atomic():
        bulk.insert_rows(ContractAward, AWARD_COLUMNS, fresh)
        update_rows(AWARD_TABLE, "award_key", fields, changed)
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


def drop_deleted_rows(
    rows: list[Any],
    counts: UpsertCounts,
    *,
    key: int,
    modified: int,
    award_key: int | None = None,
) -> list[Any]:
    """The rows that may be stored: those of records a delta file deleted go, unless
    modified after the deletion (then the record comes back and its mark goes).

    ``key``, ``modified`` and ``award_key`` are positions in the rows; a
    transaction row is checked against its own mark and its award's.
    """
    if not rows:
        return rows
    own_kind = (
        DeletedContractRecord.Kind.AWARD
        if award_key is None
        else DeletedContractRecord.Kind.TRANSACTION
    )
    own = deletion_stamps(own_kind, [r[key] for r in rows])
    of_award = (
        {}
        if award_key is None
        else deletion_stamps(DeletedContractRecord.Kind.AWARD, sorted({r[award_key] for r in rows}))
    )
    if not own and not of_award:
        return rows
    kept, revived = [], []
    # Undated deletions take the date of the first rows of their record met since:
    # those rows (the download the delta deleted it from) stay out, later ones return.
    dated: dict[tuple[str, str], str] = {}
    for r in rows:
        modified_at = r[modified] or ""
        marks = [(own_kind, r[key], own.get(r[key]))]
        if award_key is not None:
            marks.append(
                (DeletedContractRecord.Kind.AWARD, r[award_key], of_award.get(r[award_key]))
            )
        stamps = [stamp for _kind, _key, stamp in marks if stamp is not None]
        undated = [(k, key_) for k, key_, stamp in marks if stamp == ""]
        for mark in undated:
            dated[mark] = max(dated.get(mark, ""), modified_at)
        if undated or (stamps and modified_at <= max(stamps)):
            counts.kept_deleted += 1
            continue
        if r[key] in own:
            revived.append(r[key])
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


def settle_awards(
    rows: Sequence[list[Any]], staged: dict[str, tuple[str, str, str, str]]
) -> dict[str, str]:
    """Make each award row (AWARD_COLUMNS order, changed in place) say what all the
    actions stored for it say, not only those of this import; returns the date of each
    award's latest stored action.

    ``staged`` gives, for awards whose record this import builds from transactions
    alone, the (transaction key, version) of the first and of the latest action
    among this import's rows. The recipient and parent are those of the latest
    stored action; the office and the other fields of the latest action, and the
    description of the first, stay as stored when that action came from an earlier
    import; the record is dated by the newest change of any of its rows. So the
    record is the same whichever files came first.
    """
    keys = [r[0] for r in rows]
    actions = stored_actions(keys)
    fields = AWARD_COLUMNS[1:]
    stored = existing_rows(ContractAward, "award_key", fields, [k for k in keys if k in staged])
    at = {f: AWARD_COLUMNS.index(f) for f in AWARD_COLUMNS}
    for r in rows:
        acts = actions.get(r[0])
        if acts is None:
            continue
        for f, value in zip(_RECIPIENT_FIELDS, acts.recipient, strict=True):
            r[at[f]] = value if value is not None or f == "recipient_id" else ""
        old = stored.get(r[0])
        if r[0] not in staged or old is None:
            continue
        first_key, first_version, latest_key, latest_version = staged[r[0]]
        if (latest_key, latest_version) != acts.latest:
            for f in _LATEST_FIELDS:
                r[at[f]] = old[at[f] - 1]
        if (first_key, first_version) != acts.first:
            r[at["description"]] = old[at["description"] - 1]
        r[at["last_modified"]] = max(
            r[at["last_modified"]] or "", old[at["last_modified"] - 1] or ""
        )
    return {key: a.last_action for key, a in actions.items()}
