"""FollowTheMoney JSON lines in and out of the evidence graph, one FtM entity per line.

Every exported value survives FollowTheMoney's own cleaning unchanged; an import
reads and checks the whole file before it writes, writes only through the
evidence services in one transaction, and changes nothing when it is repeated.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Prefetch
from followthemoney import EntityProxy, model, registry
from followthemoney.exc import InvalidData
from followthemoney.util import ENTITY_ID_LEN, sanitize_text

from receipts.evidence import services
from receipts.evidence.models import (
    Citation,
    Entity,
    EntityKind,
    Identifier,
    IdentifierScheme,
    Source,
    SourceKind,
    Tie,
    TieKind,
    TieStatus,
)
from receipts.private_files import write_whole

from .common import (
    FtmImportError,
    ImportSummary,
    Line,
    amount_value,
    date_value,
    new_proxy,
    put,
    show,
)

if TYPE_CHECKING:
    from .contracts import RecordsPlan

# The mapping, written by the exporter and read back the same way by the importer:
#
# - Entities: company -> Company, agency -> PublicBody, organization ->
#   Organization, product -> Project, with name, alias, summary and country. On
#   import, abbreviation, previousName and weakAlias become aliases as well.
# - Identifiers: ticker, cikCode, leiCode, uniqueEntityId, dunsCode, cageCode and
#   website, where the schema has the property and FtM keeps the value as it is
#   (a website as FtM's canonical URL). Any other identifier (ISIN, CUSIP, agency
#   code, a LEI that fails its checksum, a ticker of a PublicBody) is the value
#   "<scheme>:<value>" of registrationNumber (projectId on a Project), e.g.
#   "isin:US0231351067".
# - An agency has the topic gov.security when its name or an alias names an
#   enforcement or security body (_SECURITY_NAMES: ICE, CBP, DHS, police,
#   intelligence services). Topics are derived on export and never stored.
# - Sources: news_report -> Article, any other kind -> Document, with the kind as
#   the one keywords value that is a source kind (an Article without one is a
#   news report). An archived copy gives contentHash (its SHA-256), fileName,
#   mimeType and fileSize.
# - Ties: owns -> Ownership (owner -> asset); part_of and member_of -> Membership
#   (member -> organization) with role naming the kind; contract -> Contract
#   (title made from the two names, authority = the tie's object, id
#   "<tie id>-contract") plus ContractAward (the tie's id, contract -> supplier =
#   the tie's subject); hosting, partnership, data_sharing, investment and other
#   -> UnknownLink (subject -> object) with role naming the kind. Links carry
#   startDate, endDate (partial dates stay partial), status, summary, and amount
#   and currency where the schema has them (ContractAward); on any other link an
#   amount is the description value "amount: 1200000.00 USD".
# - Citations: proof lists the cited sources, sourceUrl and publisher repeat
#   theirs, and each citation is one description value
#   "[<source id> @ <locator>] <quote>". An empty locator drops " @ <locator>",
#   an empty quote drops " <quote>", and "\" and "]" in a locator are escaped
#   with "\". On import, a proof without such a value is a citation with neither.
# - Contract records (USAspending awards and transactions) follow the ties: an award
#   is a Contract and a ContractAward with a recordId, a transaction a Payment (see
#   receipts.interchange.followthemoney.contracts). A ContractAward without a recordId is a tie.
# - Every id is one FollowTheMoney keeps (receipts.evidence.ftm_ids); the export
#   refuses any other rather than write a line FtM would reject.

ENTITY_SCHEMATA: dict[str, str] = {
    EntityKind.COMPANY: "Company",
    EntityKind.AGENCY: "PublicBody",
    EntityKind.ORGANIZATION: "Organization",
    EntityKind.PRODUCT: "Project",
}
_ENTITY_KINDS = {schema: str(kind) for kind, schema in ENTITY_SCHEMATA.items()}
_SOURCE_SCHEMATA = ("Document", "Article")
_LINK_SCHEMATA: dict[str, str] = {
    TieKind.OWNS: "Ownership",
    TieKind.PART_OF: "Membership",
    TieKind.MEMBER_OF: "Membership",
    TieKind.CONTRACT: "ContractAward",
}
_OTHER_LINK = "UnknownLink"
# (subject, object) properties of each link; a ContractAward's object is the
# authority of its Contract.
_LINK_ENDS = {
    "Ownership": ("owner", "asset"),
    "Membership": ("member", "organization"),
    "UnknownLink": ("subject", "object"),
    "ContractAward": ("supplier", "contract"),
}
# Links whose role names the tie kind: the kind when role is absent, and the roles read.
_ROLE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Membership": (TieKind.MEMBER_OF, (TieKind.PART_OF, TieKind.MEMBER_OF)),
    "UnknownLink": (
        TieKind.OTHER,
        (
            TieKind.HOSTING,
            TieKind.PARTNERSHIP,
            TieKind.DATA_SHARING,
            TieKind.INVESTMENT,
            TieKind.OTHER,
        ),
    ),
}
_IMPORTED = {*_ENTITY_KINDS, *_SOURCE_SCHEMATA, *_LINK_ENDS, "Contract", "Payment"}
# Schemata about private persons: Receipts records organisations, not individuals.
_PEOPLE = {"Person", "Family", "Associate", "Employment", "Passport"}

_NATIVE_IDENTIFIERS: dict[str, str] = {
    IdentifierScheme.TICKER: "ticker",
    IdentifierScheme.CIK: "cikCode",
    IdentifierScheme.LEI: "leiCode",
    IdentifierScheme.UEI: "uniqueEntityId",
    IdentifierScheme.DUNS: "dunsCode",
    IdentifierScheme.CAGE: "cageCode",
    IdentifierScheme.WEBSITE: "website",
}
_IDENTIFIER_FALLBACKS = ("registrationNumber", "projectId")
_ALIAS_PROPS = ("alias", "abbreviation", "previousName", "weakAlias")

SECURITY_TOPIC = "gov.security"
_SECURITY_NAMES = re.compile(
    r"\b(?:enforcement|border|homeland security|police|intelligence|marshals"
    r"|bureau of investigation|secret service)\b",
    re.IGNORECASE,
)

_ID = r"[0-9A-Za-z](?:[0-9A-Za-z.\-]*[0-9A-Za-z])?"
_CITATION = re.compile(
    rf"\[(?P<source>{_ID})(?: @ (?P<locator>(?:[^\]\\]|\\.)+))?\](?: (?P<quote>.+))?", re.DOTALL
)
_AMOUNT = re.compile(r"amount: (?P<amount>\S+) (?P<currency>[A-Z]{3})")
_CURRENCY = re.compile(r"currency: (?P<currency>[A-Z]{3})")

# Rows per database round trip when exporting.
_CHUNK = 500


def contract_id(tie_ftm_id: str) -> str:
    """The FtM id of the Contract behind a contract tie's ContractAward."""
    return f"{tie_ftm_id}-contract"


