"""Entity resolution of contract recipients: identifiers link, names only queue for review."""

from __future__ import annotations

import pytest
from django.db import transaction

from receipts.evidence.models import Entity, Identifier
from receipts.evidence.services import EvidenceError
from receipts.ingest.merges import merge_entities
from receipts.ingest.models import EntityMerge, NameOnlyRecipient, ReviewItem
from receipts.ingest.resolution import (
    MATCH_THRESHOLD,
    REVIEW_THRESHOLD,
    RecipientRecord,
    RecipientResolver,
    cluster_names,
    name_key,
    names_match,
)
from tests.factories import make_entity

UEI = "ABCDEFGHJK12"
OTHER_UEI = "ZYXWVUTSRQ98"


def record(name: str, uei: str = "", duns: str = "", cage: str = "") -> RecipientRecord:
    return RecipientRecord(uei=uei, duns=duns, name=name, cage=cage)


def identifiers_of(entity: Entity) -> set[tuple[str, str]]:
    return set(entity.identifiers.values_list("scheme", "value"))


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "ACME CORP",
        "ACME CORPORATION",
        "Acme Corp.",
        "ACME, CORP.",
        "ACME  CORP.",
        "THE ACME CORP",
        "ACME CORP (DBA ACME SYSTEMS)",
        "ACME CORP DBA ACME",
        "ACME CORP D/B/A ACME SYSTEMS",
        "Acme Corp d.b.a. Acme Systems",
    ],
)
def test_spellings_of_one_name_share_a_key(variant: str) -> None:
    assert name_key(variant) == name_key("ACME CORP") == "acme corp"
    assert names_match(variant, "Acme Corporation") == 100


def test_legal_forms_are_kept_in_one_spelling() -> None:
    assert (
        name_key("Acme Systems, Incorporated") == name_key("ACME SYSTEMS INC") == "acme systems inc"
    )
    assert name_key("Acme Systems, L.L.C.") == name_key("ACME SYSTEMS LLC") == "acme systems llc"
    assert name_key("ACME LIMITED") == name_key("Acme Ltd.")
    assert name_key("ACME COMPANY") == name_key("Acme Co.")
    assert name_key("Acme L.P.") == name_key("ACME LP")
    assert name_key("GÓMEZ & PEÑA SERVICES, INC.") == "gomez and pena services inc"


def test_different_legal_forms_never_match() -> None:
    assert names_match("ACME SYSTEMS INC", "ACME SYSTEMS LLC") == 0
    assert names_match("ACME CORP", "ACME INC") == 0
    assert names_match("Acme Systems, Incorporated", "Acme Systems, L.L.C.") == 0


def test_look_alikes_are_worth_a_review_but_never_a_match() -> None:
    for a, b in [
        ("ACME SYSTEM INC", "ACME SYSTEMS INC"),  # a plural
        ("ACME SYSTEMS INC", "ACME SYSTEMS USA INC"),  # a word more
        ("NORTH AMERICAN ACME SOLUTIONS EAST INC", "NORTH AMERICAN ACME SOLUTIONS WEST INC"),
    ]:
        score = names_match(a, b)
        assert REVIEW_THRESHOLD <= score < MATCH_THRESHOLD, (a, b, score)
    assert names_match("ACME 1 LLC", "ACME 2 LLC") == 0


def test_a_legal_form_left_out_on_one_side_matches() -> None:
    # Parent names and older records often drop the form: the real 2018-era
    # sample names one DUNS both "ESCGOV" and "ESCGOV  INC.".
    assert names_match("ACME SYSTEMS", "ACME SYSTEMS INC") >= MATCH_THRESHOLD
    assert (
        names_match("L & R MANUFACTURING CO INC", "L AND R MANUFACTURING COMPANY")
        >= MATCH_THRESHOLD
    )
    assert names_match("ACME SYSTEMS", "ACME SYSTEM INC") < MATCH_THRESHOLD
    assert names_match("CEIA USA LTD", "CEIA USA LLC") == 0


def test_a_misspelling_in_a_long_name_matches() -> None:
    a, b = "NORTHROP ACME TECHNOLOGY SOLUTIONS INC", "NORTHROP ACME TECHNOLOGY SOLUTOINS INC"
    assert names_match(a, b) >= MATCH_THRESHOLD
    assert names_match("ACME TECH INC", "ACMETECH INC") >= MATCH_THRESHOLD


