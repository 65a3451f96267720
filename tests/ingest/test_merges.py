"""Reversible merges, review decisions, and how merged entities leave search, rollups and pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.urls import reverse

from receipts.campaigns.models import Action, Campaign, CoalitionMember
from receipts.cli import main
from receipts.contracts.models import ContractAward
from receipts.evidence import queries
from receipts.evidence.models import Citation, Entity, Identifier, Tie
from receipts.evidence.services import EvidenceError
from receipts.ingest.models import EntityMerge, NameOnlyRecipient, ReviewItem
from receipts.ingest.resolution import RecipientRecord, RecipientResolver
from receipts.ingest.services import MOVED_FIELDS, decide_review, merge_entities, unmerge
from receipts.screening.models import ScreeningProfile
from receipts.watch.models import ChangeEvent, Watchlist
from tests.factories import make_editor, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, Any]:
    """Every row a merge may touch, as plain values."""
    return {
        "entities": sorted(
            Entity.objects.values_list("pk", "name", "aliases", "merged_into_id", "search_text")
        ),
        "ties": sorted(Tie.objects.values_list("pk", "subject_id", "object_id", "kind")),
        "identifiers": sorted(Identifier.objects.values_list("pk", "entity_id", "scheme", "value")),
        "citations": sorted(Citation.objects.values_list("pk", "entity_id", "tie_id", "source_id")),
        "awards": sorted(ContractAward.objects.values_list("pk", "recipient_id", "sub_agency_id")),
        "reviews": sorted(
            ReviewItem.objects.values_list(
                "pk", "entity_id", "candidate_id", "status", "decided_at"
            )
        ),
    }


def make_award(key: str, recipient: Entity | None, sub_agency: Entity | None) -> ContractAward:
    return ContractAward.objects.create(award_key=key, recipient=recipient, sub_agency=sub_agency)


@pytest.fixture
def world() -> dict[str, Any]:
    """Two records of one company, each with ties, identifiers, a cited fact, awards, reviews."""
    keep = make_entity("Acme Corporation", aliases=["Acme"], identifiers={"uei": "KEEP00000001"})
    drop = make_entity("ACME CORP", aliases=["Acme Corp."], identifiers={"duns": "000012345"})
    ice = make_entity("U.S. Immigration and Customs Enforcement", kind="agency")
    cbp = make_entity("U.S. Customs and Border Protection", kind="agency")
    parent = make_entity("Acme Holdings Inc")
    other = make_entity("Acme Systems Inc")
    make_tie(keep, "contract", ice)
    dropped_ties = [
        make_tie(drop, "contract", cbp),
        make_tie(drop, "hosting", ice),
        make_tie(parent, "owns", drop),
    ]
    source = make_source()
    fact = Citation.objects.create(
        source=source, entity=drop, quote="Acme Corp, a Delaware company"
    )
    awards = [make_award("A1", drop, cbp), make_award("A2", keep, ice)]
    reviews = [
        ReviewItem.objects.create(entity=drop, candidate=keep, score=100, reason="same key"),
        ReviewItem.objects.create(entity=drop, candidate=other, score=88, reason="alike"),
        ReviewItem.objects.create(entity=other, candidate=drop, score=88, reason="alike"),
    ]
    return {
        "keep": keep, "drop": drop, "ice": ice, "cbp": cbp, "parent": parent, "other": other,
        "dropped_ties": dropped_ties, "fact": fact, "awards": awards, "reviews": reviews,
    }  # fmt: skip


def test_merge_moves_everything_and_unmerge_restores_it_exactly(world: dict[str, Any]) -> None:
    keep, drop = world["keep"], world["drop"]
    before = snapshot()
    user = make_editor()
    merge = merge_entities(keep, drop, decided_by=user, reason="same company")

    drop.refresh_from_db()
    keep.refresh_from_db()
    assert drop.merged_into == keep
    assert not Tie.objects.filter(models.Q(subject=drop) | models.Q(object=drop)).exists()
    assert {t.pk for t in keep.ties_out.all()} >= {t.pk for t in world["dropped_ties"][:2]}
    assert Tie.objects.get(pk=world["dropped_ties"][2].pk).object == keep
    assert set(keep.identifiers.values_list("value", flat=True)) == {"KEEP00000001", "000012345"}
    assert not drop.identifiers.exists()
    assert Citation.objects.get(pk=world["fact"].pk).entity == keep
    assert ContractAward.objects.get(award_key="A1").recipient == keep
    assert ContractAward.objects.get(award_key="A2").sub_agency == world["ice"]
    assert keep.aliases == ["Acme", "ACME CORP", "Acme Corp."]
    assert "\nacme corp.\n" in keep.search_text and "\n000012345\n" in keep.search_text
    pair, with_other, other_with = (ReviewItem.objects.get(pk=r.pk) for r in world["reviews"])
    assert pair.status == ReviewItem.Status.MERGED and pair.decided_by == user
    assert pair.decided_at is not None
    assert (with_other.entity, other_with.candidate) == (keep, keep)
    assert merge.moved["tie.subject"] == sorted(t.pk for t in world["dropped_ties"][:2])
    assert merge.moved["tie.object"] == [world["dropped_ties"][2].pk]
    assert merge.moved["contractaward.recipient"] == [world["awards"][0].pk]
    assert (merge.keep, merge.dropped, merge.decided_by, merge.reason) == (
        keep, drop, user, "same company",
    )  # fmt: skip

    unmerge(merge, decided_by=user)
    after = snapshot()
    assert after == before
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == user


def test_merge_refused_when_a_tie_joins_the_two(world: dict[str, Any]) -> None:
    keep, drop = world["keep"], world["drop"]
    tie = make_tie(drop, "partnership", keep)
    before = snapshot()
    with pytest.raises(EvidenceError, match=rf"tie {tie.pk} \(ACME CORP — partnership — Acme"):
        merge_entities(keep, drop)
    assert snapshot() == before
    assert not EntityMerge.objects.exists()


def test_merge_refused_when_an_ownership_tie_would_close_a_cycle() -> None:
    keep = make_entity("Acme Corporation")
    middle = make_entity("Acme Middle LLC")
    drop = make_entity("ACME CORP")
    make_tie(keep, "owns", middle)
    owning = make_tie(middle, "owns", drop)
    with pytest.raises(EvidenceError, match=rf"tie {owning.pk} .*cycle"):
        merge_entities(keep, drop)
    assert Entity.objects.get(pk=drop.pk).merged_into is None
    assert Tie.objects.get(pk=owning.pk).object == drop


def test_merges_of_merged_entities_are_refused(world: dict[str, Any]) -> None:
    keep, drop = world["keep"], world["drop"]
    merge_entities(keep, drop)
    with pytest.raises(EvidenceError, match="already merged"):
        merge_entities(world["other"], drop)
    with pytest.raises(EvidenceError, match="already merged"):
        merge_entities(drop, world["other"])
    with pytest.raises(EvidenceError, match="into itself"):
        merge_entities(keep, keep)


def test_unmerge_twice_is_refused_and_later_merges_are_undone_first(world: dict[str, Any]) -> None:
    keep, drop, other = world["keep"], world["drop"], world["other"]
    first = merge_entities(keep, drop)
    second = merge_entities(other, keep)
    with pytest.raises(EvidenceError, match=f"undo merge {second.pk} first"):
        unmerge(first)
    unmerge(second)
    unmerge(first)
    with pytest.raises(EvidenceError, match="already undone"):
        unmerge(first)
    assert not Entity.objects.filter(merged_into__isnull=False).exists()


def test_merged_entity_leaves_search_and_resolution(world: dict[str, Any]) -> None:
    keep, drop = world["keep"], world["drop"]
    assert drop in queries.search_entities("acme corp")
    merge_entities(keep, drop)
    assert drop not in queries.search_entities("acme")
    assert drop not in queries.search_entities("ACME CORP")
    assert queries.resolve_entity("ACME CORP") == keep  # through the alias it left behind
    assert queries.resolve_entity("000012345") == keep  # its identifier moved too


def test_ties_to_a_merged_entity_leave_rollups() -> None:
    keep, drop = make_entity("Acme Corporation"), make_entity("ACME CORP")
    ice = make_entity("ICE", kind="agency")
    merge_entities(keep, drop)
    tie = make_tie(drop, "contract", ice)  # written to the dropped entity after the merge
    assert tie not in [rt.tie for rt in queries.rollup_ties(ice)]
    assert queries.rollup_ties(ice, to=drop) == []


def test_entity_page_of_a_merged_entity_redirects_to_the_survivor(client: Client) -> None:
    keep, drop = make_entity("Acme Corporation"), make_entity("ACME CORP")
    first = make_entity("Acme Corp of Delaware")
    merge_entities(drop, first)
    merge_entities(keep, drop)
    response = client.get(reverse("entity", args=[first.slug]) + "?rollup=1")
    assert response.status_code == 302
    assert response["Location"] == reverse("entity", args=[keep.slug]) + "?rollup=1"
    assert client.get(reverse("entity", args=[keep.slug])).status_code == 200


def test_deciding_a_review_merges_or_keeps_apart_once(world: dict[str, Any]) -> None:
    user = make_editor()
    pair, with_other, _other_with = world["reviews"]
    assert decide_review(with_other, merge=False, decided_by=user) is None
    with_other.refresh_from_db()
    assert with_other.status == ReviewItem.Status.DISTINCT
    assert with_other.decided_by == user and with_other.decided_at is not None
    with pytest.raises(EvidenceError, match="already decided"):
        decide_review(with_other, merge=True, decided_by=user)
    merge = decide_review(pair, merge=True, decided_by=user)
    assert merge is not None
    assert (merge.keep, merge.dropped) == (world["keep"], world["drop"])
    assert f"review item {pair.pk}" in merge.reason
    pair.refresh_from_db()
    assert pair.status == ReviewItem.Status.MERGED and pair.decided_by == user
    unmerge(merge)
    pair.refresh_from_db()
    assert pair.status == ReviewItem.Status.PENDING and pair.decided_by is None


def test_a_merged_name_only_recipient_resolves_to_the_survivor() -> None:
    rec = RecipientRecord(uei="", duns="", name="Acme Widgets LLC")
    first = RecipientResolver().resolve_many([rec])[rec]
    keep = make_entity("Acme Widgets, L.L.C.", identifiers={"uei": "ABCDEFGHJK12"})
    merge_entities(keep, first)
    assert RecipientResolver().resolve_many([rec])[rec] == keep
    assert NameOnlyRecipient.objects.get().entity == first  # the memo stays; merged_into leads on


def test_every_reference_to_an_entity_is_handled_by_merges() -> None:
    handled = {(model, field) for _key, model, field in MOVED_FIELDS}
    # Kept on purpose: the merge log, the name memo (followed through merged_into), the merge link.
    kept = {
        (EntityMerge, "keep"),
        (EntityMerge, "dropped"),
        (NameOnlyRecipient, "entity"),
        (Entity, "merged_into"),
        # Campaigns follow merged_into when read, so a merge moves nothing there.
        (Campaign, "targets"),
        (CoalitionMember, "organisation"),
        (Action, "participants"),
        # Change events record who was involved then; watchlists follow merged_into when read.
        (ChangeEvent, "entities"),
        (Watchlist, "entities"),
        # Screening profiles follow merged_into when read.
        (ScreeningProfile, "agencies"),
    }
    for relation in Entity._meta.related_objects:
        pair = (relation.related_model, relation.field.name)
        assert pair in handled | kept, f"{pair} points at entities: merges must move it or keep it"


# --- command line -------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_review_lists_merges_and_undoes(world: dict[str, Any]) -> None:
    pair = world["reviews"][0]
    listed = run("review", "--format", "json")
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.output)["pending"]
    assert [i["id"] for i in items] == [pair.pk, world["reviews"][1].pk, world["reviews"][2].pk]
    assert items[0]["entity"]["name"] == "ACME CORP" and items[0]["score"] == 100
    table = run("review", "list")
    assert "ACME CORP" in table.output and "Acme Corporation" in table.output

    merged = run("review", "merge", str(pair.pk))
    assert merged.exit_code == 0, merged.output
    merge = EntityMerge.objects.get()
    assert f"merge {merge.pk}: ACME CORP merged into Acme Corporation" in merged.output
    assert Entity.objects.get(pk=world["drop"].pk).merged_into == world["keep"]
    log = json.loads(run("review", "log", "--format", "json").output)["merges"]
    assert [(m["id"], m["undone_at"]) for m in log] == [(merge.pk, None)]
    assert "ACME CORP → Acme Corporation" in run("review", "log").output

    undone = run("review", "unmerge", str(merge.pk))
    assert undone.exit_code == 0, undone.output
    assert Entity.objects.get(pk=world["drop"].pk).merged_into is None

    kept = run("review", "distinct", str(pair.pk))
    assert kept.exit_code == 0
    assert ReviewItem.objects.get(pk=pair.pk).status == ReviewItem.Status.DISTINCT


def test_cli_review_errors_are_one_line() -> None:
    result = CliRunner().invoke(main, ["review", "merge", "999999"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: no review item 999999"
    keep, drop = make_entity("Acme Corporation"), make_entity("ACME CORP")
    make_tie(drop, "partnership", keep)
    item = ReviewItem.objects.create(entity=drop, candidate=keep, score=100, reason="same key")
    refused = CliRunner().invoke(main, ["review", "merge", str(item.pk)])
    assert refused.exit_code == 1
    assert len(refused.output.strip().splitlines()) == 1 and "itself" in refused.output
    assert "No merges yet." in run("review", "log").output


# --- editor page --------------------------------------------------------------------------


def test_review_page_needs_an_editor(world: dict[str, Any]) -> None:
    client = Client()
    url = reverse("review")
    assert client.get(url).status_code == 302  # to the log-in page
    client.force_login(User.objects.create_user("reader", password="pw-for-tests-only"))
    assert client.get(url).status_code == 403
    decide = reverse("review-decide", args=[world["reviews"][0].pk])
    assert client.post(decide, {"action": "merge"}).status_code == 403
    assert Entity.objects.get(pk=world["drop"].pk).merged_into is None


def test_editor_merges_and_undoes_from_the_review_page(world: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    editor = make_editor()
    client.force_login(editor)
    page = client.get(reverse("review"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ACME CORP" in html and "Keep apart" in html and "<script>" not in html
    assert 'style="' not in html
    pair = world["reviews"][0]
    decide = reverse("review-decide", args=[pair.pk])
    assert client.post(decide, {"action": "merge"}).status_code == 403  # no CSRF token
    assert client.get(decide).status_code == 405
    token = client.cookies["csrftoken"].value
    response = client.post(decide, {"action": "merge", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == reverse("review")
    merge = EntityMerge.objects.get()
    assert merge.decided_by == editor and merge.dropped == world["drop"]
    log = client.get(reverse("review")).content.decode()
    assert "Undo" in log and editor.username in log

    undo = reverse("merge-undo", args=[merge.pk])
    response = client.post(undo, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    merge.refresh_from_db()
    assert merge.undone_by == editor
    assert Entity.objects.get(pk=world["drop"].pk).merged_into is None
    again = client.post(undo, {"csrfmiddlewaretoken": token}, follow=True)
    assert "already undone" in again.content.decode()


def test_keep_apart_from_the_review_page(world: dict[str, Any]) -> None:
    client = Client()
    client.force_login(make_editor())
    item = world["reviews"][1]
    response = client.post(
        reverse("review-decide", args=[item.pk]), {"action": "distinct"}, follow=True
    )
    assert response.status_code == 200 and "apart" in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).status == ReviewItem.Status.DISTINCT
    assert not EntityMerge.objects.exists()