def is_security_agency(entity: Entity) -> bool:
    """True for an agency whose name or an alias names an enforcement or security body."""
    return entity.kind == EntityKind.AGENCY and any(
        _SECURITY_NAMES.search(name) for name in [entity.name, *entity.aliases]
    )


def citation_text(source_ftm_id: str, locator: str, quote: str) -> str:
    """The description value of one citation: ``[<source id> @ <locator>] <quote>``."""
    text = source_ftm_id
    if locator:
        text += " @ " + locator.replace("\\", "\\\\").replace("]", "\\]")
    text = f"[{text}]"
    return f"{text} {quote}" if quote else text


# --- export ---------------------------------------------------------------------------


def export_ftm(output: IO[str]) -> int:
    """Write every source, entity, tie and contract record as FtM JSON lines; return how many.

    Sources come first, then entities, then ties (a Contract before its
    ContractAward), then award and transaction records, so every reference
    points to a line already written. The rows are read in one read-only
    transaction, so an import running meanwhile cannot leave a reference
    without its line.
    """
    count = 0
    # Inside a caller's transaction the snapshot is the caller's already.
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for proxy in ftm_entities():
            output.write(json.dumps(proxy.to_dict(), sort_keys=True) + "\n")
            count += 1
    return count


def export_ftm_file(path: Path) -> int:
    """Export to the file ``path``, which appears whole (owner-only) or, on any error, not at all."""
    with write_whole(path) as output:
        return export_ftm(output)


def ftm_entities() -> Iterator[EntityProxy]:
    """Every source, entity and tie as FtM entities, each group in FtM id order, then the records."""
    from receipts.captures.exports import capture_documents

    from .contracts import record_entities

    for source in Source.objects.order_by("ftm_id").iterator(chunk_size=_CHUNK):
        yield source_to_ftm(source)
    yield from capture_documents()
    entities = Entity.objects.order_by("ftm_id").prefetch_related(
        Prefetch("identifiers", queryset=Identifier.objects.order_by("scheme", "value"))
    )
    for entity in entities.iterator(chunk_size=_CHUNK):
        yield entity_to_ftm(entity)
    ties = (
        Tie.objects.order_by("ftm_id")
        .select_related("subject", "object")
        .prefetch_related(
            Prefetch("citations", queryset=Citation.objects.select_related("source").order_by("id"))
        )
    )
    for tie in ties.iterator(chunk_size=_CHUNK):
        yield from tie_to_ftm(tie)
    yield from record_entities()