def test_cluster_names_groups_spellings_and_keeps_confusers_apart() -> None:
    clusters = cluster_names(
        [
            "ACME CORP",
            "ACME CORPORATION",
            "Acme Corp.",
            "ACME CORP (DBA ACME SYSTEMS)",
            "ACME SYSTEMS INC",
            "ACME SYSTEMS, INC.",
            "ACME SYSTEMS LLC",
            "ACME SYSTEM INC",
        ]
    )
    assert sorted(sorted(c) for c in clusters) == [
        ["ACME CORP", "ACME CORP (DBA ACME SYSTEMS)", "ACME CORPORATION", "Acme Corp."],
        ["ACME SYSTEM INC"],
        ["ACME SYSTEMS INC", "ACME SYSTEMS, INC."],
        ["ACME SYSTEMS LLC"],
    ]


# --- resolving --------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_a_known_uei_links_to_its_entity() -> None:
    acme = make_entity("Acme Corporation", identifiers={"uei": UEI})
    resolver = RecipientResolver()
    rec = record("ACME CORP", uei=UEI.lower())
    result = resolver.resolve_many([rec])
    assert result[rec] == acme
    assert (resolver.created, resolver.linked, resolver.queued) == (0, 1, 0)
    acme.refresh_from_db()
    assert acme.aliases == ["ACME CORP"]
    assert "\nacme corp\n" in acme.search_text


@pytestmark_db
def test_a_uei_of_a_merged_entity_links_to_the_survivor() -> None:
    keep = make_entity("Acme Corporation")
    drop = make_entity("Acme Corp", identifiers={"uei": UEI})
    merge_entities(keep, drop)
    rec = record("ACME CORP", uei=UEI)
    assert RecipientResolver().resolve_many([rec])[rec] == keep


@pytestmark_db
def test_a_known_duns_links_with_its_zeros_restored_and_gains_the_uei() -> None:
    acme = make_entity("Acme Corporation", identifiers={"duns": "000012345"})
    rec = record("ACME CORP", uei=UEI, duns="12345")
    resolver = RecipientResolver()
    assert resolver.resolve_many([rec])[rec] == acme
    assert identifiers_of(acme) == {("duns", "000012345"), ("uei", UEI)}
    assert resolver.created == 0
    acme.refresh_from_db()
    assert f"\n{UEI.lower()}\n" in acme.search_text


@pytestmark_db
def test_a_duns_link_keeps_the_entitys_own_uei() -> None:
    acme = make_entity("Acme Corporation", identifiers={"duns": "000012345", "uei": OTHER_UEI})
    rec = record("ACME CORP", uei=UEI, duns="000012345")
    assert RecipientResolver().resolve_many([rec])[rec] == acme
    assert identifiers_of(acme) == {("duns", "000012345"), ("uei", OTHER_UEI)}
    assert not Identifier.objects.filter(value=UEI).exists()


@pytestmark_db
def test_name_variants_of_one_uei_make_one_entity_with_aliases() -> None:
    records = [
        record("ACME CORP", uei=UEI, duns="12345", cage="1abc2"),
        record("ACME CORP", uei=UEI, duns="012345"),  # the same DUNS, written differently
        record("Acme Corporation", uei=UEI),
        record("ACME CORP (DBA ACME SYSTEMS)", uei=UEI),
    ]
    resolver = RecipientResolver()
    result = resolver.resolve_many([*records, records[0]])
    entities = set(result.values())
    assert len(entities) == 1 and len(result) == 4
    acme = entities.pop()
    assert acme.name == "ACME CORP"  # the most common spelling
    assert acme.kind == "company"
    assert sorted(acme.aliases) == ["ACME CORP (DBA ACME SYSTEMS)", "Acme Corporation"]
    assert identifiers_of(acme) == {("uei", UEI), ("duns", "000012345"), ("cage", "1ABC2")}
    assert (resolver.created, resolver.queued) == (1, 0)
    # A later file adds its spelling, keeping the others.
    resolver.resolve_many([record("Acme Corp.", uei=UEI)])
    acme.refresh_from_db()
    assert sorted(acme.aliases) == [
        "ACME CORP (DBA ACME SYSTEMS)",
        "Acme Corp.",
        "Acme Corporation",
    ]


