"""Checks of the imported contract records, for ``receipts check``.

The importer keeps these true; this finds what slipped in another way (raw
SQL, a restored backup of another version, an interrupted manual repair).
"""

from __future__ import annotations

from django.db import connection

from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence.integrity import dangling_rows
from receipts.evidence.models import Entity

from .models import ImportRun


def find_violations() -> list[str]:
    """One line per problem, naming the row and what is wrong."""
    out: list[str] = []
    q = connection.ops.quote_name
    tx, aw = ContractTransaction._meta.db_table, ContractAward._meta.db_table
    # Transaction recipients are indexed without a database constraint (see the model).
    for pk in dangling_rows(tx, "recipient_id", Entity._meta.db_table):
        out.append(f"contract transaction {pk}: its recipient points to a missing entity")
    latest = ImportRun.objects.filter(importer="usaspending").order_by("-pk").first()
    if latest is not None and latest.status != ImportRun.Status.DONE:
        # An interrupted import stores transactions before their awards; re-running it
        # completes them, so that is not a fault to report.
        return out
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.{q('transaction_key')} FROM {q(tx)} t WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {q(aw)} a WHERE a.{q('award_key')} = t.{q('award_key')}) "
            f"ORDER BY 1 LIMIT 1000"
        )
        for (key,) in cursor.fetchall():
            out.append(f"contract transaction {key}: its award is not stored (it counts in no tie)")
    return out
