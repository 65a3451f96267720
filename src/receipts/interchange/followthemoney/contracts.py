"""Federal contract records (USAspending awards and transactions) as FollowTheMoney entities.

The FtM export carries every award and transaction an import stored, and the
FtM import stores them again under the same keys, so export, import into an
empty database and export give the same lines. Export reads the records in
key order through the database's cursor, a chunk at a time, so its memory
does not grow with the number of records.

The mapping (FtM ids follow from the record keys through ``ftm_id_for``):

- An award is a ``Contract`` (id "<award source id>-contract": ``authority``
  the awarding sub-agency, ``procedureNumber`` the PIID, ``description`` the
  award description, ``sourceUrl`` its USAspending page; ``title``,
  ``contractDate``, ``publisher`` and ``proof`` for readers, derived) and a
  ``ContractAward`` (id "<award source id>-award": ``contract`` -> ``supplier``
  the recipient, ``recordId`` the contract award unique key, ``amount`` and
  ``currency`` the award summary's total obligated amount in USD,
  ``startDate`` and ``date`` the summary's first and latest action dates,
  ``proof`` the award's source).
- A transaction is a ``Payment`` (``payer`` the award's sub-agency,
  ``beneficiary`` its own recipient, ``contract`` the award's Contract,
  ``recordId`` the contract transaction unique key, ``sequenceNumber`` the
  modification number, ``date`` the action date, ``amount`` the federal
  action obligation in USD, ``proof`` the award's source).
- What the records say in their own words, and FtM has no property for, is a
  ``description`` value "<USAspending column>: <value>" on the ContractAward
  and the Payment: the PIID of the parent award, the agency and office codes,
  the recipient and its parent as the record names them, the last-modified
  stamp exactly as stored, the period of performance's current and potential
  end dates, and "correction_delete_ind: C" on a transaction a
  delta file corrected. A ContractAward with a ``recordId`` is an award record;
  one without is a contract tie (see ``receipts.interchange.followthemoney.evidence``).

Contract totals are not exported: the import recomputes them from the records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import OuterRef, Subquery
from followthemoney import EntityProxy

from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence.ftm_ids import ftm_id_for
from receipts.ingest.usaspending.formats import PUBLISHER
from receipts.ingest.usaspending.ties import TieCounts, fiscal_year_of, recompute_contract_ties

from .common import FtmExportError, amount_value, date_value, new_proxy, put

if TYPE_CHECKING:
    from .common import ImportSummary, Line

# Records per database round trip when exporting.
_CHUNK = 2000
_CURRENCY = "USD"
_TITLE_DESCRIPTION = 200

# (USAspending column, model field) of the values kept as "<column>: <value>".
_AWARD_TAGS = (
    ("parent_award_id_piid", "parent_piid"),
    ("awarding_agency_code", "awarding_agency_code"),
    ("awarding_sub_agency_code", "awarding_sub_agency_code"),
    ("awarding_office_code", "awarding_office_code"),
    ("recipient_uei", "recipient_uei"),
    ("recipient_duns", "recipient_duns"),
    ("recipient_name", "recipient_name"),
    ("recipient_parent_uei", "parent_uei"),
    ("recipient_parent_duns", "parent_duns"),
    ("recipient_parent_name", "parent_name"),
    ("last_modified_date", "last_modified"),
    ("period_of_performance_current_end_date", "current_end_date"),
    ("period_of_performance_potential_end_date", "potential_end_date"),
)
_TRANSACTION_TAGS = (
    ("contract_award_unique_key", "award_key"),
    ("recipient_uei", "recipient_uei"),
    ("recipient_duns", "recipient_duns"),
    ("recipient_name", "recipient_name"),
    ("recipient_parent_uei", "parent_uei"),
    ("recipient_parent_duns", "parent_duns"),
    ("recipient_parent_name", "parent_name"),
    ("last_modified_date", "last_modified"),
)
_CORRECTED_TAG = "correction_delete_ind"
_TAG = re.compile(r"(?P<column>[a-z_]+): (?P<value>.*)", re.DOTALL)


def award_id(award_key: str) -> str:
    """The id an award's FtM entities share: its source's, "-contract" or "-award" added."""
    from receipts.ingest.usaspending.ties import award_source_id

    return award_source_id(award_key)


def transaction_id(transaction_key: str) -> str:
    return ftm_id_for(f"usaspending-transaction-{transaction_key}")


def _money(cents: int) -> str:
    return format(Decimal(cents).scaleb(-2), "f")


def _timestamp(stamp: str) -> str:
    """FtM's form of a stored last-modified stamp, to the second (the tag keeps it exactly)."""
    return stamp[:19].replace(" ", "T")


