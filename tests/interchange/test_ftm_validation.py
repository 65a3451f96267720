"""An FtM import validates every value as the forms and the API do: a value they would
refuse is one error naming the file, the line and the field, a non-zero exit code, and
nothing from the file is stored, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from receipts.cli import main
from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

HASH = "ab" * 32


def company(entity_id: str, name: Any = "Acme", **props: list[Any]) -> dict[str, Any]:
    return {"id": entity_id, "schema": "Company", "properties": {"name": [name], **props}}


def document(entity_id: str = "doc-1", **props: list[Any]) -> dict[str, Any]:
    base = {"title": ["A record"], "keywords": ["government_record"]}
    return {"id": entity_id, "schema": "Document", "properties": {**base, **props}}


def hosting(**props: list[Any]) -> dict[str, Any]:
    base = {"subject": ["c1"], "object": ["c2"], "role": ["hosting"], "proof": ["doc-1"]}
    return {"id": "t1", "schema": "UnknownLink", "properties": {**base, **props}}


def award(**props: list[Any]) -> list[dict[str, Any]]:
    contract = {"id": "k1", "schema": "Contract", "properties": {"authority": ["c2"]}}
    base = {"contract": ["k1"], "supplier": ["c1"], "proof": ["doc-1"], "currency": ["USD"]}
    return [contract, {"id": "a1", "schema": "ContractAward", "properties": {**base, **props}}]


def good_lines() -> list[dict[str, Any]]:
    """Lines that import on their own: the bad line always comes after them."""
    return [document(), company("c1"), company("c2", "Beta Agency")]


# (the line after the good ones, as JSON text; the field the error names; words in it)
CASES: dict[str, tuple[str, str, str]] = {
    "name_of_a_million_characters": (
        json.dumps(company("c9", "A" * 1_000_000)),
        "name",
        "at most 300 characters",
    ),
    "summary_of_20_megabytes": (
        json.dumps(company("c9", summary=["S" * (20 << 20)])),
        "summary",
        "at most 10000 characters",
    ),
    "name_nan": ('{"id": "c9", "schema": "Company", "properties": {"name": [NaN]}}', "name", "NaN"),
    "amount_infinity": (
        json.dumps(award()[0])
        + "\n"
        + json.dumps(award()[1]).replace('"USD"]', '"USD"], "amount": [Infinity]'),
        "amount",
        "Infinity",
    ),
    "amount_as_a_json_fraction": (
        "\n".join(json.dumps(x) for x in award(amount=[1250.005])),
        "amount",
        "write it as a string",
    ),
    "name_with_a_nul": (json.dumps(company("c9", "Acme\u0000Corp")), "name", "NUL"),
    "summary_with_a_lone_surrogate": (
        '{"id": "c9", "schema": "Company", "properties": {"name": ["X"], "summary": ["\\ud800"]}}',
        "summary",
        "lone surrogate",
    ),
    "alias_longer_than_a_name": (
        json.dumps(company("c9", alias=["B" * 301])),
        "alias",
        "at most 300",
    ),
    "identifier_longer_than_its_column": (
        json.dumps(company("c9", registrationNumber=["isin:" + "9" * 201])),
        "identifier",
        "at most 200",
    ),
    "tie_summary_of_a_megabyte": (
        json.dumps(hosting(summary=["T" * (1 << 20)])),
        "summary",
        "at most 10000",
    ),
    "quote_of_a_megabyte": (
        json.dumps(hosting(description=["[doc-1] " + "Q" * (1 << 20)])),
        "description",
        "at most 10000",
    ),
    "file_size_no_column_holds": (
        json.dumps(
            document("doc-9", contentHash=[HASH], mimeType=["application/pdf"], fileSize=["9" * 25])
        ),
        "fileSize",
        "more than any file holds",
    ),
}


def stored() -> dict[str, Any]:
    return {
        "entities": sorted(Entity.objects.values_list("ftm_id", "name", "summary")),
        "sources": sorted(Source.objects.values_list("ftm_id", "title", "archive_size")),
        "ties": sorted(Tie.objects.values_list("ftm_id", "summary", "amount")),
        "counts": [m.objects.count() for m in (Identifier, Citation)],
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_value_the_forms_refuse_is_one_error_and_nothing_is_stored(
    tmp_path: Path, case: str
) -> None:
    make_tie(make_entity("Kept Inc"), "hosting", make_entity("Kept Agency", kind="agency"))
    before = stored()
    bad, field, words = CASES[case]
    path = tmp_path / "bad.ftm.json"
    good = "".join(json.dumps(line) + "\n" for line in good_lines())
    path.write_text(good + bad + "\n", encoding="utf-8")
    bad_line = len(good_lines()) + 1 + bad.count("\n")  # the last line of the bad part
    result = CliRunner().invoke(main, ["import", "ftm", str(path)])
    assert result.exit_code == 1, result.output[:500]
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output[:500]
    assert lines[0].startswith(f'Error: {path} line {bad_line}, field "{field}": '), lines[0][:300]
    assert words in lines[0], lines[0][:300]
    assert len(lines[0]) < 500  # the value is named, not repeated
    assert stored() == before


def test_the_good_lines_alone_import() -> None:
    """The lines before each bad one are fine: the refusal is for the bad line only."""
    from io import StringIO

    from receipts.interchange.followthemoney.evidence import import_ftm

    text = "".join(json.dumps(line) + "\n" for line in [*good_lines(), *award(amount=["12.5"])])
    summary = import_ftm(StringIO(text), "good.ftm.json")
    assert summary.created["entities"] == 2 and summary.created["ties"] == 1
    assert Tie.objects.get(ftm_id="a1").amount == pytest.approx(12.5)


def test_a_whole_number_stays_exact() -> None:
    from io import StringIO

    from receipts.interchange.followthemoney.evidence import import_ftm

    text = "".join(json.dumps(line) + "\n" for line in [*good_lines(), *award(amount=[10**17])])
    import_ftm(StringIO(text), "good.ftm.json")
    assert Tie.objects.get(ftm_id="a1").amount == 10**17


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["add", "entity", "A" * 301, "--kind", "company"],
            "name: Ensure this value has at most 300 characters",
        ),
        (
            ["add", "entity", "Acme", "--kind", "company", "--summary", "S" * 10_001],
            "summary: Ensure this value",
        ),
        (["add", "entity", "Ac\x00me", "--kind", "company"], "name: may not hold a NUL character"),
        (
            ["add", "source", "Report", "--kind", "news_report", "--publisher", "P" * 301],
            "publisher: Ensure",
        ),
    ],
)
def test_the_command_line_refuses_the_same_values(args: list[str], words: str) -> None:
    make_source("Kept report")
    before = stored()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output[:300]
    assert words in result.output
    assert stored() == before
