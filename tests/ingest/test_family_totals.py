"""Family totals: per kind and currency, per component, dated by the records' own parent fields.

The expected figures come straight from the CSV rows (DuckDB), grouped by the
parent identifier each row reports, never from what the importer stored.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from benchmarks.make_usaspending import generate
from click.testing import CliRunner
from django.test import Client

from receipts.cli import main
from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence.models import Entity, Identifier
from receipts.evidence.queries import resolve_entity
from receipts.ingest.family_totals import family_ties
from receipts.ingest.usaspending.importer import import_usaspending
from tests.ingest.csv_files import read_rows, write_rows

pytestmark = pytest.mark.django_db

ICE, CBP = "7012", "7014"
SUB, OLD, NEW = "SUBSIDIARY01", "OLDPARENT001", "NEWPARENT001"
NAMES = {SUB: "SUBSIDIARY WORKS LLC", OLD: "OLD HOLDINGS INC", NEW: "NEW HOLDINGS CORP"}
SUB_AGENCY_NAMES = {
    ICE: "U.S. Immigration and Customs Enforcement",
    CBP: "U.S. Customs and Border Protection",
}


def _row(base: dict[str, str], sub_agency: str, award: str, mod: str, uei: str, parent: str,
         date: str, amount: str) -> dict[str, str]:  # fmt: skip
    """A DHS transaction row in today's header, built on a real generated row."""
    return {
        **base,
        "recipient_duns": "",
        "recipient_parent_duns": "",
        "awarding_agency_code": "070",
        "awarding_agency_name": "Department of Homeland Security",
        "awarding_sub_agency_code": sub_agency,
        "awarding_sub_agency_name": SUB_AGENCY_NAMES[sub_agency],
        "contract_award_unique_key": f"CONT_AWD_{award}_{sub_agency}_-NONE-_-NONE-",
        "contract_transaction_unique_key": f"{sub_agency}_-NONE-_{award}_{mod}_-NONE-_0",
        "award_id_piid": award,
        "modification_number": mod,
        "recipient_uei": uei,
        "recipient_name": NAMES[uei],
        "recipient_name_raw": NAMES[uei],
        "recipient_parent_uei": parent,
        "recipient_parent_name": NAMES[parent],
        "recipient_parent_name_raw": NAMES[parent],
        "action_date": date,
        "last_modified_date": f"{date} 12:00:00",
        "federal_action_obligation": amount,
    }


@pytest.fixture
def acquisition(tmp_path: Path) -> Path:
    """SUB is owned by OLD, then bought by NEW; one late row of an old award still names OLD."""
    (generated,) = generate(20, "transactions", tmp_path / "gen", seed=3)
    header, rows = read_rows(generated)

    def row(*args: str) -> dict[str, str]:
        return _row(rows[0], *args)

    chosen = [
        row(ICE, "SUBA1", "0", SUB, OLD, "2017-03-01", "1000.00"),
        row(ICE, "SUBA1", "1", SUB, OLD, "2018-06-01", "2000.00"),
        row(ICE, "SUBA1", "2", SUB, NEW, "2019-02-01", "4000.00"),
        row(CBP, "SUBA2", "0", SUB, OLD, "2019-05-01", "8000.00"),
        row(CBP, "SUBA3", "0", SUB, NEW, "2020-01-01", "16000.00"),
        row(ICE, "SUBA1", "3", SUB, NEW, "2020-06-01", "-500.00"),
        row(ICE, "OLDB1", "0", OLD, OLD, "2017-05-01", "32000.00"),
        row(CBP, "NEWC1", "0", NEW, NEW, "2018-01-01", "64000.00"),
    ]
    path = write_rows(tmp_path / "acquisition.csv", header, chosen)
    import_usaspending([path])
    return path


def _by_uei(uei: str) -> Entity:
    return Identifier.objects.get(scheme="uei", value=uei).entity


