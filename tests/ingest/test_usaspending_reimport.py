"""Importing the same files again writes no row and reports nothing updated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from benchmarks.make_usaspending import generate
from django.db import connection

from receipts.ingest.usaspending.importer import import_usaspending

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "usaspending"

# Bookkeeping of the run itself: its record, and the page cache's generation.
_RUN_TABLES = {"ingest_importrun", "pagecache_contentgeneration"}


def every_row() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ids and write times included."""
    out = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in _RUN_TABLES or table.startswith("django_"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            out[table] = sorted(cursor.fetchall(), key=repr)
    return out


def test_reimporting_the_same_files_writes_no_row(tmp_path: Path) -> None:
    files = [
        *generate(600, "transactions", tmp_path / "tx", seed=7),
        *generate(100, "awards", tmp_path / "aw", seed=7),
    ]
    first = import_usaspending(files)
    assert first.ties.created > 0 and first.awards.stored > 0
    before = every_row()

    again = import_usaspending(files)

    changed = {t: len(set(rows) ^ set(before.get(t, []))) for t, rows in every_row().items()}
    assert {t: n for t, n in changed.items() if n} == {}
    assert again.transactions.stored == again.transactions.updated == 0
    assert again.awards.stored == again.awards.updated == 0
    assert again.ties.created == again.ties.updated == again.ties.removed == 0
    assert again.ties.unchanged == first.ties.created
    assert again.ties.ownership_created == again.ties.ownership_updated == 0
