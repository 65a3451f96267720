"""Each closed set of kinds and statuses is defined once, in receipts.evidence.vocabulary.

The models' choices and the command line's choices come from it, and no other
module in the source holds a copy of it as a literal list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

import receipts
from receipts.cli import main
from receipts.evidence import vocabulary
from receipts.evidence.models import EntityKind, SourceKind, TieKind, TieStatus
from receipts.ingest.family_totals import MembersBasis

SOURCE = Path(receipts.__file__).parent
VOCABULARY_FILE = Path(vocabulary.__file__)

MODELS = {
    "ENTITY_KINDS": EntityKind,
    "SOURCE_KINDS": SourceKind,
    "TIE_KINDS": TieKind,
    "TIE_STATUSES": TieStatus,
    "MEMBERS_BASES": MembersBasis,
}


def vocabularies() -> dict[str, list[str]]:
    return {name: vocabulary.values(getattr(vocabulary, name)) for name in MODELS}


def choice_params() -> list[tuple[str, click.Parameter, list[str]]]:
    """Every parameter of every ``receipts`` command whose type is a click.Choice."""
    found = []

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            if isinstance(param.type, click.Choice):
                found.append((f"{path} {param.name}", param, list(param.type.choices)))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(main, "receipts")
    return found


@pytest.mark.parametrize("name", list(MODELS))
def test_model_choices_are_the_vocabulary(name: str):
    model = MODELS[name]
    assert [(member.name, (member.value, member.label)) for member in model] == getattr(
        vocabulary, name
    )


def test_every_command_line_choice_of_a_vocabulary_is_the_whole_vocabulary():
    checked = set()
    for where, _param, choices in choice_params():
        for name, values in vocabularies().items():
            if not set(choices) & set(values):
                continue
            offered = [c for c in choices if c != vocabulary.SUBSIDIARY_OF]
            assert offered == list(MODELS[name].values), where
            checked.add(where)
    # The commands known to offer a vocabulary, so the loop above cannot pass empty.
    assert {
        "receipts ties kinds",
        "receipts ties members",
        "receipts add entity kind",
        "receipts add source kind",
        "receipts add tie kind",
        "receipts add tie status",
    } <= checked


def copied_lists(path: Path, root: Path = SOURCE) -> list[str]:
    """Literal lists, tuples and sets in ``path`` made of two or more values of one vocabulary."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            continue
        strings = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(strings) < 2 or len(strings) != len(node.elts):
            continue
        for name, values in vocabularies().items():
            if set(strings) <= {*values, vocabulary.SUBSIDIARY_OF} and len(set(strings)) >= 2:
                found.append(f"{path.relative_to(root)}:{node.lineno} copies {name}")
    return found


def test_no_module_holds_a_copy_of_a_vocabulary():
    copies = [
        copy
        for path in sorted(SOURCE.rglob("*.py"))
        if path != VOCABULARY_FILE and "migrations" not in path.parts
        for copy in copied_lists(path)
    ]
    assert copies == []


def test_the_scan_finds_a_copied_list(tmp_path: Path):
    planted = tmp_path / "planted.py"
    planted.write_text('STATUSES = ["active", "ended"]\nFORMATS = ["table", "json"]\n')
    assert copied_lists(planted, tmp_path) == ["planted.py:1 copies TIE_STATUSES"]
