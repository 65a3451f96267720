"""Human-readable tables for the command line's output."""

from __future__ import annotations

from typing import IO


def print_table(
    title: str, columns: tuple[str, ...], rows: list[list[str]], output: IO[str]
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(file=output, width=None if output.isatty() else 160).print(table)
