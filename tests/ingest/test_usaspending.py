"""The USAspending importer, on the real samples and on generated downloads."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from benchmarks.make_usaspending import generate, read_truth
from click.testing import CliRunner

from receipts.cli import main
from receipts.contracts.models import ContractAward, ContractTotals, ContractTransaction
from receipts.demo import load_demo
from receipts.evidence.models import Entity, Identifier, Tie
from receipts.evidence.queries import resolve_entity, rollup_ties
from receipts.ingest.usaspending.files import InputError
from receipts.ingest.usaspending.importer import AllRowsRejected, import_usaspending
from tests.ingest.csv_files import read_rows, write_rows

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "usaspending"
AWARDS_SAMPLE = SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv"
ERA_2018_SAMPLE = SAMPLES / "ice_fy13_2018era_transactions.csv"
SUBAWARDS_SAMPLE = SAMPLES / "ice_mn_Contracts_Subawards.csv"
# The 2018-era sample's action_date reads 25/07/2013, its last_modified_date 29/11/17 13:01.
ERA_2018_FORMATS = ("%d/%m/%Y", "%d/%m/%y")


def counts() -> tuple[int, int, int, int]:
    return (
        ContractTransaction.objects.count(),
        ContractAward.objects.count(),
        Tie.objects.count(),
        Entity.objects.count(),
    )


def contract_totals_by_pair() -> dict[tuple[str, str], int]:
    out = {}
    for t in ContractTotals.objects.select_related("tie__subject", "tie__object"):
        out[(t.tie.subject.name, t.tie.object.name)] = t.obligated_cents
    return out


@pytest.fixture
def generated(tmp_path: Path):
    def make(rows: int = 600, kind: str = "transactions", seed: int = 7, **kwargs):
        out = tmp_path / f"{kind}-{seed}-{rows}-{len(kwargs)}"
        truth = out / "truth.jsonl"
        paths = generate(rows, kind, out / "files", seed=seed, truth_path=truth, **kwargs)
        return paths, read_truth(truth)

    return make


# --- real samples ---------------------------------------------------------------------


def test_award_summaries_sample_becomes_cited_contract_ties():
    load_demo()
    summary = import_usaspending([AWARDS_SAMPLE])
    assert summary.files[0].kind == "Contracts prime award summaries"
    assert summary.awards.stored == 5
    ice = resolve_entity("ICE")
    # The demo's ICE takes the code instead of being duplicated, and sits under DHS.
    assert Identifier.objects.get(scheme="agency_code", value="7012").entity == ice
    assert Identifier.objects.get(scheme="agency_code", value="070").entity == resolve_entity("DHS")
    regents = Identifier.objects.get(scheme="uei", value="KABJZBBJ4B54").entity
    tie = Tie.objects.get(subject=regents, object=ice, kind="contract")
    # Four awards of this UEI: 16000.00 + 9387.50 + 4745.00 + 11375.00.
    assert tie.amount == Decimal("41507.50")
    assert tie.currency == "USD"
    assert tie.contract_totals.award_count == 4
    assert tie.contract_totals.by_fiscal_year == {
        "2020": 1600000,
        "2021": 938750,
        "2022": 474500,
        "2023": 1137500,
    }
    locators = set(tie.citations.values_list("locator", flat=True))
    assert "CONT_AWD_70CDCR20P00000053_7012_-NONE-_-NONE-" in locators
    source = tie.citations.get(locator="CONT_AWD_70CDCR20P00000053_7012_-NONE-_-NONE-").source
    assert (
        source.url
        == "https://www.usaspending.gov/award/CONT_AWD_70CDCR20P00000053_7012_-NONE-_-NONE-/"
    )
    assert source.publisher == "USAspending.gov"


def test_parent_that_changed_over_time_is_an_ended_ownership():
    import_usaspending([AWARDS_SAMPLE])
    regents = Identifier.objects.get(scheme="uei", value="KABJZBBJ4B54").entity
    board = Identifier.objects.get(scheme="uei", value="CB47L9C9MDX1").entity
    owns = Tie.objects.get(subject=board, object=regents, kind="owns")
    # Named as parent on awards from 2020 to early 2024, then the recipient is its own parent.
    assert (owns.status, owns.start_date) == ("ended", "2020-05-07")
    assert owns.end_date.startswith("202")
    assert owns.citations.exists()


def test_similar_name_with_another_uei_waits_for_review():
    from receipts.ingest.models import ReviewItem

    import_usaspending([AWARDS_SAMPLE])
    # "REGENTS OF UNIVERSITY OF MINNESOTA" (another UEI) is not merged silently.
    assert Identifier.objects.filter(scheme="uei", value="FVJMNPLMEEJ2").exists()
    a = Identifier.objects.get(scheme="uei", value="FVJMNPLMEEJ2").entity
    b = Identifier.objects.get(scheme="uei", value="KABJZBBJ4B54").entity
    assert a != b
    assert ReviewItem.objects.filter(status="pending").exists()


def test_2018_era_dates_are_refused_without_a_date_format(tmp_path):
    report = tmp_path / "rejects.csv"
    with pytest.raises(AllRowsRejected) as refused:
        import_usaspending([ERA_2018_SAMPLE], report_path=report)
    assert refused.value.summary.rejected == 157
    assert ContractTransaction.objects.count() == 0
    rows = list(csv.DictReader(report.open()))
    assert len(rows) == 157
    assert rows[0]["row"] == "2" and rows[0]["column"] == "action_date"
    assert "never guessed" in rows[0]["reason"] and "25/07/2013" in rows[0]["reason"]
    # The formats that fit: day first, four-digit years for action_date, two for last_modified_date.
    assert "re-run with --date-format %d/%m/%Y" in rows[0]["reason"]
    assert "--date-format '%d/%m/%Y' --date-format '%d/%m/%y'" in str(refused.value)


def test_2018_era_file_imports_with_an_explicit_date_format():
    summary = import_usaspending([ERA_2018_SAMPLE], date_format=ERA_2018_FORMATS)
    assert summary.rejected == 0
    assert ContractTransaction.objects.count() == 157
    # Keys are built as USAspending builds them; DUNS get their leading zero back.
    tx = ContractTransaction.objects.get(
        transaction_key="7012_4730_HSCEMS08A00005_P00005_GS06F0068N_0"
    )
    assert tx.action_date == "2013-04-23"
    assert Identifier.objects.filter(scheme="duns", value="074108176").exists()
    with ERA_2018_SAMPLE.open(newline="", encoding="utf-8") as handle:
        total = sum(Decimal(r["federal_action_obligation"] or 0) for r in csv.DictReader(handle))
    stored = sum(ContractTransaction.objects.values_list("obligation_cents", flat=True))
    assert Decimal(stored) / 100 == total


def test_subaward_file_is_refused_before_anything_is_stored():
    with pytest.raises(InputError, match="subaward"):
        import_usaspending([SUBAWARDS_SAMPLE, AWARDS_SAMPLE])
    assert counts()[:2] == (0, 0)


def test_subaward_and_assistance_files_inside_a_download_are_left_out_and_listed(tmp_path):
    # A download of every award type: contracts next to subawards and assistance.
    assistance = tmp_path / "Assistance_PrimeTransactions_2026-01-01_H00M00S00_1.csv"
    assistance.write_text(
        "assistance_transaction_unique_key,assistance_award_unique_key,federal_action_obligation\r\n"
        "X_1,ASST_1,100.00\r\n",
        encoding="utf-8",
    )
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.write(AWARDS_SAMPLE, "Contracts_PrimeAwardSummaries_2026-01-01_H00M00S00_1.csv")
        archive.write(SUBAWARDS_SAMPLE, "Contracts_Subawards_2026-01-01_H00M00S00_1.csv")
        archive.write(assistance, assistance.name)
    assistance.unlink()

    result = CliRunner().invoke(main, ["import", "usaspending", str(download)])

    assert result.exit_code == 0, result.output
    assert ContractAward.objects.count() == 5
    assert (
        "Contracts_Subawards_2026-01-01_H00M00S00_1.csv: left out, a contract subaward file "
        "(Contracts_Subawards)" in result.output
    )
    assert (
        f"{assistance.name}: left out, a financial assistance prime transactions file "
        "(Assistance_PrimeTransactions)" in result.output
    )


def test_a_folder_of_only_files_that_are_not_contracts_is_refused(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    shutil.copy(SUBAWARDS_SAMPLE, folder)
    with pytest.raises(InputError, match="no contract transactions or award summaries file"):
        import_usaspending([folder])
    assert counts()[:2] == (0, 0)


# --- generated downloads ---------------------------------------------------------------


def test_generated_transactions_sum_federal_action_obligation(generated):
    paths, truth = generated(800)
    summary = import_usaspending(paths)
    assert summary.rejected == 0
    assert summary.transactions.stored == truth.rows
    stored = (
        Decimal(sum(ContractTransaction.objects.values_list("obligation_cents", flat=True))) / 100
    )
    assert stored == truth.total_obligation
    assert stored != truth.total_dollars_obligated_sum  # the running total is never summed
    tie_total = Decimal(sum(ContractTotals.objects.values_list("obligated_cents", flat=True))) / 100
    assert tie_total == truth.total_obligation
    # Per award, exactly the truth.
    for award in list(truth.awards.values())[:50]:
        cents = sum(
            ContractTransaction.objects.filter(award_key=award.award_key).values_list(
                "obligation_cents", flat=True
            )
        )
        assert Decimal(cents) / 100 == award.obligation


def test_reimporting_the_same_files_adds_nothing(generated):
    paths, _ = generated(500)
    import_usaspending(paths)
    before = counts(), contract_totals_by_pair()
    again = import_usaspending(paths)
    assert (counts(), contract_totals_by_pair()) == before
    assert again.transactions.stored == 0 and again.transactions.updated == 0
    assert again.transactions.unchanged == 500
    assert again.entities_created == 0


def test_award_in_both_transactions_and_summaries_counts_once(generated):
    tx_paths, tx_truth = generated(500, "transactions", seed=3)
    aw_paths, aw_truth = generated(len(tx_truth.awards), "awards", seed=3)
    both = set(tx_truth.awards) & set(aw_truth.awards)
    assert both  # the two files share awards
    for key in both:  # and describe them alike
        assert tx_truth.awards[key].obligation == aw_truth.awards[key].obligation
    import_usaspending(tx_paths + aw_paths)
    expected = {**aw_truth.awards, **tx_truth.awards}
    total = Decimal(sum(ContractTotals.objects.values_list("obligated_cents", flat=True))) / 100
    assert total == sum(a.obligation for a in expected.values())
    assert ContractAward.objects.count() == len(expected)


def test_overlapping_files_store_each_transaction_once(generated, tmp_path):
    (path,), truth = generated(600)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    for target, part in ((first, body[:400]), (second, body[200:])):
        with target.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out, lineterminator="\r\n").writerows([header, *part])
    import_usaspending([first])
    summary = import_usaspending([second])
    assert summary.transactions.unchanged == 200
    assert ContractTransaction.objects.count() == 600
    total = Decimal(sum(ContractTotals.objects.values_list("obligated_cents", flat=True))) / 100
    assert total == truth.total_obligation


def test_newer_modification_updates_and_a_delta_deletes(generated, tmp_path):
    (path,), _ = generated(300)
    import_usaspending([path])
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        rows = list(reader)
    changed, deleted = rows[0], rows[1]
    changed = {
        **changed,
        "federal_action_obligation": "123.45",
        "last_modified_date": "2050-01-01 00:00:00",
    }
    delta = tmp_path / "delta.csv"
    with delta.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, ["correction_delete_ind", *header], lineterminator="\r\n")
        writer.writeheader()
        writer.writerow({"correction_delete_ind": "C", **changed})
        writer.writerow(
            {
                "correction_delete_ind": "D",
                "contract_transaction_unique_key": deleted["contract_transaction_unique_key"],
            }
        )
    summary = import_usaspending([delta])
    assert (summary.transactions.updated, summary.transactions.deleted) == (1, 1)
    tx = ContractTransaction.objects.get(transaction_key=changed["contract_transaction_unique_key"])
    assert tx.obligation_cents == 12345
    assert not ContractTransaction.objects.filter(
        transaction_key=deleted["contract_transaction_unique_key"]
    ).exists()
    # The ties follow the stored records.
    stored = sum(ContractTransaction.objects.values_list("obligation_cents", flat=True))
    assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == stored


def test_split_zip_is_read_whole(generated):
    paths, truth = generated(700, zip_output=True, split_rows=300)
    assert len(paths) == 1 and paths[0].suffix == ".zip"
    with zipfile.ZipFile(paths[0]) as z:
        assert len(z.namelist()) == 3
    summary = import_usaspending(paths)
    assert len(summary.files) == 3
    assert ContractTransaction.objects.count() == truth.rows


def test_directory_is_read_whole(generated):
    paths, truth = generated(400, split_rows=150)
    summary = import_usaspending([paths[0].parent])
    assert len(summary.files) == 3
    assert ContractTransaction.objects.count() == truth.rows


def test_subsidiaries_roll_up_to_their_ultimate_parent(generated):
    paths, truth = generated(1500)
    import_usaspending(paths)
    # Pick a parent UEI that owns other recipients and compare its rolled-up total.
    children = defaultdict(set)
    for name in truth.names.values():
        if name.parent_uei != name.uei:
            children[name.parent_uei].add(name.uei)
    parent_uei = next(
        u for u in children if Identifier.objects.filter(scheme="uei", value=u).exists()
    )
    parent = Identifier.objects.get(scheme="uei", value=parent_uei).entity
    rolled = [r for r in rollup_ties(parent, rollup=True) if r.tie.kind == "contract"]
    assert any(r.rolled_up for r in rolled)


# --- bad input ----------------------------------------------------------------------------


def _without_columns(path: Path, columns: list[str], out: Path) -> Path:
    """A copy of a CSV with these columns taken out of every row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    drop = {rows[0].index(c) for c in columns}
    with out.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(
            [[c for i, c in enumerate(r) if i not in drop] for r in rows]
        )
    return out


