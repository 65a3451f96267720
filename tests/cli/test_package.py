"""The command line is a package of one module per command group, assembled by its
``__init__``: no command module imports the entry point, so each reads on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import receipts

PACKAGE = Path(receipts.__file__).parent / "cli"
ENTRY_POINT = "receipts.cli"


def imports_of_the_entry_point(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == ENTRY_POINT]
        elif isinstance(node, ast.ImportFrom):
            relative_to_package = node.level == 1 and node.module is None
            if node.module == ENTRY_POINT or relative_to_package or node.level > 1:
                found.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''}")
    return found


def test_cli_is_a_package_not_one_file():
    assert (PACKAGE / "__init__.py").is_file()
    assert not (PACKAGE.parent / "cli.py").exists()
    commands = {"campaigns", "evidence", "ingest", "operations", "outreach", "screening"}
    assert commands | {"tokens", "watch"} <= {p.stem for p in PACKAGE.glob("*.py")}


def test_no_command_module_imports_the_entry_point():
    modules = [p for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) >= 8
    assert {p.name: imports_of_the_entry_point(p) for p in modules} == {p.name: [] for p in modules}


def test_the_scan_finds_an_import_of_the_entry_point(tmp_path: Path):
    module = tmp_path / "watch.py"
    module.write_text("from receipts.cli import main\nfrom . import output\nimport receipts.cli\n")
    assert imports_of_the_entry_point(module) == [
        "line 1: from receipts.cli",
        "line 2: from .",
        "receipts.cli",
    ]
