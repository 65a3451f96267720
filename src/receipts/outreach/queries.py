"""Reads of outreach data: opened supporter records for organisers, attribution counts, domains.

Opening a supporter's fields needs the organisation's keyring: callers are
the organiser pages behind ``access.supporter_data_view`` and the command
line, and each of them writes an audit event for what it showed. Attribution
counts only accepted sign-ups and holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.views.decorators.debug import sensitive_variables

from receipts.campaigns.models import Campaign
from receipts.campaigns.queries import target_family_ids
from receipts.evidence.models import Identifier, IdentifierScheme

from . import crypto
from .models import (
    SEALED_COLUMNS,
    Flyer,
    FormField,
    SignupForm,
    Submission,
    SubmissionStatus,
    Supporter,
    SupporterKey,
)
from .services import organisation_for


@dataclass
class OpenedSubmission:
    """A submission with its fields opened: for an organiser's eyes only, never for a log."""

    submission: Submission
    values: dict[str, str]

    def __repr__(self) -> str:  # keeps values out of tracebacks and debug output
        return f"OpenedSubmission({self.submission.uid})"

    @property
    def cells(self) -> list[tuple[str, str]]:
        """(field, value) for every field of the fixed set, in its order; "" when not asked."""
        return [(f, self.values.get(f, "")) for f in FormField.values]


@dataclass
class OpenedSupporter:
    supporter: Supporter
    submissions: list[OpenedSubmission] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"OpenedSupporter({self.supporter.uid})"

    @property
    def latest(self) -> dict[str, str]:
        """The newest non-empty answer to each field across the person's submissions."""
        out: dict[str, str] = {}
        for opened in self.submissions:
            for name, value in opened.values.items():
                if value:
                    out[name] = value
        return out


@sensitive_variables()
def open_submissions(campaign: Campaign, submissions: list[Submission]) -> list[OpenedSubmission]:
    """Open the sealed fields of the campaign's submissions; raises if a key is missing."""
    if not submissions:
        return []
    organisation = organisation_for(campaign)
    keyring = crypto.load_keyring(organisation.slug)
    keys = {
        k.supporter_id: k
        for k in SupporterKey.objects.filter(
            supporter_id__in={s.supporter_id for s in submissions}
        ).select_related("supporter")
    }
    data_keys: dict[int, bytes] = {}
    table = Submission._meta.db_table
    out: list[OpenedSubmission] = []
    for submission in submissions:
        if submission.supporter_id not in data_keys:
            key = keys[submission.supporter_id]
            data_keys[submission.supporter_id] = crypto.unwrap_data_key(
                keyring, key.wrapped, supporter_uid=key.supporter.uid, version=key.kek_version
            )
        data_key = data_keys[submission.supporter_id]
        values: dict[str, str] = {}
        for name, column in SEALED_COLUMNS.items():
            sealed = getattr(submission, column)
            if sealed is not None:
                values[name] = crypto.open_field(
                    data_key, sealed, table=table, row_uid=submission.uid, field_name=name
                )
        out.append(OpenedSubmission(submission, values))
    return out


def _submissions(campaign: Campaign) -> Any:
    return Submission.objects.filter(campaign=campaign).select_related("form", "flyer")


def pending_submissions(campaign: Campaign) -> list[OpenedSubmission]:
    """The review queue, oldest first."""
    rows = list(
        _submissions(campaign)
        .filter(status=SubmissionStatus.PENDING)
        .order_by("submitted_at", "id")
    )
    return open_submissions(campaign, rows)


def opened_supporters(campaign: Campaign, *, accepted_only: bool = False) -> list[OpenedSupporter]:
    """Every supporter of the campaign with their opened submissions, oldest first."""
    rows = _submissions(campaign).order_by("supporter_id", "submitted_at", "id")
    if accepted_only:
        rows = rows.filter(status=SubmissionStatus.ACCEPTED)
    by_supporter: dict[int, OpenedSupporter] = {}
    supporters = {s.pk: s for s in Supporter.objects.filter(campaign=campaign)}
    for opened in open_submissions(campaign, list(rows)):
        supporter = supporters[opened.submission.supporter_id]
        by_supporter.setdefault(supporter.pk, OpenedSupporter(supporter)).submissions.append(opened)
    return sorted(by_supporter.values(), key=lambda s: (s.supporter.created_at, s.supporter.pk))