def test_missing_required_columns_refuse_the_file_naming_them(tmp_path):
    bad = _without_columns(
        AWARDS_SAMPLE, ["total_obligated_amount", "recipient_name"], tmp_path / "bad.csv"
    )
    before = counts()
    with pytest.raises(InputError) as info:
        import_usaspending([AWARDS_SAMPLE, bad])
    assert counts() == before
    assert "bad.csv" in str(info.value)


def test_awards_file_without_its_required_columns_names_them(tmp_path):
    bad = _without_columns(
        AWARDS_SAMPLE,
        ["recipient_name", "award_base_action_date", "period_of_performance_start_date"],
        tmp_path / "bad.csv",
    )
    with pytest.raises(InputError, match="recipient_name") as info:
        import_usaspending([bad])
    assert "award_base_action_date" in str(info.value)


def test_malformed_value_rejects_only_that_row(generated, tmp_path):
    (path,), truth = generated(300)
    header, rows = read_rows(path)
    rows[9]["federal_action_obligation"] = "12,5O"
    rows[19]["recipient_uei"] = "NOT-A-UEI"
    bad = write_rows(tmp_path / "bad.csv", header, rows)
    report = tmp_path / "report.csv"
    summary = import_usaspending([bad], report_path=report)
    assert summary.rejected == 2
    assert ContractTransaction.objects.count() == 298
    found = {(r["row"], r["column"]) for r in csv.DictReader(report.open())}
    assert found == {("11", "federal_action_obligation"), ("21", "recipient_uei")}


