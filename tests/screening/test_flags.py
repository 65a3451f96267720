"""The batched flags give what ``rollup_ties`` gives, tie for tie and path for path."""

from __future__ import annotations

import contextlib
import random

import pytest

from receipts.evidence.models import Entity
from receipts.evidence.queries import family_paths, rollup_ties
from receipts.evidence.services import EvidenceError
from receipts.screening.flags import ProfileTies
from receipts.screening.queries import DEFAULT_KINDS, ProfileSpec
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


def _reference(entity: Entity, spec: ProfileSpec) -> list[tuple[int, str, str]]:
    """The definition: the rollup's ties whose other end is in a profile agency's tree."""
    trees: dict[int, list[int]] = {}
    for agency in spec.agencies:
        for member, path in family_paths(agency.pk).items():
            if member not in trees or len(path) < len(trees[member]):
                trees[member] = path
    names = Entity.objects.in_bulk(list(trees))
    out = []
    for rt in rollup_ties(entity, rollup=True, kinds=spec.kinds, statuses=spec.statuses):
        if rt.far_entity.pk in trees:
            rt.far_path = [names[i] for i in reversed(trees[rt.far_entity.pk])]
            out.append((rt.tie.pk, rt.path_text(), rt.tie.status))
    return out


def _random_graph(rng: random.Random) -> tuple[list[Entity], list[Entity]]:
    source = make_source()
    department = make_entity("Department", kind="agency")
    agencies = [department]
    for i in range(6):
        component = make_entity(f"Component {i}", kind="agency")
        make_tie(component, "part_of", rng.choice(agencies), source=source)
        agencies.append(component)
    other = make_entity("Other Department", kind="agency")
    agencies.append(other)
    companies = [make_entity(f"Company {i}") for i in range(60)]
    for _ in range(70):
        owner, asset = rng.sample(companies, 2)
        status = rng.choice(["active", "active", "ended"])
        with contextlib.suppress(EvidenceError):  # a cycle, or the same ownership twice
            make_tie(owner, "owns", asset, source=source, status=status)
    for _ in range(60):
        company, agency = rng.choice(companies), rng.choice(agencies)
        kind = rng.choice(["contract", "hosting", "partnership", "owns"])
        status = rng.choice(["active", "alleged", "ended", "announced"])
        subject, obj = (company, agency) if rng.random() < 0.8 else (agency, company)
        with contextlib.suppress(EvidenceError):
            make_tie(subject, kind, obj, source=source, status=status, start_date="2020")
    merged = make_entity("Merged Away")
    make_tie(merged, "contract", department, source=source)
    Entity.objects.filter(pk=merged.pk).update(merged_into=companies[0])
    return companies, agencies


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batched_findings_equal_rollup_ties(seed: int) -> None:
    rng = random.Random(seed)
    companies, agencies = _random_graph(rng)
    specs = [
        ProfileSpec("all", "all", (agencies[0],), DEFAULT_KINDS, ("active", "alleged")),
        ProfileSpec("two", "two", (agencies[2], agencies[-1]), ("contract",), ("active", "ended")),
    ]
    for spec in specs:
        found = ProfileTies(spec).findings(Entity.objects.filter(kind="company"))
        for company in Entity.objects.filter(kind="company"):
            expected = _reference(company, spec)
            got = [(t.tie_id, t.path, t.status) for t in found[company.pk].ties]
            assert got == expected, company.name
    assert any(found[c.pk].flagged for c in companies)
