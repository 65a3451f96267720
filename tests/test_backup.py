"""Backups and restores of the real database: round trips with sealed supporter data; damaged or changed backups refused.

SQLite: pytest-django keeps the SQLite test database in memory; the
``sqlite_file`` fixture puts Django's connection on a freshly migrated
database file instead, so backups read and restores replace a real file.
PostgreSQL: the tests commit (``transaction=True``) and back up and
restore the test database itself with pg_dump and pg_restore.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.db import connection

from receipts import restore_checks
from receipts.backup import BackupError, backup_database, restore_database, verify_backup
from receipts.campaigns.models import Campaign
from receipts.cli import main
from receipts.demo import load_demo
from receipts.evidence.models import Entity, Tie
from receipts.outreach.models import RateLimitBucket, SignupForm, Submission, Supporter
from receipts.outreach.queries import open_submissions
from tests.factories import make_entity
from tests.outreach.factories import person, sign_up

ANSWERS = person(
    name="Ysolde Backupfield-Marrow",
    email="ysolde.marrow@example-mail.org",
    phone="+1 206 555 0191",
)


def _demo_with_a_supporter() -> SignupForm:
    load_demo()
    form = SignupForm.objects.select_related("campaign").get()
    sign_up(form, ANSWERS)
    return form


def _counts() -> dict[str, int]:
    return {
        "entities": Entity.objects.count(),
        "ties": Tie.objects.count(),
        "campaigns": Campaign.objects.count(),
        "supporters": Supporter.objects.count(),
        "submissions": Submission.objects.count(),
    }


def _opened_names(form: SignupForm) -> list[str]:
    submissions = list(Submission.objects.filter(form=form).order_by("id"))
    return [o.values["name"] for o in open_submissions(form.campaign, submissions)]


def _round_trip(tmp_path: Path) -> None:
    form = _demo_with_a_supporter()
    before = _counts()
    assert before["supporters"] == before["submissions"] == 1
    backup = tmp_path / "backups" / "receipts.backup"
    backup.parent.mkdir()
    backup_database(backup)
    verify_backup(backup)
    # The backup holds the supporter sealed: no plaintext email in its bytes.
    raw = backup.read_bytes()
    assert ANSWERS["email"].encode() not in raw
    assert ANSWERS["name"].encode() not in raw

    # A change after the backup, which the restore must undo.
    sign_up(form, person())
    make_entity("Added After The Backup Inc")
    assert _counts() != before

    with pytest.raises(BackupError, match="already holds data; restore with --force"):
        restore_database(backup)
    assert Submission.objects.count() == before["submissions"] + 1

    restore_database(backup, force=True)
    assert _counts() == before
    form = SignupForm.objects.select_related("campaign").get()
    # The same keys, kept outside the database, still open the restored rows.
    assert _opened_names(form) == [ANSWERS["name"]]
    # The sequences came back too: new rows get fresh ids.
    make_entity("Added After The Restore Inc")
    sign_up(form, person())


def _refuses_a_corrupt_file(tmp_path: Path) -> None:
    form = _demo_with_a_supporter()
    before = _counts()
    backup = tmp_path / "receipts.backup"
    backup_database(backup)
    data = bytearray(backup.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = b"\xff" * 4096
    corrupt = tmp_path / "corrupt.backup"
    corrupt.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(backup.read_bytes()[: len(data) // 3])
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("shopping list\n")

    for bad in (corrupt, truncated, not_a_backup):
        with pytest.raises(BackupError) as caught:
            restore_database(bad, force=True)
        assert str(bad) in str(caught.value)
        assert _counts() == before
        assert _opened_names(form) == [ANSWERS["name"]]

    result = CliRunner().invoke(main, ["restore", "--force", str(truncated)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {truncated}")
    assert "Traceback" not in result.output
    assert _counts() == before


@pytest.mark.database("sqlite")
def test_sqlite_round_trip_keeps_sealed_supporters_and_their_keys(
    sqlite_file: Path, tmp_path: Path
) -> None:
    _round_trip(tmp_path)
    # One self-contained file: no write-ahead log left beside the backup.
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["receipts.backup"]


@pytest.mark.database("sqlite")
def test_sqlite_corrupt_backup_is_refused_and_the_database_untouched(
    sqlite_file: Path, tmp_path: Path
) -> None:
    _refuses_a_corrupt_file(tmp_path)
    with pytest.raises(BackupError, match="damaged|not a readable SQLite database"):
        verify_backup(tmp_path / "corrupt.backup")


@pytest.mark.database("sqlite")
def test_sqlite_restore_into_an_empty_place_needs_no_force(
    sqlite_file: Path, tmp_path: Path
) -> None:
    _demo_with_a_supporter()
    before = _counts()
    backup = tmp_path / "receipts.backup"
    result = CliRunner().invoke(main, ["backup", "-o", str(backup)])
    assert result.exit_code == 0, result.output
    connection.close()
    sqlite_file.unlink()
    # The reference schema is made afresh, so its data migrations run now: they
    # must write into the scratch database, not the (now missing) live one.
    restore_checks.sqlite_reference.cache_clear()
    result = CliRunner().invoke(main, ["restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert _counts() == before


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_postgresql_round_trip_keeps_sealed_supporters_and_their_keys(tmp_path: Path) -> None:
    _round_trip(tmp_path)


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_postgresql_corrupt_backup_is_refused_and_the_database_untouched(tmp_path: Path) -> None:
    _refuses_a_corrupt_file(tmp_path)


# --- restore trusts nothing: a backup whose schema is not the migrated one is refused ----

# What someone who could change a backup file might add, and the name the refusal gives.
# Each keeps erased supporters' sealed bytes or keys somewhere erasure does not reach.
TAMPERING: dict[str, tuple[list[str], list[str], str]] = {
    "trigger": ([], [], "keep_sealed_copy"),
    "table": (
        ["CREATE TABLE outreach_shadow (submission_id bigint, sealed bytea)"],
        ["DROP TABLE outreach_shadow"],
        "outreach_shadow",
    ),
    "column": (
        ["ALTER TABLE outreach_supporterkey ADD COLUMN spare_wrapped bytea"],
        ["ALTER TABLE outreach_supporterkey DROP COLUMN spare_wrapped"],
        "spare_wrapped",
    ),
    "view": (
        ["CREATE VIEW supporter_keys AS SELECT * FROM outreach_supporterkey"],
        ["DROP VIEW supporter_keys"],
        "supporter_keys",
    ),
}

SQLITE_TRIGGER = (
    "CREATE TRIGGER keep_sealed_copy AFTER DELETE ON outreach_submission BEGIN "
    "INSERT INTO outreach_ratelimitbucket (client_key, scope, window_start, count) "
    "VALUES (hex(old.email_sealed), 'copy', '2026-01-01', 0); END"
)
POSTGRESQL_TRIGGER = [
    "CREATE FUNCTION keep_sealed_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO outreach_ratelimitbucket (client_key, scope, window_start, count) "
    "VALUES (encode(OLD.email_sealed, 'hex'), 'copy', now(), 0); RETURN OLD; END $$",
    "CREATE TRIGGER keep_sealed_copy AFTER DELETE ON outreach_submission "
    "FOR EACH ROW EXECUTE FUNCTION keep_sealed_copy()",
]
POSTGRESQL_TRIGGER_UNDO = [
    "DROP TRIGGER keep_sealed_copy ON outreach_submission",
    "DROP FUNCTION keep_sealed_copy()",
]


def _schema_now() -> set[tuple[str, str]]:
    """Every table, view, trigger, function and column of the live database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT type, name FROM sqlite_master")
            found = set(cursor.fetchall())
            for (table,) in cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall():
                found |= {
                    ("column", f"{table}.{row[1]}")
                    for row in cursor.execute(f'PRAGMA table_xinfo("{table}")').fetchall()
                }
            return found
        cursor.execute(
            "SELECT 'relation', relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "UNION SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal "
            "UNION SELECT 'function', proname FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace "
            "UNION SELECT 'column', table_name || '.' || column_name "
            "FROM information_schema.columns WHERE table_schema = 'public'"
        )
        return set(cursor.fetchall())


