"""Campaign commands: list campaigns and show one with its demands, actions, coalition
and goals."""

from __future__ import annotations

import json
import sys
from typing import IO

import click

from receipts.cli.database import needs_database
from receipts.cli.lookup import campaign_by_slug
from receipts.cli.output import print_table


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns: list them and show one with its demands, actions and coalition."""


@campaign_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@needs_database
def campaign_list(fmt: str) -> None:
    """List every campaign, private ones included (the command line acts as an administrator)."""
    from receipts.campaigns.models import Campaign
    from receipts.campaigns.queries import demand_counts

    records = []
    for c in Campaign.objects.order_by("name"):
        met, total = demand_counts(c)
        records.append(
            {
                "slug": c.slug,
                "name": c.name,
                "status": c.status,
                "visibility": c.visibility,
                "demands_met": met,
                "demands_total": total,
            }
        )
    if fmt == "json":
        click.echo(json.dumps({"campaigns": records}, indent=2, ensure_ascii=False))
        return
    rows = []
    for r in records:
        tally = f"{r['demands_met']} of {r['demands_total']}"
        rows.append([r["slug"], r["name"], r["status"], r["visibility"], tally])
    columns = ("Slug", "Name", "Status", "Visibility", "Demands met")
    print_table("Campaigns", columns, rows, sys.stdout)


@campaign_group.command("show")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Output file (default stdout).",
)
@needs_database
def campaign_show(slug: str, fmt: str, output: IO[str]) -> None:
    """Show a campaign: demands with their status, actions, coalition and goals.

    ``--format json`` writes the same document as GET /api/campaigns/SLUG.
    """
    from receipts.campaigns.queries import campaign_export

    data = campaign_export(campaign_by_slug(slug))
    if fmt == "json":
        json.dump(data, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    heading = f"{data['name']} ({data['slug']}) — {data['status']}, {data['visibility']}"
    click.echo(heading, file=output)
    if data["targets"]:
        click.echo("Target: " + ", ".join(t["name"] for t in data["targets"]), file=output)
    click.echo(f"{data['demands_met']} of {data['demands_total']} demands met", file=output)
    demand_rows = []
    for d in data["demands"]:
        status = d["status"] + (" (met?)" if d["suggested_status"] else "")
        ties = "; ".join(
            f"{t['subject']['name']} — {t['kind']} — {t['object']['name']} ({t['status']})"
            for t in d["ties"]
        )
        demand_rows.append([str(d["position"]), d["text"], status, ties])
    print_table("Demands", ("#", "Demand", "Status", "Ties"), demand_rows, output)
    action_rows = []
    for a in data["actions"]:
        low, high = a["attendance_min"], a["attendance_max"]
        if low is not None and high is not None:
            attendance = f"{low}–{high}"
        else:
            attendance = str(low) if low is not None else str(high) if high is not None else ""
        action_rows.append([a["date"], a["kind"], a["title"], a["place"], attendance])
    print_table("Actions", ("Date", "Kind", "Title", "Place", "Attendance"), action_rows, output)
    coalition_rows = [[m["organisation"]["name"], m["role"]] for m in data["coalition"]]
    print_table("Coalition", ("Organisation", "Role"), coalition_rows, output)
    goal_rows = [
        [
            g["metric"],
            f"{g['value']} of {g['target']}",
            f"by {g['deadline']}"
            if g["deadline"]
            else f"in {g['duration_days']} days"
            if g["duration_days"]
            else "",
            g["basis_label"],
        ]
        for g in data["goals"]
    ]
    print_table("Goals", ("Metric", "Progress", "Time", "Whose figure"), goal_rows, output)


def register(cli: click.Group) -> None:
    """Add the campaign commands to the ``receipts`` command."""
    for command in (campaign_group,):
        cli.add_command(command)
