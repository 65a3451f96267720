"""Live entities (not merged into another) are asked for one way: ``Entity.objects.live()``,
or ``live_through`` from another model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from receipts.evidence.models import Entity, Tie, live_through
from receipts.ingest.merges import merge_entities
from tests.factories import make_entity, make_tie

SRC = Path(__file__).resolve().parents[2] / "src" / "receipts"


@pytest.mark.django_db
def test_live_leaves_out_merged_entities_and_ties_to_them() -> None:
    keep, drop, agency = make_entity("Keep"), make_entity("Drop"), make_entity("ICE", "agency")
    tie = make_tie(keep, "contract", agency)
    merge_entities(keep, drop)
    assert set(Entity.objects.live()) == {keep, agency}
    assert list(Tie.objects.filter(live_through("subject", "object"))) == [tie]
    Entity.objects.filter(pk=agency.pk).update(merged_into=keep)
    assert set(Entity.objects.live()) == {keep}
    assert not Tie.objects.filter(live_through("subject", "object")).exists()


def test_no_module_spells_out_the_live_filter() -> None:
    spelled = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts and path != SRC / "evidence" / "models.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"merged_into(_id)?__isnull\s*=\s*True|[(,\s]merged_into(_id)?=None\b", line)
    ]
    assert spelled == []
