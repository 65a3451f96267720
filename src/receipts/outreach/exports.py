"""Supporter data as CSV: a campaign's accepted supporters, or everything held on one person.

Callers audit the export before writing it. Every cell passes through
``receipts.spreadsheet``, so a hostile sign-up cannot run anything on an
organiser's computer.
"""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import sensitive_variables

from receipts import spreadsheet

from .models import ConsentRecord, FormField
from .queries import OpenedSubmission, OpenedSupporter


@sensitive_variables()
def write_supporters_csv(out: Any, people: list[OpenedSupporter]) -> None:
    """One row a person: their newest answer to each field and every source they came from."""
    writer = spreadsheet.writer(out)
    writer.writerow(
        ["supporter", "first_signed_up", "last_signed_up", *FormField.values, "sources"]
    )
    for person in people:
        latest = person.latest
        sources = sorted({s.submission.source_code for s in person.submissions} - {""})
        writer.writerow(
            [
                str(person.supporter.uid),
                person.supporter.created_at.isoformat(),
                person.supporter.last_submitted_at.isoformat(),
                *[latest.get(f, "") for f in FormField.values],
                " ".join(sources),
            ]
        )


@sensitive_variables()
def write_person_csv(out: Any, opened: list[OpenedSubmission]) -> None:
    """Everything held on one person: each submission, its review and its consent record."""
    consents = {
        c.submission_id: c
        for c in ConsentRecord.objects.filter(submission__in=[o.submission for o in opened])
    }
    writer = spreadsheet.writer(out)
    writer.writerow(
        [
            "submission",
            "submitted_at",
            "form",
            "status",
            "source",
            *FormField.values,
            "consent_sha256",
            "consented_at",
        ]
    )
    for o in opened:
        s = o.submission
        consent = consents.get(s.pk)
        writer.writerow(
            [
                str(s.uid),
                s.submitted_at.isoformat(),
                s.form.title,
                s.status,
                s.source_code,
                *[o.values.get(f, "") for f in FormField.values],
                consent.consent_sha256 if consent else "",
                consent.consented_at.isoformat() if consent else "",
            ]
        )
