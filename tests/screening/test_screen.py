"""The screening engine against a graph with known answers: matching, judging, the value share."""

from __future__ import annotations

from pathlib import Path

import pytest

from receipts.ingest.usaspending.importer import import_usaspending
from receipts.screening import services
from receipts.screening.queries import ProfileWithoutAgencies, profile_spec
from receipts.screening.report import report_record
from receipts.screening.screen import ScreeningReport, screen_file
from tests.factories import make_entity
from tests.ingest.csv_files import read_rows, write_rows
from tests.screening.factories import REPORT_TITLE, make_world, write_file

pytestmark = pytest.mark.django_db

USASPENDING = Path(__file__).parents[1] / "data" / "usaspending"
AWS_ICE = (
    "Amazon > Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement"
    " < U.S. Department of Homeland Security"
)


def screen(path: Path, slug: str | None = None) -> ScreeningReport:
    with path.open("rb") as stream:
        return screen_file(stream, path.name, profile_spec(slug), size=path.stat().st_size)


def by_line(report: ScreeningReport) -> dict[int, dict]:
    return {line["line"]: line for line in report_record(report)["lines"]}


def test_portfolio_with_known_answers(tmp_path: Path) -> None:
    make_world()
    path = write_file(
        tmp_path,
        "portfolio.csv",
        "Ticker,Name,Market Value (USD)\n"
        'AMZN,"Amazon.com, Inc.","6,000.00"\n'
        "QQQQ,Quuxly Holdings,1000\n"
        ",Amazon Webb Services,1000\n"
        ",Flock Safety,2000\n",
    )
    report = screen(path)
    lines = by_line(report)

    # A holding in Amazon is flagged only through its subsidiary's hosting of ICE.
    amazon = lines[2]
    assert amazon["status"] == "flagged"
    assert amazon["matched_by"] == "ticker"
    assert amazon["entity"]["slug"] == "amazon"
    assert [t["path"] for t in amazon["ties"]] == [AWS_ICE]
    tie = amazon["ties"][0]
    assert tie["status"] == "alleged"
    assert tie["start_date"] == "2018"
    assert tie["receipts"][0]["source"] == REPORT_TITLE
    assert tie["receipts"][0]["url"] == "https://example.org/aws-ice"

    # An unknown ticker with an unknown name: not found, never clear.
    unknown = lines[3]
    assert unknown["status"] == "not_found"
    assert unknown["entity"] is None
    assert unknown["reason"].startswith("no entity with")
    assert "ticker QQQQ" in unknown["reason"]

    # A near name of a flagged company stays possible: never flagged by name alone.
    near = lines[4]
    assert near["status"] == "possible"
    assert near["entity"] is None
    assert [c["slug"] for c in near["candidates"]] == ["amazon-web-services"]
    assert near["candidates"][0]["score"] >= 85

    # The exact name of a company with no ties: matched, clear.
    flock = lines[5]
    assert (flock["status"], flock["matched_by"], flock["entity"]["slug"]) == (
        "clear",
        "name",
        "flock-safety",
    )

    assert report.counts["flagged"] == 1
    assert report.counts["possible"] == 1
    assert report.counts["clear"] == 1
    assert report.counts["not_found"] == 1
    assert report.share_basis == "value"
    assert report.flagged_value_share == pytest.approx(0.6)
    assert report.possible_value_share == pytest.approx(0.1)


def test_identifiers_win_over_names_and_isin_holds_a_cusip(tmp_path: Path) -> None:
    make_world()
    path = write_file(
        tmp_path,
        "isin.csv",
        "ISIN,Issuer,Weight (%)\nUS0231351067,Some Other Name,5%\nUS0000000000,Flock Safety,5\n",
    )
    report = screen(path)
    lines = by_line(report)
    assert lines[2]["status"] == "flagged"
    assert lines[2]["matched_by"] == "CUSIP in the ISIN"
    assert lines[3]["status"] == "clear"
    assert lines[3]["matched_by"] == "name"
    # Weights stand in for values.
    assert report.share_basis == "weight"
    assert report.flagged_value_share == pytest.approx(0.5)


