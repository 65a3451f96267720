"""What the USAspending importer says of files it cannot use whole: impossible dates, a
last_modified_date it cannot read, files whose every row is rejected, files without a
header, unrelated files in a folder, and every other kind of USAspending download."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from receipts.cli import main
from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence.models import Tie
from receipts.ingest.usaspending.files import InputError
from receipts.ingest.usaspending.importer import AllRowsRejected, import_usaspending
from tests.ingest.csv_files import read_rows, write_rows

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "usaspending"
AWARDS_SAMPLE = SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv"
ERA_2018_SAMPLE = SAMPLES / "ice_fy13_2018era_transactions.csv"
SUBAWARDS_SAMPLE = SAMPLES / "ice_mn_Contracts_Subawards.csv"
HEADERS = SAMPLES / "headers"
DATE_COLUMNS = ("award_base_action_date", "award_latest_action_date", "last_modified_date")


def _us_short(iso: str) -> str:
    """2017-12-22 as a US spreadsheet shows it: 12/22/17."""
    return dt.date.fromisoformat(iso[:10]).strftime("%m/%d/%y")


def _awards_with_dates(out: Path, **changes: str) -> Path:
    """The real award-summary sample with every date written month first with two-digit
    years (as a US spreadsheet saves them), one award's base date set to 22 December 2017."""
    header, rows = read_rows(AWARDS_SAMPLE)
    rows[0]["award_base_action_date"] = "2017-12-22"
    for row in rows:
        for column in DATE_COLUMNS:
            row[column] = _us_short(row[column])
    rows[0].update(changes)
    return write_rows(out, header, rows)


# --- no impossible dates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "said"),
    [
        # Read month first, the year 17: before 1900.
        ("%m/%d/%Y", "(read so, it is 0017-12-22, before 1900)"),
        # Read day first, 05/07/20 would be 5 July: the column proves the month comes first.
        ("%d/%m/%Y", ""),
    ],
)
def test_a_two_digit_year_read_by_a_four_digit_format_is_refused_not_stored_as_year_17(
    tmp_path, given, said
):
    damaged = _awards_with_dates(tmp_path / "awards.csv")
    with pytest.raises(AllRowsRejected) as refused:
        import_usaspending([damaged], date_format=given, report_path=tmp_path / "r.csv")
    assert not ContractAward.objects.exists()
    message = str(refused.value)
    assert f"row 2, award_base_action_date: 12/22/17 is not in the given --date-format {given}" in (
        message
    )
    assert said in message
    assert "--date-format '%m/%d/%y'" in message


def test_the_suggested_date_format_fits_the_files_form(tmp_path):
    damaged = _awards_with_dates(tmp_path / "awards.csv")
    report = tmp_path / "rejects.csv"
    with pytest.raises(AllRowsRejected):
        import_usaspending([damaged], report_path=report)
    first = next(csv.DictReader(report.open(encoding="utf-8")))
    # 12/22/17: the month comes first (no month 22) and the year has two digits.
    assert first["reason"].startswith("award_base_action_date: 12/22/17 is not written YYYY-MM-DD")
    assert (
        "month first, with two-digit years: re-run with --date-format %m/%d/%y" in (first["reason"])
    )
    # With the format suggested, every award is stored, dated right.
    import_usaspending([damaged], date_format="%m/%d/%y")
    award = ContractAward.objects.get(award_key__startswith="CONT_AWD_70CDCR20P00000053")
    assert award.summary_base_date == "2017-12-22"


