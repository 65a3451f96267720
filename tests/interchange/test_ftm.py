"""FollowTheMoney export and import: valid FtM, a lossless round trip, all-or-nothing imports."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from followthemoney import model, registry

from receipts.campaigns.models import Campaign
from receipts.cli import main
from receipts.demo import load_demo
from receipts.evidence import services
from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
from receipts.interchange.followthemoney.common import FtmExportError, FtmImportError, ImportSummary
from receipts.interchange.followthemoney.evidence import export_ftm, import_ftm
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db

TRICKY_LOCATOR = "p. 2 [fn. 3] \\ col. 1"
TRICKY_QUOTE = "They said: “we share [plate] data”\nwith CBP — every night."


def build_evidence() -> dict[str, Any]:
    """The demo plus every entity kind, tie kind, identifier scheme and source kind."""
    load_demo()
    ice = Entity.objects.get(ftm_id="receipts-demo-ice")
    cbp = Entity.objects.get(ftm_id="receipts-demo-cbp")
    dhs = Entity.objects.get(ftm_id="receipts-demo-dhs")
    services.add_identifier(ice, "agency_code", "7012")

    award = make_source(
        "Definitive contract 70CMSD21C00000001",
        kind="government_record",
        publisher="USAspending",
        url="https://www.usaspending.gov/award/CONT_AWD_70CMSD21C00000001_7012_-NONE-_-NONE-",
        published="2021-09-30",
        retrieved="2026-02-13",
    )
    services.attach_archive(award, io.BytesIO(b"%PDF-1.4 contract award"), "award.pdf")
    row = make_source(
        "USAspending prime award row",
        kind="dataset_row",
        publisher="USAspending",
        published="2025",
    )
    services.attach_archive(row, io.BytesIO(b"award_id,amount\n1,2\n"), "row.csv")
    report = make_source(
        "Plate readers feed border agents",
        kind="news_report",
        publisher="Example News",
        url="https://news.example/plates",
        published="2025-03",
    )
    statement = make_source("Beta statement", kind="company_statement", publisher="Beta Data")
    filing = make_source("Complaint in Doe v. Beta", kind="court_filing", published="2024-11-05")
    fact_sheet = make_source("Coalition fact sheet", kind="organiser_report", retrieved="2026")
    services.attach_archive(
        fact_sheet, io.BytesIO(b"<!doctype html><html><p>facts</p></html>"), "facts.html"
    )

    acme = make_entity(
        "Acme Cloud Inc.",
        aliases=["Acme", "ACME Cloud"],
        country="us",
        summary="Cloud contractor.",
        identifiers={
            "uei": "J7M9HPTGJ1S9",
            "duns": "12345678",
            "cage": "1ABC2",
            "lei": "529900T8BM49AURSDO55",
            "cik": "0001018724",
            "ticker": "ACME",
            "isin": "US0231351067",
            "cusip": "023135106",
            "website": "https://acme.example/",
        },
    )
    beta = make_entity(
        "Beta Data LLC", identifiers={"lei": "NOT-A-REAL-LEI", "website": "https://beta.example/"}
    )
    office = make_entity(
        "Office of Procurement Operations",
        kind="agency",
        identifiers={"agency_code": "7001", "uei": "K1LMNPQRSTU2"},
    )
    lab = make_entity("Data Justice Lab", kind="organization", country="gb")
    coalition = make_entity("Dump ICE Coalition", kind="organization")
    product = make_entity(
        "Acme Border Cloud",
        kind="product",
        summary="A hosted analytics suite.",
        identifiers={"website": "https://acme.example/border/"},
    )

    def cite(source: Source, quote: str = "", locator: str = "") -> services.CitationInput:
        return services.CitationInput(source, quote, locator)

    services.record_tie(
        acme,
        ice,
        "contract",
        citations=[
            cite(award, "Total obligated amount: $1,234,567.89", "row 3"),
            cite(row, locator="award_id=70CMSD21C00000001"),
        ],
        start_date="2021-09",
        end_date="2026",
        amount="1234567.89",
        currency="USD",
        summary="Cloud hosting for ICE case management.",
    )
    services.record_tie(
        beta,
        cbp,
        "data_sharing",
        citations=[cite(report, TRICKY_QUOTE, TRICKY_LOCATOR), cite(report, locator="p. 1")],
        status="alleged",
        start_date="2025-03",
    )
    services.record_tie(
        beta,
        acme,
        "investment",
        citations=[cite(filing, "a $50 million stake", "¶ 12")],
        start_date="2024",
        amount=Decimal("50000000"),
        currency="USD",
    )
    services.record_tie(acme, cbp, "hosting", citations=[cite(statement)], currency="EUR")
    services.record_tie(
        beta,
        ice,
        "partnership",
        citations=[cite(statement), cite(statement, "we work with ICE")],
        status="announced",
    )
    services.record_tie(lab, coalition, "member_of", citations=[cite(fact_sheet, "members:")])
    services.record_tie(office, dhs, "part_of", citations=[cite(award, locator="agency")])
    services.record_tie(
        acme,
        product,
        "owns",
        citations=[cite(report)],
        status="ended",
        start_date="2020",
        end_date="2025-02-13",
    )
    return {"acme": acme, "beta": beta, "award": award, "report": report}


def export_text() -> str:
    out = io.StringIO()
    export_ftm(out)
    return out.getvalue()


def exported(text: str) -> dict[str, dict[str, Any]]:
    return {data["id"]: data for data in map(json.loads, text.splitlines())}


def wipe() -> None:
    # Campaigns cite sources and name entities: they go first (the demo holds one).
    Campaign.objects.all().delete()
    for row_model in (Citation, Tie, Identifier, Entity, Source):
        row_model.objects.all().delete()


def stored_facts() -> dict[str, set[tuple[Any, ...]]]:
    """Everything the evidence graph holds, keyed by FtM ids rather than row ids."""
    return {
        "entities": {
            (e.ftm_id, e.kind, e.name, tuple(e.aliases), e.country, e.summary)
            for e in Entity.objects.all()
        },
        "identifiers": set(Identifier.objects.values_list("entity__ftm_id", "scheme", "value")),
        "sources": set(
            Source.objects.values_list(
                "ftm_id",
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
        ),
        "ties": set(
            Tie.objects.values_list(
                "ftm_id",
                "subject__ftm_id",
                "object__ftm_id",
                "kind",
                "status",
                "start_date",
                "end_date",
                "amount",
                "currency",
                "summary",
            )
        ),
        "citations": set(
            Citation.objects.values_list("tie__ftm_id", "source__ftm_id", "quote", "locator")
        ),
    }


def every_row() -> list[list[dict[str, Any]]]:
    """Every column of every row, timestamps included."""
    return [
        list(row_model.objects.order_by("pk").values())
        for row_model in (Entity, Identifier, Source, Tie, Citation)
    ]


def jsonl(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def company(entity_id: str, name: str, **props: list[str]) -> dict[str, Any]:
    return {"id": entity_id, "schema": "Company", "properties": {"name": [name], **props}}


def document(entity_id: str, title: str = "A record") -> dict[str, Any]:
    return {
        "id": entity_id,
        "schema": "Document",
        "properties": {"title": [title], "keywords": ["government_record"]},
    }


def link(entity_id: str, schema: str = "UnknownLink", **props: list[str]) -> dict[str, Any]:
    return {"id": entity_id, "schema": schema, "properties": props}


def refused(text: str, name: str = "bad.ftm.json") -> FtmImportError:
    with pytest.raises(FtmImportError) as caught:
        import_ftm(io.StringIO(text), name)
    return caught.value


def assert_nothing_stored() -> None:
    counts = [m.objects.count() for m in (Entity, Identifier, Source, Tie, Citation)]
    assert counts == [0, 0, 0, 0, 0]


# --- export ---------------------------------------------------------------------------


def test_every_exported_line_is_valid_followthemoney() -> None:
    build_evidence()
    lines = export_text().splitlines()
    assert len(lines) == len(set(lines)) > 40
    for line in lines:
        data = json.loads(line)
        proxy = model.get_proxy(data, cleaned=False)
        # Re-reading with full cleaning keeps every property and every value.
        assert proxy.to_dict() == data, line
        for prop, value in proxy.itervalues():
            assert prop.type.clean(value, format=prop.format, proxy=proxy) == value, (prop, value)
            assert not prop.deprecated and not prop.stub, prop
        assert not proxy.schema.abstract
        for required in proxy.schema.required:
            # A source without an archived copy has no file name to give.
            if (proxy.schema.name, required) != ("Document", "fileName"):
                assert proxy.has(required), (proxy.schema.name, required)


def test_referenced_entities_come_before_links() -> None:
    build_evidence()
    written: set[str] = set()
    lines = export_text().splitlines()
    assert lines, "the export is empty"
    for line in lines:
        proxy = model.get_proxy(json.loads(line))
        for prop, value in proxy.itervalues():
            if prop.type == registry.entity:
                assert value in written, (proxy.id, prop.name, value)
        written.add(proxy.id or "")


def test_export_follows_the_mapping_of_the_design() -> None:
    made = build_evidence()
    lines = exported(export_text())

    def props(entity_id: str) -> dict[str, list[str]]:
        return lines[entity_id]["properties"]

    assert lines["receipts-demo-amazon"]["schema"] == "Company"
    assert props("receipts-demo-amazon")["ticker"] == ["AMZN"]
    for agency in ("receipts-demo-ice", "receipts-demo-cbp", "receipts-demo-dhs"):
        assert lines[agency]["schema"] == "PublicBody"
        assert props(agency)["topics"] == ["gov.security"]
    assert "topics" not in props(Entity.objects.get(name="Office of Procurement Operations").ftm_id)
    assert lines["receipts-demo-truthout"]["schema"] == "Organization"
    assert lines["receipts-demo-search-party"]["schema"] == "Project"

    acme = props(made["acme"].ftm_id)
    assert acme["alias"] == ["Acme", "ACME Cloud"]
    assert (acme["country"], acme["summary"]) == (["us"], ["Cloud contractor."])
    assert acme["uniqueEntityId"] == ["J7M9HPTGJ1S9"]
    assert acme["dunsCode"] == ["012345678"]
    assert acme["cageCode"] == ["1ABC2"]
    assert acme["leiCode"] == ["529900T8BM49AURSDO55"]
    assert acme["cikCode"] == ["1018724"]
    assert acme["ticker"] == ["ACME"]
    assert acme["website"] == ["https://acme.example/"]
    assert sorted(acme["registrationNumber"]) == ["cusip:023135106", "isin:US0231351067"]
    # A LEI that fails its checksum would be dropped by FtM: it keeps the scheme prefix.
    assert props(made["beta"].ftm_id)["registrationNumber"] == ["lei:NOT-A-REAL-LEI"]
    assert props("receipts-demo-ice")["registrationNumber"] == ["agency_code:7012"]
    product = props(Entity.objects.get(name="Acme Border Cloud").ftm_id)
    assert product["projectId"] == ["website:https://acme.example/border/"]

    owns = props("receipts-demo-tie-amazon-owns-aws")
    assert lines["receipts-demo-tie-amazon-owns-aws"]["schema"] == "Ownership"
    assert (owns["owner"], owns["asset"]) == (["receipts-demo-amazon"], ["receipts-demo-aws"])
    part_of = props("receipts-demo-tie-ice-part-of-dhs")
    assert lines["receipts-demo-tie-ice-part-of-dhs"]["schema"] == "Membership"
    assert (part_of["member"], part_of["organization"], part_of["role"]) == (
        ["receipts-demo-ice"],
        ["receipts-demo-dhs"],
        ["part_of"],
    )
    assert part_of["proof"] == ["receipts-demo-source-truthout-report"]
    hosting = props("receipts-demo-tie-aws-hosts-ice")
    assert lines["receipts-demo-tie-aws-hosts-ice"]["schema"] == "UnknownLink"
    assert (hosting["role"], hosting["status"]) == (["hosting"], ["alleged"])
    ended = props("receipts-demo-tie-ring-flock-partnership")
    assert (ended["endDate"], ended["status"]) == (["2026"], ["ended"])

    contract_tie = Tie.objects.get(kind="contract")
    award = props(contract_tie.ftm_id)
    assert lines[contract_tie.ftm_id]["schema"] == "ContractAward"
    contract = lines[award["contract"][0]]
    assert contract["schema"] == "Contract"
    assert contract["properties"]["authority"] == ["receipts-demo-ice"]
    assert contract["properties"]["title"] == [
        "U.S. Immigration and Customs Enforcement contract with Acme Cloud Inc."
    ]
    assert award["supplier"] == [made["acme"].ftm_id]
    assert (award["amount"], award["currency"]) == (["1234567.89"], ["USD"])
    assert (award["startDate"], award["endDate"]) == (["2021-09"], ["2026"])
    assert award["proof"] == [made["award"].ftm_id, Source.objects.get(kind="dataset_row").ftm_id]
    assert award["publisher"] == ["USAspending"]
    assert award["description"][0] == (
        f"[{made['award'].ftm_id} @ row 3] Total obligated amount: $1,234,567.89"
    )

    investment = props(Tie.objects.get(kind="investment").ftm_id)
    assert "amount: 50000000.00 USD" in investment["description"]
    sharing = props(Tie.objects.get(kind="data_sharing").ftm_id)
    report_id = made["report"].ftm_id
    assert sharing["description"] == [
        f"[{report_id} @ p. 2 [fn. 3\\] \\\\ col. 1] {TRICKY_QUOTE}",
        f"[{report_id} @ p. 1]",
    ]
    assert sharing["sourceUrl"] == ["https://news.example/plates"]

    pdf = props(made["award"].ftm_id)
    assert lines[made["award"].ftm_id]["schema"] == "Document"
    assert pdf["keywords"] == ["government_record"]
    assert pdf["contentHash"] == [made["award"].archive_sha256]
    assert (pdf["mimeType"], pdf["fileName"]) == (["application/pdf"], ["award.pdf"])
    assert (pdf["publishedAt"], pdf["retrievedAt"]) == (["2021-09-30"], ["2026-02-13"])
    assert lines[report_id]["schema"] == "Article"
    assert props(report_id)["publishedAt"] == ["2025-03"]


def test_country_that_followthemoney_would_drop_stops_the_export() -> None:
    make_entity("Nowhere Corp", country="xx")
    with pytest.raises(FtmExportError, match='field "country"'):
        export_text()


# --- round trip and idempotency ---------------------------------------------------------


def test_round_trip_gives_the_same_entities() -> None:
    build_evidence()
    first = export_text()
    before = stored_facts()
    wipe()
    assert_nothing_stored()
    summary = import_ftm(io.StringIO(first), "evidence.ftm.json")
    assert summary.created == {"entities": 29, "ties": 20, "sources": 7}
    assert not summary.not_imported
    assert export_text() == first
    assert stored_facts() == before


def test_import_twice_adds_nothing() -> None:
    build_evidence()
    text = export_text()
    wipe()
    import_ftm(io.StringIO(text), "evidence.ftm.json")
    rows = every_row()
    again = import_ftm(io.StringIO(text), "evidence.ftm.json")
    assert again.unchanged == {"entities": 29, "ties": 20, "sources": 7}
    assert not again.created and not again.updated
    assert every_row() == rows


def test_import_into_the_database_it_came_from_changes_nothing() -> None:
    build_evidence()
    text = export_text()
    rows = every_row()
    summary = import_ftm(io.StringIO(text), "evidence.ftm.json")
    assert not summary.created and not summary.updated
    assert every_row() == rows


def test_same_id_updates_the_row() -> None:
    made = build_evidence()
    lines = exported(export_text())
    acme = lines[made["acme"].ftm_id]
    acme["properties"]["name"] = ["Acme Cloud Holdings"]
    acme["properties"]["dunsCode"] = ["987654321"]
    summary = import_ftm(io.StringIO(jsonl(acme)), "rename.ftm.json")
    assert (summary.created["entities"], summary.updated["entities"]) == (0, 1)
    made["acme"].refresh_from_db()
    assert made["acme"].name == "Acme Cloud Holdings"
    assert list(made["acme"].identifiers.filter(scheme="duns").values_list("value", flat=True)) == [
        "987654321"
    ]
    assert Entity.objects.filter(name__startswith="Acme Cloud").count() == 1


def test_describe_is_one_line_with_the_counts() -> None:
    summary = ImportSummary(name="demo.ftm.json")
    summary.created.update({"entities": 2, "ties": 1, "sources": 1})
    summary.not_imported["Company.address"] = 2
    assert summary.describe() == (
        "demo.ftm.json: 2 entities created, 0 updated, 0 unchanged; 1 tie created, 0 updated, "
        "0 unchanged; 1 source created, 0 updated, 0 unchanged; not imported: Company.address (2)"
    )


# --- import of hand-written files -------------------------------------------------------


def test_link_to_stored_entities_and_sources_is_imported() -> None:
    acme, ice = make_entity("Acme"), make_entity("ICE", kind="agency")
    source = make_source("Record")
    text = jsonl(
        link(
            "hosting-1",
            subject=[acme.ftm_id],
            object=[ice.ftm_id],
            role=["hosting"],
            proof=[source.ftm_id],
            startDate=["2025-02"],
        )
    )
    summary = import_ftm(io.StringIO(text), "links.ftm.json")
    tie = Tie.objects.get(ftm_id="hosting-1")
    assert (tie.subject, tie.object, tie.kind, tie.start_date) == (acme, ice, "hosting", "2025-02")
    # A proof without a quoted description is a citation with neither quote nor locator.
    assert list(tie.citations.values_list("source", "quote", "locator")) == [(source.pk, "", "")]
    assert summary.created == {"ties": 1}


def test_foreign_names_become_aliases_and_unused_properties_are_reported() -> None:
    text = jsonl(
        company(
            "c1",
            "Initech",
            abbreviation=["ITC"],
            previousName=["Initrode"],
            address=["1 Main St"],
            registrationNumber=["HRB 1234", "uei:Q2W3E4R5T6Y7"],
        )
    )
    summary = import_ftm(io.StringIO(text), "foreign.ftm.json")
    entity = Entity.objects.get(ftm_id="c1")
    assert entity.aliases == ["ITC", "Initrode"]
    assert list(entity.identifiers.values_list("scheme", "value")) == [("uei", "Q2W3E4R5T6Y7")]
    assert summary.not_imported == {"Company.address": 1, "Company.registrationNumber": 1}
    assert "not imported: Company.address (1), Company.registrationNumber (1)" in (
        summary.describe()
    )


def test_broken_line_names_line_and_stores_nothing() -> None:
    text = jsonl(document("doc-1"), company("c1", "Acme")) + '{"id": "c2", "schema": \n'
    error = refused(text, "demo.ftm.json")
    assert str(error.messages[0]).startswith("demo.ftm.json line 3: not JSON")
    assert_nothing_stored()


def test_bad_date_names_line_and_field() -> None:
    text = jsonl(
        document("doc-1"),
        company("c1", "Acme"),
        company("c2", "Beta"),
        link("l1", subject=["c1"], object=["c2"], proof=["doc-1"], startDate=["2026-13"]),
    )
    error = refused(text, "demo.ftm.json")
    assert error.messages == [
        "demo.ftm.json line 4, field \"startDate\": '2026-13' is not a valid date"
    ]
    assert_nothing_stored()


def test_unknown_schema_is_refused() -> None:
    error = refused(jsonl({"id": "v1", "schema": "Vessel", "properties": {"name": ["Ever"]}}))
    assert 'line 1, field "schema": Vessel is not imported' in error.messages[0]
    error = refused(jsonl({"id": "x1", "schema": "Spaceship", "properties": {}}))
    assert "'Spaceship' is not a FollowTheMoney schema" in error.messages[0]
    assert_nothing_stored()


def test_person_is_refused_because_receipts_records_organisations() -> None:
    text = jsonl(company("c1", "Acme"), {"id": "p1", "schema": "Person", "properties": {}})
    error = refused(text)
    assert error.messages == [
        'bad.ftm.json line 2, field "schema": Person is not imported: Receipts records '
        "organisations, not individuals"
    ]
    assert_nothing_stored()


def test_link_without_proof_is_refused() -> None:
    text = jsonl(
        company("c1", "Acme"),
        company("c2", "Beta"),
        link("l1", subject=["c1"], object=["c2"], role=["partnership"]),
    )
    error = refused(text)
    assert 'line 3, field "proof": missing: every tie needs a cited source' in error.messages[0]
    assert_nothing_stored()


def test_missing_name_is_refused() -> None:
    error = refused(jsonl({"id": "c1", "schema": "Company", "properties": {"country": ["us"]}}))
    assert 'line 1, field "name": missing' in error.messages[0]


def test_reference_to_unknown_id_is_refused() -> None:
    text = jsonl(
        document("doc-1"),
        company("c1", "Acme"),
        link("o1", "Ownership", owner=["c1"], asset=["nobody"], proof=["doc-1"]),
    )
    error = refused(text)
    assert error.messages == [
        "bad.ftm.json line 3, field \"asset\": 'nobody' is neither in this file nor in the database"
    ]
    assert_nothing_stored()


def test_reference_to_a_source_as_an_entity_is_refused() -> None:
    text = jsonl(
        document("doc-1"),
        company("c1", "Acme"),
        link("o1", "Ownership", owner=["c1"], asset=["doc-1"], proof=["doc-1"]),
    )
    assert "'doc-1' is a Document (line 1), not a company" in refused(text).messages[0]


def test_line_the_followthemoney_model_rejects_is_refused() -> None:
    text = jsonl(
        document("doc-1"),
        company("c1", "Acme"),
        link("o1", "Ownership", owner=["o1"], asset=["c1"], proof=["doc-1"]),
    )
    error = refused(text)
    assert "line 3: FollowTheMoney rejects it: Self-relationship" in error.messages[0]
    assert_nothing_stored()


def test_unknown_property_is_refused() -> None:
    error = refused(jsonl(company("c1", "Acme", startdate=["2020"])))
    assert error.messages == ['bad.ftm.json line 1, field "startdate": not a property of Company']


def test_duplicate_id_is_refused() -> None:
    error = refused(jsonl(company("c1", "Acme"), company("c1", "Beta")))
    assert "line 2, field \"id\": 'c1' is also the id on line 1" in error.messages[0]


def test_quote_citing_a_source_outside_proof_is_refused() -> None:
    text = jsonl(
        document("doc-1"),
        document("doc-2"),
        company("c1", "Acme"),
        company("c2", "Beta"),
        link("l1", subject=["c1"], object=["c2"], proof=["doc-1"], description=["[doc-2] a quote"]),
    )
    error = refused(text)
    assert (
        "line 5, field \"description\": cites 'doc-2', which is not in proof" in error.messages[0]
    )


def test_source_kind_must_be_given_for_a_document() -> None:
    text = jsonl({"id": "d1", "schema": "Document", "properties": {"title": ["Untitled"]}})
    assert 'line 1, field "keywords": no source kind' in refused(text).messages[0]


def test_write_the_services_refuse_rolls_back_the_whole_file() -> None:
    text = jsonl(
        document("doc-1"),
        company("c1", "Acme", uniqueEntityId=["J7M9HPTGJ1S9"]),
        company("c2", "Acme Again", uniqueEntityId=["J7M9HPTGJ1S9"]),
    )
    error = refused(text)
    assert (
        'line 3, field "identifier": uei J7M9HPTGJ1S9 already belongs to Acme'
        in (error.messages[0])
    )
    assert_nothing_stored()


def test_ownership_cycle_is_refused_and_nothing_is_stored() -> None:
    text = jsonl(
        document("doc-1"),
        company("c1", "Acme"),
        company("c2", "Beta"),
        link("o1", "Ownership", owner=["c1"], asset=["c2"], proof=["doc-1"]),
        link("o2", "Ownership", owner=["c2"], asset=["c1"], proof=["doc-1"]),
    )
    error = refused(text)
    assert 'line 5, field "asset":' in error.messages[0] and "cycle" in error.messages[0]
    assert_nothing_stored()


# --- the command line -----------------------------------------------------------------------


def run(args: list[str], input: str | None = None) -> Result:
    return CliRunner().invoke(main, args, input=input)


def test_cli_export_then_import_into_an_empty_database(tmp_path: Path) -> None:
    build_evidence()
    path = tmp_path / "evidence.ftm.json"
    exported_run = run(["export", "ftm", "-o", str(path)])
    assert exported_run.exit_code == 0, exported_run.output
    first = path.read_text(encoding="utf-8")
    assert len(first.splitlines()) == 7 + 29 + 20 + 1
    wipe()
    imported = run(["import", "ftm", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "29 entities created" in imported.output
    assert export_text() == first


def test_cli_imports_from_stdin() -> None:
    text = jsonl(document("doc-1"), company("c1", "Acme"))
    result = run(["import", "ftm", "-"], input=text)
    assert result.exit_code == 0, result.output
    assert "1 entity created" in result.output and "1 source created" in result.output
    assert Entity.objects.get(ftm_id="c1").name == "Acme"


def test_cli_bad_input_exits_non_zero_with_one_line_naming_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "demo.ftm.json"
    path.write_text(
        jsonl(
            document("doc-1"),
            company("c1", "Acme"),
            company("c2", "Beta"),
            link("l1", subject=["c1"], object=["c2"], proof=["doc-1"], endDate=["13/02/2026"]),
        ),
        encoding="utf-8",
    )
    result = run(["import", "ftm", str(path)])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert 'demo.ftm.json line 4, field "endDate"' in lines[0]
    assert "Traceback" not in result.output
    assert_nothing_stored()


def test_cli_stdout_export_is_json_lines() -> None:
    make_tie(make_entity("Acme"), "hosting", make_entity("ICE", kind="agency"))
    result = run(["export", "ftm"])
    assert result.exit_code == 0, result.output
    schemata = [json.loads(line)["schema"] for line in result.output.splitlines()]
    assert schemata[0] == "Article" and schemata[-1] == "UnknownLink"
    assert sorted(schemata[1:-1]) == ["Company", "PublicBody"]
