"""Reading holdings files: columns by header, delimiters, encodings, and refusals of bad input."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest

from receipts.screening.reading import (
    HoldingsFile,
    ReadLimits,
    ScreeningInputError,
    TooLarge,
    TooManyLines,
    header_key,
    parse_number,
)
from tests.screening.factories import write_file


def read(path: Path, **kwargs: object) -> tuple[HoldingsFile, list]:
    source = HoldingsFile(path.open("rb"), path.name, **kwargs)  # type: ignore[arg-type]
    return source, list(source)


def test_headers_are_recognised_by_synonym_in_any_case() -> None:
    assert header_key("Market Value (USD)") == "market value"
    assert header_key("Weight (%)") == "weight %"
    assert header_key("\ufeffSYMBOL") == "symbol"


def test_semicolon_file_with_decimal_commas_is_read(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "fonds.csv",
        "Emittent;ISIN;Symbol;Marktwert;Land\n"
        "Amazon.com, Inc.;US0231351067;AMZN;1.234,50;US\n"
        "Palantir;US69608A1088;PLTR;99,5;US\n",
    )
    source, lines = read(path)
    assert source.delimiter == ";"
    # "Emittent", "Marktwert" and "Land" are not headers it knows: reported, not guessed.
    assert source.columns is not None
    assert source.columns.unused == ("Emittent", "Marktwert", "Land")
    assert [line.identifiers["ticker"] for line in lines] == ["AMZN", "PLTR"]


def test_values_in_a_semicolon_file_use_the_decimal_comma(tmp_path: Path) -> None:
    path = write_file(
        tmp_path, "f.csv", "Name;Value\nAmazon.com, Inc.;1.234,50\nPalantir;99,5\nRing;1.000\n"
    )
    _source, lines = read(path)
    assert [line.name for line in lines] == ["Amazon.com, Inc.", "Palantir", "Ring"]
    assert [line.value for line in lines] == [Decimal("1234.50"), Decimal("99.5"), Decimal("1000")]


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("1,234.50", False, "1234.50"),
        ("$1,234", False, "1234"),
        ("1 234,5", False, "1234.5"),
        ("1.234.567", False, "1234567"),
        ("12.5%", False, "12.5"),
        ("(250.00)", False, "-250.00"),
        ("1,234", True, "1.234"),
        ("1.234", True, "1234"),
    ],
)
def test_numbers_are_read_as_spreadsheets_write_them(
    text: str, decimal_comma: bool, expected: str
) -> None:
    assert parse_number(text, decimal_comma) == Decimal(expected)


def test_tab_and_pipe_delimited_files_are_read(tmp_path: Path) -> None:
    for delimiter in ("\t", "|"):
        path = write_file(tmp_path, "f.csv", f"Ticker{delimiter}Name\nAMZN{delimiter}Amazon\n")
        source, lines = read(path)
        assert source.delimiter == delimiter
        assert (lines[0].identifiers["ticker"], lines[0].name) == ("AMZN", "Amazon")


def test_single_column_of_names_keeps_commas_inside_names(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "Company\nAmazon.com, Inc.\nAlphabet Inc.\n")
    _source, lines = read(path)
    assert [line.name for line in lines] == ["Amazon.com, Inc.", "Alphabet Inc."]


def test_utf8_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "\ufeffName,Value\nNestlé S.A.,5\n")
    source, lines = read(path)
    assert source.encoding == "utf-8-sig"
    assert lines[0].name == "Nestlé S.A."


def test_empty_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "\nname,value\nAmazon,1\n\n,\nRing,2\n")
    source, lines = read(path)
    assert [line.name for line in lines] == ["Amazon", "Ring"]
    assert [line.line for line in lines] == [3, 6]
    assert source.blank_lines == 3  # the one above the header too
    assert (source.lines_in_file, source.header_lines) == (6, 1)


def test_no_recognisable_column_lists_what_was_found_and_expected(tmp_path: Path) -> None:
    path = write_file(tmp_path, "odd.csv", "Foo,Bar,Market Value\n1,2,3\n")
    with pytest.raises(ScreeningInputError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith("odd.csv: no column to screen by")
    assert "'Foo', 'Bar', 'Market Value'" in message
    for expected in ("ticker", "isin", "cusip", "lei", "uei", "duns", "name"):
        assert expected in message


def test_unsupported_delimiter_is_refused_naming_the_header(tmp_path: Path) -> None:
    path = write_file(tmp_path, "colon.csv", "ticker:name\nAMZN:Amazon\n")
    with pytest.raises(ScreeningInputError, match="headers found: 'ticker:name'"):
        read(path)


def test_latin1_file_is_refused_with_the_byte_position(tmp_path: Path) -> None:
    path = write_file(tmp_path, "latin1.csv", "name,value\nNestlé,5\n", encoding="latin-1")
    with pytest.raises(ScreeningInputError) as caught:
        read(path)
    assert str(caught.value) == (
        "latin1.csv: not UTF-8 text: byte 0xE9 at byte position 16 (line 2); "
        "save the file as CSV UTF-8"
    )


def test_bad_byte_far_into_a_large_file_is_found_at_its_position(tmp_path: Path) -> None:
    good = "name\n" + "Amazon\n" * 20_000
    path = tmp_path / "late.csv"
    path.write_bytes(good.encode() + b"Nestl\xe9\n")
    position = len(good.encode()) + 5
    with pytest.raises(ScreeningInputError, match=f"at byte position {position} \\(line 20002\\)"):
        read(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScreeningInputError, match="empty.csv: the file is empty"):
        read(write_file(tmp_path, "empty.csv", ""))
    with pytest.raises(ScreeningInputError, match="no header line"):
        read(write_file(tmp_path, "blank.csv", "\n\n"))


def test_header_only_file_reads_no_lines(tmp_path: Path) -> None:
    _source, lines = read(write_file(tmp_path, "h.csv", "ticker,value\n"))
    assert lines == []


def test_spreadsheets_and_utf16_are_refused_by_name(tmp_path: Path) -> None:
    xlsx = tmp_path / "book.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ScreeningInputError, match="Excel workbook"):
        read(xlsx)
    utf16 = write_file(tmp_path, "u16.csv", "name\nAmazon\n", encoding="utf-16")
    with pytest.raises(ScreeningInputError, match="UTF-16"):
        read(utf16)


def test_row_with_more_cells_than_the_header_is_refused(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "name,value\nAmazon,5\nAmazon.com, Inc.,5\n")
    with pytest.raises(
        ScreeningInputError, match="f.csv, line 3: 3 cells where the header has 2; quote names"
    ):
        read(path)


def test_trailing_empty_cells_and_short_rows_are_read(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "ticker,name,value\nAMZN,Amazon,5,,\nPLTR\n")
    _source, lines = read(path)
    assert [(line.identifiers, line.name, line.value) for line in lines] == [
        ({"ticker": "AMZN"}, "Amazon", Decimal(5)),
        ({"ticker": "PLTR"}, "", None),
    ]


def test_two_columns_for_one_field_are_refused(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "Company,Issuer Name\nAmazon,Amazon\n")
    with pytest.raises(ScreeningInputError, match="'Company' and 'Issuer Name' both read as name"):
        read(path)


def test_line_limit_is_a_refusal_not_a_cut(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", "ticker\n" + "AMZN\n" * 11)
    with pytest.raises(TooManyLines, match="more than 10 lines"):
        read(path, max_lines=10)


def test_hostile_cells_are_kept_as_text(tmp_path: Path) -> None:
    long_name = "A" * 10_000
    path = write_file(
        tmp_path,
        "f.csv",
        f'name,value\n<script>alert(1)</script>,1\n"\'; DROP TABLE x; --",2\n{long_name},3\n',
    )
    _source, lines = read(path)
    assert lines[0].name == "<script>alert(1)</script>"
    assert lines[1].name == "'; DROP TABLE x; --"
    assert len(lines[2].name) == len(long_name)


@pytest.mark.parametrize("size", [10_001, 10 * 1024 * 1024])
def test_overlong_cell_is_refused(tmp_path: Path, size: int) -> None:
    path = write_file(tmp_path, "f.csv", f"name,value\nAmazon,1\n{'A' * size},3\n")
    # Past the csv module's own cell limit the message names that limit instead.
    with pytest.raises(ScreeningInputError, match=r"f.csv, line 3: .*characters"):
        read(path)


def test_stream_reads_a_large_file_whole() -> None:
    rows = "".join(f"T{i},Company {i},{i}.50\n" for i in range(100_000))
    data = ("ticker,name,value\n" + rows).encode()
    source = HoldingsFile(io.BytesIO(data), "big.csv", size=len(data))
    count = sum(1 for _ in source)
    assert count == 100_000
    assert source.bytes_read == len(data)


def test_line_length_limit_names_the_line_across_chunks(tmp_path: Path) -> None:
    # Far more than one read chunk (64 KB) of short lines before the long one.
    path = write_file(tmp_path, "f.csv", "ticker\n" + "AMZN\n" * 30_000 + "A" * 500 + "\n")
    with pytest.raises(TooLarge, match=r"f\.csv, line 30002: longer than 400 characters") as exc:
        read(path, limits=ReadLimits(line_chars=400))
    assert exc.value.limit == "400 characters on a line"
    # A line may end exactly at the limit, and an unended last line counts too.
    _source, lines = read(
        write_file(tmp_path, "ok.csv", "ticker\n" + "A" * 400), limits=ReadLimits(line_chars=400)
    )
    assert len(lines) == 1


def test_a_line_split_over_two_chunks_is_measured_whole(tmp_path: Path) -> None:
    head = "ticker\n" + "AMZN\n" * 13_075  # 65,382 bytes; a read chunk is 65,536
    # 154 characters of the line in the first chunk, 100 in the second: each part
    # is under the limit, the line is not.
    path = write_file(tmp_path, "f.csv", head + "C" * 254 + "\n")
    with pytest.raises(TooLarge, match="line 13077: longer than 200"):
        read(path, limits=ReadLimits(line_chars=200))


def test_without_limits_long_lines_and_cells_are_read(tmp_path: Path) -> None:
    """The command line reads what the web upload refuses."""
    notes = "n" * 50_000
    path = write_file(
        tmp_path,
        "wide.csv",
        ",".join(["ticker", *(f"c{i}" for i in range(500))]) + f"\nAMZN,{notes}\n",
    )
    source, lines = read(path)
    assert [line.identifiers for line in lines] == [{"ticker": "AMZN"}]
    assert source.columns is not None and len(source.columns.headers) == 501


def test_a_refusal_names_a_few_headers_not_all(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", ",".join(f"h{i}" for i in range(1000)) + "\n1\n")
    with pytest.raises(ScreeningInputError) as exc:
        read(path)
    assert "'h19' and 980 more; expected" in str(exc.value)
    assert "'h20'" not in str(exc.value)


def test_a_quoted_cell_over_lines_is_refused_naming_the_line_it_starts_on(
    tmp_path: Path,
) -> None:
    path = write_file(
        tmp_path, "f.csv", 'ticker,name,notes\nAMZN,Amazon,"first\nsecond"\nPLTR,Palantir,\n'
    )
    with pytest.raises(ScreeningInputError) as caught:
        read(path)
    assert str(caught.value).startswith(
        "f.csv, line 2: a quoted cell starts here and runs to line 3, so 2 lines would be "
        "read as one"
    )


def test_a_header_with_a_line_break_in_a_cell_allows_them_in_records(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "f.csv",
        'ticker,name,"Market Value\n(USD)",notes\n'
        'AMZN,Amazon,5,"first\nsecond"\nPLTR,Palantir,6,\n',
    )
    source, lines = read(path)
    assert [(line.line, line.name, line.value) for line in lines] == [
        (3, "Amazon", Decimal(5)),
        (5, "Palantir", Decimal(6)),
    ]
    assert source.columns is not None and source.columns.used["value"] == "Market Value (USD)"
    assert (source.lines_in_file, source.header_lines, source.multiline_records) == (5, 2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '"ticker,name\nAMZN,Amazon\n',
            "f.csv, line 1: a quote opens a cell here and never closes",
        ),
        ('ticker,name\nAMZN,"Amazon" Inc\n', "f.csv, line 2: a quoted cell is followed by more"),
        ('ticker,name\nAMZN,Amazon\nPLTR,"Palantir', "f.csv, line 3: a quote opens a cell here"),
    ],
)
def test_stray_quotes_are_refused_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScreeningInputError) as caught:
        read(write_file(tmp_path, "f.csv", text))
    assert str(caught.value).startswith(message)


def test_a_quote_inside_an_unquoted_cell_and_doubled_quotes_are_read(tmp_path: Path) -> None:
    path = write_file(tmp_path, "f.csv", 'name,value\nToys "R" Us,1\n"The ""Big"" Co",2\n')
    _source, lines = read(path)
    assert [line.name for line in lines] == ['Toys "R" Us', 'The "Big" Co']