def supporter_counts(campaign: Campaign) -> dict[str, int]:
    """How many people and submissions, by status: numbers only, for the overview."""
    by_status = dict(
        Submission.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "supporters": Supporter.objects.filter(campaign=campaign).count(),
        "pending": by_status.get(SubmissionStatus.PENDING, 0),
        "accepted": by_status.get(SubmissionStatus.ACCEPTED, 0),
        "rejected": by_status.get(SubmissionStatus.REJECTED, 0),
    }


# --- attribution ----------------------------------------------------------------------


@dataclass
class AttributionRow:
    label: str
    code: str
    signups: int
    pending: int = 0


@dataclass
class Attribution:
    """Accepted sign-ups per flyer, per action and per day; no personal data."""

    by_flyer: list[AttributionRow]
    by_action: list[AttributionRow]
    by_source: list[AttributionRow]
    by_day: list[tuple[date, int]]
    total: int
    pending: int


def attribution(campaign: Campaign) -> Attribution:
    accepted = Submission.objects.filter(campaign=campaign, status=SubmissionStatus.ACCEPTED)
    pending = Submission.objects.filter(campaign=campaign, status=SubmissionStatus.PENDING)
    flyer_counts = dict(
        accepted.filter(flyer__isnull=False)
        .values_list("flyer_id")
        .annotate(n=Count("id"))
        .values_list("flyer_id", "n")
    )
    flyer_pending = dict(
        pending.filter(flyer__isnull=False)
        .values_list("flyer_id")
        .annotate(n=Count("id"))
        .values_list("flyer_id", "n")
    )
    flyers = list(Flyer.objects.filter(campaign=campaign).select_related("action"))
    by_flyer = [
        AttributionRow(f.label, f.code, flyer_counts.get(f.pk, 0), flyer_pending.get(f.pk, 0))
        for f in flyers
    ]
    by_flyer.sort(key=lambda r: (-r.signups, r.label))
    actions: dict[str, AttributionRow] = {}
    for f in flyers:
        label = f.action.title if f.action is not None else "No action"
        key = f"action-{f.action_id}" if f.action_id else "none"
        row = actions.setdefault(key, AttributionRow(label, key, 0, 0))
        row.signups += flyer_counts.get(f.pk, 0)
        row.pending += flyer_pending.get(f.pk, 0)
    by_action = sorted(actions.values(), key=lambda r: (-r.signups, r.label))
    source_counts = (
        accepted.values_list("source_code").annotate(n=Count("id")).values_list("source_code", "n")
    )
    by_source = sorted(
        (AttributionRow(code or "(none)", code, n) for code, n in source_counts),
        key=lambda r: (-r.signups, r.label),
    )
    by_day = [
        (day, n)
        for day, n in accepted.annotate(day=TruncDate("submitted_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
        .order_by("day")
    ]
    return Attribution(
        by_flyer=by_flyer,
        by_action=by_action,
        by_source=by_source,
        by_day=by_day,
        total=accepted.count(),
        pending=pending.count(),
    )


# --- employer domains ------------------------------------------------------------------


def _host(value: str) -> str:
    text = value.strip().lower()
    if "://" not in text:
        text = f"//{text}"
    host = urlsplit(text).hostname or ""
    return host.removeprefix("www.")


def employer_domains(form: SignupForm) -> list[str]:
    """Domains an employee's work address may use: the form's list and the targets' websites."""
    domains = [d for d in form.employer_domains.split() if d]
    family = target_family_ids(form.campaign)
    websites = Identifier.objects.filter(
        entity_id__in=family, scheme=IdentifierScheme.WEBSITE
    ).values_list("value", flat=True)
    for website in websites:
        host = _host(website)
        if host and "." in host and host not in domains:
            domains.append(host)
    return domains


@sensitive_variables()
def at_employer_domain(email: str, domains: list[str]) -> bool:
    """True when the address is at one of the domains or a subdomain of one."""
    _, at, host = email.strip().lower().rpartition("@")
    if not at:
        return False
    return any(host == d or host.endswith(f".{d}") for d in domains)
