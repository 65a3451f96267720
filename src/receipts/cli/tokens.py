"""API token commands: issue and revoke the tokens that API writes need."""

from __future__ import annotations

import click

from receipts.cli.database import needs_database
from receipts.cli.lookup import campaign_by_slug


@click.group()
def token() -> None:
    """Manage API tokens for writes."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="cli", show_default=True)
@click.option(
    "--campaign",
    "campaign_slug",
    help="Scope the token to this campaign (slug): it writes that campaign and nothing else.",
)
@needs_database
def token_create(username: str, label: str, campaign_slug: str | None) -> None:
    """Issue a token for USERNAME; it is shown once and only its digest is stored."""
    from receipts.api.tokens import issue_token

    campaign = campaign_by_slug(campaign_slug) if campaign_slug else None
    click.echo(issue_token(username, label, campaign=campaign))


@token.command("revoke")
@click.argument("token_value", metavar="TOKEN")
@needs_database
def token_revoke(token_value: str) -> None:
    """Revoke a token."""
    from receipts.api.tokens import revoke_token

    revoke_token(token_value)
    click.echo("revoked")


def register(cli: click.Group) -> None:
    """Add the token commands to the ``receipts`` command."""
    for command in (token,):
        cli.add_command(command)
