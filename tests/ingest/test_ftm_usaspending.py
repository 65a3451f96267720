"""FollowTheMoney export after a USAspending import: valid FtM that loses nothing, every
award and transaction carried and read back, and a file that appears whole or not at all."""

from __future__ import annotations

import importlib
import io
import json
import os
import stat
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result
from django.apps import apps as django_apps
from django.db import connection
from followthemoney import model

from receipts.campaigns.models import Campaign
from receipts.cli import main
from receipts.contracts.models import (
    ContractAward,
    ContractTotals,
    ContractTransaction,
    DeletedContractRecord,
)
from receipts.demo import load_demo
from receipts.evidence.ftm_ids import ftm_id_for, is_ftm_id
from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
from receipts.ingest import ftm
from receipts.ingest.ftm import export_ftm, import_ftm
from receipts.ingest.models import EntityMerge, ImportRun, NameOnlyRecipient, ReviewItem
from receipts.ingest.usaspending.importer import import_usaspending
from receipts.watch.models import ChangeEvent

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "usaspending"
AWARDS_SAMPLE = SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv"
TRANSACTIONS_SAMPLE = SAMPLES / "ice_fy13_2018era_transactions.csv"
# The transactions sample's dates were rewritten by a spreadsheet as day/month/year.
SAMPLE_ARGS = {
    "awards": (AWARDS_SAMPLE, []),
    "transactions": (
        TRANSACTIONS_SAMPLE,
        ["--date-format", "%d/%m/%Y", "--date-format", "%d/%m/%y"],
    ),
}


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def demo_and_import(sample: str) -> None:
    """``receipts demo --no-serve`` then ``receipts import usaspending <sample>``."""
    load_demo()
    path, extra = SAMPLE_ARGS[sample]
    result = run(["import", "usaspending", *extra, str(path)])
    assert result.exit_code == 0, result.output


