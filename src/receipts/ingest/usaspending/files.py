"""Finding the CSV files to import: plain files, zip downloads and directories.

Zip members are copied out to a temporary folder before reading; zipfile
checks each member's CRC as it copies, so a truncated or damaged download is
refused before anything is stored.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .formats import FileKind, HeaderError, NotImportedKind, detect_kind


class InputError(ValueError):
    """A file that cannot be read at all. The message names the file."""


@dataclass
class CsvInput:
    """One CSV to read: where it lives on disk and how to name it to the user."""

    display: str
    path: Path
    header: list[str]
    kind: FileKind


# What a whole value of the last column looks like, for the columns USAspending
# files end with: last_modified_date (a date, or a date and time) today,
# fiscal_year in the 2018-era files, correction_delete_ind where a delta file
# puts it last. A row cut short ends in a piece of one.
_TIME = rb"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
_WHOLE_LAST_FIELD = {
    "last_modified_date": re.compile(rb"(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})" + _TIME),
    "fiscal_year": re.compile(rb"\d{4}"),
    "correction_delete_ind": re.compile(rb"[CDcd]?"),
}


def ends_with_a_whole_row(tail: bytes, last_column: str) -> bool:
    """Whether a file that lacks its final line break still ends with a whole row.

    Files saved by some editors drop the last line break. A download cut off
    mid-row ends inside a field instead; the row's last field shows which: it
    must be a whole value of its column, and a date where the row before has a
    date and time was cut too. A file whose last column is not one of those
    is refused. (A row that lacks whole fields is refused later, when the CSV
    is read.)
    """
    pattern = _WHOLE_LAST_FIELD.get(last_column)
    if pattern is None:
        return False
    lines = tail.replace(b"\r\n", b"\n").split(b"\n")
    last = lines[-1].rsplit(b",", 1)[-1].strip(b'"')
    if last == b"" and last_column == "last_modified_date" and lines[-1][:2] in (b"D,", b"d,"):
        return True  # a deletion mark holding only its key, the mark in front
    if pattern.fullmatch(last) is None:
        return False
    if last_column == "last_modified_date" and len(lines) >= 2:
        before = lines[-2].rsplit(b",", 1)[-1].strip(b'"')
        # The line before may be part of a multi-line field: compare only with a value.
        if pattern.fullmatch(before) and b":" in before and b":" not in last:
            return False
    return True


class _NotText(InputError):
    """A first line that is not UTF-8 text: no USAspending header, whatever the file is."""

    def __init__(self, display: str, problem: str) -> None:
        super().__init__(f"{display}: {problem}")
        self.problem = problem


def read_header(path: Path, display: str) -> tuple[list[str], bool]:
    """The header of a CSV, and whether the file ends with a whole row."""
    import csv

    with path.open("rb") as raw:
        head = raw.read(1 << 20)
        if not head.strip():
            raise InputError(f"{display}: the file is empty (not even a header)")
        size = raw.seek(0, 2)
        raw.seek(max(0, size - 4096))
        tail = raw.read()
    first_line_bytes = head.split(b"\n", 1)[0]
    try:
        first_line = first_line_bytes.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise _NotText(display, f"the header is not UTF-8 text ({exc.reason})") from None
    try:
        header = [h.strip() for h in next(csv.reader([first_line]))]
    except csv.Error as exc:  # e.g. a carriage return inside the header line
        raise InputError(f"{display}: the header is not readable as CSV ({exc})") from None
    only_a_header = size <= len(first_line_bytes) + 2
    ends_whole = (
        tail[-1:] in (b"\n", b"\r")
        or only_a_header
        or ends_with_a_whole_row(tail, header[-1] if header else "")
    )
    return header, ends_whole


@dataclass
class Skipped:
    """A file found inside a zip or folder that is left out, and why."""

    display: str
    reason: str


def _extract_zip(path: Path, workdir: Path) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(
                (
                    m
                    for m in archive.infolist()
                    if m.filename.lower().endswith(".csv") and not m.is_dir()
                ),
                key=lambda m: m.filename,
            )
            if not members:
                raise InputError(f"{path}: the zip file holds no CSV file")
            # One folder per zip: members of two downloads may share a name.
            folder = Path(tempfile.mkdtemp(prefix="zip-", dir=workdir))
            for n, member in enumerate(members):
                target = folder / f"{n}-{Path(member.filename).name}"
                with archive.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                out.append((target, f"{path}:{member.filename}"))
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise InputError(
            f"{path}: the zip file is damaged or truncated ({exc}); download it again"
        ) from exc
    return out


def collect_inputs(
    paths: Iterable[Path], workdir: Path, skipped: list[Skipped] | None = None
) -> list[CsvInput]:
    """Every CSV under ``paths`` with its kind, in a stable order; InputError on the first bad one.

    A download of several award types holds subaward and financial assistance
    files next to the contract files, and a folder may hold other CSV files:
    found inside a zip or a folder, every file that is not a contract file is
    left out and listed in ``skipped`` with what it is. Named on their own,
    they are refused. A contract file that cannot be read whole (truncated,
    without its header, lacking columns) is refused wherever it is found.
    """
    found: list[tuple[Path, str, bool]] = []  # (path, display, named by the user)
    for given in paths:
        if not given.exists():
            raise InputError(f"{given}: no such file or directory")
        candidates = (
            sorted(
                p for p in given.rglob("*") if p.is_file() and p.suffix.lower() in {".csv", ".zip"}
            )
            if given.is_dir()
            else [given]
        )
        if given.is_dir() and not candidates:
            raise InputError(f"{given}: the directory holds no .csv or .zip file")
        for p in candidates:
            if p.suffix.lower() == ".zip" or zipfile.is_zipfile(p):
                found.extend((m, display, False) for m, display in _extract_zip(p, workdir))
            else:
                found.append((p, str(p), not given.is_dir()))
    inputs: list[CsvInput] = []
    left_out: list[Skipped] = []
    for p, display, named in found:
        try:
            header, ends_whole = read_header(p, display)
            kind = detect_kind(header, display)
        except _NotText as exc:
            if named:
                raise
            left_out.append(Skipped(display, exc.problem))
            continue
        except NotImportedKind as exc:
            if named:
                raise InputError(str(exc)) from exc
            left_out.append(Skipped(display, exc.what))
            continue
        except HeaderError as exc:
            raise InputError(str(exc)) from exc
        if not ends_whole:
            raise InputError(
                f"{display}: the file is truncated (its last line has no line break); "
                "download it again and re-run: rows already stored are not duplicated"
            )
        inputs.append(CsvInput(display=display, path=p, header=header, kind=kind))
    if not inputs:
        raise InputError(
            "no contract transactions or award summaries file to import; left out: "
            + "; ".join(f"{s.display} ({s.reason})" for s in left_out)
        )
    if skipped is not None:
        skipped.extend(left_out)
    return inputs
