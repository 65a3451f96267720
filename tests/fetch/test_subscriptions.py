"""Subscriptions: saved by ``receipts fetch usaspending --every``, run by the real task queue."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from receipts.cli import main
from receipts.contracts.models import ContractTransaction
from receipts.fetch.models import Subscription
from tests.fetch.server import FakeUsaspending
from tests.fetch.test_fetch_usaspending import write_zip, zip_rows

# Committed for real: the worker checks its connection between tasks, as in production,
# which a test wrapped in one transaction would not survive on PostgreSQL.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def work_the_queue() -> None:
    """The worker as ``receipts db_worker`` runs it, until no task is due."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")


def queued_runs() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path="receipts.fetch.tasks.run_subscriptions", status="READY"
        )
    )


def make_due(subscription: Subscription) -> None:
    """Move the clock: the subscription is due, and its queued run with it."""
    now = timezone.now()
    Subscription.objects.filter(pk=subscription.pk).update(next_run_at=now)
    DBTaskResult.objects.filter(status="READY").update(run_after=now)


def test_runs_fetch_the_delta_since_the_last_success(
    usaspending: FakeUsaspending, generated_zip: Path, tmp_path: Path
) -> None:
    saved = run(
        "fetch", "usaspending", "--agency", "ICE", "--every", "day", "--since", "2024-10-01"
    )
    assert saved.exit_code == 0, saved.output
    subscription = Subscription.objects.get()
    assert (subscription.agency_code, subscription.every) == ("7012", "day")
    assert len(queued_runs()) == 1
    assert usaspending.requests == []  # saving asks the server nothing

    header, rows = zip_rows(generated_zip)
    gone = rows[0]["contract_transaction_unique_key"]
    delta = [{"contract_transaction_unique_key": gone, "correction_delete_ind": "D",
              "last_modified_date": "2030-01-01 00:00:00"}]  # fmt: skip
    usaspending.add(generated_zip)
    usaspending.add(write_zip(tmp_path / "delta.zip", [*header, "correction_delete_ind"], delta))

    work_the_queue()
    subscription.refresh_from_db()
    assert ContractTransaction.objects.count() == len(rows)
    assert subscription.last_rows == len(rows) and subscription.last_error == ""
    first_day = timezone.localdate()
    assert subscription.last_success_from == first_day
    # The next run waits in the queue for tomorrow.
    (waiting,) = queued_runs()
    assert waiting.run_after == subscription.next_run_at
    assert subscription.next_run_at - subscription.last_attempt_at == dt.timedelta(days=1)

    make_due(subscription)
    work_the_queue()
    subscription.refresh_from_db()
    first, second = (p["filters"] for p in usaspending.posts())
    assert first["date_type"] == "action_date"
    assert first["date_range"] == {"start_date": "2024-10-01", "end_date": first_day.isoformat()}
    assert second["date_type"] == "last_modified_date"
    assert second["date_range"]["start_date"] == first_day.isoformat()
    assert not ContractTransaction.objects.filter(transaction_key=gone).exists()
    assert subscription.last_rows == 1

    status = json.loads(run("fetch", "status", "--format", "json").output)
    (listed,) = status["subscriptions"]
    assert listed["agency"] == "U.S. Immigration and Customs Enforcement"
    assert listed["last_rows"] == 1 and listed["last_error"] == ""
    assert listed["next_run_at"] == subscription.next_run_at.isoformat()


def test_a_failed_run_is_shown_and_retried(
    usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    run("fetch", "usaspending", "--agency", "ICE", "--every", "week")
    usaspending.add(generated_zip, final="failed", message="Database connection lost")
    usaspending.add(generated_zip)
    work_the_queue()
    subscription = Subscription.objects.get()
    assert "Database connection lost" in subscription.last_error
    assert subscription.failures == 1 and subscription.last_success_at is None
    assert subscription.next_run_at - subscription.last_attempt_at == dt.timedelta(minutes=15)
    (retry,) = queued_runs()
    assert retry.run_after == subscription.next_run_at
    (listed,) = json.loads(run("fetch", "status", "--format", "json").output)["subscriptions"]
    assert "Database connection lost" in listed["last_error"] and listed["failures"] == 1
    table = run("fetch", "status").output
    assert "never" in table and "Database" in table

    make_due(subscription)
    work_the_queue()
    subscription.refresh_from_db()
    assert subscription.failures == 0 and subscription.last_error == ""
    assert subscription.last_success_at is not None
    assert subscription.next_run_at - subscription.last_attempt_at == dt.timedelta(days=7)
    assert ContractTransaction.objects.exists()
