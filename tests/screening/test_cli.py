"""``receipts screen`` through the real command: formats, profiles, errors, a 100,000-line file."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from receipts.cli import main
from receipts.demo import load_demo
from receipts.screening.models import ScreeningProfile
from tests.screening.factories import make_world, write_file

pytestmark = pytest.mark.django_db

PORTFOLIO = (
    "Ticker,Name,Market Value (USD)\n"
    'AMZN,"Amazon.com, Inc.","6,000.00"\n'
    "QQQQ,Quuxly Holdings,1000\n"
    ",Amazon Webb Services,1000\n"
    ",Flock Safety,2000\n"
)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_json_holds_lines_statuses_and_the_flagged_share(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "portfolio.csv", PORTFOLIO)
    result = run("screen", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [line["status"] for line in data["lines"]] == [
        "flagged",
        "not_found",
        "possible",
        "clear",
    ]
    assert data["flagged_value_share"] == pytest.approx(0.6)
    assert data["profile"]["slug"] == "dhs"
    assert data["profile"]["statuses"] == ["active", "announced", "alleged"]
    assert data["counts"]["flagged"] == 1
    # The summary goes to stderr (and the progress bar, on a terminal), never into the JSON.
    assert "1 flagged, 1 possible, 1 clear, 1 not found" in result.stderr


def test_csv_has_one_row_per_line(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "portfolio.csv", PORTFOLIO)
    out = tmp_path / "report.csv"
    result = run("screen", str(path), "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["flagged", "not_found", "possible", "clear"]
    amazon = rows[0]
    assert amazon["matched_entity"] == "Amazon"
    assert amazon["matched_by"] == "ticker"
    assert amazon["agencies"] == "U.S. Immigration and Customs Enforcement"
    assert "Amazon > Amazon Web Services — hosting" in amazon["reason"]
    assert amazon["value"] == "6,000.00"


def test_table_shows_each_line_and_the_share(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "portfolio.csv", PORTFOLIO)
    result = run("screen", str(path))
    assert result.exit_code == 0, result.output
    assert "Amazon (by ticker)" in result.stdout
    assert "possible" in result.stdout
    assert "flagged: 60.0% of the value" in result.stdout


def test_stdin_is_read_with_a_dash(tmp_path: Path) -> None:
    make_world()
    result = CliRunner().invoke(main, ["screen", "-", "--format", "json"], input="ticker\nAMZN\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lines"][0]["status"] == "flagged"


def test_named_profile_is_used(tmp_path: Path) -> None:
    world = make_world()
    from receipts.screening.services import save_profile

    save_profile(
        name="CBP only",
        agencies=[world.cbp],
        tie_kinds=["contract", "hosting"],
        statuses=["active", "alleged"],
    )
    path = write_file(tmp_path, "p.csv", "ticker\nAMZN\n")
    data = json.loads(run("screen", str(path), "--profile", "cbp-only", "--format", "json").stdout)
    assert data["lines"][0]["status"] == "clear"
    assert data["profile"]["agencies"] == [
        {"name": "U.S. Customs and Border Protection", "slug": "us-customs-and-border-protection"}
    ]


def test_errors_are_one_line_with_a_non_zero_exit_and_no_report(tmp_path: Path) -> None:
    make_world()
    cases = {
        write_file(tmp_path, "odd.csv", "Foo;Bar\n1;2\n"): "no column to screen by",
        write_file(tmp_path, "latin1.csv", "name\nNestlé\n", "latin-1"): "not UTF-8 text",
        write_file(tmp_path, "empty.csv", ""): "the file is empty",
    }
    for path, message in cases.items():
        result = run("screen", str(path), "--format", "json")
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1
        assert path.name in errors[0] and message in errors[0]
    unknown = run("screen", str(path), "--profile", "nope")
    assert unknown.exit_code == 1
    assert "no screening profile 'nope'; profiles: dhs" in unknown.stderr


def test_demo_makes_the_default_profile_once() -> None:
    load_demo()
    load_demo()
    profile = ScreeningProfile.objects.get()
    assert (profile.slug, profile.name) == ("dhs", "DHS immigration enforcement")
    assert [a.slug for a in profile.agencies.all()] == ["us-department-of-homeland-security"]
    assert profile.statuses == ["active", "announced", "alleged"]
    assert "ended" not in profile.statuses


def test_demo_portfolio_flags_amazon_google_and_target(tmp_path: Path) -> None:
    load_demo()
    path = write_file(
        tmp_path,
        "demo.csv",
        "ticker,name,weight\nAMZN,,40\nPLTR,,20\n,Google,20\nTGT,,10\n,Ring,10\n",
    )
    data = json.loads(run("screen", str(path), "--format", "json").stdout)
    assert [line["status"] for line in data["lines"]] == [
        "flagged",
        "clear",  # the demo records Palantir's partnership with Amazon, no tie to DHS
        "flagged",
        "flagged",
        "clear",  # Ring's only partnership (Flock Safety) has ended
    ]
    assert data["share_basis"] == "weight"
    assert data["flagged_value_share"] == pytest.approx(0.7)


def test_readme_portfolio_gives_the_readme_answers() -> None:
    load_demo()
    path = Path(__file__).parents[1] / "data" / "screening" / "portfolio.csv"
    result = run("screen", str(path), "--format", "json")
    data = json.loads(result.stdout)
    assert [line["status"] for line in data["lines"]] == [
        "flagged",
        "clear",
        "flagged",
        "flagged",
        "not_found",  # Microsoft is not in the demo: nothing is known, so not clear
        "clear",  # Flock Safety Inc: the demo's Flock Safety, a legal form aside
        "flagged",  # Amazon Web Services Inc: the demo's AWS, a legal form aside
    ]
    assert round(data["flagged_value_share"], 3) == 0.632
    assert round(data["shares"]["flagged_of_lines_matched"], 3) == 0.827
    assert data["possible_value_share"] == 0


def _big_portfolio(path: Path, rows: int) -> None:
    """Tickers of the demo, unknown tickers with names, names alone; values throughout."""
    rng = random.Random(7)
    words = ["Aster", "Boreal", "Cobalt", "Delta", "Ember", "Fathom", "Granite", "Harbor"]
    kinds = ["Analytics", "Systems", "Dynamics", "Networks", "Logistics", "Data", "Cloud"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Ticker", "ISIN", "Name", "Market Value"])
        for i in range(rows):
            pick = rng.random()
            value = f"{rng.randint(100, 100_000)}.{rng.randint(0, 99):02d}"
            if pick < 0.2:
                writer.writerow([rng.choice(["AMZN", "PLTR", "TGT"]), "", "", value])
            elif pick < 0.5:
                name = f"{rng.choice(words)} {rng.choice(kinds)} Inc {i}"
                writer.writerow([f"X{i:06d}", f"US{i:09d}0", name, value])
            elif pick < 0.8:
                writer.writerow(["", "", f"{rng.choice(words)} {rng.choice(kinds)} LLC", value])
            else:
                writer.writerow(["", "", rng.choice(["Google", "Amazon Inc", "Ring"]), value])


@pytest.mark.slow
def test_hundred_thousand_lines_complete(tmp_path: Path) -> None:
    load_demo()
    path = tmp_path / "big.csv"
    _big_portfolio(path, 100_000)
    out = tmp_path / "big-report.csv"
    result = run("screen", str(path), "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 100_000
    assert {r["status"] for r in rows} == {"flagged", "clear", "not_found"}
    assert rows[-1]["line"] == "100001"
    assert "100,001 lines in the file (1 header line), 100,000 screened" in result.stderr


# --- a file read whole, or refused; every line accounted for --------------------------

README_PORTFOLIO = Path(__file__).parents[1] / "data" / "screening" / "portfolio.csv"


def _one_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_a_stray_quote_at_the_start_of_a_line_is_one_error_naming_it(tmp_path: Path) -> None:
    load_demo()
    lines = README_PORTFOLIO.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = '"' + lines[1]
    path = tmp_path / "portfolio.csv"
    path.write_text("".join(lines), encoding="utf-8")
    for fmt in ("table", "json", "csv"):
        error = _one_error(run("screen", str(path), "--format", fmt))
        assert f"{path}, line 2: a quoted cell is followed by more text" in error
        assert "a stray quote" in error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The quote never closes: every line after it would be one cell.
        (
            'Ticker,Name,Value\nAMZN,Amazon,1\n"TGT,Target,2\nPLTR,Palantir,3\n',
            "line 3: a quote opens a cell here and never closes",
        ),
        # The quote closes three lines on: the lines between would be one cell.
        (
            'Ticker,Name,Value\nAMZN,"Amazon,1\nPLTR,Palantir,2\nTGT,Target",3\nGOOG,Google,4\n',
            "line 2: a quoted cell starts here and runs to line 4",
        ),
        # A second stray quote closes the first, before more text.
        (
            'Ticker,Name,Value\nAMZN,"Amazon,1\nPLTR,"Palantir",2\n',
            "line 2: a quote opens a cell here that closes on line 3",
        ),
    ],
)
def test_a_quote_that_takes_in_lines_is_one_error_naming_where_it_opens(
    tmp_path: Path, text: str, message: str
) -> None:
    make_world()
    path = write_file(tmp_path, "broken.csv", text)
    error = _one_error(run("screen", str(path), "--format", "json"))
    assert f"broken.csv, {message}" in error


def test_the_report_states_lines_in_the_file_and_lines_screened(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "p.csv", "\nTicker,Name,Value\nAMZN,Amazon,1\n\nQQQQ,Quuxly,1\n")
    result = run("screen", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    assert (counts["lines_in_file"], counts["header_lines"]) == (5, 1)
    assert (counts["blank_lines_skipped"], counts["lines"]) == (2, 2)
    assert "5 lines in the file (1 header line, 2 empty), 2 screened" in result.stderr
    table = run("screen", str(path)).stdout
    assert "5 lines in the file (1 header line, 2 empty), 2 screened" in " ".join(table.split())


def test_not_found_is_counted_and_shown_apart_from_clear(tmp_path: Path) -> None:
    make_world()
    path = write_file(tmp_path, "portfolio.csv", PORTFOLIO)
    result = run("screen", str(path), "--format", "json")
    data = json.loads(result.stdout)
    quuxly = data["lines"][1]
    assert (quuxly["status"], quuxly["entity"]) == ("not_found", None)
    assert quuxly["reason"] == "no entity with ticker QQQQ or the name 'Quuxly Holdings'"
    counts = data["counts"]
    assert [counts[s] for s in ("flagged", "possible", "clear", "not_found", "matched")] == [
        1,
        1,
        1,
        1,
        2,
    ]
    # Each share names its basis: 6,000 of 10,000 screened; 6,000 of the 8,000 matched.
    assert data["shares"] == {
        "basis": "value",
        "flagged_of_lines_screened": pytest.approx(0.6),
        "flagged_of_lines_matched": pytest.approx(0.75),
        "possible_of_lines_screened": pytest.approx(0.1),
    }
    assert (
        "1 flagged, 1 possible, 1 clear, 1 not found; flagged: 60.0% of the value of lines "
        "screened, 75.0% of the value of lines matched; possible: 10.0% of the value of lines "
        "screened" in result.stderr
    )
    out = tmp_path / "report.csv"
    run("screen", str(path), "--format", "csv", "-o", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["status"], r["matched_entity"]) for r in rows[1:]] == [
        ("not_found", ""),
        ("possible", ""),
        ("clear", "Flock Safety"),
    ]
    table = " ".join(run("screen", str(path)).stdout.split())
    assert "│ not found │" in table


def test_a_legal_form_alone_is_a_match_not_a_possible(tmp_path: Path) -> None:
    make_world()
    path = write_file(
        tmp_path,
        "vendors.csv",
        "Vendor\nAmazon Web Services Inc\nAmazon Web Services, L.L.C.\nFlock Safety Corporation\n",
    )
    result = run("screen", str(path), "--format", "json")
    lines = json.loads(result.stdout)["lines"]
    assert [(line["status"], line["entity"]["slug"], line["matched_by"]) for line in lines] == [
        ("flagged", "amazon-web-services", "name, legal form aside"),
        ("flagged", "amazon-web-services", "name, legal form aside"),
        ("clear", "flock-safety", "name, legal form aside"),
    ]
