"""The same USAspending files imported in any order, in one run or many, give the same records.

Hypothesis draws orders and partitions of a generated multi-year data set
(tests/ingest/multiyear.py); each is imported run by run into a database
rolled back afterwards, and its canonical dump (tests/ingest/canonical.py)
is compared with the dump of one run of all the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from receipts.ingest.usaspending.importer import import_usaspending
from tests.ingest.canonical import canonical_dump, differences
from tests.ingest.multiyear import generate_years

pytestmark = pytest.mark.django_db

# Orders and partitions tried; each imports the seven files in one to seven runs.
RUNS = 20


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_years(tmp_path_factory.mktemp("multiyear"))


def _import_in_runs(runs: list[list[Path]]) -> dict[str, list[Any]]:
    """Import the runs one after the other, dump, and leave the database as it was."""
    with transaction.atomic():
        for paths in runs:
            import_usaspending(paths)
        dump = canonical_dump()
        transaction.set_rollback(True)
    return dump


_reference: dict[str, dict[str, list[Any]]] = {}


@st.composite
def orders_and_partitions(draw: st.DrawFn, count: int) -> list[list[int]]:
    order = draw(st.permutations(range(count)))
    cuts = draw(st.sets(st.integers(1, count - 1), max_size=count - 1))
    bounds = [0, *sorted(cuts), count]
    return [list(order[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def test_the_generated_files_exercise_what_order_can_change(files: list[Path]) -> None:
    dump = _import_in_runs([files])
    awards = {a[0] for a in dump["awards"]}
    assert len(files) == 7 and len(awards) >= 25
    assert len(dump["review_queue"]) >= 4
    agencies = {e[0] for e in dump["entities"]}
    assert "agency[agency_code:70CRPL]" in agencies  # awards only later modifications
    # An office that awards only modifications between an award's first and latest
    # action is an agency too, though no award record names it.
    middle = {"70CTMP", "70B09C"} & {e[0].split(":")[-1].rstrip("]") for e in dump["entities"]}
    assert middle and not middle & {a[5] for a in dump["awards"]}


@settings(
    max_examples=RUNS,
    deadline=None,
    derandomize=True,
    # No shrinking: each example costs several imports, and the failure names its runs.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_and_partition_gives_the_same_records(files: list[Path], data: Any) -> None:
    runs = data.draw(orders_and_partitions(len(files)))
    if "one run" not in _reference:
        _reference["one run"] = _import_in_runs([sorted(files)])
    reference = _reference["one run"]
    got = _import_in_runs([[files[i] for i in run] for run in runs])
    names = [[files[i].name[:6] for i in run] for run in runs]
    assert got == reference, f"runs {names}:\n" + "\n".join(differences(reference, got))
