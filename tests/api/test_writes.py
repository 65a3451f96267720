"""Writes through the API: bearer tokens only, and every invariant of the services holds."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from receipts.api.models import ApiToken
from receipts.api.tokens import issue_token, revoke_token
from receipts.evidence.models import Citation, Entity, Source, Tie
from tests.api.conftest import bearer, patch_json, post_json
from tests.factories import make_editor, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


def tie_body(source: Source, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "subject": "acme",
        "object": "agency",
        "kind": "contract",
        "citations": [{"source_id": source.pk, "quote": "awarded to Acme", "locator": "row 3"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def acme_and_agency(db: None) -> tuple[Entity, Entity]:
    return make_entity("Acme"), make_entity("Agency", kind="agency")


# --- authentication -----------------------------------------------------------------


def test_write_without_token_answers_401_and_stores_nothing(client: Client) -> None:
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Entity.objects.exists()


@pytest.mark.parametrize(
    "header",
    ["Bearer rcpt_not-a-real-token", "Bearer ", "Token rcpt_x", "Basic d3JpdGVyOnB3"],
)
def test_write_with_a_bad_authorization_header_answers_401(client: Client, header: str) -> None:
    response = client.post(
        "/api/entities",
        {"name": "Acme", "kind": "company"},
        content_type="application/json",
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert not Entity.objects.exists()


def test_revoked_token_answers_401(client: Client, writer_token: str) -> None:
    revoke_token(writer_token)
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, writer_token)
    assert response.status_code == 401


def test_token_of_an_inactive_user_answers_401(client: Client, writer_token: str) -> None:
    User.objects.filter(username="writer").update(is_active=False)
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, writer_token)
    assert response.status_code == 401


def test_token_of_a_user_without_permission_answers_403(client: Client) -> None:
    User.objects.create_user("reader", password="long enough password")
    token = issue_token("reader", "read only")
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, token)
    assert response.status_code == 403
    assert "evidence.add_tie" in response.json()["detail"]
    assert not Entity.objects.exists()


def test_session_login_does_not_authorise_writes(client: Client) -> None:
    client.force_login(make_editor("logged-in"))
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"})
    assert response.status_code == 401
    assert not Entity.objects.exists()


def test_bearer_writes_need_no_csrf_token(writer_token: str) -> None:
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, writer_token)
    assert response.status_code == 201


def test_using_a_token_records_when(client: Client, writer_token: str) -> None:
    assert ApiToken.objects.get().last_used_at is None
    post_json(client, "/api/entities", {"name": "Acme", "kind": "company"}, writer_token)
    assert ApiToken.objects.get().last_used_at is not None


def test_reads_need_no_token(client: Client) -> None:
    make_entity("Acme")
    assert client.get("/api/entities").status_code == 200
    assert client.get("/api/entities/acme").status_code == 200


# --- entities and sources -----------------------------------------------------------


def test_entity_is_created_with_identifiers(client: Client, writer_token: str) -> None:
    response = post_json(
        client,
        "/api/entities",
        {
            "name": "Acme Corp",
            "kind": "company",
            "aliases": ["Acme"],
            "identifiers": {"ticker": ["acme"]},
            "country": "US",
        },
        writer_token,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "acme-corp"
    assert body["identifiers"] == [{"scheme": "ticker", "value": "ACME"}]
    assert body["country"] == "us"
    assert Entity.objects.get(slug="acme-corp").aliases == ["Acme"]


def test_identifier_of_another_entity_is_refused_naming_the_field(
    client: Client, writer_token: str
) -> None:
    make_entity("Amazon", identifiers={"ticker": ["AMZN"]})
    response = post_json(
        client,
        "/api/entities",
        {"name": "Impostor", "kind": "company", "identifiers": {"ticker": ["amzn"]}},
        writer_token,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("identifier:")
    assert not Entity.objects.filter(name="Impostor").exists()


def test_entity_patch_keeps_fields_left_out(client: Client, writer_token: str) -> None:
    make_entity("Acme", aliases=["ACME Inc."], summary="Makes anvils.")
    response = patch_json(client, "/api/entities/acme", {"name": "Acme Anvils"}, writer_token)
    assert response.status_code == 200
    entity = Entity.objects.get(slug="acme")
    assert (entity.name, entity.aliases, entity.summary) == (
        "Acme Anvils",
        ["ACME Inc."],
        "Makes anvils.",
    )


def test_entity_patch_replaces_only_the_identifier_schemes_named(
    client: Client, writer_token: str
) -> None:
    make_entity("Acme", identifiers={"ticker": ["ACME"], "uei": ["ABC123"]})
    response = patch_json(
        client,
        "/api/entities/acme",
        {"identifiers": {"ticker": []}, "slug": "acme-inc"},
        writer_token,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "acme-inc"
    assert body["identifiers"] == [{"scheme": "uei", "value": "ABC123"}]
    assert client.get("/api/entities/acme").status_code == 404


def test_entity_patch_refuses_null_name(client: Client, writer_token: str) -> None:
    make_entity("Acme")
    response = patch_json(client, "/api/entities/acme", {"name": None}, writer_token)
    assert response.status_code == 422
    assert Entity.objects.get(slug="acme").name == "Acme"


def test_source_is_created_with_a_partial_date(client: Client, writer_token: str) -> None:
    response = post_json(
        client,
        "/api/sources",
        {
            "kind": "news_report",
            "title": "Rally report",
            "publisher": "Truthout",
            "published": "2026-02",
        },
        writer_token,
    )
    assert response.status_code == 201
    assert response.json()["published"] == "2026-02"
    assert Source.objects.get().published == "2026-02"


def test_source_with_a_bad_date_is_refused_naming_the_field(
    client: Client, writer_token: str
) -> None:
    response = post_json(
        client,
        "/api/sources",
        {"kind": "news_report", "title": "Rally report", "published": "2026-13"},
        writer_token,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("published:")
    assert not Source.objects.exists()


def test_source_with_a_bad_url_is_refused_naming_the_field(
    client: Client, writer_token: str
) -> None:
    response = post_json(
        client,
        "/api/sources",
        {"kind": "news_report", "title": "Rally report", "url": "javascript:alert(1)"},
        writer_token,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("url:")
    assert not Source.objects.exists()


# --- ties ---------------------------------------------------------------------------


def test_tie_is_recorded_with_its_citation_and_partial_date(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity]
) -> None:
    source = make_source()
    response = post_json(
        client,
        "/api/ties",
        tie_body(source, start_date="2026-02", amount="1250000", currency="usd"),
        writer_token,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["start_date"] == "2026-02"
    assert body["amount"] == "1250000.00"
    assert body["currency"] == "USD"
    tie = Tie.objects.get()
    assert tie.start_date == "2026-02"
    citation = tie.citations.get()
    assert (citation.source, citation.quote, citation.locator) == (
        source,
        "awarded to Acme",
        "row 3",
    )
    assert citation.created_by == User.objects.get(username="writer")
    assert client.get(f"/api/ties/{tie.pk}").json()["start_date"] == "2026-02"


def test_tie_with_an_empty_citation_list_is_refused_with_the_service_message(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity]
) -> None:
    response = post_json(client, "/api/ties", tie_body(make_source(), citations=[]), writer_token)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("citation:")
    assert "every tie needs a source" in detail
    assert not Tie.objects.exists()
    assert not Citation.objects.exists()


def test_tie_without_a_citations_field_is_refused(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity]
) -> None:
    body = tie_body(make_source())
    del body["citations"]
    response = post_json(client, "/api/ties", body, writer_token)
    assert response.status_code == 422
    assert not Tie.objects.exists()


def test_tie_citing_an_unknown_source_is_refused(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity]
) -> None:
    body = tie_body(make_source(), citations=[{"source_id": 987654}])
    response = post_json(client, "/api/ties", body, writer_token)
    assert response.status_code == 400
    assert response.json()["detail"] == "citations[0].source_id: no source has the id 987654"
    assert not Tie.objects.exists()


def test_ownership_cycle_is_refused(client: Client, writer_token: str) -> None:
    parent, child = make_entity("Parent"), make_entity("Child")
    make_tie(parent, "owns", child)
    response = post_json(
        client,
        "/api/ties",
        tie_body(make_source(), subject="child", object="parent", kind="owns"),
        writer_token,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("kind:")
    assert "cycle" in response.json()["detail"]
    assert Tie.objects.count() == 1


def test_tie_ends_are_found_by_exact_name_but_not_by_partial_match(
    client: Client, writer_token: str
) -> None:
    make_entity("Acme Holdings")
    make_entity("Border Agency", kind="agency", aliases=["BA"])
    source = make_source()
    by_alias = post_json(
        client, "/api/ties", tie_body(source, subject="acme-holdings", object="ba"), writer_token
    )
    assert by_alias.status_code == 201
    assert by_alias.json()["object"]["slug"] == "border-agency"

    partial = post_json(
        client, "/api/ties", tie_body(source, subject="Acme", object="ba"), writer_token
    )
    assert partial.status_code == 400
    assert partial.json()["detail"].startswith("subject: no entity")
    assert Tie.objects.count() == 1


def test_ambiguous_tie_end_is_refused_listing_candidates(client: Client, writer_token: str) -> None:
    make_entity("Acme", slug="acme-east")
    make_entity("Acme", slug="acme-west")
    make_entity("Agency", kind="agency")
    response = post_json(client, "/api/ties", tie_body(make_source()), writer_token)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("subject:")
    assert "acme-east" in detail and "acme-west" in detail
    assert not Tie.objects.exists()


def test_bad_partial_date_is_refused_naming_the_field(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity]
) -> None:
    response = post_json(
        client, "/api/ties", tie_body(make_source(), end_date="2026-02-30"), writer_token
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("end_date:")
    assert not Tie.objects.exists()


def test_amount_without_currency_is_refused(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity]
) -> None:
    response = post_json(client, "/api/ties", tie_body(make_source(), amount="10"), writer_token)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("currency:")


def test_ending_a_tie_needs_a_citation(client: Client, writer_token: str) -> None:
    tie = make_tie(make_entity("Ring"), "partnership", make_entity("Flock Safety"))
    refused = patch_json(
        client, f"/api/ties/{tie.pk}", {"status": "ended", "end_date": "2026-02"}, writer_token
    )
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("citation:")
    tie.refresh_from_db()
    assert (tie.status, tie.end_date) == ("active", "")

    announcement = make_source("Ring ends Flock partnership", published="2026-02")
    ended = patch_json(
        client,
        f"/api/ties/{tie.pk}",
        {
            "status": "ended",
            "end_date": "2026-02",
            "citation": {"source_id": announcement.pk, "quote": "Ring will cut ties"},
        },
        writer_token,
    )
    assert ended.status_code == 200
    body = ended.json()
    assert (body["status"], body["end_date"]) == ("ended", "2026-02")
    assert [c["source_id"] for c in body["citations"]][-1] == announcement.pk
    tie.refresh_from_db()
    assert (tie.status, tie.end_date) == ("ended", "2026-02")


def test_tie_summary_changes_without_a_citation(client: Client, writer_token: str) -> None:
    tie = make_tie(make_entity(), "hosting", make_entity())
    response = patch_json(
        client, f"/api/ties/{tie.pk}", {"summary": "Hosts its cloud."}, writer_token
    )
    assert response.status_code == 200
    tie.refresh_from_db()
    assert tie.summary == "Hosts its cloud."


def test_tie_patch_that_would_make_a_cycle_is_refused(client: Client, writer_token: str) -> None:
    a, b, c = make_entity("A"), make_entity("B"), make_entity("C")
    make_tie(a, "owns", b)
    tie = make_tie(b, "owns", c)
    response = patch_json(client, f"/api/ties/{tie.pk}", {"object": "a"}, writer_token)
    assert response.status_code == 400
    assert "cycle" in response.json()["detail"]
    tie.refresh_from_db()
    assert tie.object == c


def test_citation_is_added_to_a_tie(client: Client, writer_token: str) -> None:
    tie = make_tie(make_entity(), "hosting", make_entity())
    second = make_source("Second report")
    response = post_json(
        client,
        f"/api/ties/{tie.pk}/citations",
        {"source_id": second.pk, "quote": "hosts", "locator": "para 2"},
        writer_token,
    )
    assert response.status_code == 201
    assert len(response.json()["citations"]) == 2
    assert tie.citations.filter(source=second, locator="para 2").exists()


def test_writes_to_unknown_ties_answer_404(client: Client, writer_token: str) -> None:
    source = make_source()
    assert patch_json(client, "/api/ties/99999", {"summary": "x"}, writer_token).status_code == 404
    assert (
        post_json(
            client, "/api/ties/99999/citations", {"source_id": source.pk}, writer_token
        ).status_code
        == 404
    )


def test_hostile_text_is_stored_as_text(client: Client, writer_token: str) -> None:
    name = "<script>alert(1)</script>'; DROP TABLE evidence_tie; --"
    response = post_json(client, "/api/entities", {"name": name, "kind": "company"}, writer_token)
    assert response.status_code == 201
    assert Entity.objects.get().name == name
    assert Tie.objects.count() == 0


def test_oversized_fields_are_refused_before_the_database(
    client: Client, writer_token: str
) -> None:
    response = post_json(
        client, "/api/entities", {"name": "x" * 100_000, "kind": "company"}, writer_token
    )
    assert response.status_code == 422
    assert not Entity.objects.exists()


def test_oversized_body_is_refused(client: Client, writer_token: str) -> None:
    response = post_json(
        client,
        "/api/entities",
        {"name": "Acme", "kind": "company", "summary": "x" * (10 * 1024 * 1024)},
        writer_token,
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith("body:")
    assert not Entity.objects.exists()


def test_malformed_json_is_refused(client: Client, writer_token: str) -> None:
    response = client.post(
        "/api/entities", "{not json", content_type="application/json", headers=bearer(writer_token)
    )
    assert response.status_code in (400, 422)
    assert not Entity.objects.exists()


def test_text_the_database_cannot_hold_is_refused_naming_the_field(
    client: Client, writer_token: str
) -> None:
    # PostgreSQL stores no NUL character: refused on both databases, before the database.
    response = post_json(
        client,
        "/api/entities",
        {"name": "Acme", "kind": "company", "identifiers": {"uei": ["ABC\u0000"]}},
        writer_token,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("identifiers.uei[0]:")
    assert not Entity.objects.exists()


def test_a_slug_without_letters_or_digits_is_refused(client: Client, writer_token: str) -> None:
    response = post_json(
        client, "/api/entities", {"name": "Acme", "kind": "company", "slug": "!!"}, writer_token
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("slug:")
    assert not Entity.objects.exists()


@pytest.mark.parametrize("amount", ["1250000.5", "1250000.50", 1250000, 1250000.0])
def test_amount_is_a_decimal_string_or_a_whole_number(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity], amount: object
) -> None:
    body = tie_body(make_source(), amount=amount, currency="usd")
    response = post_json(client, "/api/ties", body, writer_token)
    assert response.status_code == 201, response.content
    assert Tie.objects.get().amount is not None


@pytest.mark.parametrize("amount", [1250000.5, "1250000.505", "1e6", " 10", "10,00"])
def test_amount_with_a_fraction_as_a_number_or_in_another_notation_is_refused(
    client: Client, writer_token: str, acme_and_agency: tuple[Entity, Entity], amount: object
) -> None:
    body = tie_body(make_source(), amount=amount, currency="usd")
    response = post_json(client, "/api/ties", body, writer_token)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "amount"]
    assert not Tie.objects.exists()
