"""Reading holdings and vendor lists: a CSV file in, one ``InputLine`` per row out, streamed.

Columns are recognised by their header names (any case, with synonyms:
ticker or symbol; ISIN; CUSIP; LEI; name, company, issuer, holding, vendor or
supplier; UEI; DUNS; value, market value or amount; weight or %). The
delimiter is sniffed from the first kilobyte among ``,`` ``;`` tab and ``|``.
The text must be UTF-8 (a byte-order mark is allowed).

Invariant: a file is read whole or refused. Every refusal is one
``ScreeningInputError`` naming the file and where (line, byte); nothing is
screened from a file that has one, so no report is ever silently partial.
A header with no identifier or name column, two columns read as one field,
text that is not UTF-8, a row with more cells than the header, a cell of
more than ``MAX_CELL_CHARS`` characters: each is a refusal. Fewer cells than the header read as empty cells; empty lines are
skipped and counted.

Quotes are read strictly, because one stray quote can otherwise take in the
lines after it and the holdings on them would vanish from the report
without a word. A quote opens a cell only as its first character and closes
it only before a delimiter or the end of the line ("" inside a quoted cell
stands for a quote); a quote that never closes is a refusal naming the line
where it opens. Records are one line each: a quoted cell that holds a line
break is refused, naming the line it starts on, unless the header itself has
a cell with a line break (the file was written with line breaks in cells on
purpose). The reader counts the lines of the file (``lines_in_file``) so a
report can set them beside the lines it screened.

A caller that reads within a web request sets ``ReadLimits``: lines, line
length, columns and cell length. A file past one is refused as soon as the
reader meets it, before the header is parsed when a line is too long, so a
hostile file costs little more than reading its bytes.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from receipts.evidence.models import IdentifierScheme
from receipts.evidence.services import EvidenceError, normalise_identifier

# Fields a line may carry. Identifiers are tried first, in this order; then the name.
IDENTIFIER_FIELDS = ("lei", "uei", "duns", "isin", "cusip", "ticker")
FIELDS = (*IDENTIFIER_FIELDS, "name", "value", "weight")

# Header names per field, after ``header_key`` (lower case, punctuation as spaces,
# a trailing currency code dropped: "Market Value (USD)" reads "market value").
HEADER_SYNONYMS: dict[str, frozenset[str]] = {
    "ticker": frozenset({"ticker", "symbol", "ticker symbol", "stock ticker", "ticker code"}),
    "isin": frozenset({"isin", "isin code"}),
    "cusip": frozenset({"cusip", "cusip code"}),
    "lei": frozenset({"lei", "lei code", "legal entity identifier"}),
    "uei": frozenset({"uei", "sam uei", "unique entity id", "unique entity identifier"}),
    "duns": frozenset({"duns", "duns number", "duns no", "duns code"}),
    "name": frozenset(
        {
            "name",
            "company",
            "company name",
            "issuer",
            "issuer name",
            "holding",
            "holding name",
            "security name",
            "vendor",
            "vendor name",
            "supplier",
            "supplier name",
        }
    ),
    "value": frozenset({"value", "market value", "amount", "holding value", "position value"}),
    "weight": frozenset(
        {"weight", "%", "weight %", "weighting", "portfolio weight", "% of portfolio", "percent"}
    ),
}
_FIELD_OF_HEADER = {h: f for f, names in HEADER_SYNONYMS.items() for h in names}
_CURRENCIES = frozenset({"usd", "eur", "gbp", "chf", "jpy", "cad", "aud", "sek", "nok", "dkk"})

# No name, identifier or number is longer; a longer cell is a broken file, not a holding.
MAX_CELL_CHARS = 10_000

# Headers named in the refusal of a header with no column to screen by.
SHOWN_HEADERS = 20

DELIMITERS = ",;\t|"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_BYTES = 1024
_CHUNK_BYTES = 1 << 16

_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive or an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)


class ScreeningInputError(ValueError):
    """A file that cannot be screened whole. The message names the file and where."""


class TooLarge(ScreeningInputError):
    """A file past a limit the caller set (the web upload's); ``limit`` says which, as text."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


class TooManyLines(TooLarge):
    """More lines than the caller accepts."""


class CellTooLong(ScreeningInputError):
    """A cell longer than the reader accepts; the message names the line and the column."""


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on one read, for a file screened within a web request; None leaves one open."""

    lines: int | None = None
    line_chars: int | None = None
    columns: int | None = None
    cell_chars: int | None = None


def header_key(header: str) -> str:
    """A header's comparison form: "Market Value (USD)" -> "market value", "Weight %" -> "weight %"."""
    text = re.sub(r"[^0-9a-z%]+", " ", header.replace("\ufeff", "").casefold())
    words = text.split()
    while len(words) > 1 and words[-1] in _CURRENCIES:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True)