# --- export ---------------------------------------------------------------------------


def record_entities() -> Iterator[EntityProxy]:
    """Every stored award (Contract, ContractAward) then every transaction (Payment), in key order."""

    award_columns = (
        "award_key",
        "piid",
        "description",
        "permalink",
        "summary_obligated_cents",
        "summary_base_date",
        "summary_latest_date",
        "sub_agency__ftm_id",
        "recipient__ftm_id",
        "source__ftm_id",
        *(f for _, f in _AWARD_TAGS),
    )
    awards = ContractAward.objects.order_by("award_key").values_list(*award_columns)
    for row in awards.iterator(chunk_size=_CHUNK):
        award = dict(zip(award_columns, row, strict=True))
        if award["recipient__ftm_id"] is None:
            raise FtmExportError(
                f"award {award['award_key']}: no recipient entity, which a ContractAward needs"
            )
        yield from _award_to_ftm(award)

    by_award = ContractAward.objects.filter(award_key=OuterRef("award_key"))
    transaction_columns = (
        "transaction_key",
        "modification_number",
        "action_date",
        "obligation_cents",
        "corrected",
        "recipient__ftm_id",
        "payer",
        "proof",
        *(f for _, f in _TRANSACTION_TAGS),
    )
    transactions = (
        ContractTransaction.objects.order_by("transaction_key")
        .annotate(
            payer=Subquery(by_award.values("sub_agency__ftm_id")[:1]),
            proof=Subquery(by_award.values("source__ftm_id")[:1]),
        )
        .values_list(*transaction_columns)
    )
    for row in transactions.iterator(chunk_size=_CHUNK):
        record = dict(zip(transaction_columns, row, strict=True))
        where = f"transaction {record['transaction_key']}"
        if record["payer"] is None:
            raise FtmExportError(
                f"{where}: its award {record['award_key']} is not stored with an awarding "
                "agency, which a Payment needs as its payer"
            )
        if record["recipient__ftm_id"] is None:
            raise FtmExportError(f"{where}: no recipient entity, which a Payment needs")
        yield _transaction_to_ftm(record)


def _award_to_ftm(award: dict[str, Any]) -> list[EntityProxy]:

    key = award["award_key"]
    where = f"award {key}"
    base = award_id(key)
    contract = new_proxy("Contract", f"{base}-contract", where)
    description = award["description"]
    title = award["piid"] or key
    if description:
        short = description[:_TITLE_DESCRIPTION]
        title += f": {short}" + ("…" if len(short) < len(description) else "")
    put(contract, "title", title, where)
    put(contract, "authority", award["sub_agency__ftm_id"], where)
    put(contract, "procedureNumber", award["piid"], where)
    put(contract, "description", description, where)
    put(contract, "contractDate", award["summary_base_date"], where)
    put(contract, "sourceUrl", award["permalink"], where)
    put(contract, "publisher", PUBLISHER, where)
    put(contract, "proof", award["source__ftm_id"], where)

    link = new_proxy("ContractAward", f"{base}-award", where)
    put(link, "contract", contract.id, where)
    put(link, "supplier", award["recipient__ftm_id"], where)
    put(link, "recordId", key, where)
    if award["summary_obligated_cents"] is not None:
        put(link, "amount", _money(award["summary_obligated_cents"]), where)
        put(link, "currency", _CURRENCY, where)
    put(link, "startDate", award["summary_base_date"], where)
    put(link, "date", award["summary_latest_date"], where)
    if award["last_modified"]:
        put(link, "modifiedAt", _timestamp(award["last_modified"]), where)
    put(link, "publisher", PUBLISHER, where)
    put(link, "proof", award["source__ftm_id"], where)
    for column, name in _AWARD_TAGS:
        if award[name]:
            put(link, "description", f"{column}: {award[name]}", where)
    return [contract, link]