def test_a_file_that_does_not_tell_day_from_month_gets_both_formats_named(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    for row in rows:
        for column in DATE_COLUMNS:
            row[column] = "03/04/2020"
    report = tmp_path / "rejects.csv"
    with pytest.raises(AllRowsRejected):
        import_usaspending([write_rows(tmp_path / "a.csv", header, rows)], report_path=report)
    reason = next(csv.DictReader(report.open(encoding="utf-8")))["reason"]
    assert "the rows do not tell whether the day or the month comes first" in reason
    assert "--date-format %m/%d/%Y if the month does" in reason
    assert "--date-format %d/%m/%Y if the day does" in reason


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0017-12-22", "is not a possible date (before 1900)"),
        ("1899-12-31", "is not a possible date (before 1900)"),
        ("2099-01-01", "years from today)"),
        ("2021-02-30", "is not a possible date (no such day)"),
    ],
)
def test_an_impossible_iso_date_rejects_its_row(tmp_path, value, why):
    header, rows = read_rows(AWARDS_SAMPLE)
    rows[1]["award_base_action_date"] = value
    report = tmp_path / "rejects.csv"
    summary = import_usaspending([write_rows(tmp_path / "a.csv", header, rows)], report_path=report)
    assert (summary.rejected, summary.awards.stored) == (1, 4)
    (rejected,) = csv.DictReader(report.open(encoding="utf-8"))
    assert (rejected["row"], rejected["column"]) == ("3", "award_base_action_date")
    assert (
        rejected["reason"] == f"award_base_action_date: {value} {why}"
        or why in (rejected["reason"])
    )
    stored = ContractAward.objects.values_list("summary_base_date", flat=True)
    assert all("1900-01-01" <= d <= "2060-01-01" for d in stored)


# --- no silent loss of a column --------------------------------------------------------


