"""API tokens: issued once, stored only as a digest, revocable, usable from the CLI to the API."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.test import Client

from receipts.api.models import ApiToken
from receipts.api.tokens import (
    TOKEN_PREFIX,
    UnknownToken,
    UnknownUser,
    authenticate_token,
    issue_token,
    revoke_token,
)
from receipts.cli import main
from receipts.evidence.models import Entity
from tests.api.conftest import post_json
from tests.factories import make_editor

pytestmark = pytest.mark.django_db


def test_only_the_digest_of_a_token_is_stored() -> None:
    make_editor("writer")
    token = issue_token("writer", "laptop")
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) > len(TOKEN_PREFIX) + 40
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.label, stored.digest}
    assert stored.label == "laptop"


def test_each_token_is_new() -> None:
    make_editor("writer")
    assert issue_token("writer", "one") != issue_token("writer", "two")


def test_token_authenticates_its_user_until_revoked() -> None:
    user = make_editor("writer")
    token = issue_token("writer", "laptop")
    assert authenticate_token(token) == user
    revoke_token(token)
    assert authenticate_token(token) is None
    revoke_token(token)  # revoking twice is harmless
    assert ApiToken.objects.get().revoked


def test_a_digest_is_not_a_token() -> None:
    make_editor("writer")
    issue_token("writer", "laptop")
    assert authenticate_token(ApiToken.objects.get().digest) is None
    assert authenticate_token("") is None


def test_token_for_unknown_user_is_a_clear_error() -> None:
    with pytest.raises(UnknownUser, match="no user named 'ghost'"):
        issue_token("ghost", "laptop")
    assert not ApiToken.objects.exists()


def test_token_for_inactive_user_is_refused() -> None:
    User.objects.create_user("gone", is_active=False)
    with pytest.raises(UnknownUser, match="inactive"):
        issue_token("gone", "laptop")


def test_token_needs_a_label() -> None:
    make_editor("writer")
    with pytest.raises(ValueError, match="label"):
        issue_token("writer", "  ")


def test_revoking_an_unknown_token_is_an_error() -> None:
    with pytest.raises(UnknownToken):
        revoke_token("rcpt_never-issued")


def test_cli_token_create_prints_a_token_that_writes(client: Client) -> None:
    make_editor("writer")
    result = CliRunner().invoke(main, ["token", "create", "writer", "--label", "script"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith(TOKEN_PREFIX)
    assert ApiToken.objects.get().label == "script"

    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, token)

    assert response.status_code == 201
    assert Entity.objects.filter(name="Acme").exists()


def test_cli_token_revoke_stops_the_token(client: Client) -> None:
    make_editor("writer")
    token = issue_token("writer", "laptop")
    result = CliRunner().invoke(main, ["token", "revoke", token])
    assert result.exit_code == 0, result.output
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, token)
    assert response.status_code == 401


def test_cli_token_create_for_unknown_user_is_one_line_and_non_zero() -> None:
    result = CliRunner().invoke(main, ["token", "create", "ghost"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].lower() == (
        "error: no user named 'ghost'; create one with `receipts createsuperuser`"
    )


def test_admin_lists_tokens_without_showing_digests_or_adding(admin_client: Client) -> None:
    make_editor("writer")
    issue_token("writer", "laptop")
    stored = ApiToken.objects.get()

    listing = admin_client.get("/admin/api/apitoken/")
    assert listing.status_code == 200
    assert b"laptop" in listing.content
    assert stored.digest.encode() not in listing.content
    detail = admin_client.get(f"/admin/api/apitoken/{stored.pk}/change/")
    assert detail.status_code == 200
    assert stored.digest.encode() not in detail.content
    assert admin_client.get("/admin/api/apitoken/add/").status_code == 403


def test_admin_revokes_selected_tokens(admin_client: Client) -> None:
    make_editor("writer")
    token = issue_token("writer", "laptop")
    stored = ApiToken.objects.get()
    response = admin_client.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [stored.pk]},
    )
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked
    assert authenticate_token(token) is None


def test_admin_token_page_cannot_change_a_token(admin_client: Client) -> None:
    make_editor("writer")
    issue_token("writer", "laptop")
    stored = ApiToken.objects.get()
    admin_client.post(
        f"/admin/api/apitoken/{stored.pk}/change/", {"label": "renamed", "revoked": "on"}
    )
    stored.refresh_from_db()
    assert (stored.label, stored.revoked) == ("laptop", False)