def _transaction_to_ftm(record: dict[str, Any]) -> EntityProxy:

    key = record["transaction_key"]
    where = f"transaction {key}"
    payment = new_proxy("Payment", transaction_id(key), where)
    put(payment, "payer", record["payer"], where)
    put(payment, "beneficiary", record["recipient__ftm_id"], where)
    put(payment, "contract", f"{award_id(record['award_key'])}-contract", where)
    put(payment, "recordId", key, where)
    put(payment, "sequenceNumber", record["modification_number"], where)
    put(payment, "date", record["action_date"], where)
    put(payment, "amount", _money(record["obligation_cents"]), where)
    put(payment, "currency", _CURRENCY, where)
    if record["last_modified"]:
        put(payment, "modifiedAt", _timestamp(record["last_modified"]), where)
    put(payment, "publisher", PUBLISHER, where)
    put(payment, "proof", record["proof"], where)
    for column, name in _TRANSACTION_TAGS:
        if record[name]:
            put(payment, "description", f"{column}: {record[name]}", where)
    if record["corrected"]:
        put(payment, "description", f"{_CORRECTED_TAG}: C", where)
    return payment


# --- import: reading ------------------------------------------------------------------


@dataclass
class AwardRecord:
    line: Line
    contract_line: Line
    values: dict[str, Any]
    supplier_id: str
    authority_id: str | None
    source_id: str | None


@dataclass
class TransactionRecord:
    line: Line
    values: dict[str, Any]
    recipient_id: str


@dataclass
class RecordsPlan:
    awards: list[AwardRecord] = field(default_factory=list)
    transactions: list[TransactionRecord] = field(default_factory=list)

    def entity_references(self) -> Iterator[tuple[Line, str, str]]:
        """(line, property, entity id) of every entity the records name."""
        for award in self.awards:
            yield award.line, "supplier", award.supplier_id
            if award.authority_id is not None:
                yield award.contract_line, "authority", award.authority_id
        for record in self.transactions:
            yield record.line, "beneficiary", record.recipient_id

    def source_references(self) -> Iterator[tuple[Line, str]]:
        for award in self.awards:
            if award.source_id is not None:
                yield award.line, award.source_id


def _checked(line: Line, prop: str, value: str, model_field: str, table: type[models.Model]) -> str:
    limit = getattr(table._meta.get_field(model_field), "max_length", None)
    if limit is not None and len(value) > limit:
        raise line.fail(prop, f"{len(value)} characters; Receipts keeps at most {limit}")
    return value


def _cents(line: Line, prop: str, text: str) -> int:

    return int(amount_value(line, prop, text) * 100)


def _usd(line: Line) -> None:
    currency = (line.one("currency") or "").upper()
    if currency != _CURRENCY:
        raise line.fail("currency", f"{currency or 'missing'}: USAspending amounts are in USD")


def _full_date(line: Line, prop: str, required: bool = False) -> str:

    value = date_value(line, prop)
    if value and len(value) != 10:
        raise line.fail(prop, f"{value} is not a whole date (YYYY-MM-DD)")
    if required and not value:
        raise line.fail(prop, "missing: every transaction has an action date")
    return value


def _tags(
    line: Line, tags: tuple[tuple[str, str], ...], table: type[models.Model]
) -> tuple[dict[str, str], bool]:
    """The "<column>: <value>" descriptions as model fields, and whether the correction mark is there."""
    by_column = dict(tags)
    values = {name: "" for _, name in tags}
    corrected = False
    for text in line.values("description"):
        tag = _TAG.fullmatch(text)
        if tag is not None and tag["column"] == _CORRECTED_TAG and table is ContractTransaction:
            if tag["value"] != "C":
                raise line.fail(
                    "description", f"{_CORRECTED_TAG} is C or absent, not {tag['value']!r}"
                )
            corrected = True
            continue
        if tag is None or tag["column"] not in by_column:
            line.unused[f"{line.schema.name}.description"] += 1
            continue
        name = by_column[tag["column"]]
        if values[name]:
            raise line.fail("description", f"gives {tag['column']} twice")
        values[name] = _checked(line, "description", tag["value"], name, table)
    return values, corrected