def _rows(path: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the file's rows as the view ``f``."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW f AS SELECT * FROM read_csv('{path}', all_varchar=true)")  # noqa: S608 - the test's own file
    return con


def _expected(path: Path, root_uei: str, members: str) -> dict[str, Decimal]:
    """Cents per sub-agency code for a family, computed from the CSV rows alone.

    Dated: the rows that name the root as their parent, and the root's own.
    Current: every row of the root and of each recipient whose latest row names the root.
    """
    con = _rows(path)
    con.execute("CREATE VIEW r AS SELECT * FROM f WHERE awarding_agency_code = '070'")
    if members == "dated":
        where = "recipient_parent_uei = $root OR recipient_uei = $root"
    else:
        where = (
            "recipient_uei = $root OR recipient_uei IN (SELECT recipient_uei FROM r"
            " GROUP BY recipient_uei"
            " HAVING arg_max(recipient_parent_uei, action_date) = $root)"
        )
    sql = "SELECT awarding_sub_agency_code, SUM(CAST(federal_action_obligation AS DECIMAL(20, 2)))"
    rows = con.execute(
        sql + " FROM r WHERE " + where + " GROUP BY 1",
        {"root": root_uei},
    ).fetchall()
    return {code: Decimal(total) for code, total in rows}


def _as_codes(by_component: list) -> dict[str, Decimal]:
    out = {}
    for line in by_component:
        code = line.component.identifiers.get(scheme="agency_code").value
        out[code] = line.amount
    return out


@pytest.mark.parametrize("members", ["dated", "current"])
@pytest.mark.parametrize("root", [OLD, NEW])
def test_family_totals_match_the_rows_grouped_by_their_parent(acquisition, members, root):
    expected = _expected(acquisition, root, members)
    dhs = resolve_entity("U.S. Department of Homeland Security")
    family = family_ties(_by_uei(root), rollup=True, to=dhs, members=members)
    assert _as_codes(family.by_component) == expected
    assert [(t.kind, t.currency, t.amount) for t in family.totals] == [
        ("contract", "USD", sum(expected.values(), Decimal(0)))
    ]


def test_dated_totals_split_a_subsidiary_between_its_owners_of_the_time(acquisition):
    """The figures of the scenario, written out: OLD keeps what SUB got while OLD owned it."""
    dhs = resolve_entity("DHS")
    old, new = _by_uei(OLD), _by_uei(NEW)

    def codes(entity: Entity, members: str) -> dict[str, Decimal]:
        return _as_codes(family_ties(entity, rollup=True, to=dhs, members=members).by_component)

    assert codes(old, "dated") == {ICE: Decimal("35000.00"), CBP: Decimal("8000.00")}
    assert codes(new, "dated") == {ICE: Decimal("3500.00"), CBP: Decimal("80000.00")}
    # Today's members, whole history: the sold subsidiary counts for nobody but its buyer.
    assert codes(old, "current") == {ICE: Decimal("32000.00")}
    assert codes(new, "current") == {ICE: Decimal("6500.00"), CBP: Decimal("88000.00")}


@pytest.mark.slow
def test_generated_download_totals_match_the_rows_grouped_by_parent(tmp_path):
    """Every family of a generated download (acquisitions included), dated and current,
    against DuckDB's sums of the file's rows by parent UEI, to the cent."""
    # Seed 1: one DHS contractor among these rows is bought by another family.
    (path,) = generate(1500, "transactions", tmp_path / "gen", seed=1)
    # Rows from before the UEI switch may give only DUNS numbers: keep the rows with UEIs.
    header, rows = read_rows(path)
    kept = [r for r in rows if r["recipient_uei"] and r["recipient_parent_uei"]]
    path = write_rows(tmp_path / "with-ueis.csv", header, kept)
    import_usaspending([path])
    con = _rows(path)
    changed = con.execute(
        "SELECT COUNT(*) FROM (SELECT recipient_uei FROM f"
        " WHERE awarding_agency_code = '070'"
        " GROUP BY 1 HAVING COUNT(DISTINCT recipient_parent_uei) > 1)"
    ).fetchone()[0]
    assert changed > 0, "the download should hold a company whose parent changed"
    # The families a change of parent touches, and the largest others (each family costs
    # a few queries; all of them would make a slow test, not a stronger one).
    parents = [
        uei
        for (uei,) in con.execute(
            "SELECT recipient_parent_uei FROM f"
            " WHERE awarding_agency_code = '070' AND recipient_parent_uei <> recipient_uei"
            " GROUP BY 1 ORDER BY"
            "  MAX(CASE WHEN recipient_uei IN (SELECT recipient_uei FROM f GROUP BY 1"
            "   HAVING COUNT(DISTINCT recipient_parent_uei) > 1) THEN 1 ELSE 0 END) DESC,"
            "  COUNT(*) DESC, 1 LIMIT 12"
        ).fetchall()
    ]
    assert len(parents) > 1
    dhs = resolve_entity("070")
    differ = 0
    for uei in parents:
        root = _by_uei(uei)
        results = {}
        for members in ("dated", "current"):
            family = family_ties(root, rollup=True, to=dhs, members=members)
            assert _as_codes(family.by_component) == _expected(path, uei, members), (uei, members)
            results[members] = family.totals
        differ += results["dated"] != results["current"]
    assert differ > 0, "some family should count differently on the two bases"


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_gives_the_totals_in_table_json_and_csv_naming_the_basis(acquisition):
    to = ["--to", "U.S. Department of Homeland Security", "--rollup"]
    data = json.loads(_cli("ties", OLD, *to, "--format", "json"))
    assert data["members"] == "dated"
    assert "only while the family owned it" in data["basis"]
    assert data["totals"] == [
        {"kind": "contract", "currency": "USD", "amount": "43000.00", "tie_count": 3}
    ]
    assert {(t["component"], t["amount"]) for t in data["totals_by_component"]} == {
        (SUB_AGENCY_NAMES[ICE], "35000.00"),
        (SUB_AGENCY_NAMES[CBP], "8000.00"),
    }
    counted = {
        (t["subject"]["name"], t["object"]["name"]): t["counted_amount"] for t in data["ties"]
    }
    assert counted[(NAMES[SUB], SUB_AGENCY_NAMES[ICE])] == "3000.00"
    assert counted[(NAMES[SUB], SUB_AGENCY_NAMES[CBP])] == "8000.00"

    current = json.loads(_cli("ties", OLD, *to, "--members", "current", "--format", "json"))
    assert current["members"] == "current"
    assert current["totals"] == [
        {"kind": "contract", "currency": "USD", "amount": "32000.00", "tie_count": 1}
    ]

    table = _cli("ties", NEW, *to)
    assert "members dated" in table
    assert "USD 83500.00" in table
    assert "USD 3500.00" in table and "USD 80000.00" in table
    assert "USD 94500.00" in _cli("ties", NEW, *to, "--members", "current")

    lines = _cli("ties", NEW, *to, "--format", "csv").splitlines()
    header = lines[0].split(",")
    assert header[-3:] == ["counted_amount", "members", "line"]
    totals = [line for line in lines[1:] if line.endswith(",dated,total")]
    assert totals == [
        f"Total of 3 contract ties,{NAMES[NEW]},contract,U.S. Department of Homeland Security,"
        ",,,,USD,,,,,,,,83500.00,dated,total"
    ]
    components = [line for line in lines[1:] if line.endswith(",dated,component total")]
    assert len(components) == 2
    assert any(
        SUB_AGENCY_NAMES[CBP] in c and c.endswith(",80000.00,dated,component total")
        for c in components
    )


def test_api_gives_the_totals_and_the_basis(acquisition):
    client = Client()
    slug = _by_uei(OLD).slug
    url = f"/api/entities/{slug}/ties?rollup=true&to=us-department-of-homeland-security"
    data = client.get(url).json()
    assert data["members"] == "dated"
    assert data["totals"] == [
        {
            "component": None,
            "kind": "contract",
            "currency": "USD",
            "amount": "43000.00",
            "tie_count": 3,
        }
    ]
    assert {(t["component"]["name"], t["amount"]) for t in data["totals_by_component"]} == {
        (SUB_AGENCY_NAMES[ICE], "35000.00"),
        (SUB_AGENCY_NAMES[CBP], "8000.00"),
    }
    current = client.get(url + "&members=current").json()
    assert current["members"] == "current"
    assert [t["amount"] for t in current["totals"]] == ["32000.00"]
    assert client.get(url + "&members=everyone").status_code == 422


def test_entity_page_shows_the_totals_on_either_basis(acquisition):
    client = Client()
    slug = _by_uei(NEW).slug
    page = client.get(f"/entities/{slug}/?rollup=1&to=us-department-of-homeland-security")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Basis: members dated" in html
    assert "83,500.00" in html and "3,500.00" in html and "80,000.00" in html
    assert "By component" in html
    current = client.get(
        f"/entities/{slug}/?rollup=1&to=us-department-of-homeland-security&members=current"
    ).content.decode()
    assert "Basis: members current" in current
    assert "94,500.00" in current and "88,000.00" in current
    # Without a counterpart: every tie of the family, per kind and currency.
    everything = client.get(f"/entities/{slug}/?rollup=1").content.decode()
    assert "83,500.00" in everything


SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "usaspending"


def test_real_award_summaries_count_a_university_under_its_parent_of_the_time():
    """The real ICE download: three awards name the Office of the Board of Regents as the
    university's parent, the latest names the university itself. Dated, the office keeps
    those three; today's members (none) would give it nothing."""
    path = SAMPLES / "ice_umn_Contracts_PrimeAwardSummaries.csv"
    import_usaspending([path])
    office = "CB47L9C9MDX1"
    (expected,) = (
        _rows(path)
        .execute(
            "SELECT SUM(CAST(total_obligated_amount AS DECIMAL(20, 2))) FROM f"
            " WHERE recipient_parent_uei = $p OR recipient_uei = $p",
            {"p": office},
        )
        .fetchone()
    )
    assert expected == Decimal("30132.50")
    ice = resolve_entity("U.S. Immigration and Customs Enforcement")
    dated = family_ties(_by_uei(office), rollup=True, to=ice)
    assert [(t.kind, t.amount) for t in dated.totals] == [("contract", expected)]
    current = family_ties(_by_uei(office), rollup=True, to=ice, members="current")
    assert current.totals == []


def test_real_2018_transactions_totals_match_the_rows_by_parent_duns():
    """The real FY2013 ICE transactions (DUNS only, spreadsheet dates): each parent's family
    against DuckDB's sum of the rows naming that parent DUNS, on both bases."""
    path = SAMPLES / "ice_fy13_2018era_transactions.csv"
    import_usaspending([path], date_format=("%d/%m/%Y", "%d/%m/%y"))
    con = _rows(path)
    sums = con.execute(
        "SELECT lpad(recipient_parent_duns, 9, '0'),"
        " SUM(CAST(federal_action_obligation AS DECIMAL(20, 2))) FROM f"
        " WHERE lpad(recipient_parent_duns, 9, '0') <> lpad(recipient_duns, 9, '0')"
        " GROUP BY 1"
    ).fetchall()
    assert len(sums) >= 5
    ice = resolve_entity("U.S. Immigration and Customs Enforcement")
    for duns, total in sums:
        parent = Identifier.objects.get(scheme="duns", value=duns).entity
        for members in ("dated", "current"):
            family = family_ties(parent, rollup=True, to=ice, members=members)
            assert [(t.kind, t.amount) for t in family.totals] == [("contract", total)], duns


def test_contract_ties_without_their_records_are_dated_by_their_start(acquisition):
    """A database that holds the ties but not the rows behind them (as after a
    FollowTheMoney import): each tie counts whole when its member was in the family on
    the tie's start date, by the ownership ties' dates."""
    ContractTransaction.objects.all().delete()
    ContractAward.objects.all().delete()
    dhs = resolve_entity("DHS")
    new = family_ties(_by_uei(NEW), rollup=True, to=dhs)
    # SUB's CBP tie starts 2019-05-01, after NEW first appears as its parent (2019-02-01);
    # its ICE tie starts 2017-03-01, before.
    assert _as_codes(new.by_component) == {CBP: Decimal("88000.00")}
    old = family_ties(_by_uei(OLD), rollup=True, to=dhs)
    assert _as_codes(old.by_component) == {ICE: Decimal("38500.00"), CBP: Decimal("24000.00")}
