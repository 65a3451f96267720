"""Outreach commands: the supporter data's keys, retention, erasure, exports and holder."""

from __future__ import annotations

import sys
from typing import IO, Any

import click

from receipts.cli.database import needs_database
from receipts.cli.errors import NameError_
from receipts.cli.lookup import campaign_by_slug


@click.group("outreach")
def outreach_group() -> None:
    """Supporter data: rotate keys, purge past retention, erase a person, export a list.

    The command line acts as an administrator; every command that reads or
    removes supporter data is written to the audit log (with no personal data).
    """


def _organisations(slug: str | None) -> list[Any]:
    from receipts.outreach.models import Organisation

    if slug is None:
        return list(Organisation.objects.order_by("slug"))
    found = Organisation.objects.filter(slug=slug).first()
    if found is None:
        raise NameError_(f"no organisation has the slug {slug!r}")
    return [found]


@outreach_group.command("rotate-keys")
@click.option("--org", "org", help="Only this organisation (its slug); default all.")
@needs_database
def outreach_rotate_keys(org: str | None) -> None:
    """Make a new key version and rewrap every supporter key under it; retire the old one."""
    from receipts.outreach.crypto import has_keyring
    from receipts.outreach.services import rotate_keys

    chosen = _organisations(org)
    if org is None:
        # Without --org, only organisations that hold keys: no key file is made for the rest.
        chosen = [o for o in chosen if has_keyring(o.slug)]
    if not chosen:
        click.echo("No organisation holds outreach keys yet.")
    for organisation in chosen:
        result = rotate_keys(organisation)
        state = "old versions retired" if result.retired else result.note
        click.echo(
            f"{result.organisation}: kek-{result.kek_version}, index-{result.index_version}; "
            f"{result.rewrapped} keys rewrapped, {result.reindexed} indexes rebuilt; {state}"
        )


def _erasure_lines(result: Any) -> None:
    for rotation in result.rotations:
        click.echo(
            f"{rotation.organisation}: keys rotated to kek-{rotation.kek_version}"
            + (", old versions retired" if rotation.retired else f" ({rotation.note})")
        )
    for note in result.notes:
        click.echo(f"Warning: {note}", err=True)


@outreach_group.command("purge")
@click.option(
    "--days",
    type=click.IntRange(0),
    help="Erase supporters whose last sign-up is older than this (default "
    "RECEIPTS_SUPPORTER_RETENTION_DAYS).",
)
@needs_database
def outreach_purge(days: int | None) -> None:
    """Erase supporters past the retention period, then rotate the keys that held them."""
    from django.conf import settings

    from receipts.outreach.services import purge_expired_supporters

    kept = settings.SUPPORTER_RETENTION_DAYS if days is None else days
    result = purge_expired_supporters(days=days)
    click.echo(f"Purged {result.erased} supporters whose last sign-up is older than {kept} days.")
    _erasure_lines(result)


@outreach_group.command("erase")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--email", help="The person's email (asked for, hidden, if neither is given).")
@click.option("--phone", help="The person's phone number.")
@needs_database
def outreach_erase(campaign_slug: str, email: str | None, phone: str | None) -> None:
    """Erase one supporter everywhere, found by the blind index of their email or phone."""
    from receipts.outreach.models import AuditChannel
    from receipts.outreach.services import erase_supporters, find_supporter

    campaign = campaign_by_slug(campaign_slug)
    if not email and not phone:
        email = click.prompt("Email of the person to erase", hide_input=True)
    supporter = find_supporter(campaign, email=email or "", phone=phone or "")
    if supporter is None:
        raise NameError_(f"no supporter of {campaign.slug!r} has that email or phone")
    result = erase_supporters(campaign, [supporter], channel=AuditChannel.CLI)
    click.echo(f"Erased 1 supporter of {campaign.slug}: sign-ups, consent records and key.")
    _erasure_lines(result)


@outreach_group.command("export")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--email", help="Only this person: every sign-up and consent record held on them.")
@click.option("--phone", help="Only this person, found by phone.")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    required=True,
    help="CSV file to write ('-' for stdout).",
)
@needs_database
def outreach_export(
    campaign_slug: str, email: str | None, phone: str | None, output: IO[str]
) -> None:
    """Write the campaign's accepted supporters as CSV, or all held on one person (audited)."""
    from receipts.outreach.exports import write_person_csv, write_supporters_csv
    from receipts.outreach.models import AuditAction, AuditChannel
    from receipts.outreach.queries import open_submissions, opened_supporters
    from receipts.outreach.services import find_supporter, record_audit

    campaign = campaign_by_slug(campaign_slug)
    if email or phone:
        supporter = find_supporter(campaign, email=email or "", phone=phone or "")
        if supporter is None:
            raise NameError_(f"no supporter of {campaign.slug!r} has that email or phone")
        submissions = list(
            supporter.submissions.select_related("form").order_by("submitted_at", "id")
        )
        record_audit(AuditAction.EXPORT_CSV, channel=AuditChannel.CLI, campaign=campaign, count=1)
        write_person_csv(output, open_submissions(campaign, submissions))
        count = 1
    else:
        people = opened_supporters(campaign, accepted_only=True)
        record_audit(
            AuditAction.EXPORT_CSV, channel=AuditChannel.CLI, campaign=campaign, count=len(people)
        )
        write_supporters_csv(output, people)
        count = len(people)
    if output is not sys.stdout:
        click.echo(f"Wrote {count} supporters of {campaign.slug}.", err=True)


@outreach_group.command("assign")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--org", "org", required=True, help="The organisation's slug (names its key file).")
@click.option("--name", default="", help="The organisation's name, when it is new.")
@needs_database
def outreach_assign(campaign_slug: str, org: str, name: str) -> None:
    """Let an organisation hold a campaign's supporter data and keys (before any sign-up)."""
    from receipts.outreach.services import assign_organisation, save_organisation

    campaign = campaign_by_slug(campaign_slug)
    organisation = save_organisation(org, name)
    assign_organisation(campaign, organisation)
    click.echo(f"{campaign.slug}: supporter data held by {organisation.slug}")


def register(cli: click.Group) -> None:
    """Add the outreach commands to the ``receipts`` command."""
    for command in (outreach_group,):
        cli.add_command(command)
