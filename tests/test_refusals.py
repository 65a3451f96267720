"""Service refusals travel as data: keyed by field, never parsed back out of message text."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from receipts import refusals
from receipts.evidence.services import EvidenceError

SRC = Path(__file__).resolve().parents[1] / "src" / "receipts"
STRING_SPLITTERS = {"partition", "rpartition", "split", "rsplit", "removeprefix", "index", "find"}


def _mentions_message(node: ast.AST, tainted: set[str]) -> bool:
    """True if ``node`` reads an exception's message text, directly or through a name."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in {"messages", "message", "args"}:
            return True
        if isinstance(sub, ast.Name) and sub.id in tainted:
            return True
    return False


def _exception_scopes(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    """Each except clause and each function taking an exception, with the exception's name."""
    scopes: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.name is not None:
            scopes.append((node, node.name))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in node.args.args + node.args.kwonlyargs:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                if annotation.endswith(("Error", "Exception")):
                    scopes.append((node, arg.arg))
    return scopes


def message_parsing(tree: ast.AST) -> list[int]:
    """Lines where text taken from an exception is split apart."""
    found: set[int] = set()
    for handler, name in _exception_scopes(tree):
        tainted: set[str] = set()
        for node in ast.walk(handler):
            if isinstance(node, ast.For) and _mentions_message(node.iter, tainted):
                tainted |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
            if isinstance(node, ast.Assign) and _mentions_message(node.value, tainted):
                for target in node.targets:
                    tainted |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        for node in ast.walk(handler):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in STRING_SPLITTERS
            ):
                receiver = node.func.value
                is_str_exc = (
                    isinstance(receiver, ast.Call)
                    and isinstance(receiver.func, ast.Name)
                    and receiver.func.id == "str"
                    and any(isinstance(a, ast.Name) and a.id == name for a in receiver.args)
                )
                if is_str_exc or _mentions_message(receiver, tainted):
                    found.add(node.lineno)
    return sorted(found)


def test_no_module_takes_an_exception_message_apart() -> None:
    offenders = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := message_parsing(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}


def test_the_scan_sees_the_old_way_of_placing_a_refusal() -> None:
    old = """
try:
    save()
except ValidationError as exc:
    for message in exc.messages:
        field, sep, _rest = message.partition(":")
"""
    first = "try:\n    save()\nexcept ValidationError as exc:\n    exc.messages[0].split(':')\n"
    helper = "def place(form, exc: ValidationError):\n    str(exc).partition(':')\n"
    assert message_parsing(ast.parse(old)) == [6]
    assert message_parsing(ast.parse(first)) == [4]
    assert message_parsing(ast.parse(helper)) == [2]


def test_a_refusal_keeps_field_and_message_apart_and_prints_both() -> None:
    exc = EvidenceError("end_date", "2024 is before start_date 2025")
    assert exc.message_dict == {"end_date": ["2024 is before start_date 2025"]}
    assert str(exc) == "end_date: 2024 is before start_date 2025"
    assert exc.messages == ["end_date: 2024 is before start_date 2025"]
    assert refusals.as_dict(exc) == {"end_date": ["2024 is before start_date 2025"]}


def test_a_refusal_without_a_message_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        EvidenceError("end_date")