def _put_identifier(proxy: EntityProxy, scheme: str, value: str, where: str) -> None:
    native = proxy.schema.properties.get(_NATIVE_IDENTIFIERS.get(scheme, ""))
    if native is not None:
        cleaned = native.type.clean(value, format=native.format, proxy=proxy)
        # A URL may take FtM's canonical form; an identifier must stay as it is.
        if cleaned == value or (cleaned is not None and native.type == registry.url):
            put(proxy, native.name, cleaned, where)
            return
    fallback = next(p for p in _IDENTIFIER_FALLBACKS if p in proxy.schema.properties)
    put(proxy, fallback, f"{scheme}:{value}", where)


def source_to_ftm(source: Source) -> EntityProxy:
    """A source as an Article (news report) or Document, its kind in ``keywords``."""
    where = f"source {source.ftm_id}"
    schema = "Article" if source.kind == SourceKind.NEWS_REPORT else "Document"
    proxy = new_proxy(schema, source.ftm_id, where)
    put(proxy, "title", source.title, where)
    put(proxy, "keywords", source.kind, where)
    put(proxy, "publisher", source.publisher, where)
    put(proxy, "sourceUrl", source.url, where)
    put(proxy, "publishedAt", source.published, where)
    put(proxy, "retrievedAt", source.retrieved, where)
    if source.archive_sha256:
        put(proxy, "contentHash", source.archive_sha256, where)
        put(proxy, "fileName", source.archive_filename, where)
        put(proxy, "mimeType", source.archive_media_type, where)
        if source.archive_size is not None:
            put(proxy, "fileSize", str(source.archive_size), where)
    return proxy


def entity_to_ftm(entity: Entity) -> EntityProxy:
    """An entity as a Company, PublicBody, Organization or Project with its identifiers."""
    where = f"entity {entity.slug} ({entity.ftm_id})"
    proxy = new_proxy(ENTITY_SCHEMATA[entity.kind], entity.ftm_id, where)
    put(proxy, "name", entity.name, where)
    for alias in entity.aliases:
        put(proxy, "alias", alias, where)
    put(proxy, "summary", entity.summary, where)
    put(proxy, "country", entity.country, where)
    for identifier in entity.identifiers.all():
        _put_identifier(proxy, identifier.scheme, identifier.value, where)
    if is_security_agency(entity):
        put(proxy, "topics", SECURITY_TOPIC, where)
    return proxy


def tie_to_ftm(tie: Tie) -> list[EntityProxy]:
    """The link for a tie, preceded by its Contract for a contract tie."""
    where = f"tie {tie.ftm_id}"
    out: list[EntityProxy] = []
    if tie.kind == TieKind.CONTRACT:
        contract = new_proxy("Contract", contract_id(tie.ftm_id), where)
        put(contract, "title", f"{tie.object.name} contract with {tie.subject.name}", where)
        put(contract, "authority", tie.object.ftm_id, where)
        out.append(contract)
        link = new_proxy("ContractAward", tie.ftm_id, where)
        put(link, "contract", contract.id, where)
        put(link, "supplier", tie.subject.ftm_id, where)
    else:
        schema = _LINK_SCHEMATA.get(tie.kind, _OTHER_LINK)
        link = new_proxy(schema, tie.ftm_id, where)
        subject_prop, object_prop = _LINK_ENDS[schema]
        put(link, subject_prop, tie.subject.ftm_id, where)
        put(link, object_prop, tie.object.ftm_id, where)
        if schema in _ROLE_KINDS:
            put(link, "role", tie.kind, where)
    put(link, "startDate", tie.start_date, where)
    put(link, "endDate", tie.end_date, where)
    put(link, "status", tie.status, where)
    put(link, "summary", tie.summary, where)
    amount = format(tie.amount, "f") if tie.amount is not None else ""
    if "amount" in link.schema.properties:
        put(link, "amount", amount, where)
        put(link, "currency", tie.currency, where)
    elif amount:
        put(link, "description", f"amount: {amount} {tie.currency}", where)
    elif tie.currency:
        put(link, "description", f"currency: {tie.currency}", where)
    for citation in tie.citations.all():
        source = citation.source
        put(link, "proof", source.ftm_id, where)
        put(link, "sourceUrl", source.url, where)
        put(link, "publisher", source.publisher, where)
        put(
            link,
            "description",
            citation_text(source.ftm_id, citation.locator, citation.quote),
            where,
        )
    out.append(link)
    return out


# --- import: reading and checking -------------------------------------------------------


@dataclass
class _SourceRecord:
    line: Line
    kind: str
    title: str
    publisher: str
    url: str
    published: str
    retrieved: str
    archive: dict[str, Any] | None


@dataclass
class _EntityRecord:
    line: Line
    kind: str
    name: str
    aliases: list[str]
    identifiers: dict[str, list[str]]
    country: str
    summary: str


