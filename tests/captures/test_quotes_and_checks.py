"""Quotes checked against captures, the pages that show it, and re-checks for rot and change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.utils import timezone

from receipts.captures.checks import check_source, due_sources, set_cadence
from receipts.captures.models import Capture, CheckCadence, CheckOutcome, SourceCheck
from receipts.captures.queries import check_citation, normalise
from receipts.captures.services import capture_source
from receipts.cli import main
from receipts.evidence import services
from receipts.evidence.services import archive_path
from receipts.watch.models import ChangeEvent
from receipts.watch.queries import event_paths
from tests.factories import make_entity, make_source

from .factories import make_capture
from .site import ARTICLE, Site

pytestmark = pytest.mark.django_db

# The page says: “We host the agency’s case-management system,” a spokesperson said — in a statement.
TYPED_QUOTE = (
    '"We host the agency\'s case-management  system," a spokesperson said - IN A statement.'
)


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def cited_tie(source: Any, quote: str) -> Any:
    agency, cloud = make_entity("Example Agency", kind="agency"), make_entity("Example Cloud")
    return services.record_tie(
        cloud, agency, "hosting", citations=[services.CitationInput(source, quote, "")]
    )


def test_normalise_folds_quote_marks_dashes_case_and_whitespace() -> None:
    assert normalise("“Agency’s” — A\u00a0B\n\tC") == normalise('"agency\'s" - a b c')


def test_a_quote_typed_with_straight_marks_is_found_in_a_page_with_curly_ones(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Cloud deal")
    capture = capture_source(site.url("/article"), source=source)
    tie = cited_tie(source, TYPED_QUOTE)
    assert check_citation(tie.citations.get()).found_in == capture


def test_check_lists_citations_whose_quote_is_in_no_capture(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Cloud deal")
    capture_source(site.url("/article"), source=source)
    found = cited_tie(source, TYPED_QUOTE).citations.get()
    missing = services.cite_tie(
        found.tie, services.CitationInput(source, "The agency cancelled the contract.", "")
    )
    # A source never captured cannot be checked, so its quotes are not listed.
    services.cite_tie(found.tie, services.CitationInput(make_source(), "Anything at all.", ""))

    result = run("check")
    assert result.exit_code == 1
    assert (
        f"citation {missing.pk} (tie {found.tie_id}): quote not found in any capture of source "
        f"{source.pk} (Cloud deal): 'The agency cancelled the contract.'"
    ) in result.output
    assert f"citation {found.pk} " not in result.output
    assert "1 quotes not found in any capture" in result.output


def test_tie_and_source_pages_say_whether_each_quote_is_in_a_capture(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Cloud deal")
    capture = capture_source(site.url("/article"), source=source)
    tie = cited_tie(source, TYPED_QUOTE)
    services.cite_tie(tie, services.CitationInput(source, "The agency cancelled the contract.", ""))
    when = f"{capture.captured_at:%Y-%m-%d %H:%M} UTC"
    for url in (tie.get_absolute_url(), source.get_absolute_url()):
        page = Client().get(url).content.decode()
        assert f"quote found in the capture of {when}" in page, url
        assert "quote not found in any capture" in page, url


def test_source_page_links_the_files_and_never_serves_captured_html_inline(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Cloud deal")
    capture = capture_source(site.url("/article"), source=source)
    client = Client()
    page = client.get(source.get_absolute_url()).content.decode()
    assert capture.fingerprint in page
    for role in ("screenshot", "pdf", "text", "wacz", "manifest"):
        assert capture.file_url(role) in page
    shown = {
        role: client.get(capture.file_url(role))
        for role in ("screenshot", "pdf", "text", "wacz", "manifest")
    }
    assert shown["screenshot"]["Content-Type"] == "image/png"
    assert shown["pdf"]["Content-Type"] == "application/pdf"
    assert shown["text"]["Content-Type"] == "text/plain; charset=utf-8"
    assert shown["wacz"]["Content-Disposition"].startswith("attachment;")
    assert shown["manifest"]["Content-Disposition"].startswith("attachment;")
    for response in shown.values():
        assert response.status_code == 200
        assert "sandbox" in response["Content-Security-Policy"]
        assert "text/html" not in response["Content-Type"]
    assert client.get(capture.file_url("html")).status_code == 404


def test_recheck_finds_a_source_alive_then_changed_then_gone_and_tells_watchers(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Cloud deal", url=site.url("/article"))
    tie = cited_tie(source, TYPED_QUOTE)

    first = check_source(source)
    assert (first.outcome, first.detail) == (CheckOutcome.ALIVE, "first capture")
    assert check_source(source).outcome == CheckOutcome.ALIVE
    assert Capture.objects.filter(source=source).count() == 1

    site.state.article = ARTICLE.replace("five-year", "ten-year")
    changed = check_source(source)
    assert changed.outcome == CheckOutcome.CHANGED
    assert Capture.objects.filter(source=source).count() == 2, "the old capture is kept"
    event = ChangeEvent.objects.get(kind="source_changed")
    assert set(event.entities.all()) == {tie.subject, tie.object}
    assert event_paths([event]) == {event.pk: source.get_absolute_url()}
    page = Client().get(source.get_absolute_url()).content.decode()
    assert "-The agency signed a five-year contract" in page
    assert "+The agency signed a ten-year contract" in page

    site.state.gone = True
    gone = check_source(source)
    assert gone.outcome == CheckOutcome.GONE
    assert "answered 404" in gone.detail
    assert ChangeEvent.objects.get(kind="source_gone").source_id == source.pk
    assert Capture.objects.filter(source=source).count() == 2


def test_due_sources_follow_the_weekly_default_and_a_source_cadence(settings: Any) -> None:
    settings.CAPTURE_RECHECK_DAYS = 7
    weekly = make_source("Weekly", url="https://example.org/a")
    daily = make_source("Daily", url="https://example.org/b")
    make_source("No link")
    set_cadence(daily, 1)
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    for source in (weekly, daily):
        SourceCheck.objects.create(source=source, checked_at=two_days_ago, outcome="alive")
    assert due_sources() == [daily]
    assert set(due_sources(timezone.now() + dt.timedelta(days=6))) == {weekly, daily}


def test_recheck_command_reports_each_source(
    site: Site, local_captures: Any, archive_dir: Path
) -> None:
    source = make_source("Cloud deal", url=site.url("/missing"))
    result = run("recheck", str(source.pk))
    assert result.exit_code == 0, result.output
    assert f"source {source.pk} gone: " in result.output


def test_recheck_every_days_sets_a_source_cadence(
    site: Site, local_captures: Any, archive_dir: Path
) -> None:
    source = make_source("Cloud deal", url=site.url("/missing"))
    assert run("recheck", str(source.pk), "--every-days", "2").exit_code == 0
    assert source.check_cadence.every_days == 2
    assert run("recheck", str(source.pk), "--every-days", "0").exit_code == 0
    source.refresh_from_db()
    assert not CheckCadence.objects.filter(source=source).exists()


def test_check_reports_a_capture_file_that_is_missing_or_altered() -> None:
    source = make_source("Cloud deal")
    capture = make_capture(source)
    assert run("check").exit_code == 0
    archive_path(capture.files["text"]["sha256"]).write_bytes(b"edited afterwards")
    archive_path(capture.files["wacz"]["sha256"]).unlink()
    result = run("check")
    assert result.exit_code == 1
    assert (
        f"capture {capture.pk} of source {source.pk}: text "
        f"{capture.files['text']['sha256']} does not match its SHA-256"
    ) in result.output
    assert (
        f"capture {capture.pk} of source {source.pk}: wacz "
        f"{capture.files['wacz']['sha256']} is missing"
    ) in result.output


def test_a_link_whose_name_no_longer_resolves_is_gone(local_captures: Any) -> None:
    source = make_source("Vanished", url="http://no-such-host.invalid/report")
    check = check_source(source)
    assert check.outcome == CheckOutcome.GONE
    assert "no-such-host.invalid does not resolve" in check.detail
    assert ChangeEvent.objects.filter(kind="source_gone", source_id=source.pk).exists()
