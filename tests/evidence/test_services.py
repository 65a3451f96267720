import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from receipts.evidence import services
from receipts.evidence.models import Citation, Tie
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


def test_tie_without_citation_is_rejected():
    a, b = make_entity("Acme"), make_entity("Agency", kind="agency")
    with pytest.raises(services.EvidenceError, match="citation"):
        services.record_tie(a, b, "contract", citations=[])
    assert Tie.objects.count() == 0


def test_tie_with_unsaved_source_is_rejected():
    from receipts.evidence.models import Source

    a, b = make_entity(), make_entity()
    with pytest.raises(services.EvidenceError, match="source does not exist"):
        services.record_tie(
            a, b, "partnership", citations=[services.CitationInput(Source(title="x"))]
        )
    assert Tie.objects.count() == 0


def test_tie_is_saved_with_its_citation_in_one_step():
    a, b = make_entity(), make_entity()
    source = make_source("Annual report")
    tie = services.record_tie(
        a, b, "hosting", citations=[services.CitationInput(source, "hosts their cloud", "p. 4")]
    )
    c = Citation.objects.get(tie=tie)
    assert (c.source, c.quote, c.locator) == (source, "hosts their cloud", "p. 4")


def test_last_citation_cannot_be_removed():
    tie = make_tie(make_entity(), "partnership", make_entity())
    with pytest.raises(services.EvidenceError, match="only citation"):
        services.remove_citation(tie.citations.get())
    assert tie.citations.count() == 1


def test_second_citation_can_be_removed():
    tie = make_tie(make_entity(), "partnership", make_entity())
    extra = services.cite_tie(tie, services.CitationInput(make_source(), "more"))
    services.remove_citation(extra)
    assert tie.citations.count() == 1


@pytest.mark.parametrize(
    ("kind", "reverse_kind"),
    [("owns", "owns"), ("part_of", "part_of")],
)
def test_direct_cycle_is_refused(kind, reverse_kind):
    a, b = make_entity("A"), make_entity("B")
    make_tie(a, kind, b)
    with pytest.raises(services.EvidenceError, match="cycle"):
        make_tie(b, reverse_kind, a)
    assert Tie.objects.count() == 1


def test_long_ownership_cycle_is_refused():
    chain = [make_entity(f"Co {i}") for i in range(6)]
    for parent, child in zip(chain, chain[1:], strict=False):
        make_tie(parent, "owns", child)
    with pytest.raises(services.EvidenceError, match="cycle"):
        make_tie(chain[-1], "owns", chain[0])


def test_cycle_through_an_ended_tie_is_still_refused():
    a, b = make_entity("A"), make_entity("B")
    make_tie(a, "owns", b, status="ended", end_date="2020")
    with pytest.raises(services.EvidenceError, match="cycle"):
        make_tie(b, "owns", a)


def test_mixed_ownership_and_part_of_cycle_is_refused():
    # A owns B; A is part of B would put A above and below B.
    a, b = make_entity("A"), make_entity("B")
    make_tie(a, "owns", b)
    with pytest.raises(services.EvidenceError, match="cycle"):
        make_tie(a, "part_of", b)


def test_tie_to_itself_is_refused():
    a = make_entity()
    with pytest.raises(services.EvidenceError, match="itself"):
        make_tie(a, "partnership", a)


def test_non_structural_ties_may_go_both_ways():
    a, b = make_entity(), make_entity()
    make_tie(a, "partnership", b)
    make_tie(b, "partnership", a)
    assert Tie.objects.count() == 2


@pytest.mark.parametrize("value", ["2026", "2026-02", "2026-02-13"])
def test_partial_dates_are_stored_as_given(value):
    tie = make_tie(make_entity(), "contract", make_entity(kind="agency"), start_date=value)
    tie.refresh_from_db()
    assert tie.start_date == value
    with connection.cursor() as cursor:
        cursor.execute("SELECT start_date FROM evidence_tie WHERE id = %s", [tie.pk])
        assert cursor.fetchone()[0] == value


