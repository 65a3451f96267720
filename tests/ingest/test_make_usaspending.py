"""The USAspending generator: real headers and file shapes, the traps of the real data, truth."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from benchmarks.make_usaspending import (
    COLUMN_FILES,
    FORM_GROUP,
    GroundTruth,
    Kind,
    generate,
    main,
    read_truth,
    universe_of,
)

REPO = Path(__file__).resolve().parents[2]
REPO_COLUMNS = REPO / "benchmarks" / "data"
SHARED_COLUMNS = REPO.parent / "shared" / "data" / "usaspending"
UEI_SWITCH = "2022-04-04"

Rows = list[dict[str, str]]


def column_list(folder: Path, kind: Kind) -> list[str]:
    text = (folder / COLUMN_FILES[kind][0]).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line]


def read_csv(data: bytes) -> tuple[list[str], Rows]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def make(
    tmp_path: Path, rows: int, kind: Kind, seed: int = 1, split_rows: int | None = None
) -> tuple[list[Path], GroundTruth]:
    out = tmp_path / f"{kind}-{rows}-{seed}"
    truth_path = out.with_suffix(".truth.jsonl")
    paths = generate(rows, kind, out, seed=seed, split_rows=split_rows, truth_path=truth_path)
    return paths, read_truth(truth_path)


def digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def record_endings(data: bytes) -> set[bytes]:
    """Line endings that end records, skipping the line breaks inside quoted fields."""
    # Splitting on quotes leaves the text outside quoted fields at the even positions
    # (a doubled quote inside a field opens and closes an empty stretch).
    outside = b"\0".join(data.split(b'"')[::2])
    endings = set(re.findall(rb"\r?\n|\r", outside))
    return endings


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Rows, GroundTruth]:
    """10,000 transaction rows of seed 1, read-only for every test that uses them."""
    out = tmp_path_factory.mktemp("transactions")
    paths = generate(10_000, "transactions", out, seed=1, truth_path=out / "truth.jsonl")
    data = paths[0].read_bytes()
    return data, read_csv(data)[1], read_truth(out / "truth.jsonl")


# --- Shape of the files -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transactions", "awards"])
def test_header_is_todays_column_list_exactly(tmp_path: Path, kind: Kind) -> None:
    paths, _ = make(tmp_path, 50, kind)
    header, rows = read_csv(paths[0].read_bytes())
    assert header == column_list(REPO_COLUMNS, kind)
    assert len(header) == COLUMN_FILES[kind][1]
    assert len(rows) == 50
    assert all(len(row) == len(header) for row in rows)


def test_award_column_list_is_the_header_of_a_real_download() -> None:
    real = Path(__file__).resolve().parents[1] / "data" / "usaspending"
    sample = real / "ice_umn_Contracts_PrimeAwardSummaries.csv"
    header = sample.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert column_list(REPO_COLUMNS, "awards") == header


def test_transaction_column_list_has_todays_keys_first_and_no_repeats() -> None:
    columns = column_list(REPO_COLUMNS, "transactions")
    assert columns[:2] == ["contract_transaction_unique_key", "contract_award_unique_key"]
    assert columns[-3:] == ["usaspending_permalink", "initial_report_date", "last_modified_date"]
    assert len(set(columns)) == len(columns) == 297


def test_file_names_follow_the_real_downloads(tmp_path: Path) -> None:
    transactions, _ = make(tmp_path, 10, "transactions")
    awards, _ = make(tmp_path, 10, "awards")
    assert transactions[0].name == "Contracts_PrimeTransactions_2026-11-26_H10M20S30_1.csv"
    assert awards[0].name == "Contracts_PrimeAwardSummaries_2026-11-26_H10M20S30_1.csv"


def test_records_end_in_crlf_and_the_file_has_no_byte_order_mark(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    data, _, _ = transactions
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert record_endings(data) == {b"\r\n"}


def test_descriptions_carry_line_breaks_commas_and_quotes_inside_quoted_fields(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    data, rows, _ = transactions
    descriptions = [r["transaction_description"] for r in rows] + [
        r["prime_award_base_transaction_description"] for r in rows
    ]
    assert any("\n" in d for d in descriptions)
    assert any("\r\n" in d for d in descriptions)
    assert any("," in d for d in descriptions)
    assert any('"' in d for d in descriptions)
    assert any(not d.isascii() for d in descriptions)
    assert b'""' in data  # a quote inside a field is doubled
    # Quoting only where needed: plain fields stay bare.
    assert b',"AWARD",' not in data and b",AWARD," in data


def test_zero_rows_give_a_header_only_file(tmp_path: Path) -> None:
    paths, truth = make(tmp_path, 0, "transactions")
    assert len(paths) == 1
    lines = paths[0].read_bytes().split(b"\r\n")
    assert lines[1:] == [b""]
    assert truth.awards == {} and truth.rows == 0


# --- Determinism, splitting and zipping -------------------------------------------------------


@pytest.mark.parametrize("kind", ["transactions", "awards"])
def test_same_arguments_give_byte_identical_files(tmp_path: Path, kind: Kind) -> None:
    first = generate(700, kind, tmp_path / "a", seed=5, split_rows=300)
    second = generate(700, kind, tmp_path / "b", seed=5, split_rows=300)
    other_seed = generate(700, kind, tmp_path / "c", seed=6, split_rows=300)
    assert len(first) == 3
    assert [p.name for p in first] == [p.name for p in second]
    assert digest(first) == digest(second)
    assert digest(first) != digest(other_seed)
    zipped = generate(700, kind, tmp_path / "d", seed=5, zip_output=True, split_rows=300)
    zipped_again = generate(700, kind, tmp_path / "e", seed=5, zip_output=True, split_rows=300)
    assert digest(zipped) == digest(zipped_again)


def test_split_rows_writes_numbered_parts_each_with_the_header(tmp_path: Path) -> None:
    paths, truth = make(tmp_path, 2_500, "transactions", split_rows=1_000)
    assert [p.name[-6:] for p in paths] == ["_1.csv", "_2.csv", "_3.csv"]
    parts = [read_csv(p.read_bytes()) for p in paths]
    assert [len(rows) for _, rows in parts] == [1_000, 1_000, 500]
    assert all(header == column_list(REPO_COLUMNS, "transactions") for header, _ in parts)
    keys = [r["contract_transaction_unique_key"] for _, rows in parts for r in rows]
    assert len(keys) == len(set(keys)) == 2_500
    assert list(truth.files) == [p.name for p in paths]


def test_zip_holds_the_same_parts_as_the_plain_files(tmp_path: Path) -> None:
    plain = generate(1_200, "awards", tmp_path / "plain", seed=3, split_rows=500)
    zipped = generate(1_200, "awards", tmp_path / "zip", seed=3, split_rows=500, zip_output=True)
    assert [p.name for p in zipped] == ["PrimeAwardSummaries_2026-11-26_H10M20S30123456.zip"]
    assert list((tmp_path / "zip").iterdir()) == zipped
    with zipfile.ZipFile(zipped[0]) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [p.name for p in plain]
        for path in plain:
            assert archive.read(path.name) == path.read_bytes()


# --- The traps of the real data ---------------------------------------------------------------


def test_summing_total_dollars_obligated_inflates_the_total(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, truth = transactions
    obligations = sum(Decimal(r["federal_action_obligation"]) for r in rows)
    repeated = sum(Decimal(r["total_dollars_obligated"]) for r in rows)
    assert obligations == truth.total_obligation
    assert repeated == truth.total_dollars_obligated_sum
    assert repeated > obligations * 2
    per_award: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        per_award[r["contract_award_unique_key"]] += Decimal(r["federal_action_obligation"])
    for r in rows:  # the repeated value is the award's total, on every row of the award
        assert Decimal(r["total_dollars_obligated"]) == per_award[r["contract_award_unique_key"]]


def test_de_obligations_are_between_4_and_13_percent_of_rows(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, truth = transactions
    negative = sum(1 for r in rows if Decimal(r["federal_action_obligation"]) < 0)
    assert 0.04 <= negative / len(rows) <= 0.13
    assert negative == truth.negative_obligations


def test_awards_have_modifications_numbered_from_zero(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, _ = transactions
    by_award: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_award[r["contract_award_unique_key"]].append(r)
    assert max(len(v) for v in by_award.values()) >= 10
    for award_rows in by_award.values():
        expected = ["0"] + [f"P{n:05d}" for n in range(1, len(award_rows))]
        assert [r["modification_number"] for r in award_rows] == expected
        assert {r["transaction_number"] for r in award_rows} == {"0"}
        dates = [r["action_date"] for r in award_rows]
        assert dates == sorted(dates)


def test_keys_and_permalinks_follow_the_usaspending_format(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, _ = transactions
    for r in rows:
        piid = r["award_id_piid"]
        parent_piid = r["parent_award_id_piid"] or "-NONE-"
        parent_agency = r["parent_award_agency_id"] or "-NONE-"
        key = r["contract_award_unique_key"]
        agency = key.split("_")[3]
        assert key == f"CONT_AWD_{piid}_{agency}_{parent_piid}_{parent_agency}"
        assert agency == (
            "9700" if r["awarding_agency_code"] == "097" else r["awarding_sub_agency_code"]
        )
        assert r["contract_transaction_unique_key"] == (
            f"{agency}_{parent_agency}_{piid}_{r['modification_number']}_{parent_piid}_0"
        )
        assert r["usaspending_permalink"] == f"https://www.usaspending.gov/award/{key}/"
    assert any(r["parent_award_id_piid"] for r in rows)
    assert any(not r["parent_award_id_piid"] for r in rows)


def test_dates_are_iso_and_fiscal_years_start_in_october(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, _ = transactions
    years = set()
    for r in rows:
        day = date.fromisoformat(r["action_date"])
        assert r["action_date_fiscal_year"] == str(day.year + (day.month >= 10))
        years.add(r["action_date_fiscal_year"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["last_modified_date"])
    assert len(years) >= 8


def test_agencies_carry_real_codes_and_names_vary_in_case(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, _ = transactions
    departments = {"7012": "070", "7014": "070", "7013": "070", "7022": "070", "7003": "070"}
    departments |= {"7015": "070", "7008": "070", "1549": "015", "1524": "015", "1544": "015"}
    departments |= {"2100": "097"}
    seen = {(r["awarding_sub_agency_code"], r["awarding_agency_code"]) for r in rows}
    assert set(departments.items()) <= seen
    ice_names = {
        r["awarding_sub_agency_name"] for r in rows if r["awarding_sub_agency_code"] == "7012"
    }
    assert {
        "U.S. Immigration and Customs Enforcement",
        "U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT",
    } <= ice_names
    assert all(r["awarding_office_code"] and r["awarding_office_name"] for r in rows)


# --- Companies and ground truth ---------------------------------------------------------------


def test_name_variants_of_one_uei_appear_and_the_truth_knows_them(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, truth = transactions
    names_by_uei: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        named = truth.names[r["recipient_name"]]
        if r["recipient_uei"]:
            assert named.uei == r["recipient_uei"]
            names_by_uei[r["recipient_uei"]].add(r["recipient_name"])
        if r["recipient_duns"]:
            assert named.duns == r["recipient_duns"]
        parent = truth.names[r["recipient_parent_name"]]
        if r["recipient_parent_uei"]:
            assert parent.uei == r["recipient_parent_uei"]
    varied = [names for names in names_by_uei.values() if len(names) > 1]
    assert len(varied) >= 50
    assert any(any(name != name.upper() for name in names) for names in varied)


def test_confusable_names_belong_to_different_companies(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, truth = transactions
    in_rows = {r["recipient_name"] for r in rows}
    pairs = [
        (named, other)
        for named in truth.names.values()
        if named.name in in_rows
        for other in truth.names.values()
        if other.uei in named.confusable_with and other.name in in_rows
    ]
    assert len(pairs) >= 5
    for named, other in pairs:
        assert named.uei != other.uei
        assert named.parent_uei != other.parent_uei


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_two_companies_share_a_legal_name_in_two_spellings_of_one_form(seed: int) -> None:
    # "BLUE DEFENSE CORP" and "BLUE DEFENSE CORPORATION" are one name; no rule on names can
    # tell two companies so named apart, so a look-alike differs by a form of another group.
    owner: dict[tuple[str, frozenset[str]], str] = {}
    form_look_alikes = 0
    universe = universe_of(seed)
    for company in universe.recipients:
        base, form = company.names[0].rsplit(" ", 1)
        assert owner.setdefault((base, FORM_GROUP[form]), company.uei) == company.uei
        for other in company.confusable_with:
            other_base, other_form = universe.recipients[other].names[0].rsplit(" ", 1)
            if other_base == base:
                assert FORM_GROUP[other_form] != FORM_GROUP[form]
                form_look_alikes += 1
    assert form_look_alikes >= 20


def test_families_have_parents_that_are_their_own_parent(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, truth = transactions
    children: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["recipient_uei"]:
            children[r["recipient_parent_uei"]].add(r["recipient_uei"])
    assert any(r["recipient_uei"] and r["recipient_uei"] == r["recipient_parent_uei"] for r in rows)
    assert sum(1 for members in children.values() if len(members) >= 3) >= 5
    for r in rows:
        if not r["recipient_uei"]:
            continue
        # The parent on a row is the ultimate parent on the day of the action.
        history = truth.names[r["recipient_name"]].parents
        on_the_day = [uei for start, uei in history if start is None or start <= r["action_date"]]
        assert r["recipient_parent_uei"] == on_the_day[-1]
    assert any(len(named.parents) > 1 for named in truth.names.values())  # acquisitions


def test_older_rows_without_uei_carry_a_nine_digit_duns(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, _ = transactions
    without_uei = [r for r in rows if not r["recipient_uei"]]
    assert 0.03 <= len(without_uei) / len(rows) <= 0.4
    for r in without_uei:
        assert r["action_date"] < UEI_SWITCH
        assert re.fullmatch(r"\d{9}", r["recipient_duns"])
        assert not r["recipient_parent_uei"]
    assert all(not r["recipient_duns"] for r in rows if r["action_date"] >= UEI_SWITCH)
    assert any(r["recipient_duns"].startswith("0") for r in rows)
    assert all(
        re.fullmatch(r"[A-HJ-NP-Z0-9]{12}", r["recipient_uei"]) for r in rows if r["recipient_uei"]
    )


def test_truth_gives_each_award_the_sum_of_its_obligations(
    transactions: tuple[bytes, Rows, GroundTruth],
) -> None:
    _, rows, truth = transactions
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        sums[r["contract_award_unique_key"]] += Decimal(r["federal_action_obligation"])
        counts[r["contract_award_unique_key"]] += 1
    assert set(sums) == set(truth.awards)
    for key, award in truth.awards.items():
        assert award.obligation == sums[key]
        assert award.transactions == counts[key]
    assert truth.rows == len(rows) == 10_000


def test_award_summaries_total_the_transactions_of_the_same_seed(tmp_path: Path) -> None:
    tx_paths, tx_truth = make(tmp_path, 3_000, "transactions", seed=11)
    aw_paths, aw_truth = make(tmp_path, len(tx_truth.awards) + 20, "awards", seed=11)
    _, tx_rows = read_csv(tx_paths[0].read_bytes())
    _, aw_rows = read_csv(aw_paths[0].read_bytes())
    summaries = {r["contract_award_unique_key"]: r for r in aw_rows}
    assert len(summaries) == len(aw_rows)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    dates: dict[str, list[str]] = defaultdict(list)
    for r in tx_rows:
        sums[r["contract_award_unique_key"]] += Decimal(r["federal_action_obligation"])
        dates[r["contract_award_unique_key"]].append(r["action_date"])
    assert set(sums) <= set(summaries)
    for key, total in sums.items():
        summary = summaries[key]
        assert Decimal(summary["total_obligated_amount"]) == total
        assert aw_truth.awards[key].obligation == tx_truth.awards[key].obligation
        assert summary["award_base_action_date"] == min(dates[key])
        assert summary["award_latest_action_date"] == max(dates[key])
        latest = date.fromisoformat(summary["award_latest_action_date"])
        assert summary["award_latest_action_date_fiscal_year"] == str(
            latest.year + (latest.month >= 10)
        )


# --- Command line and bad input ---------------------------------------------------------------


def test_command_line_writes_the_files_and_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    truth = tmp_path / "truth.jsonl"
    argv = ["--rows", "300", "--kind", "awards", "-o", str(out), "--seed", "2", "--zip"]
    assert main([*argv, "--split-rows", "100", "--truth", str(truth)]) == 0
    zipped = out / "PrimeAwardSummaries_2026-11-26_H10M20S30123456.zip"
    assert capsys.readouterr().out.split() == [str(zipped)]
    with zipfile.ZipFile(zipped) as archive:
        assert len(archive.namelist()) == 3
    assert len(read_truth(truth).awards) == 300


@pytest.mark.parametrize(
    "argv",
    [
        ["--rows", "-1", "--kind", "transactions"],
        ["--rows", "10", "--kind", "transactions", "--split-rows", "0"],
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main([*argv, "-o", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("make_usaspending: ") and "\n" not in error


def test_unknown_kind_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        generate(10, "grants", tmp_path)  # type: ignore[arg-type]


def test_truncated_truth_file_is_an_error(tmp_path: Path) -> None:
    _, truth = make(tmp_path, 20, "transactions")
    path = next(tmp_path.glob("*.truth.jsonl"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    with pytest.raises(ValueError, match="truncated"):
        read_truth(path)
    assert truth.rows == 20