def read_award(line: Line, contract_lines: dict[str, Line]) -> AwardRecord:
    """An award record from its ContractAward line (with a recordId) and its Contract line."""
    key = line.one("recordId", required="missing") or ""
    _checked(line, "recordId", key, "award_key", ContractAward)
    supplier = line.one("supplier", required="missing: an award needs its recipient") or ""
    contract_ref = line.one("contract", required="missing: an award needs its Contract") or ""
    contract_line = contract_lines.get(contract_ref)
    if contract_line is None:
        raise line.fail(
            "contract", f"{contract_ref!r} is not a Contract in this file; an award comes with it"
        )
    tags, _ = _tags(line, _AWARD_TAGS, ContractAward)
    cents = None
    amount = line.one("amount")
    if amount is not None:
        cents = _cents(line, "amount", amount)
        _usd(line)
    elif line.values("currency"):
        _usd(line)
    line.read.update({"modifiedAt", "publisher"})  # derived on export
    source = line.one("proof")
    contract_line.read.update({"title", "contractDate", "publisher", "proof"})  # derived
    piid = contract_line.one("procedureNumber") or ""
    values = {
        "award_key": key,
        "piid": _checked(contract_line, "procedureNumber", piid, "piid", ContractAward),
        "description": contract_line.one("description") or "",
        "permalink": _checked(
            contract_line,
            "sourceUrl",
            contract_line.one("sourceUrl") or "",
            "permalink",
            ContractAward,
        ),
        "summary_obligated_cents": cents,
        "summary_base_date": _full_date(line, "startDate"),
        "summary_latest_date": _full_date(line, "date"),
        **tags,
    }
    return AwardRecord(
        line=line,
        contract_line=contract_line,
        values=values,
        supplier_id=supplier,
        authority_id=contract_line.one("authority"),
        source_id=source,
    )


def read_transaction(line: Line) -> TransactionRecord:
    key = line.one("recordId", required="missing: a transaction needs its unique key") or ""
    _checked(line, "recordId", key, "transaction_key", ContractTransaction)
    tags, corrected = _tags(line, _TRANSACTION_TAGS, ContractTransaction)
    if not tags["award_key"]:
        raise line.fail("description", "missing: contract_award_unique_key: <the award's key>")
    contract = line.one("contract")
    if contract is not None and contract != f"{award_id(tags['award_key'])}-contract":
        raise line.fail(
            "contract", f"{contract!r} is not the Contract of the award {tags['award_key']}"
        )
    amount = line.one("amount", required="missing: a transaction obligates an amount") or ""
    cents = _cents(line, "amount", amount)
    _usd(line)
    action_date = _full_date(line, "date", required=True)
    modification = line.one("sequenceNumber") or ""
    line.read.update({"payer", "proof", "modifiedAt", "publisher"})  # derived on export
    values = {
        "transaction_key": key,
        "modification_number": _checked(
            line, "sequenceNumber", modification, "modification_number", ContractTransaction
        ),
        "action_date": action_date,
        "fiscal_year": fiscal_year_of(action_date),
        "obligation_cents": cents,
        "corrected": corrected,
        **tags,
    }
    recipient = line.one("beneficiary", required="missing: a transaction needs its recipient")
    return TransactionRecord(line=line, values=values, recipient_id=recipient or "")


