"""``receipts watch`` commands, and the task queue that sends alerts on its own."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from django.core import mail
from django_tasks_db.models import DBTaskResult

from receipts.cli import main
from receipts.watch import tasks
from receipts.watch.models import Channel, Delivery, DeliveryStatus, Watchlist
from tests.factories import make_tie
from tests.watch.conftest import SECRET, Receiver
from tests.watch.factories import make_case

pytestmark = pytest.mark.django_db


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_watch_create_list_run_twice_and_events(receiver: Receiver) -> None:
    case = make_case()
    made = run(
        "watch", "create", "Amazon family", "--entity", "Amazon", "--entity", "U.S. Department of Homeland Security",
        "--webhook", receiver.url, "--secret", SECRET, "--email", "org@example.org",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    watchlist = Watchlist.objects.get()
    assert made.output.splitlines()[:2] == [
        f"watchlist {watchlist.pk}: Amazon family (watching Amazon, "
        "U.S. Department of Homeland Security)",
        f"feed: https://receipts.example/watch/{watchlist.feed_token}/feed.atom",
    ]
    listed = json.loads(run("watch", "list", "--format", "json").output)
    assert listed["watchlists"][0]["channels"][0]["url"] == receiver.url

    make_tie(case.aws, "hosting", case.ice, case.source)
    first = run("watch", "run")
    assert first.exit_code == 0
    assert first.output.startswith("sent 2 deliveries carrying 2 events")
    second = run("watch", "run")
    assert second.output.startswith("sent 0 deliveries carrying 0 events")
    assert len(receiver.accepted) == 1 and len(mail.outbox) == 1

    events = json.loads(run("watch", "events", "--since", "2000-01-01", "--format", "json").output)
    summaries = [e["summary"] for e in events["events"]]
    assert summaries[-1] == (
        "New tie: Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement"
    )
    only = run("watch", "events", "--watchlist", str(watchlist.pk), "--format", "json").output
    assert len(json.loads(only)["events"]) == len(summaries)
    assert run("watch", "events", "--since", "3000-01-01").exit_code == 0


def test_watch_create_prints_a_generated_secret_once(receiver: Receiver) -> None:
    make_case()
    made = run("watch", "create", "W", "--entity", "Amazon", "--webhook", receiver.url)
    secret = Channel.objects.get().secret
    assert f"webhook secret (shown once here): {secret}" in made.output
    assert len(secret) >= 32


def test_watch_errors_are_one_line() -> None:
    make_case()
    unknown = CliRunner().invoke(main, ["watch", "create", "W", "--entity", "Nobody Inc"])
    assert unknown.exit_code == 2
    assert "no entity matches 'Nobody Inc'" in unknown.output
    refused = CliRunner().invoke(
        main, ["watch", "create", "W", "--entity", "Amazon", "--webhook", "ftp://example.org/"]
    )
    assert refused.exit_code == 1
    assert not Watchlist.objects.exists()
    assert refused.output.strip().splitlines() == [
        "Error: url: 'ftp://example.org/' is not an http or https URL"
    ]


def test_recorded_events_queue_one_send_task(django_capture_on_commit_callbacks) -> None:
    case = make_case()  # its own ties queue the first run
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        make_tie(case.aws, "hosting", case.ice, case.source)
        make_tie(case.ring, "partnership", case.google, case.source)
    queued = DBTaskResult.objects.filter(task_path="receipts.watch.tasks.send_pending")
    assert queued.count() == 1
    assert queued.get().status == "READY"


def test_the_queued_task_sends_and_requeues_itself_for_a_retry(
    receiver: Receiver, settings
) -> None:
    case = make_case()
    Watchlist.objects.all().delete()
    from tests.watch.factories import make_watchlist

    make_watchlist(case.amazon, webhook_url=receiver.url, webhook_secret=SECRET)
    make_tie(case.aws, "hosting", case.ice, case.source)
    receiver.fail_first = 1
    DBTaskResult.objects.all().delete()
    result = tasks.send_pending.call()
    assert result["retrying"] == 1
    retry = DBTaskResult.objects.get(task_path="receipts.watch.tasks.send_pending")
    assert retry.run_after.isoformat() == result["next_attempt_at"]


def test_the_immediate_backend_sends_on_commit(
    receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    case = make_case()
    from tests.watch.factories import make_watchlist

    make_watchlist(case.amazon, webhook_url=receiver.url, webhook_secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        make_tie(case.aws, "hosting", case.ice, case.source)
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert len(receiver.accepted) == 1
