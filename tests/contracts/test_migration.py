"""The contract models moved from the ingest app to the contracts app without
touching their tables: a database migrated on the old layout keeps every row."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from receipts.contracts.models import (
    ContractAward,
    ContractTotals,
    ContractTransaction,
    DeletedContractRecord,
)
from receipts.watch.models import ChangeEvent

# The last migrations before the contracts app took the models over.
BEFORE = [
    ("ingest", "0006_transaction_corrected"),
    ("watch", "0002_tie_removed_events"),
    ("contracts", None),
]


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate to ``targets`` and return the project state's apps there."""
    MigrationExecutor(connection).migrate(targets)
    loader = MigrationExecutor(connection).loader
    return loader.project_state(list(loader.applied_migrations)).apps


def _leaves() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_rows_stored_before_the_move_read_through_the_contracts_app() -> None:
    old = _migrate(BEFORE)
    ContentType = old.get_model("contenttypes", "ContentType")
    ContentType.objects.get_or_create(app_label="ingest", model="contractaward")
    Entity = old.get_model("evidence", "Entity")
    Source = old.get_model("evidence", "Source")
    Tie = old.get_model("evidence", "Tie")
    company = Entity.objects.create(kind="company", name="Acme", slug="acme")
    agency = Entity.objects.create(kind="agency", name="ICE", slug="ice")
    source = Source.objects.create(kind="dataset_row", title="an award row")
    award = old.get_model("ingest", "ContractAward").objects.create(
        award_key="CONT_AWD_1", recipient=company, sub_agency=agency, source=source
    )
    old.get_model("ingest", "ContractTransaction").objects.create(
        transaction_key="CONT_TX_1",
        award_key="CONT_AWD_1",
        action_date="2024-03-01",
        fiscal_year=2024,
        obligation_cents=12345,
        recipient=company,
    )
    old.get_model("ingest", "DeletedContractRecord").objects.create(
        kind="award", key="CONT_AWD_0", deleted_at="2024-01-01T00:00:00Z"
    )
    tie = Tie.objects.create(subject=company, object=agency, kind="contract")
    old.get_model("ingest", "ContractTotals").objects.create(
        tie=tie, obligated_cents=12345, award_count=1, transaction_count=1
    )
    old.get_model("watch", "ChangeEvent").objects.create(
        kind="award_new",
        dedupe_key="award_new:CONT_AWD_1",
        summary="A new award",
        occurred_at="2024-03-02T00:00:00Z",
        award=award,
    )

    _migrate(_leaves())

    moved = ContractAward.objects.get(award_key="CONT_AWD_1")
    assert (moved.pk, moved.recipient_id, moved.sub_agency_id, moved.source_id) == (
        award.pk,
        company.pk,
        agency.pk,
        source.pk,
    )
    assert list(ContractTransaction.objects.values_list("transaction_key", "obligation_cents")) == [
        ("CONT_TX_1", 12345)
    ]
    assert DeletedContractRecord.objects.get().key == "CONT_AWD_0"
    assert ContractTotals.objects.get().tie_id == tie.pk
    assert ChangeEvent.objects.get().award == moved
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    assert LiveContentType.objects.get_for_model(ContractAward).app_label == "contracts"
    assert not LiveContentType.objects.filter(app_label="ingest", model="contractaward").exists()


@pytest.mark.django_db(transaction=True)
def test_the_move_changes_no_table() -> None:
    """The moving migrations are state-only: on either database they write no SQL."""
    for app, name in [
        ("contracts", "0001_initial"),
        ("watch", "0003_award_from_contracts_app"),
        ("ingest", "0007_contract_models_to_contracts_app"),
    ]:
        out = io.StringIO()
        call_command("sqlmigrate", app, name, stdout=out)
        statements = [s for s in out.getvalue().splitlines() if s and not s.startswith("--")]
        assert statements in (["BEGIN;", "COMMIT;"], []), (app, name, statements)
    assert [m._meta.db_table for m in (ContractAward, ContractTransaction)] == [
        "ingest_contractaward",
        "ingest_contracttransaction",
    ]


@pytest.mark.django_db
def test_makemigrations_finds_nothing_to_do() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
