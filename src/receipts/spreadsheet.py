"""CSV files a spreadsheet opens as data: no text cell runs as a formula.

Every CSV the product writes for people to open (screening reports, ``receipts
ties --format csv``, supporter exports, import reject reports) is written
through ``writer()``, so a name such as ``=HYPERLINK("http://evil.example/")``
taken from a filing, an upload or a sign-up form reaches the reader as text.

The rule, after OWASP's advice on CSV injection: a text cell whose first
character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or whose
first character after leading whitespace is one of ``= + - @`` or their
fullwidth forms (``＝ ＋ － ＠``, which some spreadsheets read as the ASCII
ones), gets a leading apostrophe. Numbers stay numbers: ints, floats and
Decimals are written as they are, and so is text that is a plain decimal
number such as ``-123.45`` (amounts travel as exact decimal strings), which a
spreadsheet reads as a number and never as a formula.

Files the product writes only to read back itself (a staging file for DuckDB)
use ``csv`` directly: an apostrophe there would change the data.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

# What a spreadsheet may read as the start of a formula once leading whitespace is skipped.
_FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Tab and carriage return start a formula in some spreadsheets even with nothing after them.
_CONTROL_STARTS = frozenset("\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class TextSink(Protocol):
    """Anything with ``write(str)``: a file, stdout, an HttpResponse."""

    def write(self, text: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """The value as a cell a spreadsheet shows and never evaluates.

    Called once per cell: non-text values return at once.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in _CONTROL_STARTS or value.lstrip()[:1] in _FORMULA_STARTS:
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


class SafeWriter:
    """A ``csv.writer`` whose every cell passes through ``safe_cell``."""

    def __init__(self, out: TextSink, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: TextSink, **fmtparams: Any) -> SafeWriter:
    """A CSV writer for a file people open in a spreadsheet; takes ``csv.writer``'s options."""
    return SafeWriter(out, **fmtparams)
