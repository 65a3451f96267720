"""Every test data set imports to the same stored rows as the canonical dumps kept beside it.

A dump lists, table by table, every row an import leaves in the tables it
writes, by natural keys (an entity by its slug, a source by its FollowTheMoney
id or title, a tie by its ends, kind and id), without row ids or the moments
rows were written. The dumps in ``tests/data/usaspending_canonical`` were made
with the importer before its storage was reworked for speed; a change to how
rows are stored that changes what is stored fails here, table by table.

``RECEIPTS_WRITE_CANONICAL=1`` writes the dumps anew (only for a change that
means to store something else).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from benchmarks.make_usaspending import generate
from django.db import connection, models

from receipts.contracts.models import (
    ContractAward,
    ContractTotals,
    ContractTransaction,
    DeletedContractRecord,
)
from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
from receipts.ingest.models import NameOnlyRecipient, ReviewItem
from receipts.ingest.usaspending.importer import import_usaspending
from receipts.watch.models import ChangeEvent, EventEntity
from tests.ingest.csv_files import read_rows, write_rows

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "usaspending"
DUMPS = Path(__file__).resolve().parents[1] / "data" / "usaspending_canonical"
ERA_2018_FORMATS = ("%d/%m/%Y", "%d/%m/%y")

# The tables an import writes, in the order a dump lists them.
DUMPED: list[type[models.Model]] = [
    Entity,
    Identifier,
    NameOnlyRecipient,
    ReviewItem,
    Source,
    Tie,
    Citation,
    ContractTransaction,
    ContractAward,
    ContractTotals,
    DeletedContractRecord,
    ChangeEvent,
    EventEntity,
]


def _entity_key(entity: Entity) -> str:
    """An entity by its kind, name and identifiers: its slug and id depend on the order
    entities were made in, which follows set order, not content."""
    ids = " ".join(sorted(f"{i.scheme}:{i.value}" for i in entity.identifiers.all()))
    return f"{entity.kind}:{entity.name}" + (f" [{ids}]" if ids else "")


def _natural_key(obj: models.Model | None) -> Any:
    """How a dump names a row another row refers to."""
    if obj is None:
        return None
    if isinstance(obj, Entity):
        return _entity_key(obj)
    if isinstance(obj, Source):
        return obj.ftm_id or obj.title
    if isinstance(obj, Tie):
        return [_natural_key(obj.subject), _natural_key(obj.object), obj.kind, obj.ftm_id]
    if isinstance(obj, ContractAward):
        return obj.award_key
    if isinstance(obj, ChangeEvent):
        return obj.dedupe_key
    raise AssertionError(f"no natural key for {type(obj).__name__}")


# Entities made by an import get a random FollowTheMoney id, which ties' ids repeat.
_RANDOM_ID = re.compile(r"receipts-entity-[0-9a-f]{32}")
# A run's own source is named by a digest of the paths of its files, which differ per test.
_DOWNLOAD_ID = re.compile(r"usaspending-download-[0-9a-f]{32}")


def _value(obj: models.Model, field: models.Field, today: str) -> Any:
    if field.is_relation:
        return _natural_key(getattr(obj, field.name))
    value = getattr(obj, field.name)
    if isinstance(value, Decimal):
        return str(value.normalize())
    if value == today:  # the day the import ran (a source's retrieval date)
        return "<today>"
    return value


def _canonical_ids(names: dict[str, str], text: str) -> str:
    text = _RANDOM_ID.sub(lambda m: names.get(m[0], "<unknown entity>"), text)
    return _DOWNLOAD_ID.sub("usaspending-download-<digest>", text)


def canonical_dump() -> dict[str, list[Any]]:
    """Every row of the tables an import writes, by natural keys, sorted."""
    today = dt.date.today().isoformat()
    names = {e.ftm_id: f"<entity {_entity_key(e)}>" for e in Entity.objects.all()}
    out: dict[str, list[Any]] = {}
    for model in DUMPED:
        fields = [
            f
            for f in model._meta.concrete_fields
            if not f.primary_key
            and not isinstance(f, (models.DateTimeField, models.UUIDField))
            # Derived from the name and aliases; the slug also from the order of making.
            and f.name not in ("search_text", "slug")
        ]
        rows = [
            _canonical_ids(
                names,
                json.dumps(
                    {f.name: _value(obj, f, today) for f in fields}, sort_keys=True, default=str
                ),
            )
            for obj in model.objects.order_by("pk")
        ]
        out[model._meta.label] = [json.loads(row) for row in sorted(rows)]
    return out


def _generated_download(tmp_path: Path) -> list[list[Path]]:
    """A generated download, its award summaries, then a delta: a correction, a
    transaction deleted by its key alone and an award deleted by its summary row."""
    (tx,) = generate(600, "transactions", tmp_path / "tx", seed=7)
    awards = generate(120, "awards", tmp_path / "aw", seed=7)
    header, rows = read_rows(tx)
    corrected, deleted = rows[0], rows[1]
    delta = write_rows(
        tmp_path / "delta.csv",
        ["correction_delete_ind", *header],
        [
            {
                "correction_delete_ind": "C",
                **corrected,
                "federal_action_obligation": "7.00",
                "last_modified_date": "2030-01-01 00:00:00",
            },
            {
                "correction_delete_ind": "D",
                "contract_transaction_unique_key": deleted["contract_transaction_unique_key"],
            },
        ],
    )
    aw_header, aw_rows = read_rows(awards[0])
    award_delta = write_rows(
        tmp_path / "award-delta.csv",
        [*aw_header, "correction_delete_ind"],
        [
            {
                "contract_award_unique_key": aw_rows[3]["contract_award_unique_key"],
                "correction_delete_ind": "D",
            }
        ],
    )
    return [[tx], awards, [delta, award_delta], [tx]]


# Each data set: a name, and the runs that make it (each a list of files and --date-format).
DATA_SETS: dict[str, Callable[[Path], list[tuple[list[Path], tuple[str, ...]]]]] = {
    "award_summaries_sample": lambda _tmp: [
        ([SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv"], ())
    ],
    "transactions_2018_era_sample": lambda _tmp: [
        ([SAMPLES / "ice_fy13_2018era_transactions.csv"], ERA_2018_FORMATS)
    ],
    "both_samples_then_again": lambda _tmp: [
        (
            [
                SAMPLES / "ice_fy13_2018era_transactions.csv",
                SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv",
            ],
            ERA_2018_FORMATS,
        ),
        ([SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv"], ()),
    ],
    "generated_download_with_deltas": lambda tmp: [
        (files, ()) for files in _generated_download(tmp)
    ],
}


@pytest.mark.parametrize("name", sorted(DATA_SETS))
def test_import_stores_the_canonical_rows(name: str, tmp_path: Path) -> None:
    for files, formats in DATA_SETS[name](tmp_path):
        import_usaspending(files, date_format=formats, report_path=tmp_path / "report.csv")
    dump = canonical_dump()
    assert sum(len(rows) for rows in dump.values()) > 0
    # One dump per database: which of a pair's awards a new tie's change event cites
    # follows each database's order of equal rows.
    path = DUMPS / f"{name}.{connection.vendor}.json"
    if os.environ.get("RECEIPTS_WRITE_CANONICAL"):
        DUMPS.mkdir(exist_ok=True)
        path.write_text(json.dumps(dump, indent=1, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    found = dump
    for table in expected:
        missing = [r for r in expected[table] if r not in found[table]]
        extra = [r for r in found[table] if r not in expected[table]]
        assert found[table] == expected[table], (
            f"{table} differs from {path.name}: not stored {missing[:3]}, stored instead {extra[:3]}"
        )
    assert set(found) == set(expected)