def check_records(plan: RecordsPlan) -> None:
    """One line per record key and per award Contract; every transaction's award known."""
    for records, key in ((plan.awards, "award_key"), (plan.transactions, "transaction_key")):
        seen: dict[str, int] = {}
        for record in records:
            value = record.values[key]
            if value in seen:
                raise record.line.fail(
                    "recordId", f"{value!r} is also the key on line {seen[value]}"
                )
            seen[value] = record.line.number
    contracts: dict[str, int] = {}
    for award in plan.awards:
        if award.contract_line.id in contracts:
            raise award.line.fail(
                "contract",
                f"{award.contract_line.id!r} is also the Contract of line "
                f"{contracts[award.contract_line.id]}; each award has its own",
            )
        contracts[award.contract_line.id] = award.line.number
    in_file = {a.values["award_key"] for a in plan.awards}
    wanted = sorted({t.values["award_key"] for t in plan.transactions} - in_file)
    stored = _stored(ContractAward, "award_key", wanted)
    for record in plan.transactions:
        key = record.values["award_key"]
        if key not in in_file and key not in stored:
            raise record.line.fail(
                "description",
                f"contract_award_unique_key {key!r} is neither in this file nor in the database",
            )


def _stored(table: type[models.Model], key: str, keys: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = table._default_manager.filter(**{f"{key}__in": chunk})
        found.update({getattr(obj, key): obj for obj in rows})
    return found


# --- import: writing ------------------------------------------------------------------


def _pks(table: type[models.Model], ftm_ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(ftm_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        found.update(
            table._default_manager.filter(ftm_id__in=wanted[start : start + 500]).values_list(
                "ftm_id", "pk"
            )
        )
    return found


def _save(
    table: type[models.Model],
    key: str,
    rows: list[dict[str, Any]],
    group: str,
    summary: ImportSummary,
) -> None:
    """Create or update rows matched on their natural key; rows already as given stay untouched."""
    fields = [f for f in rows[0] if f != key] if rows else []
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        existing = _stored(table, key, [r[key] for r in chunk])
        fresh, changed = [], []
        for row in chunk:
            obj = existing.get(row[key])
            if obj is None:
                fresh.append(table(**row))
            elif any(getattr(obj, f) != row[f] for f in fields):
                for f in fields:
                    setattr(obj, f, row[f])
                changed.append(obj)
            else:
                summary.unchanged[group] += 1
        table._default_manager.bulk_create(fresh)
        table._default_manager.bulk_update(changed, fields)
        summary.created[group] += len(fresh)
        summary.updated[group] += len(changed)


def write_records(plan: RecordsPlan, summary: ImportSummary) -> None:
    """Store the awards, then the transactions, then recompute the totals of their ties."""
    from receipts.evidence.models import Entity, Source

    entities = _pks(
        Entity,
        [a.supplier_id for a in plan.awards]
        + [a.authority_id for a in plan.awards if a.authority_id]
        + [t.recipient_id for t in plan.transactions],
    )
    sources = _pks(Source, [a.source_id for a in plan.awards if a.source_id])
    _save(
        ContractAward,
        "award_key",
        [
            {
                **a.values,
                "recipient_id": entities[a.supplier_id],
                "sub_agency_id": entities[a.authority_id] if a.authority_id else None,
                "source_id": sources[a.source_id] if a.source_id else None,
            }
            for a in plan.awards
        ],
        "awards",
        summary,
    )
    _save(
        ContractTransaction,
        "transaction_key",
        [{**t.values, "recipient_id": entities[t.recipient_id]} for t in plan.transactions],
        "transactions",
        summary,
    )
    if not plan.awards and not plan.transactions:
        return
    award_keys = sorted(
        {a.values["award_key"] for a in plan.awards}
        | {t.values["award_key"] for t in plan.transactions}
    )
    sub_agency = {
        key: obj.sub_agency_id
        for key, obj in _stored(ContractAward, "award_key", award_keys).items()
    }
    pairs = {
        (entities[a.supplier_id], sub_agency[a.values["award_key"]])
        for a in plan.awards
        if sub_agency.get(a.values["award_key"]) is not None
    } | {
        (entities[t.recipient_id], sub_agency[t.values["award_key"]])
        for t in plan.transactions
        if sub_agency.get(t.values["award_key"]) is not None
    }
    recompute_contract_ties(pairs, TieCounts())
