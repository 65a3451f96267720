"""The content generation: which statements move it on, and when."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from receipts.evidence.models import Entity
from receipts.pagecache import generation
from tests.factories import make_entity


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ('SELECT "a" FROM "evidence_tie"', None),
        ("  select 1", None),
        ('SELECT "a" FROM "evidence_tie" FOR UPDATE', None),
        ("WITH RECURSIVE walk(a) AS (SELECT 1) SELECT a, updated_at FROM walk", None),
        ('SAVEPOINT "s1"', None),
        ('RELEASE SAVEPOINT "s1"', None),
        ("PRAGMA cache_size=-200000", None),
        ('INSERT INTO "evidence_tie" ("kind") VALUES (%s) RETURNING "id"', "evidence_tie"),
        ('UPDATE "campaigns_demand" SET "status" = %s', "campaigns_demand"),
        ('DELETE FROM "public"."ingest_contracttotals" WHERE 1', "ingest_contracttotals"),
        ("INSERT OR IGNORE INTO evidence_identifier VALUES (1)", "evidence_identifier"),
        ('WITH gone AS (DELETE FROM "evidence_tie" RETURNING id) SELECT 1', ""),
        ('TRUNCATE "evidence_tie", "evidence_citation"', ""),
        ("CREATE TEMP TABLE staged (a int)", ""),
    ],
)
def test_statements_are_read_for_the_table_they_write(sql: str, table: str | None):
    assert generation.written_table(sql) == table


def test_private_tables_are_those_no_public_page_shows():
    private = generation.private_tables()
    for table in ("django_session", "outreach_submission", "api_apitoken", "auth_user"):
        assert table in private
    for table in (
        "evidence_tie",
        "evidence_citation",
        "campaigns_campaign",
        "campaigns_demand_ties",
        "ingest_contracttotals",
        "outreach_signupform",
    ):
        assert table not in private


# These commit: the generation moves on when a change commits.
committing = pytest.mark.django_db(transaction=True)


@committing
def test_a_committed_write_moves_the_generation_on_once():
    entity = make_entity("First")
    before = generation.current()
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        for name in ("Second", "Third", "Fourth"):
            Entity.objects.filter(pk=entity.pk).update(name=name)
        assert generation.current() == before  # not before it commits
    assert generation.current() != before
    bumps = [q for q in ctx.captured_queries if "pagecache_contentgeneration" in q["sql"]]
    # One read above, one write just before the commit: not one per statement.
    assert len([q for q in bumps if not q["sql"].startswith("SELECT")]) == 1


@committing
def test_a_rolled_back_write_leaves_the_generation_alone():
    entity = make_entity("Kept")
    before = generation.current()
    with pytest.raises(RuntimeError), transaction.atomic():
        Entity.objects.filter(pk=entity.pk).update(name="Dropped")
        raise RuntimeError
    assert generation.current() == before


@committing
def test_a_write_after_a_rolled_back_savepoint_still_counts():
    entity = make_entity("Outer")
    before = generation.current()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            Entity.objects.filter(pk=entity.pk).update(name="Inner")
            raise RuntimeError
        Entity.objects.filter(pk=entity.pk).update(name="Outer again")
    assert generation.current() != before


@committing
def test_writes_to_private_tables_leave_the_generation_alone():
    make_entity("Something")
    before = generation.current()
    session = SessionStore()
    session["anything"] = 1
    session.save()
    assert generation.current() == before


@committing
def test_tokens_never_repeat():
    seen = set()
    for i in range(5):
        make_entity(f"Entity {i}")
        seen.add(generation.current())
    assert len(seen) == 5


@committing
def test_the_write_hook_is_installed_once_and_first():
    connection.ensure_connection()
    generation.watch(connection)
    assert connection.execute_wrappers.count(generation._watch_writes) == 1

    def inner(execute, sql, params, many, context):
        return execute(sql, params, many, context)

    with connection.execute_wrapper(inner):
        generation.watch(connection)
    # A block's own wrapper is the one its exit removes.
    assert connection.execute_wrappers == [generation._watch_writes]
