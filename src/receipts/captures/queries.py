"""Reads of the captures app: a source's captures, and whether a quote is in them.

A quote counts as found when its normalised form is in the normalised text
of a capture: Unicode compatibility forms folded, case folded, curly quotes
made straight, every dash a hyphen and every run of whitespace one space.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from receipts.evidence.models import Citation, Source

from .models import Capture

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00ad": None,  # a soft hyphen is invisible in the page
    }
)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as compared for quotes: NFKC, case folded, quotes straight, dashes hyphens, spaces single."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class QuoteCheck:
    """Where a citation's quote stands against its source's captures."""

    checked: bool  # False when there is no quote or no capture to look in
    found_in: Capture | None = None

    @property
    def found(self) -> bool:
        return self.found_in is not None


def source_captures(source: Source | int) -> list[Capture]:
    """A source's captures, newest first, without their text."""
    source_id = source if isinstance(source, int) else source.pk
    return list(Capture.objects.filter(source_id=source_id).defer("text"))


def check_quote(quote: str, captures: Iterable[Capture]) -> QuoteCheck:
    """Look for ``quote`` in each capture's text, newest first."""
    wanted = normalise(quote)
    captures = list(captures)
    if not wanted or not captures:
        return QuoteCheck(checked=False)
    for capture in captures:
        if wanted in normalise(capture.text):
            return QuoteCheck(checked=True, found_in=capture)
    return QuoteCheck(checked=True)


def check_citation(citation: Citation) -> QuoteCheck:
    captures = Capture.objects.filter(source_id=citation.source_id).only(
        "id", "captured_at", "text", "source_id"
    )
    return check_quote(citation.quote, captures)


def quotes_not_found() -> list[Citation]:
    """Citations whose quote is in none of their source's captures (sources with captures only)."""
    cited = (
        Citation.objects.exclude(quote="")
        .filter(source__captures__isnull=False)
        .distinct()
        .select_related("source", "tie__subject", "tie__object", "entity")
        .order_by("id")
    )
    texts: dict[int, list[str]] = {}
    missing = []
    for citation in cited:
        if citation.source_id not in texts:
            texts[citation.source_id] = [
                normalise(t)
                for t in Capture.objects.filter(source_id=citation.source_id).values_list(
                    "text", flat=True
                )
            ]
        wanted = normalise(citation.quote)
        if not any(wanted in text for text in texts[citation.source_id]):
            missing.append(citation)
    return missing


def text_diff(older: Capture, newer: Capture, context: int = 2) -> list[str]:
    """A unified diff of the main text of two captures, line by line."""
    return list(
        difflib.unified_diff(
            older.text.splitlines(),
            newer.text.splitlines(),
            fromfile=f"capture of {older.captured_at:%Y-%m-%d %H:%M} UTC",
            tofile=f"capture of {newer.captured_at:%Y-%m-%d %H:%M} UTC",
            n=context,
            lineterm="",
        )
    )


def capture_file_problems() -> list[str]:
    """Each capture file that is missing from the archive folder or no longer matches its SHA-256."""
    import hashlib

    from receipts.evidence.services import archive_path

    problems = []
    for capture in Capture.objects.only("pk", "source_id", "files").order_by("pk").iterator():
        for role, entry in sorted(capture.files.items()):
            path = archive_path(entry["sha256"])
            where = f"capture {capture.pk} of source {capture.source_id}: {role} {entry['sha256']}"
            if not path.exists():
                problems.append(f"{where} is missing")
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
            if digest.hexdigest() != entry["sha256"]:
                problems.append(f"{where} does not match its SHA-256")
    return problems