@dataclass
class _CitationRecord:
    source_id: str
    locator: str
    quote: str


@dataclass
class _TieRecord:
    line: Line
    kind: str
    subject_id: str
    object_id: str
    subject_field: str
    object_field: str
    status: str
    start_date: str
    end_date: str
    amount: Decimal | None
    currency: str
    summary: str
    citations: list[_CitationRecord]


@dataclass
class _ContractRecord:
    line: Line
    authority_id: str


@dataclass
class _Plan:
    sources: list[_SourceRecord]
    entities: list[_EntityRecord]
    ties: list[_TieRecord]
    not_imported: Counter[str]
    records: RecordsPlan


class _NotANumber:
    """NaN, Infinity or -Infinity, which JSON does not have: held to be refused, never read."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _value_problem(raw: object) -> str | None:
    """Why a property value is refused before FollowTheMoney's cleaning sees it, or None.

    FtM's cleaning would write NaN as "nan", round a fraction to three places
    and drop a NUL character without a word; the forms and the API refuse such
    input, so the import does too. Whole numbers are exact and read as text.
    """
    if isinstance(raw, _NotANumber):
        return f"{raw.text} is not a value JSON has: write values as strings"
    if isinstance(raw, float):
        # 1e400 reads as infinity and 0.1 as a binary fraction: either is already changed.
        return (
            f"{raw!r} is a JSON number with a fraction or an exponent, which may already "
            "be rounded: write it as a string"
        )
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return f"{show(raw)} is not a string"
    if isinstance(raw, str) and services.UNSTORABLE.search(raw):
        return services.UNSTORABLE_PROBLEM
    return None


def _parse_line(file_name: str, number: int, text: str) -> Line | None:
    """Check one line as an FtM entity that Receipts imports; None for a blank line."""
    if not text.strip():
        return None

    def fail(prop: str | None, problem: str) -> FtmImportError:
        return FtmImportError(file_name, number, prop, problem)

    try:
        data = json.loads(text, parse_constant=_NotANumber)
    except json.JSONDecodeError as exc:
        raise fail(None, f"not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise fail(None, "not a JSON object")
    schema_name = data.get("schema")
    if not isinstance(schema_name, str) or not schema_name:
        raise fail("schema", "missing: every line needs the FollowTheMoney schema of its entity")
    schema = model.get(schema_name)
    if schema is None:
        raise fail("schema", f"{show(schema_name)} is not a FollowTheMoney schema")
    if schema.name in _PEOPLE:
        raise fail(
            "schema",
            f"{schema.name} is not imported: Receipts records organisations, not individuals",
        )
    if schema.name not in _IMPORTED:
        raise fail(
            "schema",
            f"{schema.name} is not imported; Receipts reads {', '.join(sorted(_IMPORTED))}",
        )
    entity_id = data.get("id")
    if (
        not isinstance(entity_id, str)
        or registry.entity.clean(entity_id) != entity_id
        or len(entity_id) > ENTITY_ID_LEN
    ):
        raise fail("id", f"{show(entity_id)} is not a FollowTheMoney entity id")
    raw_properties = data.get("properties", {})
    if not isinstance(raw_properties, dict):
        raise fail("properties", "not a JSON object")
    properties: dict[str, list[str]] = {}
    for name, raw_values in raw_properties.items():
        prop = schema.properties.get(name)
        if prop is None:
            raise fail(name, f"not a property of {schema.name}")
        if prop.stub:
            raise fail(name, f"a reverse property of {schema.name}: set it on the other entity")
        if not isinstance(raw_values, list):
            raise fail(name, "values must be a list of strings")
        values = []
        for raw in raw_values:
            problem = _value_problem(raw)
            if problem is not None:
                raise fail(name, problem)
            value = sanitize_text(raw)
            if value is not None:
                values.append(value)
        if values:
            properties[name] = values
    try:
        model.get_proxy(data, cleaned=False)
    except (InvalidData, TypeError, ValueError) as exc:
        raise fail(None, f"FollowTheMoney rejects it: {exc}") from exc
    return Line(file_name, number, schema, entity_id, properties)


def _read_lines(stream: IO[str], file_name: str) -> list[Line]:
    lines: list[Line] = []
    seen: dict[str, int] = {}
    number = 0
    try:
        for number, text in enumerate(stream, start=1):
            line = _parse_line(file_name, number, text.lstrip("\ufeff") if number == 1 else text)
            if line is None:
                continue
            if line.id in seen:
                raise line.fail("id", f"{show(line.id)} is also the id on line {seen[line.id]}")
            seen[line.id] = number
            lines.append(line)
    except UnicodeDecodeError as exc:
        raise FtmImportError(
            file_name, None, None, f"not UTF-8 text after line {number} ({exc.reason})"
        ) from exc
    return lines


def _read_source(line: Line) -> _SourceRecord:
    title = line.one("title", required="missing: Receipts needs a title for every source")
    kinds = []
    for keyword in line.values("keywords"):
        if keyword in SourceKind.values:
            kinds.append(keyword)
        else:
            line.unused[f"{line.schema.name}.keywords"] += 1
    if len(kinds) > 1:
        raise line.fail(
            "keywords", f"names {len(kinds)} source kinds ({', '.join(kinds)}); give one"
        )
    if kinds:
        kind = kinds[0]
    elif line.schema.name == "Article":
        kind = SourceKind.NEWS_REPORT
    else:
        raise line.fail(
            "keywords",
            f"no source kind: a Document needs one of {', '.join(SourceKind.values)}",
        )
    return _SourceRecord(
        line=line,
        kind=kind,
        title=title or "",
        publisher=line.one("publisher") or "",
        url=line.one("sourceUrl") or "",
        published=date_value(line, "publishedAt"),
        retrieved=date_value(line, "retrievedAt"),
        archive=_read_archive(line),
    )


def _read_archive(line: Line) -> dict[str, Any] | None:
    """The archived copy's fingerprint, when the line names one by its SHA-256."""
    if "contentHash" not in line.properties:
        return None
    digest = (line.one("contentHash") or "").lower()
    if re.fullmatch(r"[0-9a-f]{40}", digest):
        # A SHA-1 names a copy in Aleph's archive, which Receipts cannot reach.
        line.read.discard("contentHash")
        return None
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise line.fail("contentHash", f"{show(digest)} is not a SHA-256 hex digest")
    media_type = line.one("mimeType", required="missing: an archived copy needs its media type")
    if media_type not in services.ARCHIVE_MEDIA_TYPES:
        allowed = ", ".join(services.ARCHIVE_MEDIA_TYPES)
        raise line.fail("mimeType", f"{show(media_type)} is not one of {allowed}")
    size_text = line.one("fileSize")
    if size_text is not None and not size_text.isdigit():
        raise line.fail("fileSize", f"{show(size_text)} is not a whole number of bytes")
    if size_text is not None and int(size_text) > services.MAX_BIG_INTEGER:
        raise line.fail("fileSize", f"{show(size_text)} bytes is more than any file holds")
    return {
        "sha256": digest,
        "media_type": media_type,
        "filename": line.one("fileName") or "",
        "size": int(size_text) if size_text is not None else None,
    }


