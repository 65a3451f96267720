"""Change events: every write path records each change once, with its receipt."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction

from receipts.campaigns.models import DemandStatus, Visibility
from receipts.campaigns.services import change_demand_status
from receipts.contracts.models import ContractAward
from receipts.evidence import services
from receipts.evidence.models import Identifier, Tie, TieStatus
from receipts.ingest.usaspending.importer import import_usaspending
from receipts.watch.models import ChangeEvent, EventEntity, EventKind
from tests.campaigns.factories import cite, make_campaign, make_demand
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

AWARDS_SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "usaspending"
    / "ice_umn_Contracts_PrimeAwardSummaries.csv"
)


def involved(event: ChangeEvent) -> set[int]:
    return set(EventEntity.objects.filter(event=event).values_list("entity_id", flat=True))


def test_saving_a_tie_twice_records_one_tie_added() -> None:
    amazon, palantir = make_entity("Amazon"), make_entity("Palantir")
    source = make_source("Partnership announced", url="https://news.example/p")
    for _ in range(2):
        services.record_tie(
            amazon,
            palantir,
            "partnership",
            citations=[services.CitationInput(source, "a deal", "para 3")],
            ftm_id="tie-amazon-palantir",
        )
    event = ChangeEvent.objects.get()
    assert event.kind == EventKind.TIE_ADDED
    assert event.dedupe_key == "tie_added:tie-amazon-palantir"
    assert event.summary == "New tie: Amazon — partnership — Palantir"
    assert (event.source_title, event.source_url) == (
        "Partnership announced",
        "https://news.example/p",
    )
    assert (event.citation_locator, event.citation_quote) == ("para 3", "a deal")
    assert involved(event) == {amazon.pk, palantir.pk}


def test_a_contract_tie_is_a_new_contract_with_its_amount() -> None:
    tie = make_tie(
        make_entity("Palantir"),
        "contract",
        make_entity("ICE", kind="agency"),
        amount="95900000",
        currency="USD",
        start_date="2022-09",
    )
    event = ChangeEvent.objects.get()
    assert event.kind == EventKind.CONTRACT_NEW
    assert event.tie == tie
    assert event.amount == Decimal("95900000")
    assert event.date == "2022-09"
    assert event.summary == "New contract: Palantir — contract — ICE (USD 95,900,000.00)"


def test_ending_a_tie_records_tie_ended_with_the_citation_that_reports_it() -> None:
    tie = make_tie(make_entity("Ring"), "partnership", make_entity("Flock Safety"))
    report = make_source("Ring cancels Flock deal", url="https://news.example/ring-flock")
    services.end_tie(
        tie,
        citation=services.CitationInput(report, "Ring ended the partnership", "para 1"),
        end_date="2026-02-12",
    )
    ended = ChangeEvent.objects.get(kind=EventKind.TIE_ENDED)
    assert ended.dedupe_key == f"tie_ended:{tie.ftm_id}:2026-02-12"
    assert ended.date == "2026-02-12"
    assert ended.summary == "Tie ended: Ring — partnership — Flock Safety (ended 2026-02-12)"
    assert ended.source_title == "Ring cancels Flock deal"
    assert ended.citation_quote == "Ring ended the partnership"
    assert ended.citation_locator == "para 1"
    # Editing the ended tie again (a new summary) is not another end.
    services.update_tie(tie, summary="Ended the day before the rally.")
    assert ChangeEvent.objects.filter(kind=EventKind.TIE_ENDED).count() == 1


def test_an_event_outlives_the_tie_it_reports() -> None:
    tie = make_tie(make_entity("Target"), "other", make_entity("ICE", kind="agency"))
    services.delete_tie(tie)
    event = ChangeEvent.objects.get()
    assert event.tie is None
    assert event.summary == "New tie: Target — other dealings — ICE"
    assert event.source_title


def test_a_write_that_rolls_back_leaves_no_event() -> None:
    a, b = make_entity("A Corp"), make_entity("B Agency", kind="agency")
    with pytest.raises(RuntimeError), transaction.atomic():
        make_tie(a, "contract", b)
        raise RuntimeError("the request failed after saving")
    assert not Tie.objects.exists()
    assert not ChangeEvent.objects.exists()


def test_bulk_ties_record_new_ties_and_ends_once() -> None:
    parent, child = make_entity("Parent Holdings"), make_entity("Child Ltd")
    source = make_source("Filing", kind="court_filing")

    def spec(status: str, end: str = "") -> services.TieSpec:
        return services.TieSpec(
            subject_id=parent.pk,
            object_id=child.pk,
            kind="owns",
            ftm_id="owns-parent-child",
            citations=[(source.pk, "", "exhibit 21")],
            status=status,
            start_date="2019",
            end_date=end,
        )

    services.record_structural_ties_bulk([spec(TieStatus.ACTIVE)])
    services.record_structural_ties_bulk([spec(TieStatus.ACTIVE)])
    assert list(ChangeEvent.objects.values_list("kind", flat=True)) == [EventKind.TIE_ADDED]
    services.record_structural_ties_bulk([spec(TieStatus.ENDED, "2024")])
    services.record_structural_ties_bulk([spec(TieStatus.ENDED, "2024")])
    ended = ChangeEvent.objects.get(kind=EventKind.TIE_ENDED)
    assert ended.dedupe_key == "tie_ended:owns-parent-child:2024"
    assert ended.citation_locator == "exhibit 21"
    assert involved(ended) == {parent.pk, child.pk}


def test_usaspending_import_records_new_contracts_and_large_awards_once(settings) -> None:
    settings.WATCH_AWARD_THRESHOLD = "10000"
    import_usaspending([AWARDS_SAMPLE])
    regents = Identifier.objects.get(scheme="uei", value="KABJZBBJ4B54").entity
    contracts = ChangeEvent.objects.filter(kind=EventKind.CONTRACT_NEW)
    assert contracts.count() == Tie.objects.filter(kind="contract").count() == 2
    regents_contract = contracts.get(subject=regents)
    assert regents_contract.amount == Decimal("41507.50")
    assert regents_contract.source_url.startswith("https://www.usaspending.gov/award/")
    assert regents.pk in involved(regents_contract)

    large = {
        a.award_key: a
        for a in ContractAward.objects.all()
        if a.summary_obligated_cents is not None and a.summary_obligated_cents >= 1_000_000
    }
    awards = ChangeEvent.objects.filter(kind=EventKind.AWARD_NEW)
    assert {e.citation_locator for e in awards} == set(large)
    assert len(large) >= 2  # 16,000.00 and 11,375.00 among the Regents' awards
    sixteen = awards.get(amount=Decimal("16000.00"))
    assert sixteen.subject == regents
    assert sixteen.summary.startswith("New award: U.S. Immigration and Customs Enforcement to ")
    assert sixteen.source_url.startswith("https://www.usaspending.gov/award/")

    before = ChangeEvent.objects.count()
    import_usaspending([AWARDS_SAMPLE])
    assert ChangeEvent.objects.count() == before


def test_awards_below_the_default_threshold_make_no_award_event() -> None:
    import_usaspending([AWARDS_SAMPLE])
    assert not ChangeEvent.objects.filter(kind=EventKind.AWARD_NEW).exists()
    assert ChangeEvent.objects.filter(kind=EventKind.CONTRACT_NEW).exists()


def test_a_demand_status_change_records_an_event_with_its_receipt() -> None:
    amazon, ring, flock = make_entity("Amazon"), make_entity("Ring"), make_entity("Flock")
    tie = make_tie(ring, "partnership", flock)
    campaign = make_campaign("Amazon: dump ICE", targets=[amazon])
    demand = make_demand(campaign, "Ring: drop Flock", ties=[tie])
    report = make_source("Ring drops Flock")
    change = change_demand_status(
        demand, DemandStatus.MET, date="2026-02-12", citation=cite(report, "Ring said so", "p. 2")
    )
    event = ChangeEvent.objects.get(kind=EventKind.DEMAND_STATUS_CHANGED)
    assert event.dedupe_key == f"demand:{change.pk}"
    assert event.campaign == campaign
    assert event.date == "2026-02-12"
    assert event.summary == "Demand met (was open): “Ring: drop Flock” — Amazon: dump ICE"
    assert (event.source_title, event.citation_locator) == ("Ring drops Flock", "p. 2")
    assert involved(event) == {amazon.pk, ring.pk, flock.pk}


def test_deleting_a_private_campaign_deletes_its_events() -> None:
    campaign = make_campaign("Quiet one", targets=[make_entity("Amazon")])
    campaign.visibility = Visibility.PRIVATE
    campaign.save()
    change_demand_status(
        make_demand(campaign), DemandStatus.WITHDRAWN, date="2026", citation=cite()
    )
    assert ChangeEvent.objects.filter(campaign=campaign).exists()
    campaign.delete()
    assert not ChangeEvent.objects.filter(kind=EventKind.DEMAND_STATUS_CHANGED).exists()


def test_thousands_of_award_events_link_to_their_contract_ties() -> None:
    """An import of a realistic size announces awards of over a thousand recipient x agency pairs."""
    from django.utils import timezone

    from receipts.evidence.models import Entity
    from receipts.watch.queries import event_paths

    agency = make_entity("U.S. Immigration and Customs Enforcement", kind="agency")
    Entity.objects.bulk_create(
        Entity(name=f"Vendor {i}", slug=f"vendor-{i}", ftm_id=f"vendor-{i}", kind="company")
        for i in range(1100)
    )
    vendors = list(Entity.objects.filter(slug__startswith="vendor-").order_by("pk"))
    tied = make_tie(vendors[-1], "contract", agency)
    now = timezone.now()
    ChangeEvent.objects.bulk_create(
        ChangeEvent(
            kind=EventKind.AWARD_NEW,
            dedupe_key=f"award_new:A{i}",
            summary=f"New award {i}",
            occurred_at=now,
            subject=vendor,
            object=agency,
        )
        for i, vendor in enumerate(vendors)
    )
    events = list(ChangeEvent.objects.filter(kind=EventKind.AWARD_NEW).order_by("pk"))
    paths = event_paths(events)
    assert len(paths) == len(events)
    assert paths[events[-1].pk] == f"/ties/{tied.pk}/"
    assert paths[events[0].pk] == f"/entities/{vendors[0].slug}/"
