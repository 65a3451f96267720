"""Contract ties follow their contracts' periods of performance: the rules.

A contract tie (a recipient and an awarding sub-agency) ends when the current
period of performance of every award behind it has passed: it is ended as of
the latest of those end dates, and its award records are the receipts. An
award with no end date on record keeps its tie open (nothing says it ended).
A modification that extends a period reopens an ended tie. A tie ends on the
latest end date, or on its last action when a closeout came after it. The
import applies these rules to the pairs it recomputes; the daily calendar
task (receipts.fetch.periods) to the ties whose last contract ran out.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from receipts.evidence.models import Citation, Tie, TieStatus
from receipts.evidence.signals import ties_changed


def today_iso() -> str:
    return timezone.localdate().isoformat()


def ended_on(ends: Sequence[str], today: str, last_action: str = "") -> str:
    """The day a tie with awards ending on ``ends`` ended ('' while one runs or has no end).

    Closeout modifications (a final de-obligation) often come after the period
    ended: the tie then ends with its last action, never before it.
    """
    if not ends or not all(ends):
        return ""
    last = max(max(ends), last_action or "")
    return last if last < today else ""


def follow_periods(
    wanted: dict[int, tuple[str, bool, int | None]],
) -> tuple[int, int]:
    """Apply the periods to existing ties: tie id -> (ended on, an award still runs, the
    source of the award that ended last). Returns (ended, reopened).

    Only derived ties the periods speak for change: an active tie whose awards all
    ended is ended (a ``tie_ended`` event quoting that award's record), an ended
    tie with an award running again is reopened. A status an editor chose
    (alleged, announced) is left alone.
    """
    if not wanted:
        return 0, 0
    ended: list[int] = []
    reopened: list[int] = []
    for pk, status in Tie.objects.filter(pk__in=list(wanted)).values_list("pk", "status"):
        end, running, _source = wanted[pk]
        if status == TieStatus.ACTIVE and end:
            ended.append(pk)
        elif status == TieStatus.ENDED and running:
            reopened.append(pk)
    if ended:
        Tie.objects.filter(pk__in=ended).update(status=TieStatus.ENDED, updated_at=timezone.now())
        receipts: dict[int, int] = {}
        for citation_pk, tie_id, source_id in Citation.objects.filter(tie_id__in=ended).values_list(
            "pk", "tie_id", "source_id"
        ):
            if source_id == wanted[tie_id][2]:
                receipts.setdefault(tie_id, citation_pk)
        ties_changed.send(sender=Tie, added=[], ended=ended, citations=receipts)
    if reopened:
        Tie.objects.filter(pk__in=reopened).update(
            status=TieStatus.ACTIVE, end_date="", updated_at=timezone.now()
        )
    return len(ended), len(reopened)