def test_truncated_file_is_refused_then_completed_without_duplicates(generated, tmp_path):
    (path,), truth = generated(400)
    data = path.read_bytes()
    cut = tmp_path / path.name
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        import_usaspending([cut])
    assert counts()[:2] == (0, 0)
    shutil.copy(path, cut)
    import_usaspending([cut])
    import_usaspending([cut])
    assert ContractTransaction.objects.count() == truth.rows


def test_truncated_zip_is_a_clear_error(generated, tmp_path):
    paths, _ = generated(300, zip_output=True)
    data = paths[0].read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="zip"):
        import_usaspending([cut])
    assert counts()[:2] == (0, 0)


def test_header_only_file_imports_nothing(tmp_path):
    with AWARDS_SAMPLE.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    empty = tmp_path / "empty.csv"
    empty.write_text(header)
    summary = import_usaspending([empty])
    assert summary.rows_read == 0


# --- the command line ---------------------------------------------------------------------


def test_cli_import_and_ties_give_the_imported_totals(tmp_path):
    load_demo()
    runner = CliRunner()
    result = runner.invoke(
        main, ["import", "usaspending", str(AWARDS_SAMPLE)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Contracts prime award summaries, 5 rows, 0 rejected" in result.output
    assert "awards: 5 stored" in result.output
    out = runner.invoke(
        main,
        [
            "ties",
            "KABJZBBJ4B54",
            "--to",
            "U.S. Department of Homeland Security",
            "--rollup",
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    data = json.loads(out.output)
    (tie,) = [t for t in data["ties"] if t["kind"] == "contract"]
    assert tie["amount"] == "41507.50"
    assert tie["contract_totals"]["award_count"] == 4
    assert tie["path"].endswith(
        "U.S. Immigration and Customs Enforcement < U.S. Department of Homeland Security"
    )
    csv_out = runner.invoke(
        main, ["ties", "KABJZBBJ4B54", "--to", "DHS", "--rollup", "--format", "csv"]
    )
    rows = list(csv.DictReader(csv_out.output.splitlines()))
    (row,) = [r for r in rows if r["kind"] == "contract" and r["line"] == "tie"]
    assert (row["amount"], row["award_count"], row["citation_count"]) == ("41507.50", "4", "4")
    # Every receipt's address is in the file, not only the first few.
    assert len(row["citation_urls"].split()) == 4
    assert all(u.startswith("https://www.usaspending.gov/") for u in row["citation_urls"].split())


def test_cli_bad_file_is_one_line_and_non_zero(tmp_path):
    bad = tmp_path / "notes.csv"
    bad.write_text("a,b\r\n1,2\r\n")
    result = CliRunner().invoke(main, ["import", "usaspending", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "notes.csv" in result.output


def test_agency_code_that_lost_its_leading_zero_is_the_same_agency():
    load_demo()
    import_usaspending([AWARDS_SAMPLE])
    # The 2018-era file writes DHS as "70", not "070".
    import_usaspending([ERA_2018_SAMPLE], date_format=ERA_2018_FORMATS)
    dhs = resolve_entity("DHS")
    assert Identifier.objects.get(scheme="agency_code", value="070").entity == dhs
    assert not Identifier.objects.filter(scheme="agency_code", value="70").exists()
    assert Entity.objects.filter(kind="agency", name__icontains="homeland security").count() == 1


def test_file_in_another_encoding_is_refused_and_nothing_is_stored(generated, tmp_path):
    (path,), _ = generated(200)
    data = path.read_bytes()
    header_end = data.index(b"\r\n")
    # A Latin-1 "É" (one byte, invalid in UTF-8) in a data row, as some tools save it.
    at = data.index(b"INC", header_end)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(data[:at] + b"\xc9" + data[at:])
    with pytest.raises(InputError, match=r"latin1.csv: .*row \d+: text that is not UTF-8"):
        import_usaspending([latin])
    assert counts()[:2] == (0, 0)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda line: line + b",EXTRA", r"row 4: (\d+) fields where the header has (\d+)"),
        (lambda line: line.replace(b",", b',"', 5), r"row 4: a quote \(\"\) opens a field"),
    ],
)
def test_a_malformed_csv_line_is_named(generated, tmp_path, damage, reason):
    (path,), _ = generated(20)
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = damage(lines[3])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\r\n".join(lines))
    with pytest.raises(InputError, match=reason):
        import_usaspending([bad])
    assert counts()[:2] == (0, 0)


# --- deltas, overlapping and older downloads ------------------------------------------


def _delete_marks(out: Path, header: list[str], keys: list[str], *, awards: bool = False) -> Path:
    """A delta file of deletion marks (D) holding only the keys, as USAspending writes them:
    the mark in front for transactions, after the columns for award summaries."""
    if awards:
        rows = [{"contract_award_unique_key": k, "correction_delete_ind": "D"} for k in keys]
        return write_rows(out, [*header, "correction_delete_ind"], rows)
    rows = [{"correction_delete_ind": "D", "contract_transaction_unique_key": k} for k in keys]
    return write_rows(out, ["correction_delete_ind", *header], rows)


def _stored_cents() -> int:
    return sum(ContractTransaction.objects.values_list("obligation_cents", flat=True))


def test_delta_in_the_same_run_as_the_full_file_wins_in_either_order(generated, tmp_path):
    (path,), _ = generated(200)
    header, rows = read_rows(path)
    corrected, deleted = rows[0], rows[1]
    delta = write_rows(
        tmp_path / "delta.csv",
        ["correction_delete_ind", *header],
        [
            # A correction under the same last_modified_date, a deletion with only its key.
            {"correction_delete_ind": "C", **corrected, "federal_action_obligation": "7.00"},
            {
                "correction_delete_ind": "D",
                "contract_transaction_unique_key": deleted["contract_transaction_unique_key"],
            },
        ],
    )
    expected = None
    for order in ([path, delta], [delta, path]):
        ContractTransaction.objects.all().delete()
        summary = import_usaspending(order)
        assert not ContractTransaction.objects.filter(
            transaction_key=deleted["contract_transaction_unique_key"]
        ).exists()
        tx = ContractTransaction.objects.get(
            transaction_key=corrected["contract_transaction_unique_key"]
        )
        assert tx.obligation_cents == 700
        assert summary.transactions.stored == len(rows) - 1
        expected = expected or _stored_cents()
        assert _stored_cents() == expected
        assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == expected


def test_an_older_download_never_overwrites_newer_records(generated, tmp_path):
    (path,), _ = generated(200)
    header, rows = read_rows(path)
    row = rows[0]
    newer = {
        **row,
        "federal_action_obligation": "999.00",
        "last_modified_date": "2050-01-01 00:00:00",
    }
    import_usaspending([write_rows(tmp_path / "newer.csv", header, [newer, *rows[1:]])])
    totals = contract_totals_by_pair()
    summary = import_usaspending([path])  # the older download, read afterwards
    assert summary.transactions.updated == 0 and summary.awards.updated == 0
    tx = ContractTransaction.objects.get(transaction_key=row["contract_transaction_unique_key"])
    assert tx.obligation_cents == 99900
    assert contract_totals_by_pair() == totals


def test_an_older_award_summary_does_not_replace_a_newer_one(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    row = rows[0]
    newer = {
        **row,
        "total_obligated_amount": "5000.00",
        "last_modified_date": "2050-01-01 00:00:00",
    }
    import_usaspending([write_rows(tmp_path / "newer.csv", header, [newer])])
    summary = import_usaspending([write_rows(tmp_path / "older.csv", header, [row])])
    assert summary.awards.unchanged == 1
    award = ContractAward.objects.get(award_key=row["contract_award_unique_key"])
    assert award.summary_obligated_cents == 500000


def test_an_award_summary_marked_deleted_removes_the_award_and_its_tie(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    import_usaspending([AWARDS_SAMPLE])
    gone = rows[0]
    ties_before = Tie.objects.filter(kind="contract").count()
    delta = _delete_marks(
        tmp_path / "awards-delta.csv", header, [gone["contract_award_unique_key"]], awards=True
    )
    summary = import_usaspending([delta])
    assert summary.awards.deleted == 1
    assert not ContractAward.objects.filter(award_key=gone["contract_award_unique_key"]).exists()
    assert not Entity.objects.filter(name__icontains="None").exists()
    remaining = sum(ContractAward.objects.values_list("summary_obligated_cents", flat=True))
    assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == remaining
    assert Tie.objects.filter(kind="contract").count() <= ties_before


def test_rerunning_with_the_right_date_format_corrects_the_dates(tmp_path):
    header, rows = read_rows(ERA_2018_SAMPLE)
    for row in rows[:10]:  # written another way in part of the file
        row["action_date"] = row["action_date"].replace("/", "-")
    mixed = write_rows(tmp_path / "mixed.csv", header, rows)
    wrong = import_usaspending([mixed], date_format=ERA_2018_FORMATS)
    assert wrong.rejected == 10
    assert "10 rows do not match --date-format %d/%m/%Y or %d/%m/%y" in wrong.files[0].warning
    right = import_usaspending([mixed], date_format=[*ERA_2018_FORMATS, "%d-%m-%Y"])
    assert right.rejected == 0 and not right.files[0].warning
    assert right.transactions.stored == 10
    years = set(ContractTransaction.objects.values_list("fiscal_year", flat=True))
    assert years == {2013}


def test_a_format_that_swaps_day_and_month_is_refused_where_the_rows_prove_the_order(tmp_path):
    # 25/07/2013 proves the day comes first: read month first, 03/04/2013 would be 4 March.
    report = tmp_path / "rejects.csv"
    with pytest.raises(AllRowsRejected) as refused:
        import_usaspending(
            [ERA_2018_SAMPLE], date_format=["%m/%d/%Y", "%m/%d/%y"], report_path=report
        )
    assert ContractTransaction.objects.count() == 0
    reasons = [r["reason"] for r in csv.DictReader(report.open(encoding="utf-8"))]
    assert any(
        "(read so, its day and month are swapped: other rows of the column prove the day "
        "comes first)" in r
        for r in reasons
    )
    assert "re-run with --date-format '%d/%m/%Y' --date-format '%d/%m/%y'" in str(refused.value)


def _contract_ties_by_pair() -> dict[tuple[int, int], list[int]]:
    out: dict[tuple[int, int], list[int]] = defaultdict(list)
    for t in ContractTotals.objects.select_related("tie"):
        out[(t.tie.subject_id, t.tie.object_id)].append(t.obligated_cents)
    return dict(out)


def test_merging_imported_recipients_leaves_one_tie_per_agency_and_counts_nothing_twice():
    from receipts.ingest.models import ReviewItem
    from receipts.ingest.services import decide_review, unmerge

    import_usaspending([AWARDS_SAMPLE])
    total = sum(ContractAward.objects.values_list("summary_obligated_cents", flat=True))
    before = _contract_ties_by_pair()
    item = ReviewItem.objects.filter(status="pending", entity__ties_out__kind="contract").first()
    assert item is not None
    keep = item.candidate
    merge = decide_review(item, merge=True, decided_by=None)

    for _round in range(2):  # right after the merge, and after importing the files again
        pairs = _contract_ties_by_pair()
        assert all(len(amounts) == 1 for amounts in pairs.values()), pairs
        assert sum(sum(a) for a in pairs.values()) == total
        assert not Tie.objects.filter(subject=item.entity).exists()
        owners = Tie.objects.filter(kind="owns", object=keep).values_list("subject_id", flat=True)
        assert len(list(owners)) == len(set(owners))
        import_usaspending([AWARDS_SAMPLE])

    from receipts.watch.models import ChangeEvent, EventKind

    # The copy of a tie a merge leaves behind goes quietly: nothing lost its records.
    assert not ChangeEvent.objects.filter(kind=EventKind.TIE_REMOVED).exists()
    unmerge(merge, decided_by=None)
    assert _contract_ties_by_pair() == before
    import_usaspending([AWARDS_SAMPLE])
    assert _contract_ties_by_pair() == before


def _tx_row(base: dict[str, str], award: str, mod: str, uei: str, name: str, parent_uei: str,
            parent: str, date: str, amount: str = "1000.00") -> dict[str, str]:  # fmt: skip
    """A transaction row of ICE (7012) in today's header, built on ``base``."""
    return {
        **base,
        "recipient_duns": "",
        "recipient_parent_duns": "",
        "contract_award_unique_key": f"CONT_AWD_{award}_7012_-NONE-_-NONE-",
        "contract_transaction_unique_key": f"7012_-NONE-_{award}_{mod}_-NONE-_0",
        "award_id_piid": award,
        "modification_number": mod,
        "recipient_uei": uei,
        "recipient_name": name,
        "recipient_parent_uei": parent_uei,
        "recipient_parent_name": parent,
        "action_date": date,
        "last_modified_date": f"{date} 12:00:00",
        "federal_action_obligation": amount,
    }


def test_parents_are_claimed_only_for_the_recipient_that_reported_them(generated, tmp_path):
    (path,), _ = generated(20)
    header, rows = read_rows(path)

    def tx(*args: str) -> dict[str, str]:
        return _tx_row(rows[0], *args)

    novated = [
        tx("P1", "0", "GAMMA0000001", "GAMMA INC", "GAMMAHOLD001", "GAMMA HOLDINGS", "2021-01-10"),
        tx("P1", "1", "DELTA0000001", "DELTA INC", "DELTA0000001", "DELTA INC", "2022-02-10"),
    ]
    owned = tx("K1", "0", "KAPPA0000001", "KAPPA LLC", "KAPPAPAR0001", "KAPPA PARENT", "2021-03-01")
    import_usaspending([write_rows(tmp_path / "tx.csv", header, [*novated, owned])])

    def owners(uei: str) -> set[str]:
        child = Identifier.objects.get(scheme="uei", value=uei).entity
        return set(
            Tie.objects.filter(kind="owns", object=child).values_list("subject__name", flat=True)
        )

    # GAMMA's parent, named on GAMMA's action before the novation, is not DELTA's owner.
    assert owners("DELTA0000001") == set()
    assert owners("KAPPA0000001") == {"KAPPA PARENT"}

    # The only record naming KAPPA's parent is deleted: so is the ownership it backed.
    delta = _delete_marks(
        tmp_path / "delta.csv", header, [owned["contract_transaction_unique_key"]]
    )
    summary = import_usaspending([delta])
    assert summary.ties.ownership_removed == 1
    assert owners("KAPPA0000001") == set()


def test_a_delta_without_its_final_line_break_is_read(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    import_usaspending([AWARDS_SAMPLE])
    delta = _delete_marks(
        tmp_path / "awards-delta.csv", header, [rows[0]["contract_award_unique_key"]], awards=True
    )
    delta.write_bytes(delta.read_bytes().rstrip(b"\r\n"))
    assert import_usaspending([delta]).awards.deleted == 1


def test_a_whole_file_without_its_final_line_break_is_read(generated, tmp_path):
    (path,), truth = generated(100)
    whole = tmp_path / "no-final-break.csv"
    whole.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    import_usaspending([whole])
    assert ContractTransaction.objects.count() == truth.rows


@pytest.mark.parametrize("cut_back", [1, 4, 9, 12, 280, 1000])
def test_a_file_cut_inside_its_last_row_is_refused(generated, tmp_path, cut_back):
    """Cut a few bytes back, the last field (a timestamp) is broken or lost its time (the rows
    before have one); further back, the row is short."""
    (path,), _ = generated(100)
    data = path.read_bytes().rstrip(b"\r\n")
    cut = tmp_path / "cut.csv"
    cut.write_bytes(data[:-cut_back])
    with pytest.raises(InputError, match="truncated|cannot be read"):
        import_usaspending([cut])
    assert counts()[:2] == (0, 0)


def test_amounts_are_dollars_and_cents_never_rounded_or_guessed(generated, tmp_path):
    (path,), _ = generated(20)
    header, rows = read_rows(path)
    amounts = [
        "1.23E+11", "2.675", "1,234.56", "$12.00", "(5.00)", "100000000000000",
        "-80", ".5", "1234.", "-0.01", "9999999999999.99",
    ]  # fmt: skip
    chosen = [
        {**row, "federal_action_obligation": a} for row, a in zip(rows, amounts, strict=False)
    ]
    report = tmp_path / "rejects.csv"
    summary = import_usaspending(
        [write_rows(tmp_path / "amounts.csv", header, chosen)], report_path=report
    )
    assert summary.rejected == 6
    reasons = [r["reason"] for r in csv.DictReader(report.open())]
    assert all("is not an amount in dollars and cents" in r for r in reasons)
    stored = set(ContractTransaction.objects.values_list("obligation_cents", flat=True))
    assert stored == {-8000, 50, 123400, -1, 999999999999999}


@pytest.mark.parametrize(
    ("sample", "dropped"),
    [
        ("transactions", ["action_date"]),
        ("transactions", ["federal_action_obligation", "modification_number"]),
        ("transactions", ["contract_award_unique_key"]),
        ("awards", ["total_obligated_amount"]),
        ("awards", ["contract_award_unique_key"]),
    ],
)
def test_each_missing_required_column_is_named(generated, tmp_path, sample, dropped):
    if sample == "transactions":
        (path,), _ = generated(20)
    else:
        path = AWARDS_SAMPLE
    bad = _without_columns(path, dropped, tmp_path / "bad.csv")
    with pytest.raises(InputError, match="without the required columns") as info:
        import_usaspending([bad])
    assert all(c in str(info.value) for c in dropped), str(info.value)
    assert counts()[:2] == (0, 0)


def test_the_closing_summary_accounts_for_repeated_rows_and_unchanged_ties(generated):
    (path,), truth = generated(200)
    first = import_usaspending([path, path])
    assert first.repeated == truth.rows
    assert first.transactions.stored == truth.rows
    assert "repeated in the files" in "\n".join(first.lines())
    again = import_usaspending([path])
    assert again.repeated == 0
    assert (again.ties.created, again.ties.updated) == (0, 0)
    assert again.ties.unchanged == first.ties.created


def test_after_a_novation_each_company_keeps_its_own_obligations(generated, tmp_path):
    (path,), _ = generated(20)
    header, rows = read_rows(path)
    gamma = ("GAMMA0000001", "GAMMA INC", "", "")
    delta = ("DELTA0000001", "DELTA INC", "", "")
    novated = [
        _tx_row(rows[0], "P1", "0", *gamma, "2021-01-10", "1000.00"),
        _tx_row(rows[0], "P1", "1", *delta, "2022-02-10", "500.00"),
        _tx_row(rows[0], "P1", "2", *delta, "2022-06-10", "-100.00"),
    ]
    import_usaspending([write_rows(tmp_path / "tx.csv", header, novated)])

    def contract(uei: str) -> tuple[int, int, int, dict[str, int]]:
        company = Identifier.objects.get(scheme="uei", value=uei).entity
        t = ContractTotals.objects.get(tie__subject=company, tie__kind="contract")
        return t.obligated_cents, t.award_count, t.transaction_count, t.by_fiscal_year

    assert contract("GAMMA0000001") == (100000, 1, 1, {"2021": 100000})
    assert contract("DELTA0000001") == (40000, 1, 2, {"2022": 40000})
    # The award itself belongs to its recipient now.
    assert ContractAward.objects.get().recipient.name == "DELTA INC"

    # A later file moves the first action to DELTA too (a correction): GAMMA's tie goes.
    moved = _tx_row(rows[0], "P1", "0", *delta, "2021-01-10", "1000.00")
    moved["last_modified_date"] = "2023-01-01 00:00:00"
    summary = import_usaspending([write_rows(tmp_path / "fix.csv", header, [moved])])
    assert summary.ties.removed == 1
    assert contract("DELTA0000001")[:3] == (140000, 1, 3)
    gamma_entity = Identifier.objects.get(scheme="uei", value="GAMMA0000001").entity
    assert not Tie.objects.filter(subject=gamma_entity, kind="contract").exists()


def test_a_deleted_record_stays_deleted_until_a_later_modification(generated, tmp_path):
    from receipts.contracts.models import DeletedContractRecord

    (path,), truth = generated(200)
    header, rows = read_rows(path)
    gone = rows[1]
    key = gone["contract_transaction_unique_key"]
    import_usaspending([path])
    delta = _delete_marks(tmp_path / "delta.csv", header, [key])
    import_usaspending([delta])
    total = sum(ContractTotals.objects.values_list("obligated_cents", flat=True))

    again = import_usaspending([path])  # the older full download, read again
    assert again.transactions.kept_deleted == 1 and again.transactions.stored == 0
    assert "deleted by an earlier delta file" in "\n".join(again.lines())
    assert not ContractTransaction.objects.filter(transaction_key=key).exists()
    assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == total

    revived = {**gone, "last_modified_date": "2050-01-01 00:00:00"}
    later = import_usaspending([write_rows(tmp_path / "later.csv", header, [revived])])
    assert later.transactions.stored == 1
    assert ContractTransaction.objects.filter(transaction_key=key).exists()
    assert not DeletedContractRecord.objects.exists()
    assert ContractTransaction.objects.count() == truth.rows


def test_a_deleted_award_is_not_brought_back_by_its_old_summary(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    import_usaspending([AWARDS_SAMPLE])
    key = rows[0]["contract_award_unique_key"]
    delta = _delete_marks(tmp_path / "awards-delta.csv", header, [key], awards=True)
    import_usaspending([delta])
    again = import_usaspending([AWARDS_SAMPLE])
    assert again.awards.kept_deleted == 1
    assert not ContractAward.objects.filter(award_key=key).exists()
    remaining = sum(ContractAward.objects.values_list("summary_obligated_cents", flat=True))
    assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == remaining


def test_the_api_gives_the_figures_behind_an_imported_contract_tie(client):
    import_usaspending([AWARDS_SAMPLE])
    regents = Identifier.objects.get(scheme="uei", value="KABJZBBJ4B54").entity
    listed = client.get(f"/api/entities/{regents.slug}/ties").json()["ties"]
    contract = next(t for t in listed if t["kind"] == "contract")
    totals = contract["contract_totals"]
    assert totals["obligated"] == contract["amount"]
    assert totals["award_count"] == 4 and totals["transaction_count"] == 0
    assert sum(Decimal(v) for v in totals["by_fiscal_year"].values()) == Decimal(contract["amount"])
    assert all(t["contract_totals"] is None for t in listed if t["kind"] != "contract")
    alone = client.get(f"/api/ties/{contract['id']}").json()
    assert alone["contract_totals"] == totals


def test_watchers_hear_when_a_contract_tie_loses_its_last_record(generated, tmp_path):
    from receipts.watch.models import ChangeEvent, EventKind

    (path,), _ = generated(20)
    header, rows = read_rows(path)
    only = _tx_row(rows[0], "R1", "0", "RHO000000001", "RHO LLC", "", "", "2021-03-01")
    import_usaspending([write_rows(tmp_path / "tx.csv", header, [only])])
    rho = Identifier.objects.get(scheme="uei", value="RHO000000001").entity
    tie = Tie.objects.get(subject=rho, kind="contract")
    delta = _delete_marks(tmp_path / "delta.csv", header, [only["contract_transaction_unique_key"]])
    summary = import_usaspending([delta])
    assert summary.ties.removed == 1 and not Tie.objects.filter(pk=tie.pk).exists()
    event = ChangeEvent.objects.get(kind=EventKind.TIE_REMOVED)
    assert (event.subject, event.object_id) == (rho, tie.object_id)
    assert event.summary.startswith("Tie removed: RHO LLC — contract — ")
    assert event.source_id is not None  # the receipt it had is still quoted


def test_a_parent_named_only_by_the_recipients_own_name_is_the_recipient(generated, tmp_path):
    (path,), _ = generated(20)
    header, rows = read_rows(path)
    row = _tx_row(
        rows[0], "T9", "0", "THETA0000009", "THETA NINE LLC", "", "Theta Nine, LLC", "2022-01-05"
    )
    import_usaspending([write_rows(tmp_path / "tx.csv", header, [row])])
    theta = Identifier.objects.get(scheme="uei", value="THETA0000009").entity
    assert not Tie.objects.filter(kind="owns").exists()
    assert not Entity.objects.filter(name="Theta Nine, LLC").exists()
    assert Tie.objects.filter(subject=theta, kind="contract").exists()


@pytest.mark.parametrize("order", ["full+delta", "delta+full", "delta, then full"])
def test_a_deletion_read_with_or_before_the_full_file_stays(generated, tmp_path, order):
    (path,), truth = generated(100)
    header, rows = read_rows(path)
    key = rows[1]["contract_transaction_unique_key"]
    delta = _delete_marks(tmp_path / "delta.csv", header, [key])
    runs = {
        "full+delta": [[path, delta]],
        "delta+full": [[delta, path]],
        "delta, then full": [[delta], [path]],
    }[order]
    for files in runs:
        import_usaspending(files)
    assert not ContractTransaction.objects.filter(transaction_key=key).exists()
    again = import_usaspending([path])
    assert again.transactions.kept_deleted == 1
    assert ContractTransaction.objects.count() == truth.rows - 1
    if order == "delta, then full":
        # The first run's mark had no record to delete: the summary says so.
        first = import_usaspending([delta])
        assert (first.transactions.deleted, first.transactions.marks_not_found) == (0, 1)
        assert "1 deletion marks for records not stored" in "\n".join(first.lines())


def test_a_deleted_award_comes_back_whole_with_a_newer_action(tmp_path, generated):
    (path,), _ = generated(20)
    header, rows = read_rows(path)
    old = [
        _tx_row(rows[0], "S1", "0", "SIGMA0000001", "SIGMA LLC", "", "", "2021-01-10", "100.00"),
        _tx_row(rows[0], "S1", "1", "SIGMA0000001", "SIGMA LLC", "", "", "2021-06-10", "50.00"),
    ]
    import_usaspending([write_rows(tmp_path / "tx.csv", header, old)])
    aw_header, aw_rows = read_rows(AWARDS_SAMPLE)
    delete = _delete_marks(
        tmp_path / "awards-delta.csv", aw_header, [old[0]["contract_award_unique_key"]], awards=True
    )
    import_usaspending([delete])
    assert not ContractAward.objects.exists()
    # The first action modified later (its action date is the older one): award and
    # action come back together, the unchanged older action stays out.
    newer = {
        **old[0],
        "last_modified_date": "2050-01-01 00:00:00",
        "federal_action_obligation": "111.00",
    }
    summary = import_usaspending([write_rows(tmp_path / "again.csv", header, [newer, old[1]])])
    assert (summary.transactions.stored, summary.transactions.kept_deleted) == (1, 1)
    assert ContractAward.objects.count() == 1
    assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == 11100


def test_versions_a_fraction_of_a_second_apart_stay_apart(generated, tmp_path):
    (path,), _ = generated(20)
    header, rows = read_rows(path)
    row = _tx_row(rows[0], "F1", "0", "PHI000000001", "PHI LLC", "", "", "2024-01-01")
    newer = {
        **row,
        "last_modified_date": "2024-01-02 10:00:00.500",
        "federal_action_obligation": "2.00",
    }
    older = {
        **row,
        "last_modified_date": "2024-01-02 10:00:00.100",
        "federal_action_obligation": "1.00",
    }
    import_usaspending([write_rows(tmp_path / "newer.csv", header, [newer])])
    summary = import_usaspending([write_rows(tmp_path / "older.csv", header, [older])])
    assert summary.transactions.unchanged == 1
    assert ContractTransaction.objects.get().obligation_cents == 200


def test_reading_the_corrected_download_again_keeps_the_correction(generated, tmp_path):
    (path,), _ = generated(50)
    header, rows = read_rows(path)
    fixed = {**rows[2], "federal_action_obligation": "8.00"}  # same last_modified_date
    key = fixed["contract_transaction_unique_key"]
    import_usaspending([path])
    delta = write_rows(
        tmp_path / "delta.csv",
        ["correction_delete_ind", *header],
        [{"correction_delete_ind": "C", **fixed}],
    )
    assert import_usaspending([delta]).transactions.updated == 1
    again = import_usaspending([path])
    assert again.transactions.updated == 0
    assert ContractTransaction.objects.get(transaction_key=key).obligation_cents == 800
    # A later modification still replaces it.
    later = {
        **rows[2],
        "federal_action_obligation": "9.00",
        "last_modified_date": "2050-01-01 00:00:00",
    }
    import_usaspending([write_rows(tmp_path / "later.csv", header, [later])])
    tx = ContractTransaction.objects.get(transaction_key=key)
    assert (tx.obligation_cents, tx.corrected) == (900, False)
    # The old correction read again does not undo the newer modification.
    assert import_usaspending([delta]).transactions.updated == 0
    assert ContractTransaction.objects.get(transaction_key=key).obligation_cents == 900


def test_records_imported_while_merged_go_back_with_their_company(generated, tmp_path):
    from receipts.ingest.models import ReviewItem
    from receipts.ingest.services import decide_review, unmerge

    (path,), _ = generated(20)
    header, rows = read_rows(path)
    first = [
        _tx_row(rows[0], "O1", "0", "OMEGA0000001", "OMEGA SYSTEMS INC", "", "", "2021-01-10"),
        _tx_row(rows[0], "O2", "0", "OMEGA0000002", "OMEGA SYSTEM INC", "", "", "2021-02-10"),
    ]
    import_usaspending([write_rows(tmp_path / "first.csv", header, first)])
    item = ReviewItem.objects.get(status="pending")
    merge = decide_review(item, merge=True, decided_by=None)
    dropped = item.entity
    # A new award under the merged company's UEI resolves to the survivor meanwhile.
    during = _tx_row(rows[0], "O3", "0", *(
        ("OMEGA0000002", "OMEGA SYSTEM INC") if dropped.name == "OMEGA SYSTEM INC"
        else ("OMEGA0000001", "OMEGA SYSTEMS INC")
    ), "", "", "2022-03-10", "55.00")  # fmt: skip
    import_usaspending([write_rows(tmp_path / "during.csv", header, [during])])
    unmerge(merge, decided_by=None)
    award = ContractAward.objects.get(piid="O3")
    assert award.recipient == dropped
    assert set(ContractTransaction.objects.filter(award_key=award.award_key).values_list(
        "recipient_id", flat=True
    )) == {dropped.pk}  # fmt: skip
    totals = ContractTotals.objects.get(tie__subject=dropped, tie__kind="contract")
    assert (totals.award_count, totals.obligated_cents) == (2, 105500)


@pytest.mark.parametrize(
    ("tail", "last_column", "whole"),
    [
        (b"a,C\r\nb,D", "correction_delete_ind", True),
        (b"a,12/15/2018 23:04\r\nb,1/5/2018 9:04", "last_modified_date", True),
        (b"a,2024-01-01 10:00:00.123456\r\nb,2024-01-02 10:00:00.5", "last_modified_date", True),
        (b"a,2024-01-01 10:00:00\r\nb,2024-01-02T10:00:00Z", "last_modified_date", True),
        (b"a,2024-01-01 10:00:00+00\r\nb,2024-01-02 10:00:00+00:00", "last_modified_date", True),
        (b"C,a,2024-01-01 10:00:00\r\nD,b,", "last_modified_date", True),
        (b"a,2022-04-02\r\nb,2022-12-21", "last_modified_date", True),
        (b"a,2024-01-01 10:00:00\r\nb,2024-01-02", "last_modified_date", False),
        (b"a,2024-01-01 10:00:00\r\nb,2024-01-02 10:0", "last_modified_date", False),
        (b"a,2024-01-01 10:00:00\r\nb,2024-01", "last_modified_date", False),
        (b"a,2013\r\nb,201", "fiscal_year", False),
        (b"a,x\r\nb,y", "recipient_name", False),
    ],
)
def test_a_last_row_without_a_line_break_is_judged_by_its_last_column(tail, last_column, whole):
    from receipts.ingest.usaspending.files import _ends_with_a_whole_row

    assert _ends_with_a_whole_row(tail, last_column) is whole


def test_deletion_marks_for_awards_not_stored_are_counted(tmp_path):
    header, _ = read_rows(AWARDS_SAMPLE)
    marks = _delete_marks(
        tmp_path / "d.csv", header, ["CONT_AWD_X_7012_-NONE-_-NONE-"], awards=True
    )
    summary = import_usaspending([marks])
    assert (summary.awards.deleted, summary.awards.marks_not_found) == (0, 1)
    assert "1 deletion marks for records not stored" in "\n".join(summary.lines())


def test_a_deletion_read_first_is_dated_by_the_download_it_deleted_from(generated, tmp_path):
    (path,), truth = generated(50)
    header, rows = read_rows(path)
    key = rows[1]["contract_transaction_unique_key"]
    import_usaspending([_delete_marks(tmp_path / "d.csv", header, [key])])
    assert import_usaspending([path]).transactions.kept_deleted == 1
    # A modification after that download brings the record back, even one older
    # than the day the deletion was read.
    import datetime as dt

    seen = dt.datetime.fromisoformat(rows[1]["last_modified_date"][:19])
    next_day = (seen + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert next_day < dt.datetime.now().strftime("%Y-%m-%d")
    later = {**rows[1], "last_modified_date": next_day}
    assert (
        import_usaspending(
            [write_rows(tmp_path / "later.csv", header, [later])]
        ).transactions.stored
        == 1
    )
    assert ContractTransaction.objects.count() == truth.rows


def test_an_award_that_comes_back_brings_back_only_what_changed(generated, tmp_path):
    (path,), _ = generated(20)
    header, rows = read_rows(path)
    old = [
        _tx_row(rows[0], "S1", "0", "SIGMA0000001", "SIGMA LLC", "", "", "2021-01-10", "100.00"),
        _tx_row(rows[0], "S1", "1", "SIGMA0000001", "SIGMA LLC", "", "", "2021-06-10", "50.00"),
    ]
    original = write_rows(tmp_path / "tx.csv", header, old)
    import_usaspending([original])
    aw_header, _ = read_rows(AWARDS_SAMPLE)
    award_key = old[0]["contract_award_unique_key"]
    import_usaspending([_delete_marks(tmp_path / "d.csv", aw_header, [award_key], awards=True)])
    newer = {
        **old[0],
        "last_modified_date": "2050-01-01 00:00:00",
        "federal_action_obligation": "120.00",
    }
    import_usaspending([write_rows(tmp_path / "newer.csv", header, [newer])])
    again = import_usaspending([original])  # the old download: its other action stays deleted
    assert again.transactions.stored == 0
    assert sum(ContractTotals.objects.values_list("obligated_cents", flat=True)) == 12000