def _tampered_backups(tmp_path: Path) -> dict[str, Path]:
    """A clean backup changed in each way of TAMPERING, one file each."""
    clean = tmp_path / "clean.backup"
    backup_database(clean)
    made: dict[str, Path] = {}
    for case, (apply, undo, _) in TAMPERING.items():
        path = tmp_path / f"{case}.backup"
        if connection.vendor == "sqlite":
            path.write_bytes(clean.read_bytes())
            statements = [SQLITE_TRIGGER] if case == "trigger" else apply
            con = sqlite3.connect(path)
            try:
                for statement in statements:
                    con.execute(statement.replace("bytea", "blob"))
                con.commit()
            finally:
                con.close()
        else:
            # pg_dump of the live database with the change, which is then undone.
            statements = POSTGRESQL_TRIGGER if case == "trigger" else apply
            reverse = POSTGRESQL_TRIGGER_UNDO if case == "trigger" else undo
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
            try:
                backup_database(path)
            finally:
                with connection.cursor() as cursor:
                    for statement in reverse:
                        cursor.execute(statement)
        made[case] = path
    return made


def _refuses_tampered_backups(tmp_path: Path) -> None:
    form = _demo_with_a_supporter()
    before = _counts()
    schema = _schema_now()
    backups = _tampered_backups(tmp_path)
    assert _schema_now() == schema
    for case, path in backups.items():
        name = TAMPERING[case][2]
        with pytest.raises(BackupError) as caught:
            restore_database(path, force=True)
        message = str(caught.value)
        assert message.startswith(f"{path}: refused, "), message
        assert name in message, (case, message)
        assert "\n" not in message
        # Nothing of the backup reached the live database.
        assert _schema_now() == schema, case
        assert _counts() == before, case

    result = CliRunner().invoke(main, ["restore", "--force", str(backups["trigger"])])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {backups['trigger']}: refused, ")
    assert "keep_sealed_copy" in result.output
    assert "Traceback" not in result.output
    assert _schema_now() == schema
    # Erasure still erases: no trigger copies the sealed email anywhere.
    supporter = Supporter.objects.get()
    Submission.objects.filter(supporter=supporter).delete()
    assert not RateLimitBucket.objects.filter(scope="copy").exists()
    assert _opened_names(form) == []

    # A clean backup of the same database still restores.
    restore_database(tmp_path / "clean.backup", force=True)
    assert _counts() == before
    assert _schema_now() == schema


