"""Contract ties follow the periods of performance: ended when every award ran out, reopened
by a modification that extends one, ended by the daily pass as the calendar moves on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from receipts.contracts.models import ContractAward
from receipts.evidence.models import Tie, TieKind, TieStatus
from receipts.fetch.tasks import run_calendar
from receipts.ingest.usaspending.importer import import_usaspending
from receipts.watch.models import ChangeEvent, EventKind
from tests.ingest.csv_files import write_rows

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def import_award(tmp_path: Path, header: list[str], rows: list[dict[str, str]], name: str) -> None:
    import_usaspending([write_rows(tmp_path / name, header, rows)])


def with_period(rows: list[dict[str, str]], current: str, potential: str) -> list[dict[str, str]]:
    return [
        {**r, "period_of_performance_current_end_date": current,
         "period_of_performance_potential_end_date": potential}
        for r in rows
    ]  # fmt: skip


def tie_of(award_key: str) -> Tie:
    award = ContractAward.objects.get(award_key=award_key)
    return Tie.objects.get(
        subject_id=award.recipient_id, object_id=award.sub_agency_id, kind=TieKind.CONTRACT
    )


def test_the_import_stores_periods_and_ends_a_tie_whose_contracts_ran_out(
    one_award, tmp_path: Path
) -> None:
    header, rows = one_award
    key = rows[0]["contract_award_unique_key"]
    import_award(tmp_path, header, with_period(rows, day(-40), day(300)), "ran-out.csv")
    award = ContractAward.objects.get(award_key=key)
    assert (award.current_end_date, award.potential_end_date) == (day(-40), day(300))
    tie = tie_of(key)
    assert (tie.status, tie.end_date) == (TieStatus.ENDED, day(-40))


def test_the_daily_pass_ends_ties_and_a_modification_reopens_them(
    one_award, tmp_path: Path
) -> None:
    header, rows = one_award
    key = rows[0]["contract_award_unique_key"]
    import_award(tmp_path, header, with_period(rows, day(5), day(5)), "running.csv")
    assert tie_of(key).status == TieStatus.ACTIVE

    assert run_calendar(TODAY + dt.timedelta(days=5))["ended"] == 0  # its last day: still running
    result = run_calendar(TODAY + dt.timedelta(days=6))
    assert (result["pairs"], result["ended"]) == (1, 1)
    tie = tie_of(key)
    assert (tie.status, tie.end_date) == (TieStatus.ENDED, day(5))
    event = ChangeEvent.objects.get(kind=EventKind.TIE_ENDED, tie=tie)
    assert event.date == day(5) and f"(ended {day(5)})" in event.summary
    # The receipt is the award's own record.
    assert event.source_id == ContractAward.objects.get(award_key=key).source_id
    assert run_calendar(TODAY + dt.timedelta(days=7))["ended"] == 0  # once

    # A modification extends the period: the tie is open again.
    latest = max(rows, key=lambda r: r["action_date"])
    extension = {
        **latest,
        "contract_transaction_unique_key": latest["contract_transaction_unique_key"] + "_EXT",
        "modification_number": "P00099",
        "action_date": day(0),
        "federal_action_obligation": "1000.00",
        "last_modified_date": f"{day(0)} 12:00:00",
        "period_of_performance_current_end_date": day(200),
        "period_of_performance_potential_end_date": day(400),
    }
    import_award(tmp_path, header, [extension], "extension.csv")
    tie = tie_of(key)
    assert (tie.status, tie.end_date) == (TieStatus.ACTIVE, "")
    assert ContractAward.objects.get(award_key=key).current_end_date == day(200)


def test_an_award_without_an_end_keeps_its_tie_open(one_award, tmp_path: Path) -> None:
    header, rows = one_award
    key = rows[0]["contract_award_unique_key"]
    import_award(tmp_path, header, with_period(rows, "", ""), "no-end.csv")
    assert tie_of(key).status == TieStatus.ACTIVE
    assert run_calendar(TODAY + dt.timedelta(days=3650))["ended"] == 0
    assert tie_of(key).status == TieStatus.ACTIVE


def test_an_ended_contract_tie_stops_flagging_in_screening(one_award, tmp_path: Path) -> None:
    from receipts.evidence.models import Entity
    from receipts.screening.flags import ProfileTies
    from receipts.screening.queries import DEFAULT_KINDS, DEFAULT_STATUSES, ProfileSpec

    header, rows = one_award
    key = rows[0]["contract_award_unique_key"]
    import_award(tmp_path, header, with_period(rows, day(5), day(5)), "running.csv")
    award = ContractAward.objects.get(award_key=key)
    agency = Entity.objects.get(pk=award.sub_agency_id)
    spec = ProfileSpec("Agency", "agency", (agency,), DEFAULT_KINDS, DEFAULT_STATUSES)

    def flagged() -> bool:
        found = ProfileTies(spec).findings([award.recipient])
        return found[award.recipient_id].flagged

    assert flagged()
    run_calendar(TODAY + dt.timedelta(days=6))
    assert not flagged()
