"""Campaign services keep their invariants, whatever calls them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from receipts.campaigns import queries, services
from receipts.campaigns.models import (
    Action,
    CampaignCitation,
    CoalitionMember,
    DemandStatus,
    DemandStatusChange,
    GoalUpdate,
    MemberRole,
)
from receipts.campaigns.services import CampaignError, partial_date_before
from receipts.evidence.services import end_tie
from tests.campaigns.factories import (
    cite,
    make_campaign,
    make_demand,
    make_organisation,
    make_user,
)
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    """A company with a subsidiary, an agency, and two ties of the family to it."""
    acme = make_entity("Acme")
    cloud = make_entity("Acme Cloud")
    agency = make_entity("Border Agency", kind="agency")
    make_tie(acme, "owns", cloud)
    hosting = make_tie(cloud, "hosting", agency, status="active")
    contract = make_tie(acme, "contract", agency, status="active")
    return {
        "acme": acme,
        "cloud": cloud,
        "agency": agency,
        "hosting": hosting,
        "contract": contract,
    }


# --- demand status ------------------------------------------------------------------


def test_status_change_without_citation_is_refused(acme):
    demand = make_demand(make_campaign(targets=[acme["acme"]]))
    with pytest.raises(CampaignError, match="citation"):
        services.change_demand_status(demand, DemandStatus.MET, date="2026", citation=None)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.OPEN
    assert not DemandStatusChange.objects.exists()


def test_status_change_without_date_is_refused(acme):
    demand = make_demand(make_campaign())
    with pytest.raises(CampaignError, match="date"):
        services.change_demand_status(demand, DemandStatus.MET, date="", citation=cite())
    assert not DemandStatusChange.objects.exists()
    with pytest.raises(CampaignError, match="date"):
        services.change_demand_status(demand, DemandStatus.MET, date="26/02/2026", citation=cite())


def test_status_change_records_date_citation_and_decider():
    demand = make_demand(make_campaign())
    user = make_user("organiser")
    source = make_source("Company statement")
    change = services.change_demand_status(
        demand,
        DemandStatus.PARTLY_MET,
        date="2026-03",
        citation=cite(source, "we will end part of it", "para 2"),
        note="Half of it.",
        decided_by=user,
    )
    demand.refresh_from_db()
    assert demand.status == DemandStatus.PARTLY_MET
    assert (change.from_status, change.to_status, change.date, change.decided_by) == (
        "open",
        "partly_met",
        "2026-03",
        user,
    )
    assert [(c.source, c.quote, c.locator) for c in change.citations.all()] == [
        (source, "we will end part of it", "para 2")
    ]


def test_status_change_to_the_same_status_is_refused():
    demand = make_demand(make_campaign())
    with pytest.raises(CampaignError, match="already open"):
        services.change_demand_status(demand, DemandStatus.OPEN, date="2026", citation=cite())


def test_met_is_suggested_only_when_every_linked_tie_has_ended(acme):
    demand = make_demand(
        make_campaign(targets=[acme["acme"]]), ties=[acme["hosting"], acme["contract"]]
    )
    assert not queries.suggests_met(demand)
    end_tie(acme["hosting"], citation=cite(), end_date="2026-02")
    assert not queries.suggests_met(demand)
    end_tie(acme["contract"], citation=cite(), end_date="2026-03")
    assert queries.suggests_met(demand)
    # The suggestion is only a suggestion: nothing changes until an editor confirms.
    demand.refresh_from_db()
    assert demand.status == DemandStatus.OPEN


def test_a_demand_without_ties_is_never_suggested_met():
    assert not queries.suggests_met(make_demand(make_campaign()))


def test_confirm_records_the_citations_that_ended_the_ties(acme):
    demand = make_demand(make_campaign(targets=[acme["acme"]]), ties=[acme["hosting"]])
    statement = make_source("Acme ends hosting", published="2026-02-20")
    end_tie(
        acme["hosting"], citation=cite(statement, "we have ended it", "para 1"), end_date="2026-02"
    )
    editor = make_user("editor")
    change = services.confirm_demand_met(demand, decided_by=editor)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.MET
    assert change.date == "2026-02"  # the tie's end date, as precise as it was recorded
    assert change.decided_by == editor
    assert [(c.source, c.quote, c.locator) for c in change.citations.all()] == [
        (statement, "we have ended it", "para 1")
    ]
    assert not queries.suggests_met(demand)


def test_confirm_without_an_end_date_takes_the_source_date_never_an_invented_one(acme):
    demand = make_demand(make_campaign(), ties=[acme["hosting"]])
    end_tie(acme["hosting"], citation=cite(make_source("Report", published="2026")))
    assert services.confirm_demand_met(demand).date == "2026"


def test_confirm_is_refused_while_a_tie_is_active(acme):
    demand = make_demand(make_campaign(), ties=[acme["hosting"], acme["contract"]])
    end_tie(acme["hosting"], citation=cite(), end_date="2026")
    with pytest.raises(CampaignError, match="not every tie"):
        services.confirm_demand_met(demand)
    assert not DemandStatusChange.objects.exists()


def test_reopen_is_logged_with_its_citation(acme):
    demand = make_demand(make_campaign(), ties=[acme["hosting"]])
    end_tie(acme["hosting"], citation=cite(), end_date="2026")
    services.confirm_demand_met(demand)
    with pytest.raises(CampaignError, match="citation"):
        services.reopen_demand(demand, citation=None, date="2026-05")
    source = make_source("Hosting resumes")
    services.reopen_demand(demand, citation=cite(source), date="2026-05", note="Back on.")
    demand.refresh_from_db()
    assert demand.status == DemandStatus.OPEN
    history = list(demand.history.order_by("id"))
    assert [(h.from_status, h.to_status, h.date) for h in history] == [
        ("open", "met", "2026"),
        ("met", "open", "2026-05"),
    ]
    assert history[1].citations.get().source == source
    with pytest.raises(CampaignError, match="already open"):
        services.reopen_demand(demand, citation=cite(), date="2026-06")


# --- unrelated ties -----------------------------------------------------------------


def test_a_tie_of_an_unrelated_entity_is_allowed_but_flagged(acme):
    stranger = make_tie(make_entity("Initech"), "contract", make_entity("Agency X", kind="agency"))
    campaign = make_campaign(targets=[acme["acme"]])
    demand = make_demand(campaign, ties=[acme["hosting"], stranger])
    assert set(demand.ties.all()) == {acme["hosting"], stranger}
    assert queries.unrelated_tie_ids(campaign, demand.ties.all()) == {stranger.pk}
    exported = queries.campaign_export(campaign)["demands"][0]["ties"]
    flags = {t["id"]: t["related_to_target"] for t in exported}
    # The subsidiary's tie counts as the target's: families roll up.
    assert flags == {acme["hosting"].pk: True, stranger.pk: False}


# --- actions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "before"),
    [
        ("2025-12-01", "2026", True),
        ("2026", "2026-02", False),
        ("2026-01", "2026-02", True),
        ("2026-02", "2026-02-10", False),
        ("2026-02-09", "2026-02-10", True),
        ("2026-03", "2026", False),
        ("2026", "", False),
    ],
)
def test_partial_dates_compare_on_the_precision_they_share(earlier, later, before):
    assert partial_date_before(earlier, later) is before


def _action(campaign, **overrides):
    fields = {
        "kind": "rally",
        "title": "Rally",
        "date": "2026-02-13",
        "citations": [cite()],
        "attendance_min": 200,
        "attendance_max": 250,
    }
    fields.update(overrides)
    return services.record_action(campaign, **fields)


def test_action_before_the_campaign_start_is_refused_and_nothing_saved():
    campaign = make_campaign(start_date="2026-02")
    with pytest.raises(CampaignError, match="before the campaign's start"):
        _action(campaign, date="2025-12-01")
    with pytest.raises(CampaignError, match="before the campaign's start"):
        _action(campaign, date="2026-01")
    assert not Action.objects.exists()
    assert not CampaignCitation.objects.exists()
    # A year holds the start month: not before it.
    assert _action(campaign, date="2026").date == "2026"


@pytest.mark.parametrize(
    ("low", "high", "field"),
    [(-1, 250, "attendance_min"), (200, -5, "attendance_max"), (250, 200, "attendance_max")],
)
def test_negative_or_inverted_attendance_is_refused(low, high, field):
    campaign = make_campaign()
    with pytest.raises(CampaignError, match=field):
        _action(campaign, attendance_min=low, attendance_max=high)
    assert not Action.objects.exists()


def test_action_without_a_citation_is_refused():
    with pytest.raises(CampaignError, match="citation"):
        _action(make_campaign(), citations=[])
    assert not Action.objects.exists()


def test_action_participants_must_be_organisations():
    with pytest.raises(CampaignError, match="not an organisation"):
        _action(make_campaign(), participants=[make_entity("Acme")])


def test_moving_the_start_after_a_logged_action_is_refused():
    campaign = make_campaign()
    _action(campaign, date="2025-12-01")
    with pytest.raises(CampaignError, match="start_date"):
        services.update_campaign(campaign, start_date="2026")
    campaign.refresh_from_db()
    assert campaign.start_date == ""


def test_recording_an_action_under_its_key_twice_updates_it():
    campaign = make_campaign()
    first = _action(campaign, key="fixed", title="Rally")
    second = _action(campaign, key="fixed", title="Rally in the rain")
    assert first.pk == second.pk
    assert Action.objects.get().title == "Rally in the rain"
    assert CampaignCitation.objects.count() == 2  # each call cited a new source


# --- coalition, goals, members ------------------------------------------------------


def test_coalition_holds_organisations_once_each():
    campaign = make_campaign()
    org = make_organisation("Tech Workers")
    services.add_coalition_member(campaign, org)
    services.add_coalition_member(campaign, org, "lead")
    assert list(CoalitionMember.objects.values_list("role", flat=True)) == ["lead"]
    with pytest.raises(CampaignError, match="not an organisation"):
        services.add_coalition_member(campaign, make_entity("Acme"))


def test_goal_counter_moves_only_with_a_citation():
    goal = services.set_goal(make_campaign(), metric="new monthly donors", target=500)
    with pytest.raises(CampaignError, match="citation"):
        services.update_goal_counter(goal, 40, citation=None)
    goal.refresh_from_db()
    assert goal.value == 0
    update = services.update_goal_counter(goal, 40, citation=cite(), note="Donor report")
    goal.refresh_from_db()
    assert (goal.value, goal.percent) == (40, 8)
    assert (update.previous_value, update.value) == (0, 40)
    assert GoalUpdate.objects.get().citations.count() == 1
    with pytest.raises(CampaignError, match="negative"):
        services.update_goal_counter(goal, -1, citation=cite())


def test_goal_needs_a_positive_target_and_takes_no_deadline():
    campaign = make_campaign()
    with pytest.raises(CampaignError, match="target"):
        services.set_goal(campaign, metric="donors", target=0)
    assert services.set_goal(campaign, metric="donors", target=5).deadline == ""


def test_a_count_no_column_holds_is_refused_by_the_service_for_every_caller():
    """Forms and the API both end here: a count past 2**31 - 1 is one error, never an overflow."""
    campaign = make_campaign()
    too_many = 2**31
    with pytest.raises(CampaignError, match="target: 2147483648 is more than 2,147,483,647"):
        services.set_goal(campaign, metric="donors", target=too_many)
    with pytest.raises(CampaignError, match="attendance_max: 2147483648 is more than"):
        _action(campaign, attendance_min=1, attendance_max=too_many)
    goal = services.set_goal(campaign, metric="donors", target=2**31 - 1)
    with pytest.raises(CampaignError, match="value: 99999999999999999999 is more than"):
        services.update_goal_counter(goal, 99999999999999999999, citation=cite())
    goal.refresh_from_db()
    assert (goal.target, goal.value) == (2**31 - 1, 0)
    assert not Action.objects.exists() and not GoalUpdate.objects.exists()


def test_the_last_organiser_stays_one():
    owner = make_user("owner")
    campaign = make_campaign(created_by=owner)
    with pytest.raises(CampaignError, match="last organiser"):
        services.add_campaign_member(campaign, owner, MemberRole.VIEWER)
    with pytest.raises(CampaignError, match="last organiser"):
        services.remove_campaign_member(campaign, owner)
    other = make_user("other")
    services.add_campaign_member(campaign, other, MemberRole.ORGANISER)
    services.add_campaign_member(campaign, owner, MemberRole.VIEWER)


def test_a_campaign_citation_backs_exactly_one_thing():
    campaign = make_campaign()
    action = _action(campaign)
    demand = make_demand(campaign)
    change = services.change_demand_status(demand, "withdrawn", date="2026", citation=cite())
    source = make_source()
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignCitation.objects.create(source=source)
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignCitation.objects.create(source=source, action=action, status_change=change)


def test_campaigns_follow_merges_of_their_entities_and_their_undoing():
    from receipts.ingest.merges import merge_entities, unmerge

    target, duplicate_target = make_entity("Acme"), make_entity("ACME Inc")
    org, duplicate_org = make_organisation("Tech Workers"), make_organisation("Tech Workers Union")
    campaign = make_campaign(targets=[duplicate_target])
    services.add_coalition_member(campaign, org)
    services.add_coalition_member(campaign, duplicate_org)
    _action(campaign, participants=[duplicate_org, org])
    merge = merge_entities(org, duplicate_org)
    merge_entities(target, duplicate_target)
    data = queries.campaign_export(campaign)
    assert [t["name"] for t in data["targets"]] == ["Acme"]
    assert [m["organisation"]["name"] for m in data["coalition"]] == ["Tech Workers"]
    assert [p["name"] for p in data["actions"][0]["participants"]] == ["Tech Workers"]
    # Taking the merged organisation out takes out the rows of both names.
    assert services.remove_coalition_member(campaign, org)
    assert not CoalitionMember.objects.exists()
    services.add_coalition_member(campaign, duplicate_org)
    assert CoalitionMember.objects.get().organisation == org  # stored as the survivor
    unmerge(merge)
    names = [p["name"] for p in queries.campaign_export(campaign)["actions"][0]["participants"]]
    assert sorted(names) == ["Tech Workers", "Tech Workers Union"]
