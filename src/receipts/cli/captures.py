"""Capture commands: capture a link for a source, re-check sources, export a source's captures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from receipts.cli.database import needs_database
from receipts.evidence import vocabulary

SOURCE_KINDS = vocabulary.values(vocabulary.SOURCE_KINDS)


def _capture_record(capture: Any) -> dict[str, Any]:
    return {
        "id": capture.pk,
        "source": capture.source_id,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "status": capture.status,
        "media_type": capture.media_type,
        "captured_at": capture.captured_at.isoformat().replace("+00:00", "Z"),
        "fingerprint": capture.fingerprint,
        "files": capture.files,
        "found": {
            "title": capture.found_title,
            "publisher": capture.found_publisher,
            "published": capture.found_published,
        },
        "refused_requests": capture.refused,
    }


@click.command("capture")
@click.argument("url")
@click.option(
    "--source", "source_ref", help="Keep the capture for this source (id or exact title)."
)
@click.option(
    "--kind",
    type=click.Choice(SOURCE_KINDS),
    default="news_report",
    show_default=True,
    help="Kind of the new source, when no --source is given.",
)
@click.option(
    "--accept",
    is_flag=True,
    help="Save the title, publisher and date read from the page into the source.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@needs_database
def capture_command(url: str, source_ref: str | None, kind: str, accept: bool, fmt: str) -> None:
    """Load URL in headless Chromium and keep a capture of it (WACZ, PDF, screenshot, text)."""
    from receipts.captures.services import capture_source
    from receipts.cli.lookup import source_named

    source = source_named(source_ref) if source_ref else None
    capture = capture_source(url, source=source, kind=kind, accept=accept)
    source = capture.source
    if fmt == "json":
        click.echo(json.dumps(_capture_record(capture), indent=2))
        return
    click.echo(f"captured {capture.final_url} ({capture.status}, {capture.media_type})")
    click.echo(f"source {source.pk}: {source.title}")
    click.echo(f"captured at {capture.captured_at:%Y-%m-%d %H:%M:%S} UTC")
    click.echo(f"fingerprint (SHA-256 of the manifest): {capture.fingerprint}")
    for role, entry in sorted(capture.files.items()):
        click.echo(f"  {role}: {entry['sha256']} {entry['media_type']} {entry['size']} bytes")
    for refused in capture.refused:
        click.echo(f"  refused: {refused['url']}: {refused['reason']}")
    found = [
        (label, value)
        for label, value in (
            ("title", capture.found_title),
            ("publisher", capture.found_publisher),
            ("published", capture.found_published),
        )
        if value
    ]
    if found:
        verb = "saved" if accept else "read from the page (save with --accept)"
        click.echo(f"{verb}:")
        for label, value in found:
            click.echo(f"  {label}: {value}")


@click.command("capture")
@click.argument("source_ref", metavar="SOURCE")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The WACZ file to write; it appears whole or, on any error, not at all.",
)
@needs_database
def export_capture_command(source_ref: str, output: Path) -> None:
    """Write every capture of SOURCE as one WACZ file, replayable in ReplayWeb.page."""
    from receipts.captures.exports import export_source_wacz
    from receipts.cli.lookup import source_named

    source = source_named(source_ref)
    count = export_source_wacz(source, output)
    noun = "capture" if count == 1 else "captures"
    click.echo(f"wrote {count} {noun} of source {source.pk} to {output}", err=True)


@click.command("recheck")
@click.argument("source_ref", metavar="[SOURCE]", required=False)
@click.option("--all", "every", is_flag=True, help="Re-check every source with a link, due or not.")
@click.option(
    "--every-days",
    type=int,
    default=None,
    help="With SOURCE: re-check it every this many days from now on (0: back to the default).",
)
@needs_database
def recheck_command(source_ref: str | None, every: bool, every_days: int | None) -> None:
    """Re-check sources whose check is due (or SOURCE): alive, changed or gone."""
    from receipts.captures.checks import check_due_sources, check_source, set_cadence
    from receipts.cli.lookup import source_named

    if every_days is not None:
        if not source_ref:
            raise click.UsageError("--every-days needs a SOURCE")
        set_cadence(source_named(source_ref), every_days or None)

    checks = (
        [check_source(source_named(source_ref))] if source_ref else check_due_sources(every=every)
    )
    for check in checks:
        detail = f": {check.detail}" if check.detail else ""
        click.echo(f"source {check.source_id} {check.outcome}{detail}")
    click.echo(f"{len(checks)} sources checked", err=True)


def register(cli: click.Group) -> None:
    """Add the capture and recheck commands, and ``export capture``."""
    from receipts.cli.ingest import export_group

    cli.add_command(capture_command)
    cli.add_command(recheck_command)
    export_group.add_command(export_capture_command)
