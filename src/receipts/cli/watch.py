"""Watchlist commands: make and list watchlists, send what is pending, list change events."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import click

from receipts.cli.database import needs_database
from receipts.cli.errors import NameError_
from receipts.cli.lookup import entity_named
from receipts.cli.output import print_table


def _watchlist(ref: str) -> Any:
    from receipts.watch.models import Watchlist

    found = Watchlist.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    if found is None:
        matches = list(Watchlist.objects.filter(name=ref)[:2])
        if len(matches) > 1:
            raise NameError_(f"more than one watchlist is named {ref!r}; use its id")
        found = matches[0] if matches else None
    if found is None:
        raise NameError_(f"no watchlist has the id or name {ref!r}")
    return found


def _feed_url(watchlist: Any) -> str:
    from django.urls import reverse

    from receipts.watch.queries import site_url

    return site_url(reverse("watchlist-feed", args=[watchlist.feed_token]))


@click.group("watch")
def watch_group() -> None:
    """Watchlists: alerts when a watched company or agency gets a new tie, contract or end."""


@watch_group.command("create")
@click.argument("name")
@click.option(
    "--entity",
    "entities",
    multiple=True,
    required=True,
    help="An entity to watch (name, alias, slug or identifier); repeatable. Its subsidiaries "
    "and components are watched too.",
)
@click.option("--webhook", "webhook_url", help="POST signed JSON to this http(s) URL.")
@click.option("--secret", default="", help="The webhook's signing secret (default: a random one).")
@click.option("--email", "emails", multiple=True, help="Send an email digest here; repeatable.")
@click.option(
    "--owner",
    help="The user the watchlist belongs to; its private campaigns' demand changes reach it.",
)
@click.option(
    "--ending-warnings",
    "ending_warnings",
    help="Days before a watched contract's current end to warn of it, e.g. 180,90,30 "
    "(the default); an empty value for none.",
)
@needs_database
def watch_create(
    name: str,
    entities: tuple[str, ...],
    webhook_url: str | None,
    secret: str,
    emails: tuple[str, ...],
    owner: str | None,
    ending_warnings: str | None,
) -> None:
    """Make a watchlist; prints its Atom feed address and, for a webhook, the secret."""
    from django.contrib.auth import get_user_model

    from receipts.watch import services
    from receipts.watch.models import ChannelKind

    if secret and not webhook_url:
        raise click.BadParameter("--secret goes with --webhook", param_hint="--secret")
    days = None if ending_warnings is None else _lead_days(ending_warnings, "--ending-warnings")
    user = None
    if owner:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise NameError_(f"no user is named {owner!r}")
    watchlist = services.create_watchlist(
        name,
        owner=user,
        entities=[entity_named(e) for e in entities],
        webhook_url=webhook_url or "",
        webhook_secret=secret,
        emails=emails,
    )
    if days is not None:
        services.set_ending_warning_days(watchlist, days)
    watched = ", ".join(e.name for e in watchlist.entities.all())
    click.echo(f"watchlist {watchlist.pk}: {watchlist.name} (watching {watched})")
    click.echo(f"feed: {_feed_url(watchlist)}")
    for channel in watchlist.channels.all():
        if channel.kind == ChannelKind.WEBHOOK:
            click.echo(f"webhook: {channel.url}")
            if not secret:
                click.echo(f"webhook secret (shown once here): {channel.secret}")
        else:
            click.echo("email digest: " + ", ".join(channel.recipients))


def _lead_days(text: str, hint: str) -> list[int]:
    days = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 0 <= int(part) <= 3650:
            raise click.BadParameter(
                f"{part!r} is not a number of days from 0 to 3650", param_hint=hint
            )
        days.append(int(part))
    return days


@watch_group.command("ending-warnings")
@click.argument("watchlist_ref", metavar="WATCHLIST")
@click.argument("days")
@needs_database
def watch_ending_warnings(watchlist_ref: str, days: str) -> None:
    """Set how many days before a watched contract's current end WATCHLIST hears of it,
    e.g. 120,60 ("" for no warnings)."""
    from receipts.watch import services

    watchlist = _watchlist(watchlist_ref)
    services.set_ending_warning_days(watchlist, _lead_days(days, "DAYS"))
    shown = ", ".join(str(d) for d in watchlist.ending_warning_days) or "none"
    click.echo(f"watchlist {watchlist.pk}: contract ending warnings at {shown} days ahead")


@watch_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@needs_database
def watch_list(fmt: str) -> None:
    """List every watchlist with what it watches and how it delivers."""
    from receipts.watch.models import Watchlist

    records = []
    for w in Watchlist.objects.select_related("owner").prefetch_related("entities", "channels"):
        records.append(
            {
                "id": w.pk,
                "name": w.name,
                "owner": w.owner.get_username() if w.owner else None,
                "entities": [{"name": e.name, "slug": e.slug} for e in w.entities.all()],
                "feed": _feed_url(w),
                "channels": [
                    {"kind": c.kind, "url": c.url, "recipients": c.recipients, "active": c.active}
                    for c in w.channels.all()
                ],
            }
        )
    if fmt == "json":
        click.echo(json.dumps({"watchlists": records}, indent=2, ensure_ascii=False))
        return
    rows = [
        [
            str(r["id"]),
            r["name"],
            ", ".join(e["name"] for e in r["entities"]),
            "; ".join(c["url"] or ", ".join(c["recipients"]) for c in r["channels"]) or "feed only",
            r["feed"],
        ]
        for r in records
    ]
    print_table("Watchlists", ("Id", "Name", "Watching", "Sends to", "Feed"), rows, sys.stdout)


@watch_group.command("run")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@needs_database
def watch_run(fmt: str) -> None:
    """Send what is pending: new events to each webhook and email digest, once, and due retries."""
    from receipts.watch.delivery import send_pending

    summary = send_pending()
    if fmt == "json":
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    for line in summary.lines():
        click.echo(line)


@watch_group.command("events")
@click.option("--since", help="Only events recorded on or after this date (YYYY-MM-DD).")
@click.option(
    "--watchlist", "watchlist_ref", help="Only the events this watchlist (id or name) sees."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Output file (default stdout).",
)
@needs_database
def watch_events(since: str | None, watchlist_ref: str | None, fmt: str, output: IO[str]) -> None:
    """List change events, oldest first, with their receipts."""
    import datetime as dt

    from django.utils import timezone

    from receipts.watch import queries

    start = None
    if since:
        try:
            day = dt.date.fromisoformat(since)
        except ValueError as exc:
            raise click.BadParameter(f"{since!r} is not a date like 2026-02-13") from exc
        start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
    events = queries.all_events(start)
    if watchlist_ref:
        events = events.filter(pk__in=queries.events_for(_watchlist(watchlist_ref)).values("pk"))
    records = queries.event_records(list(events))
    if fmt == "json":
        json.dump({"events": records}, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    rows = [
        [
            r["occurred_at"][:19].replace("T", " "),
            r["kind"],
            r["summary"],
            r["citation"]["source"]
            + (f" ({r['citation']['locator']})" if r["citation"]["locator"] else ""),
        ]
        for r in records
    ]
    print_table("Change events", ("Recorded", "Kind", "Change", "Receipt"), rows, output)


def register(cli: click.Group) -> None:
    """Add the watch commands to the ``receipts`` command."""
    for command in (watch_group,):
        cli.add_command(command)
