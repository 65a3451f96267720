"""Partial dates: a year, a year and month, or a full day, kept as given.

Stored as ISO text (``2026``, ``2026-02``, ``2026-02-13``) so that string order
is date order and no day or month is ever invented.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_partial_date(value: str | None, field: str = "date") -> str:
    """Return ``value`` as a canonical partial date, or "" for no date.

    Raises ValidationError naming ``field`` for anything that is not a real
    year, year-month or day; never guesses at ambiguous forms like 02/03/26.
    """
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    # FtM and many exports carry timestamps: keep the date part only.
    if "T" in text:
        text = text.split("T", 1)[0]
    match = _PARTIAL.match(text)
    if match is None:
        raise ValidationError(
            "%(field)s: %(problem)s",
            code="invalid_partial_date",
            params={
                "field": field,
                "problem": f"{value!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD",
            },
        )
    year, month, day = match.groups()
    try:
        if day is not None:
            dt.date(int(year), int(month), int(day))
        elif month is not None and not 1 <= int(month) <= 12:
            raise ValueError("month out of range")
    except ValueError as exc:
        raise ValidationError(
            "%(field)s: %(problem)s",
            code="invalid_partial_date",
            params={"field": field, "problem": f"{value!r} is not a real date ({exc})"},
        ) from exc
    return text


def validate_partial_date(value: str) -> None:
    parse_partial_date(value)


def partial_date_precision(value: str) -> str:
    """'year', 'month', 'day' or '' for a stored partial date."""
    return {4: "year", 7: "month", 10: "day"}.get(len(value or ""), "")