def test_vendor_list_by_uei_lei_and_duns(tmp_path: Path) -> None:
    make_world()
    path = write_file(
        tmp_path,
        "vendors.csv",
        "Vendor,UEI,LEI,DUNS\n"
        "ACME DETENTION,acmedet12345,,\n"
        "Border Tech,,5493001KJTIIGC8Y1R12,\n"
        "Oldco,,,12345678\n",
    )
    lines = by_line(screen(path))
    assert (lines[2]["status"], lines[2]["matched_by"]) == ("flagged", "UEI")
    assert (lines[3]["status"], lines[3]["matched_by"]) == ("flagged", "LEI")
    # DUNS left-padded to nine digits; an ended contract does not flag.
    assert (lines[4]["status"], lines[4]["matched_by"]) == ("clear", "DUNS")
    assert lines[4]["entity"]["slug"] == "oldco-logistics"
    assert "active, announced or alleged" in lines[4]["reason"]


def test_vendor_flagged_through_imported_contracts_with_totals(tmp_path: Path) -> None:
    # The sample's awards all ended by 2025-05-11, which ends their contract ties: one
    # of the Regents' awards runs on here, so its tie is active and flags.
    header, rows = read_rows(USASPENDING / "ice_umn_Contracts_PrimeAwardSummaries.csv")
    rows[3]["period_of_performance_current_end_date"] = "2099-05-11"
    import_usaspending([write_rows(tmp_path / "Contracts_PrimeAwardSummaries.csv", header, rows)])
    path = write_file(
        tmp_path,
        "vendors.csv",
        "Supplier;UEI;Amount\n"
        "University of Minnesota;KABJZBBJ4B54;100\n"
        # The recipients' parent: its ownership has ended, so it is no longer in the family.
        "Board of Regents;CB47L9C9MDX1;100\n",
    )
    # No profile row: the built-in default finds DHS by its agency code.
    report = screen(path)
    lines = by_line(report)
    regents = lines[2]
    assert regents["status"] == "flagged"
    assert regents["matched_by"] == "UEI"
    assert regents["obligations_by_agency"] == {
        "U.S. Immigration and Customs Enforcement": "41507.50"
    }
    assert regents["total_obligated"] == "41507.50"
    tie = regents["ties"][0]
    assert tie["kind"] == "contract"
    assert tie["obligated"] == "41507.50"
    assert tie["receipt_count"] == 4
    assert len(tie["receipts"]) == 3
    assert tie["receipts"][0]["url"].startswith("https://www.usaspending.gov/")
    assert lines[3]["status"] == "clear"
    assert report.flagged_value_share == pytest.approx(0.5)


def test_profile_limited_to_cbp_does_not_flag_an_ice_only_tie(tmp_path: Path) -> None:
    world = make_world()
    services.save_profile(
        name="CBP only",
        agencies=[world.cbp],
        tie_kinds=["contract", "hosting"],
        statuses=["active", "alleged"],
    )
    path = write_file(
        tmp_path, "p.csv", "ticker,name\nAMZN,Amazon\n,Border Tech Inc\n,Acme Detention Services\n"
    )
    lines = by_line(screen(path, "cbp-only"))
    assert lines[2]["status"] == "clear"  # AWS hosts ICE, not CBP
    assert lines[3]["status"] == "flagged"
    assert lines[3]["ties"][0]["agency"]["name"] == "U.S. Customs and Border Protection"
    assert lines[4]["status"] == "clear"
    # The same file under the default profile flags all three.
    assert [line["status"] for line in by_line(screen(path)).values()] == ["flagged"] * 3


def test_profile_counting_ended_ties_flags_them(tmp_path: Path) -> None:
    world = make_world()
    services.save_profile(
        name="History too",
        slug="history",
        agencies=[world.dhs],
        tie_kinds=["contract"],
        statuses=["active", "ended"],
    )
    path = write_file(tmp_path, "p.csv", "duns\n012345678\n")
    line = by_line(screen(path, "history"))[2]
    assert line["status"] == "flagged"
    assert line["ties"][0]["status"] == "ended"
    assert line["ties"][0]["end_date"] == "2019"