def _read_entity(line: Line) -> _EntityRecord:
    schema = line.schema
    name = line.one("name", required="missing: every entity needs a name")
    aliases: list[str] = []
    for prop in _ALIAS_PROPS:
        if prop in schema.properties:
            for alias in line.values(prop):
                if alias not in aliases:
                    aliases.append(alias)
    country = line.one("country") or ""
    if country and not re.fullmatch(r"[a-z]{2}", country):
        raise line.fail("country", f"{show(country)} is not a two-letter country code")
    identifiers: dict[str, list[str]] = {scheme: [] for scheme in IdentifierScheme.values}
    for scheme, prop in _NATIVE_IDENTIFIERS.items():
        if prop in schema.properties:
            identifiers[scheme].extend(line.values(prop))
    for prop in _IDENTIFIER_FALLBACKS:
        if prop not in schema.properties:
            continue
        for value in line.values(prop):
            scheme, sep, rest = value.partition(":")
            if sep and rest.strip() and scheme in identifiers:
                identifiers[scheme].append(rest)
            else:
                line.unused[f"{schema.name}.{prop}"] += 1
    for topic in line.values("topics"):
        if topic != SECURITY_TOPIC:
            line.unused[f"{schema.name}.topics"] += 1
    return _EntityRecord(
        line=line,
        kind=_ENTITY_KINDS[schema.name],
        name=name or "",
        aliases=aliases,
        identifiers=identifiers,
        country=country,
        summary=line.one("summary") or "",
    )


def _read_contract(line: Line) -> _ContractRecord:
    authority = line.one("authority", required="missing: the authority is the agency of the tie")
    line.read.add("title")  # made from the two names on export, so not stored
    return _ContractRecord(line=line, authority_id=authority or "")


