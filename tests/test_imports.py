"""The import structure stays untangled: no module of ``receipts`` takes part in an
import cycle, and none imports another module's underscore (private) names.

Imports inside functions count: deferring an import hides a cycle from
Python's loader, not from a reader. Imports made only for type checking do
not, as they never run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
# Tests may reach a private helper of the module they test; the product's modules may not
# reach each other's.
SOURCES = ("src/receipts", "benchmarks")


def import_cycles(package: str = "receipts") -> list[list[str]]:
    """Each group of modules that import one another, directly or in a ring.

    These are the strongly connected components of more than one module of
    the package's import graph (Tarjan's algorithm, iterative), sorted.
    """
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(groups)


def private_imports(*folders: str, root: Path = ROOT, package: str = "receipts") -> list[str]:
    """Each ``from receipts... import _name`` (or relative) of another module's private
    name, as "path:line: the import", in the order of the files and their lines."""
    found: list[str] = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            imports = sorted(
                (n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)),
                key=lambda n: n.lineno,
            )
            for node in imports:
                if not (node.level or (node.module or "").split(".")[0] == package):
                    continue
                module = "." * node.level + (node.module or "")
                found.extend(
                    f"{path.relative_to(root)}:{node.lineno}: from {module} import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                )
    return found


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_no_module_imports_another_modules_private_names() -> None:
    assert private_imports(*SOURCES) == []


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """A ring of two modules is a cycle, and a private name imported is found, also
    inside a function and by a relative import."""
    package = tmp_path / "ring"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from ring import b\n")
    (package / "b.py").write_text("from ring.a import f\nfrom ring.c import g\n")
    (package / "d.py").write_text("def h():\n    from ring.c import _g\n\n\nfrom .c import _g\n")
    (package / "c.py").write_text("def _g():\n    pass\n\n\ng = _g\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert import_cycles("ring") == [["ring.a", "ring.b"]]
    finally:
        sys.path.remove(str(tmp_path))
    found = private_imports(str(package.relative_to(tmp_path)), root=tmp_path, package="ring")
    assert found == ["ring/d.py:2: from ring.c import _g", "ring/d.py:5: from .c import _g"]