class Columns:
    """Which column holds which field, and the headers left unused."""

    index: dict[str, int]
    headers: tuple[str, ...]
    unused: tuple[str, ...]

    @property
    def used(self) -> dict[str, str]:
        """Field -> the header it is read from."""
        return {f: self.headers[i] for f, i in self.index.items()}


def recognise_columns(headers: list[str], display: str) -> Columns:
    """Map header names to fields; refuse a header with no identifier or name, or a field twice."""
    # A header cell may hold a line break ("Market Value\n(USD)"); messages show it on one line.
    headers = [" ".join(h.split()) for h in headers]
    index: dict[str, int] = {}
    unused: list[str] = []
    for i, header in enumerate(headers):
        found = _FIELD_OF_HEADER.get(header_key(header))
        if found is None:
            if header.strip():
                unused.append(header.strip())
            continue
        if found in index:
            raise ScreeningInputError(
                f"{display}: columns {headers[index[found]].strip()!r} and {header.strip()!r} "
                f"both read as {found}; keep one of them"
            )
        index[found] = i
    if not any(f in index for f in (*IDENTIFIER_FIELDS, "name")):
        named = [h.strip() for h in headers if h.strip()]
        # A broken file can have a million headers: the message names a few.
        shown = ", ".join(repr(h[:60]) for h in named[:SHOWN_HEADERS]) or "none"
        if len(named) > SHOWN_HEADERS:
            shown += f" and {len(named) - SHOWN_HEADERS:,} more"
        expected = "; ".join(
            f"{f}: " + " or ".join(sorted(HEADER_SYNONYMS[f], key=len)[:3])
            for f in (*IDENTIFIER_FIELDS, "name")
        )
        raise ScreeningInputError(
            f"{display}: no column to screen by; headers found: {shown}; expected at least one "
            f"of ({expected}), with value or weight optional"
        )
    return Columns(index=index, headers=tuple(h.strip() for h in headers), unused=tuple(unused))