def _read_link(line: Line) -> _TieRecord:
    schema = line.schema.name
    subject_field, object_field = _LINK_ENDS[schema]
    subject = line.one(subject_field, required="missing: a tie needs both of its ends")
    other = line.one(object_field, required="missing: a tie needs both of its ends")
    if schema == "Ownership":
        kind: str = TieKind.OWNS
    elif schema == "ContractAward":
        kind = TieKind.CONTRACT
    else:
        default, allowed = _ROLE_KINDS[schema]
        kind = line.one("role") or default
        if kind not in allowed:
            raise line.fail("role", f"{show(kind)} is not one of {', '.join(allowed)}")
    status = (line.one("status") or TieStatus.ACTIVE).lower()
    if status not in TieStatus.values:
        raise line.fail("status", f"{show(status)} is not one of {', '.join(TieStatus.values)}")
    start, end = date_value(line, "startDate"), date_value(line, "endDate")
    if start and end and end < start[: len(end)]:
        raise line.fail("endDate", f"{end} is before the start date {start}")
    proof = line.values("proof")
    if not proof:
        raise line.fail(
            "proof", "missing: every tie needs a cited source (no claim without a receipt)"
        )
    line.read.update({"sourceUrl", "publisher"})  # repeated from the cited sources
    has_amount = "amount" in line.schema.properties
    amount: Decimal | None = None
    currency = ""
    if has_amount:
        amount_text = line.one("amount")
        amount = amount_value(line, "amount", amount_text) if amount_text is not None else None
        currency = (line.one("currency") or "").upper()
    citations: list[_CitationRecord] = []
    for text in line.values("description"):
        cited = _CITATION.fullmatch(text)
        if cited is not None:
            if cited["source"] not in proof:
                raise line.fail(
                    "description", f"cites {show(cited['source'])}, which is not in proof"
                )
            locator = re.sub(r"\\(.)", r"\1", cited["locator"] or "", flags=re.DOTALL)
            citations.append(_CitationRecord(cited["source"], locator, cited["quote"] or ""))
            continue
        money = None if has_amount else (_AMOUNT.fullmatch(text) or _CURRENCY.fullmatch(text))
        if money is not None:
            if currency:
                raise line.fail("description", "gives the amount or currency twice")
            if "amount" in money.groupdict():
                amount = amount_value(line, "description", money["amount"])
            currency = money["currency"]
            continue
        line.unused[f"{schema}.description"] += 1
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise line.fail("currency", f"{show(currency)} is not a three-letter currency code")
    if amount is not None and not currency:
        raise line.fail("currency", "missing: an amount needs a currency")
    quoted = {c.source_id for c in citations}
    citations.extend(_CitationRecord(s, "", "") for s in proof if s not in quoted)
    return _TieRecord(
        line=line,
        kind=kind,
        subject_id=subject or "",
        object_id=other or "",
        subject_field=subject_field,
        object_field=object_field,
        status=status,
        start_date=start,
        end_date=end,
        amount=amount,
        currency=currency,
        summary=line.one("summary") or "",
        citations=citations,
    )


