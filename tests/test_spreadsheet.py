"""Every CSV the product writes shows a hostile text cell as text and keeps numbers numbers."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from benchmarks.make_usaspending import generate
from click.testing import CliRunner, Result
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from receipts import spreadsheet
from receipts.campaigns.models import MemberRole
from receipts.cli import main
from receipts.contracts.models import ContractTotals
from receipts.ingest.usaspending.importer import import_usaspending
from receipts.outreach import services as outreach_services
from receipts.outreach.models import Submission
from tests.campaigns.factories import make_campaign, make_member
from tests.factories import login_verified, make_entity, make_source, make_tie
from tests.ingest.csv_files import read_rows, write_rows
from tests.outreach.factories import make_form, person, sign_up

HOSTILE = '=HYPERLINK("http://evil.example/","Open")'
NEUTRALISED = "'" + HOSTILE


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        HOSTILE,
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1,1)",
        "\t=1+1",
        "\r=1+1",
        "\tplain after a tab",
        "   =1+1",
        "\u00a0=1+1",
        "\uff1dSUM(1,1)",
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(1)",
        "-",
        "+44 20 7946 0000",
    ],
)
def test_text_a_spreadsheet_could_run_gets_a_leading_apostrophe(text: str) -> None:
    assert spreadsheet.safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value",
    [
        "-123.45",
        "+7",
        "1250000.00",
        "-0.01",
        ".5",
        "1e3",
        -5,
        0,
        Decimal("-1250.50"),
        -2.5,
        None,
        "",
        "Amazon",
        "'=already text",
        "a=b",
        "2026-02",
    ],
)
def test_numbers_and_plain_text_stay_as_they_are(value: object) -> None:
    assert spreadsheet.safe_cell(value) == value


def test_writer_neutralises_every_cell_and_leaves_numbers_unquoted() -> None:
    out = io.StringIO()
    spreadsheet.writer(out).writerows([["name", "amount"], [HOSTILE, Decimal("-12.50")]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["name", "amount"],
        [NEUTRALISED, "-12.50"],
    ]


# --- every CSV the product writes --------------------------------------------------------


def _hostile_contractor() -> None:
    """An entity with a formula for a name, holding an ICE contract de-obligated below zero."""
    dhs = make_entity("U.S. Department of Homeland Security", kind="agency", aliases=["DHS"])
    ice = make_entity("@ICE", kind="agency")
    make_tie(ice, "part_of", dhs)
    evil = make_entity(HOSTILE, identifiers={"ticker": "EVIL"})
    tie = make_tie(
        evil,
        "contract",
        ice,
        source=make_source("-Award record"),
        amount=Decimal("-1250.50"),
        currency="USD",
    )
    ContractTotals.objects.create(
        tie=tie,
        obligated_cents=-125050,
        award_count=1,
        transaction_count=2,
        first_action_date="2021-01-01",
        last_action_date="2021-02-01",
    )


PORTFOLIO = "ticker,name,value\nEVIL,+Evil Holdings,-300.25\n"


def _check_screening_rows(rows: list[dict[str, str]]) -> None:
    (row,) = rows
    assert row["status"] == "flagged"
    assert row["matched_entity"] == NEUTRALISED
    assert row["agencies"] == "'@ICE"
    assert row["name"] == "'+Evil Holdings"  # the uploaded file's own cells too
    assert row["value"] == "-300.25"
    assert row["total_obligated"] == "-1250.50"
    assert Decimal(row["total_obligated"]) == Decimal("-1250.50")


@pytest.mark.django_db
def test_screening_csv_from_the_command_line(tmp_path: Path) -> None:
    _hostile_contractor()
    path = tmp_path / "portfolio.csv"
    path.write_text(PORTFOLIO, encoding="utf-8")
    out = tmp_path / "report.csv"
    result = run("screen", str(path), "--profile", "dhs", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    _check_screening_rows(rows_of(out.read_text(encoding="utf-8")))


@pytest.mark.django_db
def test_screening_csv_from_the_upload_page(client: Client) -> None:
    _hostile_contractor()
    response = client.post(
        "/screen/",
        {
            "file": SimpleUploadedFile("p.csv", PORTFOLIO.encode(), content_type="text/csv"),
            "profile": "dhs",
            "format": "csv",
        },
    )
    assert response.status_code == 200, response.content[:500]
    _check_screening_rows(rows_of(response.content.decode()))


@pytest.mark.django_db
def test_ties_csv_from_the_command_line() -> None:
    _hostile_contractor()
    result = run("ties", "EVIL", "--format", "csv")
    assert result.exit_code == 0, result.output
    (row,) = [r for r in rows_of(result.stdout) if r["kind"] == "contract" and r["line"] == "tie"]
    assert row["subject"] == NEUTRALISED
    assert row["path"].startswith("'=HYPERLINK")
    assert row["object"] == "'@ICE"
    assert row["citations"].startswith("'-Award record")
    assert row["amount"] == "-1250.50"
    (total,) = [r for r in rows_of(result.stdout) if r["line"] == "total"]
    assert total["subject"] == NEUTRALISED
    assert total["counted_amount"] == "-1250.50"


def _hostile_supporter() -> tuple[object, object]:
    campaign = make_campaign(slug="drive")
    form = make_form(campaign, title="-Sign up")
    submission = sign_up(
        form, person(1, name=HOSTILE, employer="@Employer"), source_code="-leaflet"
    )
    outreach_services.decide_submissions(
        campaign,
        list(Submission.objects.values_list("pk", flat=True)),
        "accepted",
        decided_by=None,
    )
    return campaign, submission


@pytest.mark.django_db
def test_supporter_exports_from_the_command_line(tmp_path: Path) -> None:
    _hostile_supporter()
    out = tmp_path / "supporters.csv"
    result = run("outreach", "export", "--campaign", "drive", "-o", str(out))
    assert result.exit_code == 0, result.output
    (row,) = rows_of(out.read_text(encoding="utf-8"))
    assert (row["name"], row["employer"], row["sources"]) == (
        NEUTRALISED,
        "'@Employer",
        "'-leaflet",
    )
    one = tmp_path / "person.csv"
    email = person(1)["email"]
    result = run("outreach", "export", "--campaign", "drive", "--email", email, "-o", str(one))
    assert result.exit_code == 0, result.output
    (row,) = rows_of(one.read_text(encoding="utf-8"))
    assert (row["name"], row["form"], row["source"]) == (NEUTRALISED, "'-Sign up", "'-leaflet")


@pytest.mark.django_db
def test_supporter_export_from_the_organiser_page() -> None:
    campaign, _ = _hostile_supporter()
    client = Client()
    login_verified(client, make_member(campaign, "organiser", MemberRole.ORGANISER))
    response = client.get(reverse("outreach-export", args=["drive"]))
    assert response.status_code == 200
    (row,) = rows_of(response.content.decode())
    assert (row["name"], row["sources"]) == (NEUTRALISED, "'-leaflet")


@pytest.mark.django_db
def test_import_reject_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = generate(5, "transactions", tmp_path / "files", seed=3)
    header, rows = read_rows(path)
    rows[1]["federal_action_obligation"] = "=1+1"
    monkeypatch.chdir(tmp_path)
    # The file's name as given on the command line.
    named = write_rows(Path("=HYPERLINK(1).csv"), header, rows)
    report = tmp_path / "rejects.csv"
    summary = import_usaspending([named], report_path=report)
    assert summary.rejected == 1
    (row,) = rows_of(report.read_text(encoding="utf-8"))
    assert row["file"] == "'=HYPERLINK(1).csv"
    assert row["row"] == "3"
    assert row["column"] == "federal_action_obligation"


def test_every_csv_writer_in_the_product_is_the_safe_one() -> None:
    """A new CSV output cannot bypass the rule: only the staging file DuckDB reads back may."""
    src = Path(spreadsheet.__file__).parent
    allowed = {src / "spreadsheet.py", src / "ingest" / "usaspending" / "stage.py"}
    found = [
        f"{path.relative_to(src)}:{n}"
        for path in sorted(src.rglob("*.py"))
        if path not in allowed
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\bcsv\.(writer|DictWriter)\b", line)
    ]
    assert found == []
