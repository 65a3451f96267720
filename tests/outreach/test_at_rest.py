"""No submitted name, email or phone is stored in plaintext: read the raw SQLite file and raw PostgreSQL rows.

SQLite: pytest-django keeps the SQLite test database in memory, which has no
file to read. The ``sqlite_file`` fixture copies the migrated, empty test
database into a file under ``tmp_path`` with SQLite's backup API, points
Django's connection at that file for the length of the test (the in-memory
connection is set aside and put back afterwards), and unblocks database
access itself. The test is deliberately not marked ``django_db``: pytest-django
would wrap it in a transaction that is rolled back, and nothing would reach
the disk. Sign-ups go through the real pages; the test then reads every byte
of the database file, its write-ahead log and shared-memory file from disk.

PostgreSQL: the test commits (``transaction=True``) and reads every row of
every table through a second, separate psycopg connection, as a database dump
or a replica would see them.

Each variant runs in the suite's run on its own database (CI runs both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from receipts.campaigns.models import MemberRole
from receipts.outreach import services
from receipts.outreach.models import Submission
from receipts.outreach.queries import open_submissions
from tests.campaigns.factories import make_campaign, make_member
from tests.outreach.factories import make_form, post_signup

ENGINE = settings.DATABASES["default"]["ENGINE"]

PEOPLE = [
    {
        "name": "Marisol Quetzalli-Brandvold",
        "email": "marisol.brandvold+rally@example-mail.org",
        "phone": "+1 206 555 0143",
        "employer": "Amazon Fulfilment BFI4",
        "role": "Process assistant",
        "city": "Kent",
        "message": "Night shift, ask for the break room contact.",
    },
    {
        "name": "Teodor Wiśniewski-Okafor",
        "email": "t.okafor.organising@example-mail.net",
        "phone": "(206) 555-0177",
        "employer": "AWS Seattle",
        "role": "Solutions architect",
        "city": "Bellevue",
        "message": "Happy to speak at the next rally.",
    },
]


def _needles(answers: dict[str, str]) -> list[bytes]:
    """Every way a name, email or phone could appear in the raw bytes."""
    out: list[bytes] = []
    for value in (answers["name"], answers["email"]):
        for variant in {value, value.lower(), value.upper()}:
            out.append(variant.encode("utf-8"))
    out.append(answers["email"].split("@")[0].encode())  # the local part alone
    surname = answers["name"].split()[-1]
    out.append(surname.encode("utf-8"))
    digits = "".join(ch for ch in answers["phone"] if ch.isdigit())[-10:]
    out += [digits.encode(), f"+1{digits}".encode(), answers["phone"].encode()]
    return out


def _sign_up_through_the_pages(campaign_slug: str) -> Any:
    campaign = make_campaign("Raw bytes drive", slug=campaign_slug)
    form = make_form(campaign, title="Raw bytes form")
    client = Client()
    for n, answers in enumerate(PEOPLE):
        response = post_signup(client, form, answers, ip=f"198.51.100.{n + 1}")
        assert response.status_code == 303
    # A second sign-up of the first person, and an organiser accepting everything.
    assert post_signup(client, form, PEOPLE[0], ip="198.51.100.9").status_code == 303
    organiser = make_member(campaign, "raw-organiser", MemberRole.ORGANISER)
    services.decide_submissions(
        campaign,
        list(Submission.objects.values_list("pk", flat=True)),
        "accepted",
        decided_by=organiser,
    )
    return campaign


@pytest.mark.database("sqlite")
def test_the_sqlite_file_holds_no_submitted_name_email_or_phone(sqlite_file: Path) -> None:
    campaign = _sign_up_through_the_pages("raw-bytes")
    # The data is there, sealed: the organiser's key opens it.
    opened = open_submissions(campaign, list(Submission.objects.order_by("id")))
    assert [o.values["name"] for o in opened] == [p["name"] for p in (*PEOPLE, PEOPLE[0])]

    files = sorted(sqlite_file.parent.glob(f"{sqlite_file.name}*"))
    raw = b"".join(p.read_bytes() for p in files)
    assert b"Raw bytes form" in raw  # the right file: unsealed campaign data is there
    for answers in PEOPLE:
        for needle in _needles(answers):
            assert needle not in raw, needle
    # After a checkpoint, the database file alone.
    connection.close()
    raw = sqlite_file.read_bytes()
    assert b"Raw bytes form" in raw
    for answers in PEOPLE:
        for needle in _needles(answers):
            assert needle not in raw, needle


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_postgresql_rows_hold_no_submitted_name_email_or_phone() -> None:
    import psycopg

    _sign_up_through_the_pages("raw-rows")
    db = connection.settings_dict
    rows_seen = 0
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or None,
        port=db["PORT"] or None,
    ) as raw:
        tables = [
            t
            for (t,) in raw.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        assert "outreach_submission" in tables
        found_form = False
        for table in tables:
            query = psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier(table))
            for row in raw.execute(query):
                rows_seen += 1
                cells = [
                    bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode("utf-8")
                    for v in row
                ]
                blob = b"\x00".join(cells)
                found_form = found_form or b"Raw bytes form" in blob
                for answers in PEOPLE:
                    for needle in _needles(answers):
                        assert needle not in blob, (table, needle)
        assert found_form
    assert rows_seen > 10
