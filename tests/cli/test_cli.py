import json

import pytest
from click.testing import CliRunner

from receipts.campaigns.models import Action, Campaign, Demand
from receipts.cli import main
from receipts.demo import load_demo
from receipts.evidence.models import Entity, Source, Tie
from tests.factories import make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_demo_twice_duplicates_nothing():
    first = run("demo", "--no-serve")
    counts = (Entity.objects.count(), Tie.objects.count(), Source.objects.count())
    second = run("demo", "--no-serve")
    assert first.exit_code == second.exit_code == 0
    assert (
        "23 entities, 12 ties, 1 source; 2 campaigns: the coalition's with 3 demands (1 met), "
        "2 actions, 10 coalition members, 1 goal (an example), and the publisher's donor drive "
        "with 1 cited goal; 1 sign-up form, 1 flyer (/f/seattle-rally)." in second.output
    )
    assert (
        (Entity.objects.count(), Tie.objects.count(), Source.objects.count())
        == counts
        == (23, 12, 1)
    )
    assert (Campaign.objects.count(), Demand.objects.count(), Action.objects.count()) == (2, 3, 2)


def test_ties_rollup_lists_aws_hosting_with_paths():
    load_demo()
    result = run(
        "ties",
        "Amazon",
        "--to",
        "U.S. Department of Homeland Security",
        "--rollup",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert sorted(t["path"] for t in data["ties"]) == [
        "Amazon > Amazon Web Services — hosting — U.S. Customs and Border Protection < U.S. Department of Homeland Security",
        "Amazon > Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement < U.S. Department of Homeland Security",
    ]
    for tie in data["ties"]:
        assert tie["status"] == "alleged"
        assert (
            tie["citations"][0]["title"]
            == "Protesters Demand Amazon Cut Ties With ICE and Palantir"
        )
        assert tie["citations"][0]["url"] is None


def test_ties_table_and_csv():
    load_demo()
    table = run("ties", "Ring")
    assert table.exit_code == 0
    assert "Flock Safety" in table.output and "ended" in table.output
    csv_out = run("ties", "AMZN", "--rollup", "--format", "csv")
    assert csv_out.output.splitlines()[0].startswith("path,subject,kind,object,status")
    assert (
        "Amazon > Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement"
        in csv_out.output
    )


def test_unknown_name_exits_2_with_one_line():
    load_demo()
    result = CliRunner().invoke(main, ["ties", "Initech"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "Initech" in result.output


def test_ambiguous_name_lists_candidates_and_exits_2():
    load_demo()
    result = CliRunner().invoke(main, ["ties", "U.S."])
    assert result.exit_code == 2
    assert "U.S. Customs and Border Protection" in result.output
    assert "U.S. Department of Homeland Security" in result.output


def test_add_entity_source_and_tie():
    assert (
        run(
            "add", "entity", "Acme Cloud", "--kind", "company", "--id", "uei:ACME12345678"
        ).exit_code
        == 0
    )
    assert run("add", "entity", "Border Agency", "--kind", "agency", "--alias", "BA").exit_code == 0
    out = run(
        "add", "source", "Contract notice", "--kind", "government_record", "--published", "2025-07"
    )
    assert out.exit_code == 0
    source_id = out.output.split()[1].rstrip(":")
    tie = run(
        "add",
        "tie",
        "ACME12345678",
        "hosting",
        "BA",
        "--source",
        source_id,
        "--quote",
        "hosts",
        "--start",
        "2025",
    )
    assert tie.exit_code == 0, tie.output
    t = Tie.objects.get()
    assert (t.subject.name, t.object.name, t.start_date, t.citations.get().quote) == (
        "Acme Cloud",
        "Border Agency",
        "2025",
        "hosts",
    )


def test_add_tie_without_source_is_refused():
    make_entity("Acme")
    make_entity("Agency", kind="agency")
    result = CliRunner().invoke(main, ["add", "tie", "Acme", "contract", "Agency"])
    assert result.exit_code != 0
    assert "citation" in result.output
    assert Tie.objects.count() == 0


def test_subsidiary_of_is_stored_as_ownership_reversed():
    make_entity("Parent Co")
    make_entity("Child Co")
    source = make_source()
    assert (
        run(
            "add", "tie", "Child Co", "subsidiary_of", "Parent Co", "--source", str(source.pk)
        ).exit_code
        == 0
    )
    t = Tie.objects.get()
    assert (t.subject.name, t.kind, t.object.name) == ("Parent Co", "owns", "Child Co")


def test_check_passes_on_the_demo():
    load_demo()
    result = run("check")
    assert result.exit_code == 0
    assert result.output.startswith("ok")


def test_check_names_each_violation():
    a, b = make_entity("A"), make_entity("B")
    make_tie(a, "owns", b)
    # Written behind the services: an uncited tie and a cycle.
    Tie.objects.create(subject=b, object=a, kind="owns")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code != 0
    assert "uncited tie" in result.output
    assert "cycle: A > B > A" in result.output or "cycle: B > A > B" in result.output


def test_check_finds_contract_records_out_of_joint():
    from receipts.contracts.models import ContractTransaction

    # Written behind the importer: an action whose award is not stored, a recipient gone.
    ContractTransaction.objects.create(
        transaction_key="T1", award_key="CONT_AWD_NONE", action_date="2024-01-01",
        fiscal_year=2024, obligation_cents=100, recipient_id=987654,
    )  # fmt: skip
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code != 0
    assert "contract transaction T1: its award is not stored" in result.output
    assert "its recipient points to a missing entity" in result.output


def test_check_finds_a_missing_archive_file(archive_dir):
    import io

    from receipts.evidence import services

    source = make_source()
    services.attach_archive(source, io.BytesIO(b"%PDF-1.4 receipt"), "r.pdf")
    services.archive_path(source.archive_sha256).unlink()
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code != 0
    assert "archived copy" in result.output and "missing" in result.output


def _chained(error: Exception, cause: Exception | None = None, context: Exception | None = None):
    error.__cause__, error.__context__ = cause, context
    return error


def test_a_lost_database_connection_is_one_line_that_says_to_run_again():
    import psycopg
    from django.db import InterfaceError, OperationalError

    from receipts.cli.errors import database_gone

    restart = _chained(
        OperationalError("terminating connection due to administrator command\nSSL closed"),
        cause=psycopg.errors.AdminShutdown(),
    )
    lost = database_gone(restart)
    assert lost is not None and "\n" not in lost
    assert lost.startswith("lost the connection to the database (terminating connection")
    assert "running the command again is safe" in lost
    # Recording the failure afterwards failed too: the first error is the one reported.
    later = _chained(InterfaceError("the connection is closed"), context=restart)
    assert database_gone(later) == lost
    # Known by its SQLSTATE alone.
    starting = _chained(
        OperationalError("the database system is starting up"),
        cause=psycopg.errors.CannotConnectNow(),
    )
    assert "(the database system is starting up)" in (database_gone(starting) or "")

    refused = OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused\n\tIs the server running on that host?"
    )
    assert (database_gone(refused) or "").startswith("cannot connect to the database (")

    assert database_gone(OperationalError("database or disk is full")) is None
    assert database_gone(ValueError("connection")) is None


def test_ties_by_kind_and_the_kinds_listed_match_the_model():
    from receipts.cli.evidence import TIE_KINDS
    from receipts.evidence.models import TieKind

    assert list(TieKind.values) == TIE_KINDS
    load_demo()
    result = run("ties", "Amazon", "--rollup", "--kind", "partnership", "--format", "json")
    assert result.exit_code == 0, result.output
    kinds = {t["kind"] for t in json.loads(result.output)["ties"]}
    assert kinds == {"partnership"}
    both = run(
        "ties",
        "Amazon",
        "--rollup",
        "--kind",
        "partnership",
        "--kind",
        "hosting",
        "--format",
        "json",
    )
    assert {t["kind"] for t in json.loads(both.output)["ties"]} == {"partnership", "hosting"}
    assert CliRunner().invoke(main, ["ties", "Amazon", "--kind", "lobbying"]).exit_code == 2
