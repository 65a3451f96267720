"""contract_ending warnings: ahead of each award's current end, at each watchlist's lead times."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core import mail

from receipts.contracts.models import ContractAward
from receipts.fetch.tasks import run_calendar
from receipts.watch import services as watch
from receipts.watch.delivery import send_pending
from receipts.watch.models import EventKind
from receipts.watch.queries import events_for
from tests.fetch.test_contract_ends import day, import_award, with_period

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def test_watchlists_hear_of_a_contract_ending_at_their_lead_times(
    one_award, tmp_path: Path
) -> None:
    header, rows = one_award
    key = rows[0]["contract_award_unique_key"]
    rows = [{**r, "awarding_sub_agency_code": "7012",
             "awarding_sub_agency_name": "U.S. Immigration and Customs Enforcement",
             "awarding_agency_code": "070",
             "awarding_agency_name": "Department of Homeland Security"}
            for r in with_period(rows, day(100), day(800))]  # fmt: skip
    import_award(tmp_path, header, rows, "ending.csv")
    award = ContractAward.objects.get(award_key=key)
    default = watch.create_watchlist(
        "Default", entities=[award.recipient], emails=["o@example.org"]
    )
    late = watch.create_watchlist("Late", entities=[award.recipient])
    late.ending_warning_days = [30]
    late.save()

    assert run_calendar(TODAY)["warnings"] == 1
    (event,) = events_for(default).filter(kind=EventKind.CONTRACT_ENDING)
    obligated = sum(int(round(float(r["federal_action_obligation"]) * 100)) for r in rows) / 100
    assert event.summary == (
        f"Award {award.piid} to {award.recipient.name} ends {day(100)} unless ICE exercises "
        f"its options (to {day(800)}); USD {obligated:,.2f} obligated so far"
    )
    assert event.lead_days == 180 and event.date == day(100)
    assert event.source_id == award.source_id and event.citation_locator == key
    assert not events_for(late).filter(kind=EventKind.CONTRACT_ENDING).exists()
    assert run_calendar(TODAY)["warnings"] == 0  # once per lead time

    # Ten days on, the end is 90 days away: the next warning.
    assert run_calendar(TODAY + dt.timedelta(days=10))["warnings"] == 1
    assert sorted(
        events_for(default)
        .filter(kind=EventKind.CONTRACT_ENDING)
        .values_list("lead_days", flat=True)
    ) == [90, 180]
    assert run_calendar(TODAY + dt.timedelta(days=75))["warnings"] == 1
    (seen_late,) = events_for(late).filter(kind=EventKind.CONTRACT_ENDING)
    assert seen_late.lead_days == 30

    # The digest carries them, as every event.
    send_pending()
    assert any(f"ends {day(100)} unless ICE" in m.body for m in mail.outbox)


def test_the_campaign_page_lists_coming_end_and_option_dates(
    one_award, tmp_path: Path, client
) -> None:
    from tests.campaigns.factories import make_campaign

    header, rows = one_award
    key = rows[0]["contract_award_unique_key"]
    import_award(tmp_path, header, with_period(rows, day(60), day(700)), "coming.csv")
    award = ContractAward.objects.get(award_key=key)
    campaign = make_campaign("End it", targets=[award.recipient], visibility="public")
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    section = page[page.index('id="contract-ends"') :]
    assert award.piid in section
    assert f'<time datetime="{day(60)}">' in section and f'<time datetime="{day(700)}">' in section

    ContractAward.objects.filter(award_key=key).update(current_end_date=day(-1))
    assert 'id="contract-ends"' not in client.get(f"/campaigns/{campaign.slug}/").content.decode()


def test_lead_times_are_set_per_watchlist_on_the_command_line() -> None:
    from click.testing import CliRunner

    from receipts.cli import main
    from receipts.watch.models import Watchlist
    from tests.factories import make_entity

    make_entity("Palantir Technologies")
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "watch",
            "create",
            "P",
            "--entity",
            "Palantir Technologies",
            "--ending-warnings",
            "120, 60",
        ],
    )
    assert made.exit_code == 0, made.output
    watchlist = Watchlist.objects.get()
    assert watchlist.ending_warning_days == [120, 60]
    changed = runner.invoke(main, ["watch", "ending-warnings", "P", "45"])
    assert (
        changed.output.strip()
        == f"watchlist {watchlist.pk}: contract ending warnings at 45 days ahead"
    )
    watchlist.refresh_from_db()
    assert watchlist.ending_warning_days == [45]
    refused = runner.invoke(main, ["watch", "ending-warnings", "P", "ninety"])
    assert refused.exit_code == 2 and "'ninety' is not a number of days" in refused.output
    default = runner.invoke(main, ["watch", "create", "Q", "--entity", "Palantir Technologies"])
    assert default.exit_code == 0
    assert Watchlist.objects.get(name="Q").ending_warning_days == [180, 90, 30]
