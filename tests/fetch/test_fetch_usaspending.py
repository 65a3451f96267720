"""``receipts fetch usaspending`` against a local server speaking USAspending's download contract."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from receipts.cli import main
from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.fetch.usaspending_api import USER_AGENT
from tests.fetch.server import FakeUsaspending

pytestmark = pytest.mark.django_db


def fetch(*args: str) -> Result:
    return CliRunner().invoke(
        main,
        ["fetch", "usaspending", "--agency", "U.S. Immigration and Customs Enforcement", *args],
        catch_exceptions=False,
    )


def zip_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with zipfile.ZipFile(path) as z:
        (name,) = z.namelist()
        reader = csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8", newline=""))
        return list(reader.fieldnames or []), list(reader)


def write_zip(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    text = io.StringIO()
    writer = csv.DictWriter(text, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Contracts_PrimeTransactions_2026-12-08_H01M00S00_1.csv", text.getvalue())
    return path


def test_a_finished_job_is_downloaded_and_imported(
    usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    usaspending.add(generated_zip, running_polls=2)
    _, rows = zip_rows(generated_zip)
    result = fetch("--since", "2025-10-01", "--until", "2026-09-30")
    assert result.exit_code == 0, result.output
    assert ContractTransaction.objects.count() == len(rows)
    assert f"transactions: {len(rows)} stored" in result.output
    assert "fetched All_PrimeTransactions_" in result.output
    # The job's status as the server gave it, then the download.
    assert "running" in result.stderr and "finished" in result.stderr
    (body,) = usaspending.posts()
    assert body["filters"]["date_type"] == "action_date"
    assert body["filters"]["date_range"] == {"start_date": "2025-10-01", "end_date": "2026-09-30"}
    assert body["filters"]["agencies"] == [
        {
            "type": "awarding",
            "tier": "subtier",
            "name": "U.S. Immigration and Customs Enforcement",
            "toptier_name": "Department of Homeland Security",
        }
    ]
    assert set(body["filters"]["prime_award_types"]) >= {"A", "B", "C", "D"}
    assert all(r.headers.get("User-Agent") == USER_AGENT for r in usaspending.requests)
    # The zip is gone once imported.
    assert not list((Path(usaspending_data_dir(usaspending)) / "downloads").rglob("*.zip"))


def usaspending_data_dir(_: FakeUsaspending) -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR)


def test_agencies_by_abbreviation_or_code(
    usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    usaspending.add(generated_zip)
    usaspending.add(generated_zip)
    for agency in ("ICE", "7012"):
        result = CliRunner().invoke(main, ["fetch", "usaspending", "--agency", agency])
        assert result.exit_code == 0, result.output
    assert [p["filters"]["agencies"][0]["name"] for p in usaspending.posts()] == [
        "U.S. Immigration and Customs Enforcement"
    ] * 2
    unknown = CliRunner().invoke(main, ["fetch", "usaspending", "--agency", "Ministry of Magic"])
    assert unknown.exit_code == 1
    assert "agency 'Ministry of Magic' is not known" in unknown.stderr
    department = CliRunner().invoke(main, ["fetch", "usaspending", "--agency", "DHS"])
    assert department.exit_code == 1  # no third job scripted: the server answers 500
    assert usaspending.posts()[-1]["filters"]["agencies"] == [
        {"type": "awarding", "tier": "toptier", "name": "Department of Homeland Security"}
    ]


def test_a_failed_job_says_the_servers_message(
    usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    usaspending.add(generated_zip, final="failed", message="Too many rows requested (limit 500000)")
    result = fetch()
    assert result.exit_code == 1
    assert "Too many rows requested (limit 500000)" in result.stderr
    assert not ContractTransaction.objects.exists()


def test_a_job_running_past_the_time_limit_stops(
    usaspending: FakeUsaspending, generated_zip: Path, settings
) -> None:
    settings.USASPENDING_JOB_TIMEOUT = 0.1
    job = usaspending.add(generated_zip, final="running")
    result = fetch()
    assert result.exit_code == 1
    assert "was still 'running' after 0.1 s" in result.stderr
    assert job.polls >= 2 and job.transfers == 0
    assert not ContractTransaction.objects.exists()


def test_a_dropped_connection_resumes_where_it_stopped(
    usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    job = usaspending.add(generated_zip, drop_after=10_000)
    result = fetch()
    assert result.exit_code == 0, result.output
    files = [r for r in usaspending.requests if r.path.startswith("/generated_downloads/")]
    assert [r.headers.get("Range") for r in files] == [None, "bytes=10000-"]
    assert job.transfers == 2
    assert "resuming at byte 10000" in result.stderr
    _, rows = zip_rows(generated_zip)
    assert ContractTransaction.objects.count() == len(rows)


def test_503_replies_are_retried(usaspending: FakeUsaspending, generated_zip: Path) -> None:
    usaspending.add(generated_zip, post_503s=1, status_503s=2)
    result = fetch()
    assert result.exit_code == 0, result.output
    assert [r.method for r in usaspending.requests].count("POST") == 2
    assert "HTTP 503; trying again" in result.stderr
    assert ContractTransaction.objects.exists()


def test_503_until_the_retries_run_out(
    usaspending: FakeUsaspending, generated_zip: Path, settings
) -> None:
    settings.USASPENDING_RETRIES = 2
    usaspending.add(generated_zip, post_503s=5)
    result = fetch()
    assert result.exit_code == 1
    assert "HTTP 503 (gave up after 3 attempts)" in result.stderr


def test_a_zip_cut_short_is_refused_and_nothing_stored(
    usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    usaspending.add(generated_zip, cut_to=generated_zip.stat().st_size // 2)
    result = fetch()
    assert result.exit_code == 1
    assert "the zip file is damaged or truncated" in result.stderr
    assert not ContractTransaction.objects.exists()
    assert not ContractAward.objects.exists()


def test_a_private_base_url_needs_the_setting(
    usaspending: FakeUsaspending, generated_zip: Path, settings
) -> None:
    settings.ALLOW_PRIVATE_ADDRESSES = False
    usaspending.add(generated_zip)
    result = fetch()
    assert result.exit_code == 1
    assert "RECEIPTS_ALLOW_PRIVATE_ADDRESSES=1" in result.stderr
    assert usaspending.requests == []


def test_a_delta_modifies_and_deletes(
    usaspending: FakeUsaspending, generated_zip: Path, tmp_path: Path
) -> None:
    header, rows = zip_rows(generated_zip)
    changed, gone = rows[0], rows[1]
    delta = [
        {**changed, "federal_action_obligation": "12345.67", "correction_delete_ind": "C",
         "last_modified_date": "2030-01-01 00:00:00"},
        {"contract_transaction_unique_key": gone["contract_transaction_unique_key"],
         "correction_delete_ind": "D", "last_modified_date": "2030-01-01 00:00:00"},
    ]  # fmt: skip
    if "correction_delete_ind" not in header:
        header = [*header, "correction_delete_ind"]
    usaspending.add(generated_zip)
    usaspending.add(write_zip(tmp_path / "delta.zip", header, delta))
    assert fetch().exit_code == 0
    result = fetch()
    assert result.exit_code == 0, result.output
    assert "transactions: 0 stored, 1 updated, 0 unchanged, 1 deleted" in result.output
    kept = ContractTransaction.objects.get(
        transaction_key=changed["contract_transaction_unique_key"]
    )
    assert kept.obligation_cents == 1234567
    assert not ContractTransaction.objects.filter(
        transaction_key=gone["contract_transaction_unique_key"]
    ).exists()
    assert ContractTransaction.objects.count() == len(rows) - 1