def _existing_ids(model_class: type[models.Model], ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    found: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        found.update(
            model_class._default_manager.filter(ftm_id__in=chunk).values_list("ftm_id", flat=True)
        )
    return found


def _plan(lines: list[Line]) -> _Plan:
    """Read every line into records and check every reference, writing nothing."""
    from .contracts import (
        RecordsPlan,
        check_records,
        read_award,
        read_transaction,
    )

    sources: list[_SourceRecord] = []
    entities: list[_EntityRecord] = []
    ties: list[_TieRecord] = []
    contract_lines: dict[str, Line] = {}
    award_lines: list[Line] = []
    contract_records = RecordsPlan()
    from receipts.captures.exports import FTM_ID_PREFIX

    for line in lines:
        name = line.schema.name
        if line.id.startswith(FTM_ID_PREFIX):
            continue  # a web capture: its files travel as WACZ, not in this line
        if name in _SOURCE_SCHEMATA:
            sources.append(_read_source(line))
        elif name in _ENTITY_KINDS:
            entities.append(_read_entity(line))
        elif name == "Contract":
            contract_lines[line.id] = line
        elif name == "Payment":
            contract_records.transactions.append(read_transaction(line))
        elif name == "ContractAward" and "recordId" in line.properties:
            award_lines.append(line)
        else:
            ties.append(_read_link(line))
    award_contracts: set[str] = set()
    for line in award_lines:
        award = read_award(line, contract_lines)
        award_contracts.add(award.contract_line.id)
        contract_records.awards.append(award)
    check_records(contract_records)
    by_id = {line.id: line for line in lines}
    entity_ids = {e.line.id for e in entities}
    source_ids = {s.line.id for s in sources}

    contracts: dict[str, _ContractRecord] = {}
    awarded: set[str] = set()
    for tie in ties:
        if tie.line.schema.name == "ContractAward":
            contract_line = contract_lines.get(tie.object_id)
            if contract_line is None or contract_line.id in award_contracts:
                raise tie.line.fail(
                    "contract",
                    f"{show(tie.object_id)} is not a Contract in this file; Receipts keeps a "
                    "contract only as the tie of its award",
                )
            if contract_line.id not in contracts:
                contracts[contract_line.id] = _read_contract(contract_line)
            contract = contracts[contract_line.id]
            awarded.add(contract.line.id)
            tie.object_id = contract.authority_id

    referenced = [(c.line, "authority", c.authority_id) for c in contracts.values()]
    referenced.extend(contract_records.entity_references())
    for tie in ties:
        referenced.append((tie.line, tie.subject_field, tie.subject_id))
        # An award's object is its Contract's authority, checked on the Contract's line.
        awarded_tie = tie.line.schema.name == "ContractAward"
        if not awarded_tie:
            referenced.append((tie.line, tie.object_field, tie.object_id))
        if tie.subject_id == tie.object_id:
            end = tie.subject_field if awarded_tie else tie.object_field
            raise tie.line.fail(end, "a tie cannot connect an entity to itself")
    known_entities = _existing_ids(Entity, (ref for _, _, ref in referenced))
    for line, prop, ref in referenced:
        if line.schema.name == "Contract" and line.id not in awarded | award_contracts:
            continue
        if ref in entity_ids or ref in known_entities:
            continue
        if ref in by_id:
            raise line.fail(
                prop,
                f"{show(ref)} is a {by_id[ref].schema.name} (line {by_id[ref].number}), "
                "not a company, agency, organisation or product",
            )
        raise line.fail(prop, f"{show(ref)} is neither in this file nor in the database")

    cited = [(tie.line, c.source_id) for tie in ties for c in tie.citations]
    cited.extend(contract_records.source_references())
    known_sources = _existing_ids(Source, (ref for _, ref in cited))
    for line, ref in cited:
        if ref in source_ids or ref in known_sources:
            continue
        if ref in by_id:
            raise line.fail(
                "proof",
                f"{show(ref)} is a {by_id[ref].schema.name} (line {by_id[ref].number}), "
                "not a Document or Article",
            )
        raise line.fail("proof", f"{show(ref)} is neither in this file nor in the database")

    # One FtM id names one thing: an id stored as another kind of row is a clash.
    for records, others, what in (
        (entities, ((Source, "source"), (Tie, "tie")), "entity"),
        (sources, ((Entity, "entity"), (Tie, "tie")), "source"),
        (ties, ((Entity, "entity"), (Source, "source")), "tie"),
    ):
        ids = [r.line.id for r in records]
        for other_model, other_name in others:
            clashes = _existing_ids(other_model, ids)
            for record in records:
                if record.line.id in clashes:
                    raise record.line.fail(
                        "id",
                        f"{show(record.line.id)} is a {other_name} in the database, "
                        f"so it cannot be imported as a {what}",
                    )

    not_imported: Counter[str] = Counter()
    for line in lines:
        not_imported.update(line.not_read())
    unused_contracts = set(contract_lines) - awarded - award_contracts
    not_imported["Contract without a ContractAward"] += len(unused_contracts)
    return _Plan(sources, entities, ties, +not_imported, contract_records)


# --- import: writing ---------------------------------------------------------------------

# Services name the field of a refused write first ("start_date: ..."): its FtM property.
_SERVICE_FIELDS = {
    "name": "name",
    "slug": "name",
    "kind": "schema",
    "country": "country",
    "title": "title",
    "url": "sourceUrl",
    "published": "publishedAt",
    "retrieved": "retrievedAt",
    "archive": "contentHash",
    "start_date": "startDate",
    "end_date": "endDate",
    "amount": "amount",
    "currency": "currency",
    "status": "status",
    "citation": "proof",
    "aliases": "alias",
    "quote": "description",
    "locator": "description",
}

M = TypeVar("M", bound=models.Model)


def _refused(line: Line, exc: ValidationError, renames: dict[str, str]) -> FtmImportError:
    if hasattr(exc, "error_dict"):
        name, problems = next(iter(exc.message_dict.items()))
        return line.fail(renames.get(name) or _SERVICE_FIELDS.get(name, name), "; ".join(problems))
    return line.fail(None, "; ".join(exc.messages))


def _apply(
    line: Line,
    group: str,
    summary: ImportSummary,
    existing: M | None,
    state: Callable[[M], tuple[Any, ...]],
    write: Callable[[], M],
    renames: dict[str, str] | None = None,
) -> M:
    """Run one service write and count it as created, updated or unchanged.

    A write that changes nothing is undone, so a repeated import leaves even the
    rows' timestamps as they were.
    """
    before = state(existing) if existing is not None else None
    savepoint = transaction.savepoint()
    try:
        saved = write()
    except ValidationError as exc:
        transaction.savepoint_rollback(savepoint)
        raise _refused(line, exc, renames or {}) from exc
    if before is None:
        transaction.savepoint_commit(savepoint)
        summary.created[group] += 1
    elif state(saved) == before:
        transaction.savepoint_rollback(savepoint)
        summary.unchanged[group] += 1
    else:
        transaction.savepoint_commit(savepoint)
        summary.updated[group] += 1
    return saved


def _entity_state(entity: Entity) -> tuple[Any, ...]:
    row = Entity.objects.filter(pk=entity.pk).values_list(
        "kind", "name", "aliases", "country", "summary", "slug"
    )
    kind, name, aliases, country, summary, slug = row.get()
    identifiers = Identifier.objects.filter(entity_id=entity.pk).order_by("scheme", "value")
    return (
        kind,
        name,
        tuple(aliases),
        country,
        summary,
        slug,
        tuple(identifiers.values_list("scheme", "value")),
    )


def _source_state(source: Source) -> tuple[Any, ...]:
    return tuple(
        Source.objects.filter(pk=source.pk)
        .values_list(
            "kind",
            "title",
            "publisher",
            "url",
            "published",
            "retrieved",
            "archive_sha256",
            "archive_media_type",
            "archive_filename",
            "archive_size",
        )
        .get()
    )


def _tie_state(tie: Tie) -> tuple[Any, ...]:
    row = (
        Tie.objects.filter(pk=tie.pk)
        .values_list(
            "subject_id",
            "object_id",
            "kind",
            "status",
            "start_date",
            "end_date",
            "amount",
            "currency",
            "summary",
        )
        .get()
    )
    citations = Citation.objects.filter(tie_id=tie.pk).order_by("source_id", "locator", "quote")
    return (*row, tuple(citations.values_list("source_id", "locator", "quote")))


def _write(plan: _Plan, summary: ImportSummary) -> None:
    sources: dict[str, Source] = {}
    for s in plan.sources:

        def write_source(s: _SourceRecord = s) -> Source:
            source = services.save_source(
                kind=s.kind,
                title=s.title,
                publisher=s.publisher,
                url=s.url,
                published=s.published,
                retrieved=s.retrieved,
                ftm_id=s.line.id,
            )
            if s.archive is not None:
                services.record_archive_fingerprint(source, **s.archive)
            return source

        existing_source = Source.objects.filter(ftm_id=s.line.id).first()
        sources[s.line.id] = _apply(
            s.line, "sources", summary, existing_source, _source_state, write_source
        )

    entities: dict[str, Entity] = {}
    for e in plan.entities:

        def write_entity(e: _EntityRecord = e) -> Entity:
            return services.save_entity(
                name=e.name,
                kind=e.kind,
                aliases=e.aliases,
                identifiers=e.identifiers,
                country=e.country,
                summary=e.summary,
                ftm_id=e.line.id,
            )

        existing_entity = Entity.objects.filter(ftm_id=e.line.id).first()
        entities[e.line.id] = _apply(
            e.line, "entities", summary, existing_entity, _entity_state, write_entity
        )

    stored_entities = {t.subject_id for t in plan.ties} | {t.object_id for t in plan.ties}
    entities.update(
        Entity.objects.in_bulk(sorted(stored_entities - set(entities)), field_name="ftm_id")
    )
    stored_sources = {c.source_id for t in plan.ties for c in t.citations} - set(sources)
    sources.update(Source.objects.in_bulk(sorted(stored_sources), field_name="ftm_id"))

    for t in plan.ties:

        def write_tie(t: _TieRecord = t) -> Tie:
            return services.record_tie(
                entities[t.subject_id],
                entities[t.object_id],
                t.kind,
                citations=[
                    services.CitationInput(sources[c.source_id], c.quote, c.locator)
                    for c in t.citations
                ],
                status=t.status,
                start_date=t.start_date,
                end_date=t.end_date,
                amount=t.amount,
                currency=t.currency,
                summary=t.summary,
                ftm_id=t.line.id,
            )

        existing_tie = Tie.objects.filter(ftm_id=t.line.id).first()
        renames = {"object": t.object_field, "kind": t.object_field}
        _apply(t.line, "ties", summary, existing_tie, _tie_state, write_tie, renames)

    from .contracts import write_records

    write_records(plan.records, summary)


def import_ftm(stream: IO[str], name: str) -> ImportSummary:
    """Import FtM JSON lines: every line, or, on any error, nothing.

    The whole file is read and checked (JSON, the FtM model, supported schemata,
    required properties, dates, references) before the first write; the writes
    run through the evidence services in one transaction, so a write they refuse
    rolls the file back too. Rows are matched on their FtM id, so importing the
    same file again changes nothing. A FtmImportError names the file, the line and
    the field. Raises ImportRunning, having stored nothing, while another import runs.
    """
    from receipts.ingest.import_lock import import_lock

    with import_lock("ftm"):
        plan = _plan(_read_lines(stream, name))
        summary = ImportSummary(name=name, not_imported=plan.not_imported)
        with transaction.atomic():
            _write(plan, summary)
    return summary