@pytestmark_db
def test_records_without_uei_join_the_entity_of_their_duns_in_the_same_call() -> None:
    old, new = record("ACME CORP", duns="12345"), record("ACME CORP", uei=UEI, duns="12345")
    result = RecipientResolver().resolve_many([old, new])
    assert result[old] == result[new]
    assert Entity.objects.count() == 1


@pytestmark_db
def test_inc_and_llc_of_the_same_name_stay_two_entities_without_review() -> None:
    inc, llc = record("ACME SYSTEMS INC", uei=UEI), record("ACME SYSTEMS LLC", uei=OTHER_UEI)
    resolver = RecipientResolver()
    result = resolver.resolve_many([inc, llc])
    assert result[inc] != result[llc]
    assert resolver.queued == 0 and not ReviewItem.objects.exists()


@pytestmark_db
def test_a_name_like_an_existing_entity_makes_a_new_entity_and_a_pending_review() -> None:
    existing = make_entity("Acme Systems, Inc.", identifiers={"uei": UEI})
    rec = record("ACME SYSTEMS INC")  # no UEI, no DUNS: the name alone
    resolver = RecipientResolver()
    entity = resolver.resolve_many([rec])[rec]
    assert entity != existing
    assert entity.merged_into is None and existing.merged_into is None
    item = ReviewItem.objects.get()
    assert (item.entity, item.candidate, item.status) == (
        entity,
        existing,
        ReviewItem.Status.PENDING,
    )
    assert item.score == 100 and "no UEI or DUNS" in item.reason
    assert resolver.queued == 1
    assert not EntityMerge.objects.exists()


@pytestmark_db
def test_a_similar_name_with_another_uei_queues_a_review_with_its_score() -> None:
    existing = make_entity("ACME SYSTEMS INC", aliases=["Acme Systems, Incorporated"])
    rec = record("ACME SYSTEM INC", uei=UEI)
    entity = RecipientResolver().resolve_many([rec])[rec]
    item = ReviewItem.objects.get()
    assert (item.entity, item.candidate) == (entity, existing)
    assert REVIEW_THRESHOLD <= item.score < MATCH_THRESHOLD
    assert "different UEI or DUNS" in item.reason


@pytestmark_db
def test_an_unrelated_name_queues_nothing() -> None:
    make_entity("Zenith Logistics LLC")
    make_entity("Acme Systems LLC", kind="agency")  # another kind is not a candidate
    RecipientResolver().resolve_many([record("ACME SYSTEMS LLC", uei=UEI)])
    assert not ReviewItem.objects.exists()


@pytestmark_db
def test_a_name_only_record_finds_its_entity_again_on_the_next_import() -> None:
    rec = record("Acme Widgets LLC")
    first = RecipientResolver().resolve_many([rec])[rec]
    again = RecipientResolver().resolve_many([record("ACME WIDGETS, L.L.C."), rec])
    assert set(again.values()) == {first}
    assert Entity.objects.count() == 1
    assert NameOnlyRecipient.objects.get().entity == first
    first.refresh_from_db()
    # Named by the spelling that sorts first, whichever import brought it.
    assert (first.name, first.aliases) == ("ACME WIDGETS, L.L.C.", ["Acme Widgets LLC"])


@pytestmark_db
def test_resolving_the_same_records_twice_creates_nothing_new() -> None:
    make_entity("Acme Systems Inc", identifiers={"uei": OTHER_UEI})
    records = [
        record("ACME CORP", uei=UEI, duns="12345"),
        record("Acme Corporation", duns="12345"),
        record("ACME SYSTEMS INC"),
        record("ACME SYSTEMS, INC."),
        record("ZENITH LLC", duns="999"),
    ]
    first = RecipientResolver()
    before = first.resolve_many(records)
    counts = (Entity.objects.count(), Identifier.objects.count(), ReviewItem.objects.count())
    snapshot = {e.pk: (e.name, sorted(e.aliases), e.search_text) for e in Entity.objects.all()}
    second = RecipientResolver()
    after = second.resolve_many(list(reversed(records)))
    assert after == before
    assert (second.created, second.queued, second.linked) == (0, 0, len(records))
    assert (
        Entity.objects.count(),
        Identifier.objects.count(),
        ReviewItem.objects.count(),
    ) == counts
    assert {
        e.pk: (e.name, sorted(e.aliases), e.search_text) for e in Entity.objects.all()
    } == snapshot


