"""Read and write USAspending-shaped CSV files in tests, to damage or change rows of a real file."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file, as text."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` under ``header`` as USAspending does (CRLF line ends); missing cells empty."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, header, lineterminator="\r\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path