def test_two_entities_with_one_name_make_the_line_possible(tmp_path: Path) -> None:
    world = make_world()
    make_entity("Acme Detention Services LLC")  # another company, no ties
    make_entity("Acme Detention Services", aliases=["Acme Detention"])  # the same name key
    path = write_file(tmp_path, "p.csv", "name\nAcme Detention Services\n")
    line = by_line(screen(path))[2]
    assert line["status"] == "possible"
    flagged = [c for c in line["candidates"] if c["flagged"]]
    assert [c["slug"] for c in flagged] == [world.acme.slug]


def test_identifiers_naming_two_entities_are_never_flagged(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "p.csv", "ticker,uei\nAMZN,ACMEDET12345\n")
    line = by_line(screen(path))[2]
    assert line["status"] == "possible"
    assert {c["slug"] for c in line["candidates"]} == {"amazon", "acme-detention-services"}


def test_near_names_of_untied_companies_are_possible_never_cleared(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "p.csv", "name\nFlock Safty\n")
    line = by_line(screen(path))[2]
    assert line["status"] == "possible"
    assert [c["slug"] for c in line["candidates"]] == ["flock-safety"]
    assert "none of them is tied" in line["reason"]


def test_merged_entity_identifier_leads_to_the_survivor(tmp_path: Path) -> None:
    from receipts.evidence.models import Entity

    world = make_world()
    dropped = make_entity("AMAZON COM INC", identifiers={"uei": "AMZNUEI00001"})
    Entity.objects.filter(pk=dropped.pk).update(merged_into=world.amazon)
    path = write_file(tmp_path, "p.csv", "uei\nAMZNUEI00001\n")
    line = by_line(screen(path))[2]
    assert (line["status"], line["entity"]["slug"]) == ("flagged", "amazon")


def test_no_value_column_gives_no_share_and_says_so(tmp_path: Path) -> None:
    make_world()
    report = screen(write_file(tmp_path, "p.csv", "ticker\nAMZN\n"))
    assert report.flagged_value_share is None
    assert "no value or weight column" in report.share_note
    empty_values = screen(write_file(tmp_path, "q.csv", "ticker,value\nAMZN,\n"))
    assert empty_values.flagged_value_share is None
    assert "no line has a readable value" in empty_values.share_note


def test_lines_without_a_value_are_left_out_of_the_share(tmp_path: Path) -> None:
    make_world()
    report = screen(
        write_file(tmp_path, "p.csv", "ticker,value\nAMZN,300\nZZZ,100\nAMZN,\nZZZ,n/a\n")
    )
    assert report.flagged_value_share == pytest.approx(0.75)
    assert "2 lines without one are left out" in report.share_note
    problems = by_line(report)[5]["problems"]
    assert problems == ["value 'n/a' is not a number; left out of the share"]


def test_default_profile_without_dhs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileWithoutAgencies, match="Homeland Security"):
        profile_spec()


def test_lines_sharing_an_entity_share_one_finding(
    tmp_path: Path, django_assert_max_num_queries
) -> None:
    make_world()
    rows = "".join("AMZN,10\nZZZZ,5\n" for _ in range(3000))
    path = write_file(tmp_path, "p.csv", "ticker,value\n" + rows)
    with django_assert_max_num_queries(40):
        report = screen(path)
    assert report.counts["lines"] == 6000
    assert report.counts["flagged"] == 3000
    assert report.flagged_value_share == pytest.approx(10 / 15)


def test_progress_follows_bytes_and_lines_to_the_end(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "p.csv", "ticker\n" + "AMZN\n" * 5000)
    seen: list[tuple[int, int | None, int]] = []
    with path.open("rb") as stream:
        screen_file(
            stream,
            path.name,
            profile_spec(),
            size=path.stat().st_size,
            progress=lambda done, total, lines: seen.append((done, total, lines)),
        )
    assert len(seen) >= 3
    assert seen[-1] == (path.stat().st_size, path.stat().st_size, 5000)
    assert [lines for _done, _total, lines in seen] == sorted(lines for _d, _t, lines in seen)