@pytest.mark.database("sqlite")
def test_sqlite_backup_with_a_schema_the_migrations_do_not_make_is_refused(
    sqlite_file: Path, tmp_path: Path
) -> None:
    _refuses_tampered_backups(tmp_path)


def _changed_copy(backup: Path, name: str, *statements: str) -> Path:
    changed = backup.with_name(name)
    changed.write_bytes(backup.read_bytes())
    con = sqlite3.connect(changed)
    try:
        for statement in statements:
            con.execute(statement)
        con.commit()
    finally:
        con.close()
    return changed


@pytest.mark.database("sqlite")
def test_sqlite_backup_with_a_broken_foreign_key_or_an_unknown_migration_is_refused(
    sqlite_file: Path, tmp_path: Path
) -> None:
    _demo_with_a_supporter()
    before = _counts()
    backup = tmp_path / "receipts.backup"
    backup_database(backup)
    orphans = _changed_copy(
        backup, "orphans.backup", "PRAGMA foreign_keys = OFF", "DELETE FROM outreach_supporter"
    )
    with pytest.raises(
        BackupError, match="refused, row .* refers to a row of outreach_supporter that is not there"
    ):
        restore_database(orphans, force=True)
    assert _counts() == before
    newer = _changed_copy(
        backup,
        "newer.backup",
        "INSERT INTO django_migrations (app, name, applied) "
        "VALUES ('outreach', '0099_future', '2027-01-01')",
    )
    with pytest.raises(BackupError, match=r"outreach\.0099_future, which this version"):
        restore_database(newer, force=True)
    assert _counts() == before


@pytest.mark.database("postgresql")
@pytest.mark.django_db(transaction=True)
def test_postgresql_backup_with_a_schema_the_migrations_do_not_make_is_refused(
    tmp_path: Path,
) -> None:
    _refuses_tampered_backups(tmp_path)
