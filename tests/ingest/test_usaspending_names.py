"""A USAspending name no entity can hold rejects its row, named in the report, and the
rest of the file is stored: the import never stops on it nor stores a name the editor's
forms and the API would refuse."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from benchmarks.make_usaspending import generate

from receipts.contracts.models import ContractTransaction
from receipts.evidence.models import Entity
from receipts.ingest.usaspending.importer import import_usaspending
from tests.ingest.csv_files import read_rows, write_rows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "column",
    ["recipient_name", "recipient_parent_name", "awarding_agency_name", "awarding_sub_agency_name"],
)
def test_a_name_longer_than_an_entity_holds_rejects_only_its_row(
    tmp_path: Path, column: str
) -> None:
    (path,) = generate(6, "transactions", tmp_path / "files", seed=5)
    header, rows = read_rows(path)
    rows[2][column] = "N" * 1_000
    bad = write_rows(tmp_path / "long-name.csv", header, rows)
    report = tmp_path / "rejects.csv"
    summary = import_usaspending([bad], report_path=report)
    assert summary.rejected == 1
    (reject,) = list(csv.DictReader(report.open(encoding="utf-8")))
    assert (reject["row"], reject["column"]) == ("4", column)
    assert reject["reason"] == f"{column}: 1000 characters where at most 300 are kept"
    assert ContractTransaction.objects.count() == 5
    assert max(len(name) for name in Entity.objects.values_list("name", flat=True)) <= 300
