"""Checks of the invariants over the whole database, for ``receipts check``.

The services refuse writes that would break an invariant; this finds what
slipped in another way (raw SQL, a restored backup, a lost archive file).
"""

from __future__ import annotations

import hashlib

from django.db import connection

from .models import Citation, Entity, Source, Tie
from .queries import structural_cycles, uncited_ties
from .services import archive_path


def dangling_rows(table: str, column: str, target: str) -> list[int]:
    """Row ids whose foreign key points to no row (possible when constraints were off)."""
    q = connection.ops.quote_name
    sql = (
        f"SELECT t.{q('id')} FROM {q(table)} t LEFT JOIN {q(target)} x "  # noqa: S608 - model table names
        f"ON t.{q(column)} = x.{q('id')} WHERE t.{q(column)} IS NOT NULL AND x.{q('id')} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def find_violations(verify_archives: bool = True) -> list[str]:
    """One line per violation, naming the row and what is wrong."""
    out: list[str] = []
    for tie in uncited_ties():
        out.append(f"uncited tie {tie.pk}: {tie.subject.name} — {tie.kind} — {tie.object.name}")
    for cycle in structural_cycles():
        out.append("ownership/part_of cycle: " + " > ".join(e.name for e in cycle))
    tie_t, ent_t = Tie._meta.db_table, Entity._meta.db_table
    cit_t, src_t = Citation._meta.db_table, Source._meta.db_table
    for column in ("subject_id", "object_id"):
        for pk in dangling_rows(tie_t, column, ent_t):
            out.append(f"tie {pk}: {column} points to a missing entity")
    for pk in dangling_rows(cit_t, "source_id", src_t):
        out.append(f"citation {pk}: points to a missing source")
    for pk in dangling_rows(cit_t, "tie_id", tie_t):
        out.append(f"citation {pk}: points to a missing tie")
    for pk in dangling_rows(cit_t, "entity_id", ent_t):
        out.append(f"citation {pk}: points to a missing entity")
    for source in Source.objects.exclude(archive_sha256="").only("pk", "title", "archive_sha256"):
        path = archive_path(source.archive_sha256)
        if not path.exists():
            out.append(
                f"source {source.pk} ({source.title}): archived copy {source.archive_sha256} is missing"
            )
        elif verify_archives:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
            if digest.hexdigest() != source.archive_sha256:
                out.append(
                    f"source {source.pk} ({source.title}): archived copy does not match its SHA-256"
                )
    return out
