"""What the FollowTheMoney import and export of evidence and of contract records
share: their errors, writing a value the way FollowTheMoney keeps it, and
reading one line of a file with its checked values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from followthemoney import EntityProxy, Schema, model, registry

from receipts.evidence.dates import parse_partial_date
from receipts.evidence.ftm_ids import is_ftm_id

TYPE_NAMES = {"entity": "entity id", "url": "URL", "mimetype": "media type"}


class FtmImportError(ValidationError):
    """A file that cannot be imported; the message names the file, the line and the field."""

    def __init__(self, file_name: str, line: int | None, field: str | None, problem: str) -> None:
        where = file_name if line is None else f"{file_name} line {line}"
        if field:
            where += f', field "{field}"'
        super().__init__(f"{where}: {problem}", code="ftm_import")
        self.file_name = file_name
        self.line = line
        self.field = field


class FtmExportError(ValidationError):
    """A stored value that FollowTheMoney would drop: exporting it would lose it."""


def show(value: object, limit: int = 80) -> str:
    """A value for a one-line message: quoted, escaped, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_proxy(schema: str, entity_id: str, where: str) -> EntityProxy:
    """An empty FtM entity, refusing an id FollowTheMoney would not keep."""
    if not is_ftm_id(entity_id):
        raise FtmExportError(
            f'{where}, field "id": FollowTheMoney does not keep {show(entity_id)} as an entity id'
        )
    proxy = model.make_entity(schema)
    proxy.id = entity_id
    return proxy


# Types whose cleaning does not look at the entity (a phone number looks at its countries,
# an entity reference at the entity's own id).
_CONTEXT_FREE_TYPES = frozenset(
    ("date", "number", "url", "string", "text", "identifier", "checksum", "mimetype", "country")
)
# Values up to this length are cleaned once per export: a million payments repeat the same
# dates, agencies and recipients, and parsing a date costs more than writing the line.
_CACHED_LENGTH = 200


@lru_cache(maxsize=1 << 16)
def _clean_short(type_name: str, format: str | None, value: str) -> str | None:
    return registry.get(type_name).clean(value, format=format)  # type: ignore[union-attr]


def put(proxy: EntityProxy, name: str, value: str | None, where: str) -> None:
    """Add FtM's clean form of a value, or refuse the export if FtM would drop it."""
    if value is None or value == "":
        return
    prop = proxy.schema.properties[name]
    type_name = prop.type.name
    if len(value) <= _CACHED_LENGTH and (
        type_name in _CONTEXT_FREE_TYPES or (type_name == "entity" and value != proxy.id)
    ):
        cleaned = _clean_short(type_name, prop.format, value)
    else:
        cleaned = prop.type.clean(value, format=prop.format, proxy=proxy)
    if cleaned is None or proxy.unsafe_add(prop, cleaned, cleaned=True) is None:
        raise FtmExportError(
            f'{where}, field "{name}": FollowTheMoney does not keep {show(value)} '
            f"as a {TYPE_NAMES.get(prop.type.name, prop.type.name)}"
        )


@dataclass
class ImportSummary:
    """What an import did, counted per group (entities, ties, sources)."""

    name: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    # "<schema>.<property>" (or a note) -> how many lines carried something not imported.
    not_imported: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        """One line: entities, ties and sources created, updated and unchanged."""
        groups = []
        records = (("awards", "award"), ("transactions", "transaction"))
        for group, one in (
            ("entities", "entity"),
            ("ties", "tie"),
            ("sources", "source"),
            *(r for r in records if self.created[r[0]] + self.updated[r[0]] + self.unchanged[r[0]]),
        ):
            made = self.created[group]
            groups.append(
                f"{made} {one if made == 1 else group} created, {self.updated[group]} updated, "
                f"{self.unchanged[group]} unchanged"
            )
        text = f"{self.name}: " + "; ".join(groups)
        if self.not_imported:
            listed = ", ".join(f"{what} ({n})" for what, n in sorted(self.not_imported.items()))
            text += f"; not imported: {listed}"
        return text


@dataclass
class Line:
    """One FtM entity from the file, with the properties the import has read."""

    file_name: str
    number: int
    schema: Schema
    id: str
    properties: dict[str, list[str]]
    read: set[str] = field(default_factory=set)
    unused: Counter[str] = field(default_factory=Counter)

    def fail(self, prop: str | None, problem: str) -> FtmImportError:
        return FtmImportError(self.file_name, self.number, prop, problem)

    def values(self, name: str) -> list[str]:
        """FtM's clean form of each value; a value FtM would drop is an error, not a loss."""
        self.read.add(name)
        prop = self.schema.properties.get(name)
        if prop is None:
            return []
        out: list[str] = []
        for raw in self.properties.get(name, []):
            value = prop.type.clean(raw, format=prop.format)
            if value is None:
                kind = TYPE_NAMES.get(prop.type.name, prop.type.name)
                raise self.fail(name, f"{show(raw)} is not a valid {kind}")
            if value not in out:
                out.append(value)
        return out

    def one(self, name: str, required: str | None = None) -> str | None:
        """The single value of a property; ``required`` is the problem when it is absent."""
        values = self.values(name)
        if len(values) > 1:
            listed = ", ".join(show(v, 40) for v in values[:3])
            raise self.fail(name, f"{len(values)} values ({listed}); Receipts keeps one")
        if values:
            return values[0]
        if required is not None:
            raise self.fail(name, required)
        return None

    def not_read(self) -> Iterator[str]:
        for name in self.properties:
            if name not in self.read:
                yield f"{self.schema.name}.{name}"
        yield from self.unused.elements()


def date_value(line: Line, name: str) -> str:
    value = line.one(name)
    try:
        return parse_partial_date(value, name)
    except ValidationError as exc:
        raise line.fail(name, exc.params["problem"]) from exc


def amount_value(line: Line, name: str, text: str) -> Decimal:
    number, unit = registry.number.parse(text)
    problem = f"{show(text)} is not an amount with at most two decimal places"
    if number is None or unit is not None:
        raise line.fail(name, problem)
    try:
        value = Decimal(number)
    except InvalidOperation as exc:
        raise line.fail(name, problem) from exc
    # The column keeps 20 digits, two after the point: refuse rather than round.
    if not value.is_finite() or value != value.quantize(Decimal("0.01")) or abs(value) >= 10**18:
        raise line.fail(name, problem)
    return value
