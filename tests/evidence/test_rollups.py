import pytest
from django.db import connection

from receipts.evidence import queries
from receipts.evidence.models import Tie
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


@pytest.fixture
def amazon_case():
    amazon, aws, ring = (
        make_entity("Amazon"),
        make_entity("Amazon Web Services"),
        make_entity("Ring"),
    )
    dhs = make_entity("DHS", kind="agency")
    ice, cbp = make_entity("ICE", kind="agency"), make_entity("CBP", kind="agency")
    flock = make_entity("Flock Safety")
    make_tie(amazon, "owns", aws)
    make_tie(amazon, "owns", ring)
    make_tie(ice, "part_of", dhs)
    make_tie(cbp, "part_of", dhs)
    make_tie(aws, "hosting", ice, status="alleged")
    make_tie(aws, "hosting", cbp, status="alleged")
    make_tie(ring, "partnership", flock, status="ended", end_date="2026")
    return locals()


def test_rollup_finds_subsidiary_ties_to_agency_components(amazon_case):
    c = amazon_case
    found = queries.rollup_ties(c["amazon"], rollup=True, to=c["dhs"])
    assert sorted(r.path_text() for r in found) == [
        "Amazon > Amazon Web Services — hosting — CBP < DHS",
        "Amazon > Amazon Web Services — hosting — ICE < DHS",
    ]
    assert all(r.rolled_up for r in found)


def test_without_rollup_there_are_no_ties_to_the_department(amazon_case):
    c = amazon_case
    assert queries.rollup_ties(c["amazon"], to=c["dhs"]) == []


def test_rollup_leaves_out_ties_inside_the_family(amazon_case):
    c = amazon_case
    kinds = {r.tie.kind for r in queries.rollup_ties(c["amazon"], rollup=True)}
    assert kinds == {"hosting", "partnership"}


def test_own_ties_include_ownership(amazon_case):
    own = queries.rollup_ties(amazon_case["amazon"])
    assert [r.tie.kind for r in own] == ["owns", "owns"]


def test_ended_ownership_does_not_carry_a_rollup():
    parent, sold, agency = (
        make_entity("Parent"),
        make_entity("Sold"),
        make_entity("Agency", kind="agency"),
    )
    make_tie(parent, "owns", sold, status="ended", end_date="2019")
    make_tie(sold, "contract", agency)
    # The ended ownership tie is still a tie of the parent; the contract is not.
    assert [r.tie.kind for r in queries.rollup_ties(parent, rollup=True)] == ["owns"]


def test_rollup_is_bounded_in_depth(settings):
    settings.ROLLUP_MAX_DEPTH = 3
    chain = [make_entity(f"Level {i}") for i in range(6)]
    for parent, child in zip(chain, chain[1:], strict=False):
        make_tie(parent, "owns", child)
    paths = queries.family_paths(chain[0].pk)
    assert set(paths) == {e.pk for e in chain[:4]}
    assert paths[chain[3].pk] == [e.pk for e in chain[:4]]


def test_rollup_survives_a_cycle_written_behind_the_services():
    a, b, c = make_entity("A"), make_entity("B"), make_entity("C", kind="agency")
    make_tie(a, "owns", b)
    make_tie(b, "contract", c)
    # A cycle that bypassed the services (raw SQL, a restored backup).
    t = Tie.objects.create(subject=b, object=a, kind="owns")
    t.citations.create(source=make_source())
    found = queries.rollup_ties(a, rollup=True)
    assert [r.path_text() for r in found] == ["A > B — contract — C"]
    assert [x.name for x in queries.structural_cycles()[0]] in (["A", "B", "A"], ["B", "A", "B"])


def test_member_reached_by_two_paths_appears_once():
    top, left, right, shared = (make_entity(n) for n in ("Top", "Left", "Right", "Shared"))
    agency = make_entity("Agency", kind="agency")
    make_tie(top, "owns", left)
    make_tie(top, "owns", right)
    make_tie(left, "owns", shared)
    make_tie(right, "owns", shared)
    make_tie(shared, "contract", agency)
    found = queries.rollup_ties(top, rollup=True)
    assert len(found) == 1
    assert len(found[0].near_path) == 3


def test_rollup_query_count_grows_with_depth_not_with_size(
    amazon_case, django_assert_max_num_queries
):
    # One query per family level on each side, one for the ties, two prefetches, one for names.
    with django_assert_max_num_queries(12):
        queries.rollup_ties(amazon_case["amazon"], rollup=True, to=amazon_case["dhs"])
    assert connection.vendor in {"sqlite", "postgresql"}


def test_parents_of_shows_the_chain_up():
    a, b, c = make_entity("Ultimate"), make_entity("Middle"), make_entity("Leaf")
    make_tie(a, "owns", b)
    make_tie(b, "owns", c)
    assert [[e.name for e in chain] for chain in queries.parents_of(c)] == [["Middle", "Ultimate"]]


def test_path_reads_from_the_asked_for_side(amazon_case):
    c = amazon_case
    ring_ties = {r.path_text() for r in queries.rollup_ties(c["ring"])}
    assert "Ring — owned by — Amazon" in ring_ties
    assert "Ring — partnership — Flock Safety" in ring_ties
    dhs = {r.path_text() for r in queries.rollup_ties(c["dhs"], rollup=True)}
    assert "DHS > ICE — hosted by — Amazon Web Services" in dhs


def test_the_light_listing_lists_what_rollup_ties_gives_in_the_same_order():
    from receipts.demo import load_demo
    from receipts.evidence.models import Entity
    from receipts.ingest.merges import merge_entities

    load_demo()
    # A merged entity is no end of a tie, in both.
    palantir = Entity.objects.get(slug="palantir-technologies")
    duplicate = make_entity("Palantir Technologies Inc (duplicate)")
    make_tie(
        duplicate, "contract", Entity.objects.get(slug="us-immigration-and-customs-enforcement")
    )
    merge_entities(palantir, duplicate)
    for entity in Entity.objects.filter(merged_into=None):
        for rollup in (False, True):
            full = queries.rollup_ties(entity, rollup=rollup)
            light = queries.tie_listing(entity, rollup=rollup)
            assert [t.pk for t in light] == [r.tie.pk for r in full], (entity.slug, rollup)
            assert [(t.kind, t.amount) for t in light] == [(r.tie.kind, r.tie.amount) for r in full]