def test_a_last_modified_date_in_the_date_format_is_read_not_dropped(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    for row in rows:
        day = dt.date.fromisoformat(row["last_modified_date"][:10])
        row["last_modified_date"] = day.strftime("%d/%m/%Y") + " 16:17"
    summary = import_usaspending(
        [write_rows(tmp_path / "a.csv", header, rows)], date_format="%d/%m/%Y"
    )
    assert (summary.rejected, summary.awards.stored) == (0, 5)
    award = ContractAward.objects.get(award_key__startswith="CONT_AWD_70CDCR20P00000053")
    assert award.last_modified == "2022-04-02 16:17:00"


def test_an_unreadable_last_modified_date_rejects_its_row_with_the_reason(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    rows[2]["last_modified_date"] = "02/04/22 10:00"
    report = tmp_path / "rejects.csv"
    summary = import_usaspending([write_rows(tmp_path / "a.csv", header, rows)], report_path=report)
    assert (summary.rejected, summary.awards.stored) == (1, 4)
    assert not ContractAward.objects.filter(last_modified="").exists()
    (rejected,) = csv.DictReader(report.open(encoding="utf-8"))
    assert (rejected["row"], rejected["column"]) == ("4", "last_modified_date")
    assert "02/04/22 10:00 is not written YYYY-MM-DD" in rejected["reason"]


def test_a_non_iso_latest_action_date_rejects_its_row(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    rows[0]["award_latest_action_date"] = "12/16/2021"
    summary = import_usaspending([write_rows(tmp_path / "a.csv", header, rows)])
    assert (summary.rejected, summary.awards.stored) == (1, 4)
    assert not ContractAward.objects.filter(summary_latest_date="").exists()


def test_the_summary_reports_each_column_read_and_its_values_not_usable(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    rows[2]["last_modified_date"] = "yesterday"
    rows[3]["recipient_uei"] = "TOO-SHORT"
    rows[3]["last_modified_date"] = "2025-13-05"
    path = write_rows(tmp_path / "a.csv", header, rows)
    runner = CliRunner()
    result = runner.invoke(main, ["import", "usaspending", "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    columns = {c["column"]: c["not_usable"] for c in data["files"][0]["columns"]}
    # A row with two bad values counts in both columns.
    assert columns["last_modified_date"] == 2
    assert columns["recipient_uei"] == 1
    assert columns["total_obligated_amount"] == 0
    assert "award_base_action_date" in columns and "recipient_parent_uei" in columns
    # Columns the importer does not read are not listed as read.
    assert "naics_code" not in columns
    text = runner.invoke(main, ["import", "usaspending", str(path)])
    assert (
        f"{path}: columns read, with the values not usable: contract_award_unique_key 0, "
        in text.stdout
    )
    assert "recipient_uei 1" in text.stdout and "last_modified_date 2" in text.stdout


# --- exit codes ---------------------------------------------------------------------------


def test_a_file_with_every_row_rejected_exits_65_and_stores_nothing(tmp_path):
    report = tmp_path / "rejects.csv"
    result = CliRunner().invoke(
        main,
        [
            "import",
            "usaspending",
            "--report",
            str(report),
            str(AWARDS_SAMPLE),
            str(ERA_2018_SAMPLE),
        ],
    )
    assert result.exit_code == 65, result.output
    # Not even the file that was fine: nothing is imported in part.
    assert (ContractAward.objects.count(), ContractTransaction.objects.count()) == (0, 0)
    assert Tie.objects.count() == 0
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert (
        f"{ERA_2018_SAMPLE}: all 157 rows rejected (the first: row 2, action_date: 25/07/2013"
        in (error)
    )
    assert f"every rejected row: {report}" in error
    assert len(list(csv.DictReader(report.open(encoding="utf-8")))) == 157
    # What each file held is still said.
    assert (
        f"{ERA_2018_SAMPLE}: Contracts prime transactions, 157 rows, 157 rejected" in result.stdout
    )


def test_a_file_with_every_row_rejected_exits_65_in_json_too(tmp_path):
    result = CliRunner().invoke(
        main, ["import", "usaspending", "--format", "json", str(ERA_2018_SAMPLE)]
    )
    assert result.exit_code == 65
    data = json.loads(result.stdout)
    assert data["rejected"] == 157 and "all 157 rows rejected" in data["error"]


def test_the_import_help_lists_every_exit_code():
    result = CliRunner().invoke(main, ["import", "usaspending", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for code, meaning in [
        ("0", "imported"),
        ("1", "nothing imported: a file or zip cannot be read"),
        ("2", "the command line is wrong"),
        ("65", "every row of a file was rejected"),
        ("74", "the disk is full"),
        ("75", "another import is running"),
    ]:
        assert f" {code} " in f" {text} " and meaning in text


def test_a_date_format_without_a_year_is_refused(tmp_path):
    result = CliRunner().invoke(
        main, ["import", "usaspending", "--date-format", "%d/%m", str(ERA_2018_SAMPLE)]
    )
    assert result.exit_code == 1
    assert "--date-format %d/%m: names no year" in result.output


# --- clear messages on odd files ----------------------------------------------------------


def test_a_file_without_its_header_is_told_so_and_given_the_header_expected(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    headerless = tmp_path / "awards.csv"
    write_rows(headerless, header, rows)
    headerless.write_bytes(headerless.read_bytes().split(b"\r\n", 1)[1])
    with pytest.raises(InputError) as refused:
        import_usaspending([headerless])
    message = str(refused.value)
    assert "its header has neither" not in message
    assert "its first line looks like data ('CONT_AWD_70CDCR20P00000053_7012_-NONE-_-NONE-'" in (
        message
    )
    assert (
        "the header of contracts prime award summaries: "
        "contract_award_unique_key,award_id_piid,parent_award_agency_id,… (286 columns today)"
        in message
    )


def test_a_transactions_file_without_its_header_is_told_which_header(tmp_path):
    lines = ERA_2018_SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    headerless = tmp_path / "transactions.csv"
    headerless.write_text("".join(lines[1:]), encoding="utf-8")
    with pytest.raises(InputError, match="its first line looks like data") as refused:
        import_usaspending([headerless])
    # A 2018-era row has no key to tell its kind by: both headers are named.
    assert "contract_transaction_unique_key,contract_award_unique_key,award_id_piid" in str(
        refused.value
    )


def test_a_folder_import_leaves_out_unrelated_files_and_lists_each(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    shutil.copy(AWARDS_SAMPLE, folder / "Contracts_PrimeAwardSummaries_1.csv")
    (folder / "a-notes.csv").write_text("name,comment\r\nICE,check later\r\n", encoding="utf-8")
    (folder / "b-numbers.csv").write_text("1,2,3\r\n4,5,6\r\n", encoding="utf-8")
    (folder / "c-latin1.csv").write_bytes("año,valor\r\n1,2\r\n".encode("latin-1"))
    shutil.copy(SUBAWARDS_SAMPLE, folder / "Contracts_Subawards_1.csv")
    result = CliRunner().invoke(main, ["import", "usaspending", str(folder)])
    assert result.exit_code == 0, result.output
    assert ContractAward.objects.count() == 5
    out = result.stdout
    assert f"{folder / 'a-notes.csv'}: left out, not a USAspending contract" in out
    assert f"{folder / 'b-numbers.csv'}: left out, its first line looks like data" in out
    assert f"{folder / 'c-latin1.csv'}: left out, the header is not UTF-8 text" in out
    assert f"{folder / 'Contracts_Subawards_1.csv'}: left out, a contract subaward file" in out


def test_an_unrelated_file_named_on_its_own_is_still_refused(tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("name,comment\r\nICE,check later\r\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "usaspending", str(notes)])
    assert result.exit_code == 1
    assert "not a USAspending contract" in result.output


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ("Assistance_Subawards", "a financial assistance subaward file (Assistance_Subawards)"),
        (
            "Assistance_PrimeTransactions",
            "a financial assistance prime transactions file (Assistance_PrimeTransactions)",
        ),
        (
            "Assistance_PrimeAwardSummaries",
            "a financial assistance prime award summaries file (Assistance_PrimeAwardSummaries)",
        ),
        ("TreasuryAccount_AccountBalances", "an account balances file (AccountBalances)"),
        ("FederalAccount_AccountBalances", "an account balances file (AccountBalances)"),
        (
            "TreasuryAccount_AccountBreakdownByPA-OC",
            "an account file by program activity and object class (AccountBreakdownByPA-OC)",
        ),
        (
            "FederalAccount_AccountBreakdownByPA-OC",
            "an account file by program activity and object class (AccountBreakdownByPA-OC)",
        ),
        (
            "TreasuryAccount_AccountBreakdownByAward",
            "an account file of obligations by award (AccountBreakdownByAward",
        ),
        (
            "FederalAccount_AccountBreakdownByAward",
            "an account file of obligations by award (AccountBreakdownByAward",
        ),
        ("COVID-19_Recipients", "a disaster spending recipients file (COVID-19_Recipients)"),
    ],
)
def test_each_kind_of_usaspending_download_is_named_for_what_it_is(tmp_path, headers, named):
    header = (HEADERS / f"{headers}.txt").read_text(encoding="utf-8").split()
    other = write_rows(tmp_path / f"{headers}_2026-01-01_H00M00S00_1.csv", header, [{}])
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.write(AWARDS_SAMPLE, "Contracts_PrimeAwardSummaries_2026-01-01_H00M00S00_1.csv")
        archive.write(other, other.name)
    summary = import_usaspending([download])
    (skipped,) = summary.skipped
    assert skipped.display.endswith(other.name)
    assert skipped.reason.startswith(named)
    assert summary.awards.stored == 5


def test_a_contract_subaward_file_is_named_as_one():
    with pytest.raises(InputError, match=r"a contract subaward file \(Contracts_Subawards\)"):
        import_usaspending([SUBAWARDS_SAMPLE])


def test_reimporting_counts_ownership_ties_unchanged_and_an_ended_owner_as_ended(tmp_path):
    header, rows = read_rows(AWARDS_SAMPLE)
    # The first three awards name the Board as parent; the fourth, later, names the
    # recipient itself: the Board's ownership ends.
    first = import_usaspending([write_rows(tmp_path / "early.csv", header, rows[:3])])
    assert (first.ties.ownership_created, first.ties.ownership_ended) == (1, 0)
    later = import_usaspending([AWARDS_SAMPLE])
    assert (later.ties.ownership_created, later.ties.ownership_ended) == (0, 1)
    again = import_usaspending([AWARDS_SAMPLE])
    t = again.ties
    assert (t.ownership_created, t.ownership_updated, t.ownership_unchanged, t.ownership_ended) == (
        0,
        0,
        1,
        0,
    )
    assert (
        "ownership ties 0 created, 0 updated, 1 unchanged, 0 ended, 0 removed"
        in (again.lines()[-1])
    )