@pytestmark_db
def test_new_entities_of_one_call_are_reviewed_against_each_other() -> None:
    a, b = record("ACME SYSTEMS INC", uei=UEI), record("Acme Systems, Inc.", uei=OTHER_UEI)
    resolver = RecipientResolver()
    result = resolver.resolve_many([a, b])
    item = ReviewItem.objects.get()
    assert {item.entity, item.candidate} == {result[a], result[b]}
    assert resolver.created == 2 and resolver.queued == 1


@pytestmark_db
def test_a_record_with_nothing_to_resolve_is_refused() -> None:
    with pytest.raises(EvidenceError, match="no UEI, no DUNS and no name"):
        RecipientResolver().resolve_many([record("  ")])
    assert not Entity.objects.exists()


@pytestmark_db
def test_resolving_many_records_takes_a_few_queries(django_assert_max_num_queries) -> None:
    make_entity("Acme Holdings Inc", identifiers={"uei": "HOLD00000001"})
    records = [
        record(f"COMPANY {i} SOLUTIONS INC", uei=f"U{i:011d}", duns=str(i)) for i in range(1, 3001)
    ]
    records += [record(f"NAMED ONLY {i} LLC") for i in range(1, 501)]
    resolver = RecipientResolver()
    with django_assert_max_num_queries(120):
        result = resolver.resolve_many(records)
    assert len(set(result.values())) == 3500
    with django_assert_max_num_queries(60):
        again = RecipientResolver().resolve_many(records)
    assert again == result


@pytest.mark.django_db
def test_the_name_of_a_new_entity_does_not_depend_on_the_order_of_the_records() -> None:
    spellings = ["Omega Systems, Incorporated", "OMEGA SYSTEMS INC", "Omega Systems Inc."]
    names = set()
    for order in (spellings, spellings[::-1], spellings[1:] + spellings[:1]):
        Entity.objects.all().delete()
        records = [RecipientRecord(uei="OMEGA0000001", duns="", name=n) for n in order]
        found = RecipientResolver().resolve_many(records)
        assert len({e.pk for e in found.values()}) == 1
        names.add(next(iter(found.values())).name)
    assert len(names) == 1


def _queue() -> set[tuple[frozenset[str], float]]:
    """The pending pairs, by UEI, with their scores. Which of a pair is the one to merge
    is left out: with no records stored (only the resolver runs here), an entity made
    by an earlier call counts as an editor's; the importer tests check the direction."""
    uei = dict(Identifier.objects.filter(scheme="uei").values_list("entity_id", "value"))
    return {
        (frozenset((uei[i.entity_id], uei[i.candidate_id])), round(i.score, 3))
        for i in ReviewItem.objects.filter(status=ReviewItem.Status.PENDING)
    }


@pytestmark_db
@pytest.mark.parametrize("order", [(0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (2, 0, 4, 1, 3)])
def test_the_review_queue_is_the_same_whichever_look_alike_comes_first(
    order: tuple[int, ...],
) -> None:
    look_alikes = [
        record(name, uei=f"ACMEDS00000{n}")
        for n, name in enumerate(
            [
                "ACME DETENTION SERVICES LLC",
                "ACME DETENTION SERVICE LLC",
                "ACME DETENTIONS SERVICES LLC",
                "ACME DETENTON SERVICES LLC",
                "ACME DETENTION SVCS LLC",
            ]
        )
    ]
    with transaction.atomic():
        RecipientResolver().resolve_many(look_alikes)
        together = _queue()
        transaction.set_rollback(True)
    for i in order:  # one import each: a newcomer may push an older pair out of the queue
        RecipientResolver().resolve_many([look_alikes[i]])
    assert _queue() == together
    # Each entity keeps at most MAX_CANDIDATES look-alikes of its own choosing.
    assert 0 < len(together) < 10
