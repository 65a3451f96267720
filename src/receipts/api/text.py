"""Input text the database can hold: no NUL character and no lone surrogate.

PostgreSQL stores neither (SQLite would), so the API treats them alike on both.
A write carrying one is refused with a 400 naming the field, like any refused
write. In a read they are replaced by U+FFFD, which no stored text holds, so a
lookup or a search with one matches nothing instead of failing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from pydantic import BaseModel

from receipts.evidence.services import UNSTORABLE, UNSTORABLE_PROBLEM

READS = {"GET", "HEAD", "OPTIONS"}


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` (a parameter or a parsed body), with where it is."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), f"{where}.{name}" if where else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, where)
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def _matching_nothing(value: Any) -> Any:
    if isinstance(value, str) and UNSTORABLE.search(value):
        return UNSTORABLE.sub("\ufffd", value)
    return value  # as it came: an enum member stays one


def storable_text(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an operation's view: it sees only text the database can hold (see the module)."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method in READS:
            kwargs = {name: _matching_nothing(value) for name, value in kwargs.items()}
            return view(request, *args, **kwargs)
        for name, value in kwargs.items():
            top = "" if isinstance(value, BaseModel) else name
            for where, text in _strings(value, top):
                if UNSTORABLE.search(text):
                    raise HttpError(400, f"{where}: {UNSTORABLE_PROBLEM}")
        return view(request, *args, **kwargs)

    return checked
