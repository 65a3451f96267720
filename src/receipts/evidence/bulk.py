"""Fast inserts of many rows at once: executemany on SQLite, COPY on PostgreSQL.

For importers only. The callers are service functions that have already
checked every row, so the invariants hold as they do for one-by-one saves;
what is skipped is the ORM's per-object work, not a check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models

from receipts.pagecache.generation import content_changed

_KEY_CHUNK = 900

T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``, for IN lists that stay under every backend's
    parameter limit."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def quote_name(name: str) -> str:
    """A table or column name quoted for the current database."""
    return connection.ops.quote_name(name)


def select_in(
    model: type[models.Model], columns: Sequence[str], key: str, keys: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Rows (``columns`` as attnames, e.g. ``tie_id``) of the model's table whose ``key`` is in ``keys``.

    The same rows as ``model.objects.filter(key__in=keys).values_list(*columns)``,
    read in chunks of plain SQL: the ORM prepares every value of an IN list one
    by one, which costs more than the query itself when an import looks up
    hundreds of thousands of keys. Values come back as the driver gives them
    (no model-field conversion), so use it for keys, ids, text and integers.
    """
    if not keys:
        return []
    table = quote_name(model._meta.db_table)
    cols = ", ".join(quote_name(model._meta.get_field(c).column) for c in columns)
    column = quote_name(model._meta.get_field(key).column)
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for sql_in, params in in_clauses(column, keys):
            cursor.execute(f"SELECT {cols} FROM {table} WHERE {sql_in}", params)  # noqa: S608
            out.extend(tuple(row) for row in cursor.fetchall())
    return out


def in_clauses(column: str, keys: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
    """``column IN (...)`` conditions with their parameters, a chunk of ``keys`` each.

    PostgreSQL takes a chunk as one array parameter (``= ANY(%s)``): a statement
    with hundreds of placeholders costs the driver more to prepare than the
    server to run. ``column`` must be quoted already.
    """
    if connection.vendor == "postgresql":
        for start in range(0, len(keys), _KEY_CHUNK * 10):
            yield f"{column} = ANY(%s)", [list(keys[start : start + _KEY_CHUNK * 10])]
        return
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = list(keys[start : start + _KEY_CHUNK])
        yield f"{column} IN ({', '.join(['%s'] * len(chunk))})", chunk


def db_value(field: models.Field, value: Any) -> Any:  # type: ignore[type-arg]
    """A Python value as the database driver takes it for this field."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, Decimal) and isinstance(field, models.DecimalField):
        return connection.ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    if isinstance(field, models.JSONField):
        return field.get_db_prep_value(value, connection)
    return value


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (values in ``columns`` order, as attnames like ``tie_id``) into the model's table."""
    if not rows:
        return
    # Columns the caller leaves out get their model default, as the ORM would give them.
    given = set(columns)
    extra = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and f.attname not in given
        and (
            f.has_default() or (not f.null and isinstance(f, (models.CharField, models.TextField)))
        )
    ]
    if extra:
        columns = [*columns, *(f.attname for f in extra)]
        if any(callable(f.default) for f in extra):  # e.g. a fresh id per row
            rows = [[*row, *(f.get_default() for f in extra)] for row in rows]
        else:
            defaults = [f.get_default() for f in extra]
            rows = [[*row, *defaults] for row in rows]
    fields = [model._meta.get_field(c) for c in columns]  # attnames like tie_id resolve too
    # Only the columns whose values need adapting pay for it: called per cell of a million rows.
    adapt = [
        (i, f)
        for i, f in enumerate(fields)
        if isinstance(f, (models.JSONField, models.DecimalField, models.DateTimeField))
    ]
    if adapt:
        adapted = []
        # Callers stamp a batch with one ``now``: adapt a repeated value once.
        last: dict[int, tuple[Any, Any]] = {}
        for row in rows:
            values = list(row)
            for i, f in adapt:
                value = values[i]
                seen = last.get(i)
                if seen is not None and seen[0] is value:
                    values[i] = seen[1]
                    continue
                values[i] = db_value(f, value)
                last[i] = (value, values[i])
            adapted.append(values)
        rows = adapted
    table = quote_name(model._meta.db_table)
    cols = ", ".join(quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw cursor's COPY bypasses Django's error translation: a lost connection
            # must still arrive as django.db's OperationalError, as from any query.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    content_changed(model._meta.db_table)  # COPY passes no execute wrapper: say so here
