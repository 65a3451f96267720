"""Erasure erases: no byte of an erased person's sealed fields, wrapped key or blind index stays in the live database files.

SQLite: the ``sqlite_file`` fixture puts Django's connection on a migrated
database file (the test database is in memory otherwise). The connection
stays open through the test, as a running site's would: SQLite folds the
write-ahead log into the database only when the last connection closes, so
an open connection keeps every page image written since the last checkpoint
in ``-wal``. The test reads the stored bytes of one person's rows before
``receipts outreach erase``, checks that a copy of the key file taken before
the erasure opens them, runs the command, then scans the database file, its
write-ahead log and shared-memory file byte by byte for each of those values.

PostgreSQL: the rows are gone and each table that held them was rewritten
into a new file (its filenode changed), so the old row versions are no longer
in the table's live files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from django.db import connection

from receipts.cli import main
from receipts.outreach import crypto, services
from receipts.outreach.models import (
    ConsentRecord,
    Submission,
    Supporter,
    SupporterKey,
)
from tests.campaigns.factories import make_campaign
from tests.outreach.factories import make_form, person, sign_up

ERASED = person(
    name="Oriane Vasquez-Thornbury",
    email="oriane.thornbury@example-mail.org",
    phone="+1 206 555 0163",
    employer="Amazon Fulfilment SEA8",
    message="Ask for me at the east entrance after the night shift.",
)

# The tables that hold a supporter's rows, and so the bytes erasure must remove.
PERSONAL_TABLES = (
    Supporter._meta.db_table,
    SupporterKey._meta.db_table,
    Submission._meta.db_table,
    ConsentRecord._meta.db_table,
)


def _sign_ups(slug: str) -> Supporter:
    """Many people around the one to erase, so that their rows share pages and indexes."""
    campaign = make_campaign("Erasure drive", slug=slug)
    form = make_form(campaign, title="Erasure form")
    for _ in range(25):
        sign_up(form, person())
    sign_up(form, ERASED)
    for _ in range(25):
        sign_up(form, person())
    sign_up(form, ERASED)  # a second sign-up of the same person
    services.decide_submissions(
        campaign, list(Submission.objects.values_list("pk", flat=True)), "accepted", decided_by=None
    )
    supporter = services.find_supporter(campaign, email=ERASED["email"])
    assert supporter is not None
    assert supporter.submissions.count() == 2
    return supporter


def _stored_values(supporter: Supporter) -> dict[str, bytes]:
    """Every stored value of the person that a key opens or that finds them, as stored."""
    values: dict[str, bytes] = {}
    key = SupporterKey.objects.get(supporter=supporter)
    values["wrapped key"] = bytes(key.wrapped)
    for kind in ("email", "phone"):
        digest: str = getattr(supporter, f"{kind}_index")
        assert digest
        values[f"{kind} index (hex text)"] = digest.encode()
        values[f"{kind} index (raw)"] = bytes.fromhex(digest)
    for n, submission in enumerate(supporter.submissions.order_by("id")):
        for column in ("name_sealed", "email_sealed", "phone_sealed", "employer_sealed"):
            sealed = bytes(getattr(submission, column))
            values[f"submission {n} {column}"] = sealed
            # Any fragment is enough to find a copy: the nonce and the tag alone.
            values[f"submission {n} {column} nonce"] = sealed[1:13]
            values[f"submission {n} {column} tag"] = sealed[-16:]
    return values


def _opens_with(keyring_text: str, supporter: Supporter, values: dict[str, bytes]) -> str:
    """The person's name, opened from the stored bytes with a copy of the key file."""
    keyring = crypto._parse(keyring_text, "erasure-drive", "file", None, "key copy")
    key = SupporterKey.objects.get(supporter=supporter)
    data_key = crypto.unwrap_data_key(
        keyring, values["wrapped key"], supporter_uid=supporter.uid, version=key.kek_version
    )
    first = supporter.submissions.order_by("id").first()
    assert first is not None
    return crypto.open_field(
        data_key,
        values["submission 0 name_sealed"],
        table=Submission._meta.db_table,
        row_uid=first.uid,
        field_name="name",
    )


def _erase() -> None:
    result = CliRunner().invoke(
        main, ["outreach", "erase", "--campaign", "erasure-drive", "--email", ERASED["email"]]
    )
    assert result.exit_code == 0, result.output
    assert "Erased 1 supporter" in result.output


@pytest.mark.database("sqlite")
def test_erase_leaves_no_byte_of_the_person_in_the_sqlite_files(
    sqlite_file: Path, outreach_key_dir: Path
) -> None:
    supporter = _sign_ups("erasure-drive")
    values = _stored_values(supporter)
    # The key file as a key backup would have saved it before the erasure opens them.
    key_copy = (outreach_key_dir / "erasure-drive.key").read_text()
    assert _opens_with(key_copy, supporter, values) == ERASED["name"]
    files = [sqlite_file, Path(f"{sqlite_file}-wal"), Path(f"{sqlite_file}-shm")]
    before = b"".join(p.read_bytes() for p in files if p.exists())
    for what, needle in values.items():
        if (
            "(raw)" not in what
        ):  # the index is stored as hex text; its raw bytes are scanned for too
            assert needle in before, what  # the scan finds them while the person is there

    _erase()

    assert not Supporter.objects.filter(uid=supporter.uid).exists()
    assert Supporter.objects.count() == 50
    leftovers = []
    for path in files:
        raw = path.read_bytes() if path.exists() else b""
        for what, needle in values.items():
            if needle in raw:
                leftovers.append(f"{what} in {path.name}")
    assert leftovers == []
    # The log is emptied, not left to be overwritten some day.
    assert Path(f"{sqlite_file}-wal").stat().st_size == 0
    # The others are untouched and still open.
    assert Submission.objects.count() == 50


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_erase_rewrites_the_postgresql_tables_that_held_the_person() -> None:
    supporter = _sign_ups("erasure-drive")
    uid = supporter.uid

    def filenodes() -> dict[str, int]:
        with connection.cursor() as cursor:
            return {
                table: cursor.execute(
                    "SELECT pg_relation_filenode(%s::regclass)", [table]
                ).fetchone()[0]
                for table in PERSONAL_TABLES
            }

    before = filenodes()
    _erase()
    after = filenodes()
    changed = {table for table in PERSONAL_TABLES if before[table] != after[table]}
    assert changed == set(PERSONAL_TABLES)
    assert not Supporter.objects.filter(uid=uid).exists()
    assert not Submission.objects.filter(supporter__uid=uid).exists()
    assert Supporter.objects.count() == 50