@dataclass(slots=True)
class InputLine:
    """One row of the file: its line number, identifiers in canonical form, name, value, weight."""

    line: int
    identifiers: dict[str, str]
    name: str
    value: Decimal | None = None
    weight: Decimal | None = None
    raw: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How the line names its holding or vendor, for tables."""
        if self.name:
            return self.name
        return " ".join(f"{k.upper()} {v}" for k, v in self.identifiers.items()) or "—"


def canonical_identifier(scheme: str, value: str) -> str:
    """An identifier as the evidence stores it ("" when nothing is left): DUNS padded to 9 digits."""
    text = "".join(value.split())
    if not text:
        return ""
    try:
        return normalise_identifier(scheme, text)
    except EvidenceError:
        return ""


_SCHEME = {
    "lei": IdentifierScheme.LEI,
    "uei": IdentifierScheme.UEI,
    "duns": IdentifierScheme.DUNS,
    "isin": IdentifierScheme.ISIN,
    "cusip": IdentifierScheme.CUSIP,
    "ticker": IdentifierScheme.TICKER,
}


def parse_number(text: str, decimal_comma: bool) -> Decimal | None:
    """A value or weight: "1,234.50", "$1 234,50", "12.5%"; None for an empty cell.

    With both "," and "." the last one is the decimal mark. With one kind,
    repeated it groups thousands, and once before other than three digits it
    is the decimal mark; once before exactly three digits ("1,234") it is read
    as the file's convention says: a decimal comma in semicolon-delimited
    files (as spreadsheets write them where the comma is the decimal mark),
    thousands otherwise. Raises ValueError for anything else.
    """
    cleaned = re.sub(r"[\s\u00a0\u202f$€£¥%']", "", text)
    if not cleaned:
        return None
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = cleaned.strip("()")
    commas, dots = cleaned.count(","), cleaned.count(".")
    if commas and dots:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif commas or dots:
        mark = "," if commas else "."
        count = commas or dots
        tail = cleaned.rsplit(mark, 1)[1]
        if count > 1:
            decimal = "." if mark == "," else ","
        elif len(tail) != 3:
            decimal = mark
        else:
            decimal = "," if decimal_comma else "."
    else:
        decimal = "."
    thousands = "." if decimal == "," else ","
    cleaned = cleaned.replace(thousands, "").replace(decimal, ".")
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?|[-+]?\.\d+", cleaned):
        raise ValueError(text)
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    return -number if negative else number


class HoldingsFile:
    """A CSV of holdings or vendors, read as a stream of ``InputLine``.

    ``bytes_read`` follows the stream for progress bars. Iterating raises
    ``ScreeningInputError`` at the first problem; the caller discards what it
    read before (see the module docstring).
    """

    def __init__(
        self,
        stream: BinaryIO,
        display: str,
        *,
        size: int | None = None,
        max_lines: int | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        self.stream = stream
        self.display = display
        self.size = size
        self.limits = limits or ReadLimits()
        self.max_lines = max_lines if max_lines is not None else self.limits.lines
        self.bytes_read = 0
        self.delimiter = ","
        self.encoding = "utf-8"
        self.blank_lines = 0
        # Lines of the header, every line of the file once it is read, and
        # records that span lines (only when allowed).
        self.header_lines = 0
        self.lines_in_file = 0
        self.multiline_records = 0
        self.multiline_allowed = False
        self.columns: Columns | None = None
        self._record_start = 1  # the line the record being parsed starts on
        self._lines_decoded = 0
        self._line_run = 0  # characters of the line not yet ended, for the line limit

    # --- bytes to text ---------------------------------------------------------

    def _text_chunks(self) -> Iterator[str]:
        """Decoded text, chunk by chunk; refuses anything but UTF-8 with the byte position."""
        first = self.stream.read(_CHUNK_BYTES)
        if not first:
            raise ScreeningInputError(f"{self.display}: the file is empty")
        for signature, what in _SIGNATURES:
            if first.startswith(signature):
                raise ScreeningInputError(
                    f"{self.display}: this is {what}, not a CSV file; save it as CSV UTF-8"
                )
        if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ScreeningInputError(
                f"{self.display}: the text is UTF-16, not UTF-8; save it as CSV UTF-8"
            )
        offset = 0
        if first.startswith(codecs.BOM_UTF8):
            first = first[len(codecs.BOM_UTF8) :]
            offset = len(codecs.BOM_UTF8)
            self.encoding = "utf-8-sig"
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        chunk = first
        while True:
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's held-back bytes followed by this chunk.
                held = len(exc.object) - len(chunk)
                position = offset - held + exc.start
                line = self._lines_decoded + exc.object[: exc.start].count(b"\n") + 1
                bad = exc.object[exc.start : exc.start + 1].hex().upper()
                raise ScreeningInputError(
                    f"{self.display}: not UTF-8 text: byte 0x{bad} at byte position {position} "
                    f"(line {line}); save the file as CSV UTF-8"
                ) from None
            offset += len(chunk)
            self.bytes_read = offset
            if "\x00" in text:
                raise ScreeningInputError(
                    f"{self.display}: the file holds NUL bytes (line {self._lines_decoded + 1}); "
                    "it is not a text CSV file"
                )
            if self.limits.line_chars is not None:
                self._check_line_length(text, self.limits.line_chars)
            self._lines_decoded += text.count("\n")
            if text:
                yield text
            if final:
                return
            chunk = self.stream.read(_CHUNK_BYTES)

    def _check_line_length(self, text: str, limit: int) -> None:
        """Refuse at the first line longer than ``limit``, before anything parses it."""
        pieces = text.split("\n")
        run = self._line_run + len(pieces[0])
        if run <= limit and (len(pieces) == 1 or max(map(len, pieces[1:])) <= limit):
            self._line_run = run if len(pieces) == 1 else len(pieces[-1])
            return
        for number, piece in enumerate(pieces):
            length = run if number == 0 else len(piece)
            if length > limit:
                line = self._lines_decoded + number + 1
                raise TooLarge(
                    f"{self.display}, line {line}: longer than {limit:,} characters",
                    f"{limit:,} characters on a line",
                )
        raise AssertionError("a piece was over the limit")  # pragma: no cover

    def _text_lines(self, chunks: Iterator[str], head: str) -> Iterator[str]:
        """Lines with their endings, as the csv module wants them."""
        pending = ""
        for text in itertools.chain([head], chunks):
            if "\n" not in text:
                pending += text
                continue
            *complete, pending = (pending + text).split("\n")
            for line in complete:
                yield line + "\n"
        if pending:
            yield pending

    # --- the header and the delimiter -----------------------------------------

    def _sniff(self, head: str) -> str:
        sample = head[:SNIFF_BYTES]
        if "\n" in sample.rstrip("\r\n"):
            sample = sample[: sample.rstrip("\r\n").rfind("\n")]
        header_line = next((line for line in head.split("\n") if line.strip()), "")
        if not any(d in header_line for d in DELIMITERS):
            # One column: read each line whole, whatever punctuation its names hold.
            return min(DELIMITERS, key=sample.count)
        try:
            found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
        except csv.Error:
            found = ""
        # The sniffer can pick a character of the data; the header decides between
        # candidates: the delimiter that finds the most known columns in it wins.
        candidates = [found] if found else []
        candidates += [d for d in DELIMITERS if d != found and d in header_line]

        def known(d: str) -> int:
            try:
                cells = next(csv.reader([header_line], delimiter=d), [])
            except csv.Error:  # e.g. a lone carriage return: reading the file says so
                return 0
            return sum(1 for c in cells if header_key(c) in _FIELD_OF_HEADER)

        scored = [(known(d), -i, d) for i, d in enumerate(candidates)]
        if not scored:
            return ","
        best = max(scored)
        return best[2] if best[0] > 0 or found else ","

    def __iter__(self) -> Iterator[InputLine]:
        chunks = self._text_chunks()
        head = ""
        for text in chunks:
            head += text
            if len(head) >= SNIFF_BYTES and "\n" in head:
                break
        self.delimiter = self._sniff(head)
        reader = csv.reader(self._text_lines(chunks, head), delimiter=self.delimiter, strict=True)
        try:
            header = next(reader, None)
            while header is not None and not any(c.strip() for c in header):
                self.blank_lines += 1
                self._record_start = reader.line_num + 1
                header = next(reader, None)
            if header is None:
                raise ScreeningInputError(f"{self.display}: the file has no header line")
            # A header cell with a line break says the file keeps line breaks in cells.
            self.multiline_allowed = reader.line_num > self._record_start
            self.header_lines = reader.line_num - self._record_start + 1
            self._record_start = reader.line_num + 1
            self._check_header(header, reader.line_num)
            columns = self.columns = recognise_columns(header, self.display)
            yield from self._lines(reader, columns)
            self.lines_in_file = reader.line_num
        except csv.Error as exc:
            raise self._csv_error(str(exc), reader.line_num) from None

    def _csv_error(self, why: str, line: int) -> ScreeningInputError:
        """The csv module's complaint as one refusal naming the line where the trouble starts."""
        start = self._record_start
        fix = (
            'quote a whole cell, and write a quote inside a quoted cell twice (""); '
            'a stray quote (") may be all that is wrong'
        )
        if why == "unexpected end of data":
            taken = ""
            if line > start:
                taken = (
                    f" (the {line - start + 1:,} lines to the end of the file would be one cell)"
                )
            return ScreeningInputError(
                f"{self.display}, line {start}: a quote opens a cell here and never closes"
                f"{taken}; {fix}"
            )
        if "expected after" in why:
            if line > start and not self.multiline_allowed:
                return ScreeningInputError(
                    f"{self.display}, line {start}: a quote opens a cell here that closes on "
                    f"line {line:,}, taking in the lines between; {fix}"
                )
            return ScreeningInputError(
                f"{self.display}, line {line:,}: a quoted cell is followed by more text before "
                f"the next {DELIMITER_NAMES[self.delimiter]} ('{self.delimiter}'); {fix}"
            )
        if "field limit" in why:
            if line > start:
                return ScreeningInputError(
                    f"{self.display}, line {start}: a quote opens a cell here that has not "
                    f"closed by line {line:,}; {fix}"
                )
            why = f"a cell holds more than {csv.field_size_limit():,} characters"
        return ScreeningInputError(f"{self.display}, line {line:,}: not readable as CSV ({why})")

    def _check_header(self, header: list[str], line: int) -> None:
        most = self.limits.columns
        if most is not None and len(header) > most:
            raise TooLarge(
                f"{self.display}, line {line}: the header has {len(header):,} columns, more "
                f"than {most:,}",
                f"{most:,} columns",
            )
        if self.limits.cell_chars is not None:
            self._check_cells(header, line, [f"column {i + 1}" for i in range(len(header))])

    def _check_cells(self, cells: list[str], line: int, names: Sequence[str]) -> None:
        """Every cell within the caller's cell limit (a quoted cell can span many short lines)."""
        limit = self.limits.cell_chars
        if limit is None or max(map(len, cells), default=0) <= limit:
            return
        i = next(i for i, cell in enumerate(cells) if len(cell) > limit)
        name = repr(names[i]) if i < len(names) and names[i] else f"column {i + 1}"
        raise CellTooLong(
            f"{self.display}, line {line}: the {name} cell holds {len(cells[i]):,} characters; "
            f"at most {limit:,} are read in a cell here"
        )

    def _check_spanning(self, start: int, end: int) -> None:
        """A record over lines ``start`` to ``end``: refused unless the header allows it."""
        if self.multiline_allowed:
            self.multiline_records += 1
            return
        raise ScreeningInputError(
            f"{self.display}, line {start}: a quoted cell starts here and runs to line {end:,}, "
            f"so {end - start + 1:,} lines would be read as one; lines of this file are one "
            'record each (no header cell holds a line break): remove the stray quote (") '
            "or the line breaks inside cells"
        )

    def _lines(self, reader: Any, columns: Columns) -> Iterator[InputLine]:
        width = len(columns.headers)
        index = columns.index
        decimal_comma = self.delimiter == ";"
        identifier_columns = [(f, index[f]) for f in IDENTIFIER_FIELDS if f in index]
        name_column = index.get("name")
        number_columns = [(f, index[f]) for f in ("value", "weight") if f in index]
        used_columns = sorted(index.values())
        check_cells = self.limits.cell_chars is not None
        count = 0
        # Called once per row of files of 100,000 rows: keep it to dict and str work.
        for cells in reader:
            start, self._record_start = self._record_start, reader.line_num + 1
            if reader.line_num > start:
                self._check_spanning(start, reader.line_num)
            if not any(c.strip() for c in cells):
                self.blank_lines += 1
                continue
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                name = DELIMITER_NAMES[self.delimiter]
                raise ScreeningInputError(
                    f"{self.display}, line {reader.line_num}: {len(cells)} cells where the header "
                    f"has {width}; quote names that hold a {name} ('{self.delimiter}')"
                )
            count += 1
            if self.max_lines is not None and count > self.max_lines:
                raise TooManyLines(
                    f"{self.display}: more than {self.max_lines:,} lines",
                    f"{self.max_lines:,} lines",
                )
            if check_cells:
                self._check_cells(cells, reader.line_num, columns.headers)
            for i in used_columns:
                if i < len(cells) and len(cells[i]) > MAX_CELL_CHARS:
                    raise CellTooLong(
                        f"{self.display}, line {reader.line_num}: the {columns.headers[i]!r} cell "
                        f"holds {len(cells[i]):,} characters, more than {MAX_CELL_CHARS:,}"
                    )
            line = InputLine(line=start, identifiers={}, name="")
            for f, i in identifier_columns:
                raw = cells[i].strip() if i < len(cells) else ""
                if raw:
                    line.raw[f] = raw
                    value = canonical_identifier(_SCHEME[f], raw)
                    if value:
                        line.identifiers[f] = value
                    else:
                        line.problems.append(f"{f} {raw!r} is not readable")
            if name_column is not None and name_column < len(cells):
                line.name = " ".join(cells[name_column].split())
                if line.name:
                    line.raw["name"] = line.name
            for f, i in number_columns:
                raw = cells[i].strip() if i < len(cells) else ""
                if not raw:
                    continue
                line.raw[f] = raw
                try:
                    setattr(line, f, parse_number(raw, decimal_comma))
                except ValueError:
                    line.problems.append(f"{f} {raw!r} is not a number; left out of the share")
            yield line
