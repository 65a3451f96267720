"""Refusals of the services as data: each problem kept under the name of the field it concerns.

A service raises ``Refusal("end_date", "is before start_date 2025")``; a form puts it
next to its field (``add_to_form``), the API answers ``{"errors": {field: [message]}}``
and the command line prints ``field: message`` (``describe``). No caller takes a
message string apart to learn which field it was about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class Refusal(ValidationError):
    """A write a service refuses: a ValidationError whose problems are keyed by field.

    ``messages`` and ``str()`` read "field: message", so anything printing a refusal
    stays readable; ``message_dict`` keeps field and message apart.
    """

    def __init__(
        self, field: str | Mapping[str, Any], message: str | None = None, code: str | None = None
    ) -> None:
        if isinstance(field, str):
            if message is None:
                raise TypeError("a refusal names a field and says what is wrong with it")
            super().__init__({field: [ValidationError(message, code=code)]})
        else:
            super().__init__(dict(field))

    @property
    def messages(self) -> list[str]:  # type: ignore[override]
        return lines(self)

    def __str__(self) -> str:
        return describe(self)


def _texts(errors: list[ValidationError] | ValidationError) -> list[str]:
    """The messages of a list of errors, with their parameters filled in."""
    return [str(message) for message in ValidationError(errors)]


def lines(exc: ValidationError) -> list[str]:
    """One "field: message" line per problem; problems of no field read as they are."""
    if not hasattr(exc, "error_dict"):
        return _texts(exc)
    return [
        message if field == NON_FIELD_ERRORS else f"{field}: {message}"
        for field, errors in exc.error_dict.items()
        for message in _texts(errors)
    ]


def describe(exc: ValidationError) -> str:
    """The refusal on one line, as the command line and the API's ``detail`` print it."""
    return "; ".join(lines(exc))


def as_dict(exc: ValidationError) -> dict[str, list[str]]:
    """Field name to messages; a refusal naming no field comes under ``__all__``."""
    if hasattr(exc, "error_dict"):
        return {field: _texts(errors) for field, errors in exc.error_dict.items()}
    return {NON_FIELD_ERRORS: _texts(exc)}


def add_to_form(form: Any, exc: ValidationError, aliases: Mapping[str, str] | None = None) -> None:
    """Put each problem next to the form field it names, else above the form.

    ``aliases`` maps a service's field name to the form's name for it (a service's
    ``citation`` is a form's ``source``). A problem about a field the form does not
    show goes above the form and keeps its field name, so the reader knows what it is about.
    """
    aliases = aliases or {}
    placed: dict[str, list[ValidationError]] = {}
    if not hasattr(exc, "error_dict"):
        placed[NON_FIELD_ERRORS] = list(exc.error_list)
    else:
        for field, errors in exc.error_dict.items():
            target = aliases.get(field, field)
            if target in form.fields:
                placed.setdefault(target, []).extend(errors)
            elif field == NON_FIELD_ERRORS:
                placed.setdefault(NON_FIELD_ERRORS, []).extend(errors)
            else:
                placed.setdefault(NON_FIELD_ERRORS, []).extend(
                    ValidationError(f"{field}: {message}") for message in _texts(errors)
                )
    form.add_error(None, ValidationError(placed))
