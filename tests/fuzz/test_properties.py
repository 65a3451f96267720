"""Property tests: whatever the input, only the readers' own clear errors escape.

Each reader either accepts its input or refuses it with its one error type,
naming the file and where; anything else escaping (a KeyError, a DuckDB or
zip error, a UnicodeError) is a crash. A refused FtM import stores nothing.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from followthemoney import model
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from receipts.evidence.dates import parse_partial_date
from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
from receipts.ingest.usaspending.files import InputError, collect_inputs
from receipts.ingest.usaspending.formats import AWARDS, TRANSACTIONS, HeaderError
from receipts.ingest.usaspending.stage import Stage
from receipts.interchange.followthemoney.common import FtmImportError
from receipts.interchange.followthemoney.evidence import import_ftm
from receipts.screening.reading import HEADER_SYNONYMS, HoldingsFile, ScreeningInputError

pytestmark = pytest.mark.slow

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- partial dates ----------------------------------------------------------------------


@FAST
@given(
    value=st.one_of(
        st.none(), st.text(max_size=30), st.from_regex(r"\A\d{4}(-\d{2}(-\d{2})?)?(T[^\n]*)?\Z")
    )
)
def test_partial_date_is_valid_or_refused(value: str | None) -> None:
    try:
        parsed = parse_partial_date(value)
    except ValidationError as exc:
        assert exc.code == "invalid_partial_date"
        return
    assert parsed == "" or len(parsed) in (4, 7, 10)
    # A canonical partial date reads back as itself.
    assert parse_partial_date(parsed) == parsed


@FAST
@given(day=st.dates(), precision=st.sampled_from([4, 7, 10]))
def test_real_partial_dates_round_trip(day, precision: int) -> None:  # type: ignore[no-untyped-def]
    text = day.isoformat()[:precision]
    if len(text) != precision:  # years before 1000 are not four digits
        return
    assert parse_partial_date(text) == text
    assert parse_partial_date(f" {text}T12:00:00Z ") == text


# --- FollowTheMoney JSON lines ----------------------------------------------------------

SCHEMA_NAMES = sorted(model.schemata)
IDS = ["a", "b", "c-1", "source-1", "x" * 70]
_PROPERTY_NAMES = sorted({p for s in model.schemata.values() for p in s.properties})

scalar = st.one_of(
    st.text(max_size=20),
    st.sampled_from(IDS),
    st.sampled_from(["2020", "2020-13", "2021-02-29", "2024-01-05", "US", "usd", "12.5"]),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@st.composite
def ftm_object(draw: st.DrawFn) -> object:
    schema_name = draw(st.one_of(st.sampled_from(SCHEMA_NAMES), st.text(max_size=10), scalar))
    schema = model.get(schema_name) if isinstance(schema_name, str) else None
    names = sorted(schema.properties) if schema is not None else _PROPERTY_NAMES
    properties = draw(
        st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(names), st.text(max_size=8)),
                st.one_of(st.lists(scalar, max_size=3), json_value),
                max_size=5,
            ),
            json_value,
        )
    )
    data: dict[str, object] = {"schema": schema_name, "properties": properties}
    data["id"] = draw(st.one_of(st.sampled_from(IDS), st.text(max_size=10), scalar))
    for key in draw(st.lists(st.sampled_from(["schema", "id", "properties"]), max_size=1)):
        del data[key]
    return data


ftm_line = st.one_of(
    ftm_object().map(json.dumps),
    ftm_object().map(lambda d: json.dumps(d)[: len(json.dumps(d)) // 2]),
    json_value.map(json.dumps),
    st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
)
ftm_bytes = st.one_of(
    st.binary(max_size=200),
    st.lists(ftm_line, max_size=5).map(lambda lines: "\n".join(lines).encode("utf-8")),
    st.lists(ftm_line, max_size=4).map(
        lambda lines: ("\ufeff" + "\r\n".join(lines) + "\n").encode("utf-8") + b"\xff\n"
    ),
)


def _stored() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Entity, Source, Tie, Citation, Identifier))


@pytest.mark.django_db
@FAST
@given(data=ftm_bytes)
def test_ftm_import_refuses_only_with_its_error(data: bytes) -> None:
    with transaction.atomic():
        before = _stored()
        stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
        try:
            import_ftm(stream, "fuzz.ftm.json")
        except FtmImportError as exc:
            assert str(exc.message).startswith("fuzz.ftm.json")
            assert _stored() == before
        transaction.set_rollback(True)


# --- USAspending files ------------------------------------------------------------------

_USASPENDING_COLUMNS = sorted(
    {c for kind in (TRANSACTIONS, AWARDS) for names in kind.fields.values() for c in names}
    | {"subaward_number"}
)
csv_cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", '"', '""', "2024-01-05", "01/02/2024", "12.50", "-", "C", "D"]),
)


@st.composite
def usaspending_csv(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    kind = draw(st.sampled_from([TRANSACTIONS, AWARDS]))
    header = [names[0] for names in kind.fields.values()]
    header += draw(st.lists(st.sampled_from(_USASPENDING_COLUMNS), max_size=3))
    header = draw(st.permutations(header))
    header = header[draw(st.integers(0, 2)) :]
    rows = draw(
        st.lists(st.lists(csv_cell, min_size=len(header) - 1, max_size=len(header) + 1), max_size=4)
    )
    text = "\n".join(",".join(row) for row in [header, *rows])
    body = text.encode("utf-8") + draw(st.sampled_from([b"\n", b"", b"\r\n", b"\xff\n"]))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + body


def _read_usaspending(path: Path, workdir: Path) -> None:
    inputs = collect_inputs([path], workdir)
    stage = Stage(workdir)
    try:
        for number, inp in enumerate(inputs):
            stage.load(number, inp)
        stage.finish()
    finally:
        stage.close()


@FAST
@given(data=usaspending_csv(), zipped=st.sampled_from(["plain", "zip-name", "zip"]))
# A carriage return inside the header line once escaped as csv.Error.
@example(data=b"'\r.\n\x02\n", zipped="plain")
def test_usaspending_reader_refuses_only_with_input_error(data: bytes, zipped: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workdir = folder / "work"
        workdir.mkdir()
        if zipped == "zip":
            path = folder / "download.zip"
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("contracts.csv", data)
        else:
            path = folder / ("download.zip" if zipped == "zip-name" else "contracts.csv")
            path.write_bytes(data)
        try:
            _read_usaspending(path, workdir)
        except (InputError, HeaderError) as exc:
            assert str(exc)


@FAST
@given(data=st.binary(min_size=1, max_size=300))
def test_damaged_zip_is_refused_with_input_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "download.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("contracts.csv", b"a,b\n1,2\n")
        whole = buffer.getvalue()
        cut = len(data) % len(whole)
        # A real archive damaged at one place, or random bytes behind a zip signature.
        path.write_bytes(whole[:cut] + data + whole[cut + len(data) :])
        workdir = folder / "work"
        workdir.mkdir()
        try:
            _read_usaspending(path, workdir)
        except (InputError, HeaderError) as exc:
            assert str(exc)


# --- screening holdings -----------------------------------------------------------------

_HOLDING_HEADERS = sorted({h for names in HEADER_SYNONYMS.values() for h in names})


@st.composite
def holdings_csv(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    delimiter = draw(st.sampled_from(list(",;\t|")))
    header = draw(
        st.lists(st.one_of(st.sampled_from(_HOLDING_HEADERS), st.text(max_size=8)), max_size=5)
    )
    cell = st.one_of(
        st.text(max_size=12),
        st.sampled_from(["US0378331005", "AAPL", "1.234,5", "(12)", "-3%", "1e400", "NaN", '"']),
    )
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 1), max_size=5))
    text = "\n".join(delimiter.join(row) for row in [header, *rows])
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"PK\x03\x04"]))
    return prefix + text.encode("utf-8") + draw(st.sampled_from([b"", b"\n", b"\x00", b"\xc3"]))


@FAST
@given(data=holdings_csv(), max_lines=st.one_of(st.none(), st.integers(0, 3)))
# A lone carriage return in the header once escaped the delimiter sniffing as csv.Error.
@example(data=b";\x10;;\r;\x10;\x10", max_lines=None)
def test_holdings_reader_refuses_only_with_its_error(data: bytes, max_lines: int | None) -> None:
    source = HoldingsFile(io.BytesIO(data), "holdings.csv", size=len(data), max_lines=max_lines)
    try:
        for line in source:
            assert line.line >= 2
    except ScreeningInputError as exc:
        assert str(exc).startswith("holdings.csv")