@pytest.mark.parametrize("value", ["2026-13", "2026-02-30", "02/03/26", "26", "2026-2"])
def test_bad_dates_are_refused(value):
    with pytest.raises(ValidationError, match="start_date"):
        make_tie(make_entity(), "contract", make_entity(kind="agency"), start_date=value)


def test_end_before_start_is_refused():
    with pytest.raises(services.EvidenceError, match="before"):
        make_tie(make_entity(), "contract", make_entity(), start_date="2024-05", end_date="2023")


def test_end_in_the_same_year_as_a_precise_start_is_allowed():
    tie = make_tie(
        make_entity(), "contract", make_entity(), start_date="2024-05-02", end_date="2024"
    )
    assert (tie.start_date, tie.end_date) == ("2024-05-02", "2024")


def test_status_change_needs_a_citation():
    tie = make_tie(make_entity(), "partnership", make_entity())
    with pytest.raises(services.EvidenceError, match="citation"):
        services.update_tie(tie, status="ended")
    tie.refresh_from_db()
    assert tie.status == "active"
    services.end_tie(
        tie, citation=services.CitationInput(make_source("They cut ties")), end_date="2026-02"
    )
    tie.refresh_from_db()
    assert (tie.status, tie.end_date, tie.citations.count()) == ("ended", "2026-02", 2)


def test_identifier_names_one_entity():
    make_entity("Amazon", identifiers={"ticker": "AMZN"})
    with pytest.raises(services.EvidenceError, match="already belongs to Amazon"):
        make_entity("Imposter", identifiers={"ticker": "amzn"})


def test_duns_is_left_padded_to_nine_digits():
    e = make_entity("Small Co", identifiers={"duns": "12345"})
    assert e.identifiers.get().value == "000012345"


def test_saving_the_same_ftm_id_twice_updates_one_row():
    first = services.save_entity(name="Acme", kind="company", ftm_id="x-1")
    second = services.save_entity(name="Acme Corp", kind="company", ftm_id="x-1", aliases=["Acme"])
    assert first.pk == second.pk
    second.refresh_from_db()
    assert (second.name, second.aliases) == ("Acme Corp", ["Acme"])


def test_amount_needs_a_currency():
    with pytest.raises(services.EvidenceError, match="currency"):
        make_tie(make_entity(), "contract", make_entity(), amount="100")


def test_entity_with_ties_cannot_be_deleted():
    a = make_entity()
    make_tie(a, "partnership", make_entity())
    with pytest.raises(services.EvidenceError, match="ties"):
        services.delete_entity(a)


def test_cited_source_cannot_be_deleted():
    tie = make_tie(make_entity(), "partnership", make_entity())
    with pytest.raises(services.EvidenceError, match="cited"):
        services.delete_source(tie.citations.get().source)


def test_bulk_structural_ties_refuse_cycles_within_the_batch_and_with_the_database():
    a, b, c = make_entity("A"), make_entity("B"), make_entity("C")
    make_tie(a, "owns", b)
    source = make_source()
    spec = lambda s, o, key: services.TieSpec(  # noqa: E731
        subject_id=s.pk, object_id=o.pk, kind="owns", ftm_id=key, citations=[(source.pk, "", "")]
    )
    ids, refused = services.record_structural_ties_bulk(
        [spec(b, c, "b-c"), spec(c, a, "c-a"), spec(b, a, "b-a")]
    )
    assert list(ids) == ["b-c"]
    assert [r[0].ftm_id for r in refused] == ["c-a", "b-a"]
    assert all("cycle" in why for _spec, why in refused)
    assert Tie.objects.get(ftm_id="b-c").citations.count() == 1


def test_bulk_ties_need_a_citation_each():
    a, b = make_entity(), make_entity()
    with pytest.raises(services.EvidenceError, match="citation"):
        services.record_ties_bulk(
            [
                services.TieSpec(
                    subject_id=a.pk, object_id=b.pk, kind="contract", ftm_id="x", citations=[]
                )
            ]
        )
    assert Tie.objects.count() == 0