def export_lines(tmp_path: Path, name: str = "x.json") -> list[str]:
    target = tmp_path / name
    result = run(["export", "ftm", "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8").splitlines()


def wipe() -> None:
    """Empty every table an import or the demo writes: the database an export goes into."""
    Campaign.objects.all().delete()
    for table in (
        ChangeEvent,
        EntityMerge,
        ReviewItem,
        NameOnlyRecipient,
        DeletedContractRecord,
        ImportRun,
        ContractTotals,
        ContractTransaction,
        ContractAward,
        Citation,
        Tie,
        Identifier,
    ):
        table.objects.all().delete()
    Entity.objects.update(merged_into=None)
    Entity.objects.all().delete()
    Source.objects.all().delete()


def stored_records() -> dict[str, Any]:
    """Every award, transaction and contract total, named by keys and FtM ids, not row ids."""

    def rows(table: Any, drop: set[str], related: list[str]) -> list[tuple[Any, ...]]:
        fields = [f.attname for f in table._meta.concrete_fields if f.attname not in drop | {"id"}]
        return sorted(
            table.objects.values_list(*fields, *related),
            key=lambda row: tuple(str(v) for v in row),
        )

    return {
        "awards": rows(
            ContractAward,
            {"sub_agency_id", "recipient_id", "source_id"},
            ["sub_agency__ftm_id", "recipient__ftm_id", "source__ftm_id"],
        ),
        "transactions": rows(ContractTransaction, {"recipient_id"}, ["recipient__ftm_id"]),
        "totals": rows(ContractTotals, {"tie_id"}, ["tie__ftm_id"]),
    }


# --- the export is FollowTheMoney and carries every record ------------------------------


@pytest.mark.parametrize("sample", sorted(SAMPLE_ARGS))
def test_export_after_a_usaspending_import_is_valid_followthemoney_losing_nothing(
    tmp_path: Path, sample: str
) -> None:
    demo_and_import(sample)
    lines = export_lines(tmp_path)
    seen: set[str] = set()
    for line in lines:
        data = json.loads(line)
        assert is_ftm_id(data["id"]), data["id"]
        proxy = model.get_proxy(data, cleaned=False)
        # No property and no value dropped: FtM reads back exactly what was written.
        assert proxy.to_dict() == data, line
        for prop, value in proxy.itervalues():
            assert prop.type.clean(value, format=prop.format, proxy=proxy) == value, (prop, value)
            if prop.type.name == "entity":
                assert value in seen, (data["id"], prop.name, value)
        for required in proxy.schema.required:
            if (proxy.schema.name, required) != ("Document", "fileName"):
                assert proxy.has(required), (proxy.schema.name, required)
        seen.add(data["id"])
    by_schema = Counter(json.loads(line)["schema"] for line in lines)
    assert by_schema["Payment"] == ContractTransaction.objects.count()
    assert ContractTransaction.objects.count() == (157 if sample == "transactions" else 0)


@pytest.mark.parametrize("sample", sorted(SAMPLE_ARGS))
def test_every_award_and_transaction_is_in_the_export_with_its_parties_and_amounts(
    tmp_path: Path, sample: str
) -> None:
    demo_and_import(sample)
    data = [json.loads(line) for line in export_lines(tmp_path)]
    by_id = {d["id"]: d["properties"] for d in data}
    awards = {
        d["properties"]["recordId"][0]: d["properties"]
        for d in data
        if d["schema"] == "ContractAward" and "recordId" in d["properties"]
    }
    assert awards, "the export holds no award"
    assert set(awards) == set(ContractAward.objects.values_list("award_key", flat=True))
    for award in ContractAward.objects.select_related("recipient", "sub_agency", "source"):
        link = awards[award.award_key]
        contract = by_id[link["contract"][0]]
        assert link["supplier"] == [award.recipient.ftm_id]
        assert contract["authority"] == [award.sub_agency.ftm_id]
        assert contract["procedureNumber"] == [award.piid]
        assert link["proof"] == [award.source.ftm_id]
        assert by_id[award.source.ftm_id]["sourceUrl"] == [award.permalink]
        if award.summary_obligated_cents is not None:
            assert link["amount"] == [f"{award.summary_obligated_cents / 100:.2f}"]
            assert link["currency"] == ["USD"]
            assert link["startDate"] == [award.summary_base_date]
    payments = {
        d["properties"]["recordId"][0]: d["properties"] for d in data if d["schema"] == "Payment"
    }
    transactions = ContractTransaction.objects.select_related("recipient")
    # Only the transactions file has payments; the award summaries have none.
    assert bool(payments) == (sample == "transactions")
    assert set(payments) == {t.transaction_key for t in transactions}
    for t in transactions:
        payment = payments[t.transaction_key]
        award = ContractAward.objects.select_related("sub_agency").get(award_key=t.award_key)
        assert payment["beneficiary"] == [t.recipient.ftm_id]
        assert payment["payer"] == [award.sub_agency.ftm_id]
        assert payment["date"] == [t.action_date]
        assert payment["amount"] == [f"{t.obligation_cents / 100:.2f}"]
        assert payment["sequenceNumber"] == [t.modification_number]


# --- the round trip ------------------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(SAMPLE_ARGS))
@pytest.mark.slow
def test_export_import_into_an_empty_database_export_gives_the_same_lines(
    tmp_path: Path, sample: str
) -> None:
    demo_and_import(sample)
    first = export_lines(tmp_path, "first.json")
    before = stored_records()
    assert before["awards"] and before["totals"]
    wipe()
    assert Entity.objects.count() == ContractAward.objects.count() == 0
    imported = run(["import", "ftm", str(tmp_path / "first.json")])
    assert imported.exit_code == 0, imported.output
    assert f"{len(before['awards'])} awards created" in imported.output
    assert export_lines(tmp_path, "second.json") == first
    # The records themselves, and the totals recomputed from them, are those of the import.
    assert stored_records() == before
    # A second import of the same file changes nothing.
    again = run(["import", "ftm", str(tmp_path / "first.json")])
    assert again.exit_code == 0, again.output
    assert f"{len(before['awards'])} unchanged" in again.output
    assert stored_records() == before


def test_both_samples_into_one_database_round_trip(tmp_path: Path) -> None:
    demo_and_import("awards")
    path, extra = SAMPLE_ARGS["transactions"]
    assert run(["import", "usaspending", *extra, str(path)]).exit_code == 0
    first = export_lines(tmp_path, "first.json")
    before = stored_records()
    wipe()
    assert run(["import", "ftm", str(tmp_path / "first.json")]).exit_code == 0
    assert export_lines(tmp_path, "second.json") == first
    assert stored_records() == before


# --- ids FollowTheMoney keeps ------------------------------------------------------------------


def test_award_sources_of_older_imports_are_renamed_and_a_new_import_finds_them(
    tmp_path: Path,
) -> None:
    load_demo()
    import_usaspending([AWARDS_SAMPLE])
    # As older versions named them: after the award key, underscores and all.
    for award in ContractAward.objects.select_related("source"):
        Source.objects.filter(pk=award.source.pk).update(
            ftm_id=f"usaspending-award-{award.award_key}"
        )
    sources = Source.objects.count()
    migration = importlib.import_module(
        "receipts.evidence.migrations.0005_ids_followthemoney_keeps"
    )
    migration.rename_ids(django_apps, SimpleNamespace(connection=connection))
    assert ContractAward.objects.exists()
    for award in ContractAward.objects.select_related("source"):
        assert award.source.ftm_id == ftm_id_for(f"usaspending-award-{award.award_key}")
        assert is_ftm_id(award.source.ftm_id)
    import_usaspending([AWARDS_SAMPLE])
    assert Source.objects.count() == sources
    assert len(export_lines(tmp_path)) > 40


def test_ids_followthemoney_refuses_get_a_readable_stand_in() -> None:
    key = "usaspending-award-CONT_AWD_70CDCR24P00000013_7012_-NONE-_-NONE-"
    made = ftm_id_for(key)
    assert is_ftm_id(made)
    assert made.startswith("usaspending-award-CONT-AWD-70CDCR24P00000013-7012-NONE-NONE-")
    assert ftm_id_for(key.replace("_", ".")) != made
    assert ftm_id_for("receipts-demo-ice") == "receipts-demo-ice"
    assert is_ftm_id(ftm_id_for("x" * 400)) and len(ftm_id_for("x" * 400)) <= 180


# --- a file whole or not at all ---------------------------------------------------------------


def test_export_that_fails_midway_leaves_no_file_and_no_temporary(tmp_path: Path) -> None:
    demo_and_import("transactions")
    # An award whose recipient is gone cannot be a ContractAward: the export stops late,
    # after the sources, entities and ties are written.
    ContractAward.objects.filter(
        award_key=ContractAward.objects.order_by("-award_key").values("award_key")[:1]
    ).update(recipient=None)
    target = tmp_path / "out" / "x.json"
    target.parent.mkdir()
    result = run(["export", "ftm", "-o", str(target)])
    assert result.exit_code != 0
    assert "no recipient entity" in result.output
    assert "Traceback" not in result.output
    assert os.listdir(target.parent) == []


def test_export_that_fails_keeps_the_previous_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_and_import("awards")
    target = tmp_path / "x.json"
    target.write_text("the previous export\n", encoding="utf-8")
    real = ftm.ftm_entities

    def broken_after_ten() -> Any:
        for n, proxy in enumerate(real()):
            if n == 10:
                raise OSError(28, "No space left on device")
            yield proxy

    monkeypatch.setattr(ftm, "ftm_entities", broken_after_ten)
    with pytest.raises(OSError):
        ftm.export_ftm_file(target)
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(os.listdir(tmp_path)) == ["x.json"]


def test_exported_file_is_whole_and_owner_only(tmp_path: Path) -> None:
    demo_and_import("awards")
    lines = export_lines(tmp_path)
    buffer = io.StringIO()
    export_ftm(buffer)
    assert buffer.getvalue().splitlines() == lines
    assert stat.S_IMODE(os.stat(tmp_path / "x.json").st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["x.json"]
    missing = tmp_path / "no such folder" / "x.json"
    result = run(["export", "ftm", "-o", str(missing)])
    assert result.exit_code == 1
    assert result.output == f"Error: {missing}: No such file or directory; nothing written\n"


# --- the import reads records strictly ------------------------------------------------------------


def test_payment_of_an_unknown_award_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    demo_and_import("transactions")
    lines = export_lines(tmp_path)
    kept = []
    for line in lines:
        data = json.loads(line)
        award_record = data["schema"] in ("Contract", "ContractAward") and data["id"].startswith(
            "usaspending-award-"
        )
        if not award_record:
            kept.append(line)
    wipe()
    with pytest.raises(ftm.FtmImportError) as caught:
        import_ftm(io.StringIO("\n".join(kept)), "cut.json")
    assert "contract_award_unique_key" in str(caught.value)
    assert Entity.objects.count() == ContractTransaction.objects.count() == 0


def _mutated(lines: list[str], schema: str, change: Any, award_record: bool = True) -> str:
    """The lines with the first line of ``schema`` (an award record's, or a tie's) changed."""
    out, done = [], False
    for line in lines:
        data = json.loads(line)
        is_record = "recordId" in data["properties"]
        if not done and data["schema"] == schema and is_record == award_record:
            change(data["properties"])
            line, done = json.dumps(data), True
        out.append(line)
    assert done, schema
    return "\n".join(out) + "\n"


def test_bad_records_are_one_error_naming_line_and_field_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    demo_and_import("transactions")
    lines = export_lines(tmp_path)
    wipe()
    cases = {
        "currency": _mutated(lines, "Payment", lambda p: p.update(currency=["EUR"])),
        "date": _mutated(lines, "Payment", lambda p: p.pop("date")),
        "amount": _mutated(lines, "Payment", lambda p: p.update(amount=["12.345"])),
        "contract": _mutated(lines, "ContractAward", lambda p: p.update(contract=["elsewhere"])),
        "recordId": _mutated(lines, "ContractAward", lambda p: p.update(recordId=["x" * 201])),
        "description": _mutated(
            lines, "Payment", lambda p: p.update(description=["recipient_duns: 1234567890"])
        ),
    }
    for prop, text in cases.items():
        path = tmp_path / f"bad-{prop}.json"
        path.write_text(text, encoding="utf-8")
        result = run(["import", "ftm", str(path)])
        assert result.exit_code != 0, prop
        out = result.output.strip().splitlines()
        assert len(out) == 1 and f"bad-{prop}.json line " in out[0], result.output
        assert f'field "{prop}"' in out[0], result.output
        assert Entity.objects.count() == Source.objects.count() == 0
        assert ContractAward.objects.count() == ContractTransaction.objects.count() == 0
