"""Supporter data as files: a campaign's accepted supporters (CSV, or OSDI people as JSON or CSV
for Action Network), or everything held on one person.

Callers audit the export before writing it. Every cell passes through
``receipts.spreadsheet``, so a hostile sign-up cannot run anything on an
organiser's computer.
"""

from __future__ import annotations

import json
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


# --- OSDI people -------------------------------------------------------------------------
# The Open Supporter Data Interface's person, as Action Network reads it (JSON), and the
# same fields flattened to one row a person (CSV) for its CSV upload.

OSDI_CSV_COLUMNS = [
    "identifier",
    "given_name",
    "family_name",
    "email_address",
    "phone_number",
    "locality",
    "employer",
    "source",
    "created_date",
    "modified_date",
    "role",
    "message",
]


def _split_name(name: str) -> tuple[str, str]:
    """Given and family name from the one name field: the first word, then the rest.

    A guess, as every split of a free-text name is; the whole name stays in
    ``custom_fields.full_name`` of the JSON so nothing is lost.
    """
    words = name.split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


@sensitive_variables()
def osdi_person(person: OpenedSupporter) -> dict[str, Any]:
    """One accepted supporter as an OSDI person."""
    latest = person.latest
    given, family = _split_name(latest.get(FormField.NAME, ""))
    sources = sorted({s.submission.source_code for s in person.submissions} - {""})
    record: dict[str, Any] = {
        "identifiers": [f"receipts:{person.supporter.uid}"],
        "created_date": person.supporter.created_at.isoformat(),
        "modified_date": person.supporter.last_submitted_at.isoformat(),
    }
    if given:
        record["given_name"] = given
    if family:
        record["family_name"] = family
    if latest.get(FormField.EMAIL):
        # They agreed to be contacted about the campaign, by the consent text they ticked.
        record["email_addresses"] = [
            {"address": latest[FormField.EMAIL], "primary": True, "status": "subscribed"}
        ]
    if latest.get(FormField.PHONE):
        # No SMS status: the consent covers being contacted, not text-message lists.
        record["phone_numbers"] = [{"number": latest[FormField.PHONE], "primary": True}]
    if latest.get(FormField.CITY):
        record["postal_addresses"] = [{"locality": latest[FormField.CITY], "primary": True}]
    if latest.get(FormField.EMPLOYER):
        record["employer"] = latest[FormField.EMPLOYER]
    if sources:
        record["source"] = " ".join(sources)
    custom = {
        key: latest[field]
        for key, field in (
            ("full_name", FormField.NAME),
            ("role", FormField.ROLE),
            ("message", FormField.MESSAGE),
        )
        if latest.get(field)
    }
    if custom:
        record["custom_fields"] = custom
    return record


@sensitive_variables()
def write_osdi_json(out: Any, people: list[OpenedSupporter]) -> None:
    """An OSDI collection of people, as ``GET /api/v2/people`` of an OSDI server answers."""
    document = {
        "total_records": len(people),
        "_embedded": {"osdi:people": [osdi_person(p) for p in people]},
    }
    out.write(json.dumps(document, ensure_ascii=False, indent=2))


@sensitive_variables()
def write_osdi_csv(out: Any, people: list[OpenedSupporter]) -> None:
    """The OSDI people flattened: one row a person, columns named after OSDI's fields."""
    writer = spreadsheet.writer(out)
    writer.writerow(OSDI_CSV_COLUMNS)
    for person in people:
        record = osdi_person(person)
        custom = record.get("custom_fields", {})
        writer.writerow(
            [
                record["identifiers"][0],
                record.get("given_name", ""),
                record.get("family_name", ""),
                (record.get("email_addresses") or [{}])[0].get("address", ""),
                (record.get("phone_numbers") or [{}])[0].get("number", ""),
                (record.get("postal_addresses") or [{}])[0].get("locality", ""),
                record.get("employer", ""),
                record.get("source", ""),
                record["created_date"],
                record["modified_date"],
                custom.get("role", ""),
                custom.get("message", ""),
            ]
        )
