"""The ``receipts`` command line: ``receipts <verb> [object]``.

Commands parse arguments, call a service or query and print. Errors are one
line on stderr with a non-zero exit code (2 for a name that does not resolve,
65 for an import whose file had every row rejected, 74 for a full disk: free some space and run the command again, 75 for a
database server that went away or cannot be reached, or an import already
running: run the command again once it is back or finished); ``--debug`` shows
the traceback. Any verb not defined here is handed to Django's management
commands (``receipts migrate``, ``receipts createsuperuser``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_NAME = 2
EXIT_DISK_FULL = 74  # EX_IOERR: free some space, then try again
EXIT_DATABASE_GONE = 75  # EX_TEMPFAIL: a temporary failure, try again later

# SQLSTATEs of a connection that ended or could not start: the connection exception
# class (08), and the server shutting down or restarting (57P01-57P03).
_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "receipts.config.settings")
    import django

    django.setup()


def _migrate(quiet: bool = True) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0 if quiet else 1)


class ReceiptsGroup(click.Group):
    """A click group that hands unknown verbs to Django's management commands."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found

        @click.command(
            name=cmd_name,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
            add_help_option=False,
        )
        @click.pass_context
        def django_command(inner: click.Context) -> None:
            from django.core.management import execute_from_command_line

            execute_from_command_line(["receipts", cmd_name, *inner.args])

        return django_command

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (``receipts ties X | head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:  # one clear line, not a traceback
            if debug:
                raise
            from django.core.exceptions import ValidationError

            full = disk_full(exc)
            if full is not None:
                click.echo(f"Error: {full}", err=True)
                ctx.exit(EXIT_DISK_FULL)
            gone = database_gone(exc)
            if gone is not None:
                click.echo(f"Error: {gone}", err=True)
                ctx.exit(EXIT_DATABASE_GONE)
            if isinstance(exc, ValidationError):
                message = "; ".join(exc.messages)
            else:
                message = str(exc) or exc.__class__.__name__
            click.echo(f"Error: {message}", err=True)
            ctx.exit(getattr(exc, "exit_code", EXIT_ERROR))


# SQLSTATE 53100 is disk_full; the texts are SQLite's, PostgreSQL's and the C library's.
_DISK_FULL_STATE = "53100"
_DISK_FULL_TEXTS = ("database or disk is full", "could not extend file", "no space left on device")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or while handling, first the newest."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and all(seen is not f for f in found):
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


def _disk_full_where(error: BaseException) -> str:
    import tempfile

    from django.conf import settings
    from django.db import DatabaseError

    if isinstance(error, OSError) and error.filename:
        return f"writing {error.filename}"
    database = settings.DATABASES["default"]
    if isinstance(error, DatabaseError) or type(error).__module__.startswith(
        ("sqlite3", "psycopg")
    ):
        if "sqlite" in database["ENGINE"]:
            return f"writing the database {database['NAME']}"
        return (
            f"on the database server's disk (database {database.get('NAME')} "
            f"on {database.get('HOST') or 'localhost'})"
        )
    return (
        f"writing the import's working files in {tempfile.gettempdir()} (TMPDIR names "
        "another folder)"
    )


def disk_full(exc: BaseException) -> str | None:
    """One line for an error meaning a disk filled up; None for any other error.

    Every write is transactional per batch, so what a full disk stopped is rolled
    back whole: that, and where the disk is full, is what the line says.
    """
    import errno

    for error in _chain(exc):
        text = str(error).strip()
        state = getattr(error, "sqlstate", None) or getattr(error.__cause__, "sqlstate", None)
        if not (
            (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT))
            or state == _DISK_FULL_STATE
            or any(t in text.lower() for t in _DISK_FULL_TEXTS)
        ):
            continue
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        detail = lines[0] if lines else "no space left on device"
        notes = [n for e in _chain(exc) for n in getattr(e, "__notes__", [])]
        during = f" {notes[0]}" if notes else ""
        return (
            f"the disk is full ({detail}) {_disk_full_where(error)}{during}; nothing partial "
            "was kept (batches committed before it stay whole, the one in progress was rolled "
            "back), so once space is freed running the command again is safe"
        )
    return None


def database_gone(exc: BaseException) -> str | None:
    """One line for an error meaning the database server went away or cannot be reached.

    A restart, a shutdown, a terminated session or a cut network look alike to the
    client: the statement in flight fails and its transaction is rolled back. The
    first such error in the chain is the cause (a later one comes from work done
    while handling it). None for any other error.
    """
    from django.db import InterfaceError, OperationalError

    found = None
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, (OperationalError, InterfaceError)):
            text = str(seen).strip()
            state = getattr(seen.__cause__, "sqlstate", None) or ""
            if state.startswith(_CONNECTION_STATES) or "connection" in text.lower():
                found = text
        seen = seen.__context__
    if found is None:
        return None
    lines = [line.strip() for line in found.splitlines() if line.strip()]
    detail = lines[0] if lines else "no detail"
    if detail.startswith(("connection failed:", "could not connect")) or (
        detail.startswith("connection to server") and "failed" in detail
    ):
        # The server was never reached in this attempt (it is down, or the address is wrong).
        return (
            f"cannot connect to the database ({detail}); once the server is running, "
            "running the command again is safe"
        )
    return (
        f"lost the connection to the database ({detail}): the server restarted, stopped "
        "or ended the session; work already committed is kept and running the command "
        "again is safe"
    )


@click.group(cls=ReceiptsGroup)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RECEIPTS_DATA_DIR",
    help="Folder for the SQLite database and archived files (default ./receipts-data).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="receipts")
def main(data_dir: Path | None, debug: bool) -> None:
    """Receipts: ties between companies and government agencies, with receipts."""
    if data_dir is not None:
        os.environ["RECEIPTS_DATA_DIR"] = str(data_dir)
    _setup_django()


class NameError_(click.ClickException):
    exit_code = EXIT_NAME


def _resolve(name: str) -> Any:
    from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity

    try:
        return resolve_entity(name)
    except (NameNotFound, NameAmbiguous) as exc:
        raise NameError_(str(exc)) from exc


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from receipts.serve import serve

    click.echo(f"Receipts is serving on http://{host}:{port}/  (Ctrl-C stops it)")
    serve(host, port, workers, threads)


_serve_options = [
    click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on."),
    click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535)),
    click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64)),
    click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64)),
]


def serve_options(func: F) -> F:
    for option in reversed(_serve_options):
        func = option(func)
    return func


@main.command()
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
@serve_options
def demo(no_serve: bool, host: str, port: int, workers: int, threads: int) -> None:
    """Load the demo data (idempotently) and serve the site."""
    from django.conf import settings

    from receipts.demo import load_demo

    _migrate()
    counts = load_demo()
    db = settings.DATABASES["default"]
    where = db["NAME"] if "sqlite" in db["ENGINE"] else f"{db['ENGINE']} {db.get('NAME')}"
    click.echo(
        f"Demo loaded into {where}: {counts['entities']} entities, {counts['ties']} ties, "
        f"{counts['sources']} source; {counts['campaigns']} campaigns: the coalition's with "
        f"{counts['campaign_demands']} demands ({counts['campaign_demands_met']} met), "
        f"{counts['campaign_actions']} actions, {counts['campaign_coalition']} coalition "
        f"members, {counts['campaign_goals']} goal (an example), and the publisher's donor "
        f"drive with {counts['publisher_goals']} cited goal; {counts['outreach_forms']} sign-up "
        f"form, {counts['outreach_flyers']} flyer (/f/seattle-rally)."
    )
    if not no_serve:
        _serve(host, port, workers, threads)


@main.command()
@serve_options
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the site on an existing database (migrating it first)."""
    _migrate()
    _serve(host, port, workers, threads)


def _totals_record(totals: Any) -> dict[str, Any] | None:
    if totals is None:
        return None
    return {
        "obligated": f"{Decimal(totals.obligated_cents) / 100:.2f}",
        "award_count": totals.award_count,
        "transaction_count": totals.transaction_count,
        "first_action_date": totals.first_action_date,
        "last_action_date": totals.last_action_date,
        "by_fiscal_year": {
            fy: f"{Decimal(cents) / 100:.2f}" for fy, cents in totals.by_fiscal_year.items()
        },
    }


def _tie_record(rt: Any, totals: Any = None) -> dict[str, Any]:
    tie = rt.tie
    return {
        "path": rt.path_text(),
        "subject": tie.subject.name,
        "kind": tie.kind,
        "object": tie.object.name,
        "status": tie.status,
        "start_date": tie.start_date or None,
        "end_date": tie.end_date or None,
        "amount": str(tie.amount) if tie.amount is not None else None,
        "currency": tie.currency or None,
        "summary": tie.summary,
        "contract_totals": _totals_record(totals),
        "citations": [
            {
                "source": c.source.title,
                "publisher": c.source.publisher,
                "published": c.source.published or None,
                "url": c.source.url or None,
                "archive_sha256": c.source.archive_sha256 or None,
                "quote": c.quote,
                "locator": c.locator,
            }
            for c in tie.citations.all()
        ],
    }


def _dates_text(start: str | None, end: str | None) -> str:
    if start and end:
        return f"{start} – {end}"
    if end:
        return f"until {end}"
    if start:
        return f"since {start}"
    return ""


def _cite_text(record: dict[str, Any], limit: int = 3) -> str:
    """The first few citations as text; JSON output carries them all."""
    parts = []
    for c in record["citations"][:limit]:
        bits = [c["source"]]
        if c["publisher"]:
            bits.append(c["publisher"])
        if c["published"]:
            bits.append(c["published"])
        text = ", ".join(bits)
        if c["locator"]:
            text += f" ({c['locator']})"
        parts.append(text)
    extra = len(record["citations"]) - limit
    if extra > 0:
        parts.append(f"and {extra} more")
    return "; ".join(parts)


# The tie kinds, as TieKind holds them (a test keeps the two equal); listed here so
# the command line loads without setting up Django.
TIE_KINDS = [
    "owns",
    "part_of",
    "contract",
    "hosting",
    "partnership",
    "data_sharing",
    "investment",
    "member_of",
    "other",
]


@main.command()
@click.argument("name")
@click.option("--to", "to_name", help="Only ties to this entity (name, alias, slug or identifier).")
@click.option("--rollup", is_flag=True, help="Include subsidiaries and components on both sides.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(TIE_KINDS),
    help="Only ties of this kind (repeat for several), e.g. --kind contract.",
)
@click.option(
    "--members",
    type=click.Choice(["dated", "current"]),
    default="dated",
    show_default=True,
    help="With --rollup, whose dealings the totals count: each member's only while the family "
    "owned it (dated by the records' parent fields), or today's members' whole history.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option(
    "-o", "--output", type=click.File("w"), default="-", help="Output file (default stdout)."
)
def ties(
    name: str,
    to_name: str | None,
    rollup: bool,
    kinds: tuple[str, ...],
    members: str,
    fmt: str,
    output: IO[str],
) -> None:
    """List the ties of NAME, each with its path, status and citations, and their totals."""
    from receipts.ingest.family_totals import family_ties, total_records

    entity = _resolve(name)
    to = _resolve(to_name) if to_name else None
    from receipts.ingest.models import ContractTotals

    family = family_ties(entity, rollup=rollup, to=to, kinds=kinds or None, members=members)
    rolled = family.ties
    totals = {
        t.tie_id: t for t in ContractTotals.objects.filter(tie_id__in=[rt.tie.pk for rt in rolled])
    }
    records = [_tie_record(rt, totals.get(rt.tie.pk)) for rt in rolled]
    for rt, record in zip(rolled, records, strict=True):
        counted = family.counted.get(rt.tie.pk)
        record["counted_amount"] = None if counted is None else f"{counted:.2f}"
    basis = family.members if rollup else None
    sums = total_records(family.totals)
    by_component = total_records(family.by_component)
    if fmt == "json":
        json.dump(
            {
                "entity": entity.name,
                "to": to.name if to else None,
                "rollup": rollup,
                "members": basis,
                "basis": family.basis_text,
                "totals": sums,
                "totals_by_component": by_component,
                "ties": records,
            },
            output,
            indent=2,
            ensure_ascii=False,
        )
        output.write("\n")
        return
    if fmt == "csv":
        from receipts import spreadsheet

        writer = spreadsheet.writer(output)
        columns = [
            "path",
            "subject",
            "kind",
            "object",
            "status",
            "start_date",
            "end_date",
            "amount",
            "currency",
        ]
        totals_columns = [
            "award_count",
            "transaction_count",
            "first_action_date",
            "last_action_date",
        ]
        # Every receipt is in the file: the first few as text, then all their addresses.
        # Total lines follow the ties, told apart by the last column ("line"); their sum
        # is in counted_amount only, so adding up the amount column counts no tie twice.
        tail = ["counted_amount", "members", "line"]
        writer.writerow(
            [*columns, *totals_columns, "citations", "citation_count", "citation_urls", *tail]
        )
        for r in records:
            t = r["contract_totals"] or {}
            writer.writerow(
                [r[c] if r[c] is not None else "" for c in columns]
                + [t.get(c, "") for c in totals_columns]
                + [
                    _cite_text(r),
                    len(r["citations"]),
                    " ".join(dict.fromkeys(c["url"] for c in r["citations"] if c["url"])),
                    r["counted_amount"] or "",
                    basis or "",
                    "tie",
                ]
            )
        if not sums:
            empty = ["No tie with an amount counts", entity.name, "", to.name if to else ""]
            blank = [""] * (len(columns) + len(totals_columns) + 3 - len(empty))
            writer.writerow([*empty, *blank, "", basis or "", "total"])
        for line, rows in (("total", sums), ("component total", by_component)):
            for row in rows:
                label = f"Total of {row['tie_count']} {row['kind']} tie{'s' if row['tie_count'] != 1 else ''}"
                writer.writerow(
                    [
                        label,
                        entity.name,
                        row["kind"],
                        row.get("component") or (to.name if to else ""),
                    ]
                    + ["", "", "", "", row["currency"] or ""]
                    + [""] * (len(totals_columns) + 3)
                    + [row["amount"], basis or "", line]
                )
        return
    from rich.console import Console
    from rich.table import Table

    title = (
        f"Ties of {entity.name}"
        + (f" to {to.name}" if to else "")
        + (" (rolled up)" if rollup else "")
    )
    table = Table(title=title, show_lines=True)
    for column in ("Path", "Status", "Dates", "Amount", "Citations"):
        table.add_column(column, overflow="fold")
    for r in records:
        dates = _dates_text(r["start_date"], r["end_date"])
        amount = f"{r['currency']} {r['amount']}" if r["amount"] is not None else ""
        if r["counted_amount"] is not None and r["counted_amount"] != r["amount"]:
            amount += f" ({r['counted_amount']} counted)"
        table.add_row(r["path"], r["status"], dates, amount, _cite_text(r))
    console = Console(file=output, width=None if output.isatty() else 160)
    if records:
        console.print(table)
    else:
        console.print(f"No ties found for {title[8:]}.")
    console.print(f"Basis of the totals: {family.basis_text}.")
    if not sums:
        console.print("Total: no tie with an amount counts.")
    for rows, heading in ((sums, "Totals"), (by_component, "Totals by component")):
        if not rows:
            continue
        sum_table = Table(title=f"{heading} (members {basis})" if basis else heading)
        if heading != "Totals":
            sum_table.add_column("Component")
        for column in ("Kind", "Ties", "Amount"):
            sum_table.add_column(column, justify="right" if column != "Kind" else "left")
        for row in rows:
            cells = [row["kind"], str(row["tie_count"]), f"{row['currency'] or ''} {row['amount']}"]
            sum_table.add_row(*([row["component"]] if heading != "Totals" else []), *cells)
        console.print(sum_table)


# --- add ------------------------------------------------------------------------


@main.group()
def add() -> None:
    """Record evidence: an entity, a source or a cited tie."""


@add.command("entity")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(["company", "agency", "organization", "product"]), required=True
)
@click.option("--alias", "aliases", multiple=True, help="Another name; repeatable.")
@click.option(
    "--id",
    "identifiers",
    multiple=True,
    metavar="SCHEME:VALUE",
    help="e.g. ticker:AMZN; repeatable.",
)
@click.option("--country", default="")
@click.option("--summary", default="")
def add_entity(
    name: str,
    kind: str,
    aliases: tuple[str, ...],
    identifiers: tuple[str, ...],
    country: str,
    summary: str,
) -> None:
    """Add an entity."""
    _migrate()  # a new data directory starts with an empty database
    from receipts.evidence import services

    idents: dict[str, list[str]] = {}
    for item in identifiers:
        scheme, sep, value = item.partition(":")
        if not sep or not value:
            raise click.BadParameter(
                f"{item!r}: write SCHEME:VALUE, e.g. ticker:AMZN", param_hint="--id"
            )
        idents.setdefault(scheme.strip().lower(), []).append(value.strip())
    entity = services.save_entity(
        name=name, kind=kind, aliases=aliases, identifiers=idents, country=country, summary=summary
    )
    click.echo(f"entity {entity.slug}: {entity.name}")


@add.command("source")
@click.argument("title")
@click.option(
    "--kind",
    type=click.Choice(
        [
            "government_record",
            "dataset_row",
            "news_report",
            "company_statement",
            "court_filing",
            "organiser_report",
        ]
    ),
    required=True,
)
@click.option("--publisher", default="")
@click.option("--url", default="")
@click.option("--published", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--retrieved", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option(
    "--archive", type=click.File("rb"), help="The file behind the source, to keep a copy."
)
def add_source(
    title: str,
    kind: str,
    publisher: str,
    url: str,
    published: str,
    retrieved: str,
    archive: IO[bytes] | None,
) -> None:
    """Add a source; prints its id for citing."""
    _migrate()  # a new data directory starts with an empty database
    from django.db import transaction

    from receipts.evidence import services

    with transaction.atomic():
        source = services.save_source(
            kind=kind,
            title=title,
            publisher=publisher,
            url=url,
            published=published,
            retrieved=retrieved,
        )
        if archive is not None:
            services.attach_archive(source, archive, archive.name)
    click.echo(
        f"source {source.pk}: {source.title}"
        + (f" (SHA-256 {source.archive_sha256})" if source.archive_sha256 else "")
    )


def _source(ref: str) -> Any:
    from receipts.evidence.models import Source

    if ref.isdigit():
        found = Source.objects.filter(pk=int(ref)).first()
    else:
        matches = list(Source.objects.filter(title__iexact=ref)[:2])
        if len(matches) > 1:
            raise NameError_(f"source {ref!r} is ambiguous: give its id")
        found = matches[0] if matches else None
    if found is None:
        raise NameError_(f"no source matches {ref!r} (give its id or exact title)")
    return found


@add.command("tie")
@click.argument("subject")
@click.argument(
    "kind",
    type=click.Choice(
        [
            "owns",
            "subsidiary_of",
            *TIE_KINDS[1:],
        ]
    ),
)
@click.argument("object_name", metavar="OBJECT")
@click.option("--source", "source_ref", help="The citing source: its id or exact title. Required.")
@click.option("--quote", default="", help="The words in the source that back the tie.")
@click.option("--locator", default="", help="Where in the source.")
@click.option(
    "--status", type=click.Choice(["active", "ended", "announced", "alleged"]), default="active"
)
@click.option("--start", "start_date", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--end", "end_date", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--amount", default=None)
@click.option("--currency", default="")
@click.option("--summary", default="")
def add_tie(
    subject: str,
    kind: str,
    object_name: str,
    source_ref: str | None,
    quote: str,
    locator: str,
    status: str,
    start_date: str,
    end_date: str,
    amount: str | None,
    currency: str,
    summary: str,
) -> None:
    """Record SUBJECT KIND OBJECT with a citation (subsidiary_of is stored as owns, reversed)."""
    _migrate()  # a new data directory starts with an empty database
    from receipts.evidence import services

    a, b = _resolve(subject), _resolve(object_name)
    if kind == "subsidiary_of":
        a, b, kind = b, a, "owns"
    citations = [services.CitationInput(_source(source_ref), quote, locator)] if source_ref else []
    tie = services.record_tie(
        a,
        b,
        kind,
        citations=citations,
        status=status,
        start_date=start_date,
        end_date=end_date,
        amount=amount,
        currency=currency,
        summary=summary,
    )
    click.echo(f"tie {tie.pk}: {tie}")


# --- check ----------------------------------------------------------------------


@main.command()
def check() -> None:
    """Verify the invariants: every tie cited, no cycles, no dangling references."""
    from receipts.evidence.integrity import find_violations
    from receipts.ingest import integrity as contracts

    violations = find_violations() + contracts.find_violations()
    for v in violations:
        click.echo(v, err=True)
    if violations:
        raise click.ClickException(f"{len(violations)} invariant violations")
    click.echo(
        "ok: every tie is cited, no ownership or part_of cycles, no dangling references, "
        "every contract transaction's award stored"
    )


# --- export and import ------------------------------------------------------------


@main.group("export")
def export_group() -> None:
    """Write the evidence out in an interchange format."""


@export_group.command("ftm")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    help="Output file (default stdout); it appears whole or, on any error, not at all.",
)
def export_ftm_command(output: Path) -> None:
    """Write every entity, tie, source and contract record as FollowTheMoney JSON lines."""
    from receipts.ingest.ftm import export_ftm, export_ftm_file

    if str(output) == "-":
        export_ftm(sys.stdout)
        return
    try:
        count = export_ftm_file(output)
    except OSError as exc:
        raise click.ClickException(f"{output}: {exc.strerror or exc}; nothing written") from exc
    click.echo(f"wrote {count} FollowTheMoney entities to {output}", err=True)


@main.group("import")
def import_group() -> None:
    """Read evidence in from files, one import at a time."""


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        is_flag=True,
        help="When another import is running, wait for it to finish instead of stopping "
        "with exit code 75.",
    )(func)


def _one_import_at_a_time(importer: str, wait: bool) -> Any:
    """The import lock, taken before migrating: the holder runs alone from start to end."""
    from receipts.ingest.import_lock import Holder, import_lock

    def waiting(holder: Holder) -> None:
        click.echo(f"waiting for the import running{holder.describe()} to finish", err=True)

    return import_lock(importer, wait=wait, on_wait=waiting)


@import_group.command("ftm")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@wait_option
def import_ftm_command(file: IO[str], wait: bool) -> None:
    """Read FollowTheMoney JSON lines from FILE (or - for stdin); all or nothing."""
    with _one_import_at_a_time("ftm", wait):
        _migrate()  # a new data directory starts with an empty database
        from receipts.ingest.ftm import import_ftm

        summary = import_ftm(file, name=getattr(file, "name", "-"))
    click.echo(summary.describe())


_USASPENDING_EPILOG = """\b
Exit codes:
  0   imported; rows that were rejected (if any) are listed in the report
  1   nothing imported: a file or zip cannot be read (truncated, damaged, not
      UTF-8, without its header or required columns, not a USAspending
      contract file), or a --date-format is not a date format
  2   nothing imported: the command line is wrong (unknown option, no such path)
  65  nothing imported: every row of a file was rejected (the error names the
      first row and field and suggests the --date-format that fits; the report
      lists every row)
  74  the disk is full; batches committed before it stay whole, re-run once
      space is freed
  75  the database cannot be reached or went away, or another import is
      running (add --wait to wait for it); re-running is safe
"""


@import_group.command("usaspending", epilog=_USASPENDING_EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--date-format",
    "date_formats",
    multiple=True,
    help="How dates damaged by a spreadsheet are written, e.g. %d/%m/%Y; repeat it for "
    "columns written differently (%d/%m/%y). Without it such dates are refused, never "
    "guessed.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write rejected rows (CSV).",
)
@click.option(
    "--batch-size", default=50_000, show_default=True, type=click.IntRange(100, 1_000_000)
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Summary format."
)
@wait_option
def import_usaspending_command(
    paths: tuple[Path, ...],
    date_formats: tuple[str, ...],
    report: Path | None,
    batch_size: int,
    fmt: str,
    wait: bool,
) -> None:
    """Import USAspending contract downloads: CSV files, zips or folders of them."""
    with _one_import_at_a_time("usaspending", wait):
        _import_usaspending(paths, date_formats, report, batch_size, fmt)


def _import_usaspending(
    paths: tuple[Path, ...],
    date_formats: tuple[str, ...],
    report: Path | None,
    batch_size: int,
    fmt: str,
) -> None:
    _migrate()  # a new data directory starts with an empty database
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from receipts.ingest.usaspending.importer import AllRowsRejected, import_usaspending

    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)
    columns = [
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    ]
    with Progress(
        *columns,
        console=console,
        transient=False,
        disable=fmt == "json" and not console.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}
        started: dict[str, float] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            import time

            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total, rate="")
                started[phase] = time.perf_counter()
            elapsed = time.perf_counter() - started[phase]
            rate = (
                f"{done / elapsed:,.0f} rows/s"
                if phase.startswith("storing") and elapsed > 0
                else ""
            )
            bar.update(tasks[phase], completed=done, total=total, rate=rate)

        try:
            summary = import_usaspending(
                list(paths),
                date_format=date_formats,
                report_path=report,
                batch_size=batch_size,
                progress=progress,
            )
        except AllRowsRejected as exc:
            # What each file held, then the error line (and its exit code) as for any error.
            if fmt == "json":
                click.echo(json.dumps({**exc.summary.as_dict(), "error": str(exc)}, indent=2))
            else:
                for line in exc.summary.file_lines():
                    click.echo(line)
            raise
    if fmt == "json":
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        for line in summary.lines():
            click.echo(line)


# --- API tokens -------------------------------------------------------------------


@main.group()
def token() -> None:
    """Manage API tokens for writes."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="cli", show_default=True)
@click.option(
    "--campaign",
    "campaign_slug",
    help="Scope the token to this campaign (slug): it writes that campaign and nothing else.",
)
def token_create(username: str, label: str, campaign_slug: str | None) -> None:
    """Issue a token for USERNAME; it is shown once and only its digest is stored."""
    from receipts.api.tokens import issue_token

    campaign = _campaign(campaign_slug) if campaign_slug else None
    click.echo(issue_token(username, label, campaign=campaign))


@token.command("revoke")
@click.argument("token_value", metavar="TOKEN")
def token_revoke(token_value: str) -> None:
    """Revoke a token."""
    from receipts.api.tokens import revoke_token

    revoke_token(token_value)
    click.echo("revoked")


# --- review queue and merges ------------------------------------------------------


def _review_record(item: Any) -> dict[str, Any]:
    return {
        "id": item.pk,
        "entity": {"name": item.entity.name, "slug": item.entity.slug},
        "candidate": {"name": item.candidate.name, "slug": item.candidate.slug},
        "score": round(item.score, 1),
        "reason": item.reason,
        "created_at": item.created_at.isoformat(),
    }


def _merge_record(merge: Any) -> dict[str, Any]:
    return {
        "id": merge.pk,
        "keep": {"name": merge.keep.name, "slug": merge.keep.slug},
        "dropped": {"name": merge.dropped.name, "slug": merge.dropped.slug},
        "reason": merge.reason,
        "decided_by": merge.decided_by.get_username() if merge.decided_by else None,
        "merged_at": merge.merged_at.isoformat(),
        "undone_at": merge.undone_at.isoformat() if merge.undone_at else None,
        "undone_by": merge.undone_by.get_username() if merge.undone_by else None,
        "moved": {k: len(v) for k, v in merge.moved.items()},
    }


def _print_table(
    title: str, columns: tuple[str, ...], rows: list[list[str]], output: IO[str]
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(file=output, width=None if output.isatty() else 160).print(table)


def _review_item(item_id: int) -> Any:
    from receipts.ingest.models import ReviewItem

    item = ReviewItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NameError_(f"no review item {item_id}")
    return item


_review_format = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table"
)
_review_output = click.option(
    "-o", "--output", type=click.File("w"), default="-", help="Output file (default stdout)."
)


@main.group("review", invoke_without_command=True)
@_review_format
@_review_output
@click.pass_context
def review_group(ctx: click.Context, fmt: str, output: IO[str]) -> None:
    """Possible duplicates found by name: list them, merge or keep apart, undo merges."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(review_list, fmt=fmt, output=output)


@review_group.command("list")
@_review_format
@_review_output
def review_list(fmt: str, output: IO[str]) -> None:
    """List pending review items: the new entity, the look-alike it may be, the score."""
    from receipts.ingest.queries import pending_review_items

    records = [_review_record(item) for item in pending_review_items()]
    if fmt == "json":
        json.dump({"pending": records}, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    if not records:
        click.echo("No review items are pending.", file=output)
        return
    rows = [
        [
            str(r["id"]),
            f"{r['entity']['name']} ({r['entity']['slug']})",
            f"{r['candidate']['name']} ({r['candidate']['slug']})",
            f"{r['score']:.0f}",
            r["reason"],
        ]
        for r in records
    ]
    columns = ("Id", "New entity", "Candidate", "Score", "Reason")
    _print_table(f"{len(records)} pending review items", columns, rows, output)


@review_group.command("merge")
@click.argument("item_id", metavar="ID", type=int)
def review_merge(item_id: int) -> None:
    """Merge the new entity of review item ID into its candidate."""
    from receipts.ingest.services import decide_review

    item = _review_item(item_id)
    merge = decide_review(item, merge=True, decided_by=None)
    assert merge is not None
    click.echo(
        f"merge {merge.pk}: {merge.dropped.name} merged into {merge.keep.name} "
        f"(undo with: receipts review unmerge {merge.pk})"
    )


@review_group.command("distinct")
@click.argument("item_id", metavar="ID", type=int)
def review_distinct(item_id: int) -> None:
    """Keep the two entities of review item ID apart."""
    from receipts.ingest.services import decide_review

    item = _review_item(item_id)
    decide_review(item, merge=False, decided_by=None)
    click.echo(f"review item {item.pk}: {item.entity.name} and {item.candidate.name} kept apart")


@review_group.command("unmerge")
@click.argument("merge_id", metavar="MERGE_ID", type=int)
def review_unmerge(merge_id: int) -> None:
    """Undo merge MERGE_ID: what moved goes back and the dropped entity returns."""
    from receipts.ingest.models import EntityMerge
    from receipts.ingest.services import unmerge

    merge = EntityMerge.objects.filter(pk=merge_id).first()
    if merge is None:
        raise NameError_(f"no merge {merge_id}")
    unmerge(merge, decided_by=None)
    click.echo(f"merge {merge.pk} undone: {merge.dropped.name} stands apart from {merge.keep.name}")


@review_group.command("log")
@_review_format
@_review_output
def review_log(fmt: str, output: IO[str]) -> None:
    """List merges, newest first, with what moved and whether they were undone."""
    from receipts.ingest.queries import merge_log

    records = [_merge_record(m) for m in merge_log()]
    if fmt == "json":
        json.dump({"merges": records}, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    if not records:
        click.echo("No merges yet.", file=output)
        return
    rows = [
        [
            str(r["id"]),
            f"{r['dropped']['name']} → {r['keep']['name']}",
            r["merged_at"][:16],
            r["decided_by"] or "",
            r["undone_at"][:16] if r["undone_at"] else "",
            r["reason"],
        ]
        for r in records
    ]
    _print_table("Merges", ("Id", "Merged", "When", "By", "Undone", "Reason"), rows, output)


# --- campaigns ----------------------------------------------------------------------


def _campaign(slug: str) -> Any:
    from receipts.campaigns.models import Campaign

    found = Campaign.objects.filter(slug=slug).first()
    if found is None:
        raise NameError_(f"no campaign has the slug {slug!r}")
    return found


@main.group("campaign")
def campaign_group() -> None:
    """Campaigns: list them and show one with its demands, actions and coalition."""


@campaign_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def campaign_list(fmt: str) -> None:
    """List every campaign, private ones included (the command line acts as an administrator)."""
    from receipts.campaigns.models import Campaign
    from receipts.campaigns.queries import demand_counts

    records = []
    for c in Campaign.objects.order_by("name"):
        met, total = demand_counts(c)
        records.append(
            {
                "slug": c.slug,
                "name": c.name,
                "status": c.status,
                "visibility": c.visibility,
                "demands_met": met,
                "demands_total": total,
            }
        )
    if fmt == "json":
        click.echo(json.dumps({"campaigns": records}, indent=2, ensure_ascii=False))
        return
    rows = []
    for r in records:
        tally = f"{r['demands_met']} of {r['demands_total']}"
        rows.append([r["slug"], r["name"], r["status"], r["visibility"], tally])
    columns = ("Slug", "Name", "Status", "Visibility", "Demands met")
    _print_table("Campaigns", columns, rows, sys.stdout)


@campaign_group.command("show")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Output file (default stdout).",
)
def campaign_show(slug: str, fmt: str, output: IO[str]) -> None:
    """Show a campaign: demands with their status, actions, coalition and goals.

    ``--format json`` writes the same document as GET /api/campaigns/SLUG.
    """
    from receipts.campaigns.queries import campaign_export

    data = campaign_export(_campaign(slug))
    if fmt == "json":
        json.dump(data, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    heading = f"{data['name']} ({data['slug']}) — {data['status']}, {data['visibility']}"
    click.echo(heading, file=output)
    if data["targets"]:
        click.echo("Target: " + ", ".join(t["name"] for t in data["targets"]), file=output)
    click.echo(f"{data['demands_met']} of {data['demands_total']} demands met", file=output)
    demand_rows = []
    for d in data["demands"]:
        status = d["status"] + (" (met?)" if d["suggested_status"] else "")
        ties = "; ".join(
            f"{t['subject']['name']} — {t['kind']} — {t['object']['name']} ({t['status']})"
            for t in d["ties"]
        )
        demand_rows.append([str(d["position"]), d["text"], status, ties])
    _print_table("Demands", ("#", "Demand", "Status", "Ties"), demand_rows, output)
    action_rows = []
    for a in data["actions"]:
        low, high = a["attendance_min"], a["attendance_max"]
        if low is not None and high is not None:
            attendance = f"{low}–{high}"
        else:
            attendance = str(low) if low is not None else str(high) if high is not None else ""
        action_rows.append([a["date"], a["kind"], a["title"], a["place"], attendance])
    _print_table("Actions", ("Date", "Kind", "Title", "Place", "Attendance"), action_rows, output)
    coalition_rows = [[m["organisation"]["name"], m["role"]] for m in data["coalition"]]
    _print_table("Coalition", ("Organisation", "Role"), coalition_rows, output)
    goal_rows = [
        [
            g["metric"],
            f"{g['value']} of {g['target']}",
            f"by {g['deadline']}"
            if g["deadline"]
            else f"in {g['duration_days']} days"
            if g["duration_days"]
            else "",
            g["basis_label"],
        ]
        for g in data["goals"]
    ]
    _print_table("Goals", ("Metric", "Progress", "Time", "Whose figure"), goal_rows, output)


# --- outreach -----------------------------------------------------------------------


@main.group("outreach")
def outreach_group() -> None:
    """Supporter data: rotate keys, purge past retention, erase a person, export a list.

    The command line acts as an administrator; every command that reads or
    removes supporter data is written to the audit log (with no personal data).
    """


def _organisations(slug: str | None) -> list[Any]:
    from receipts.outreach.models import Organisation

    if slug is None:
        return list(Organisation.objects.order_by("slug"))
    found = Organisation.objects.filter(slug=slug).first()
    if found is None:
        raise NameError_(f"no organisation has the slug {slug!r}")
    return [found]


@outreach_group.command("rotate-keys")
@click.option("--org", "org", help="Only this organisation (its slug); default all.")
def outreach_rotate_keys(org: str | None) -> None:
    """Make a new key version and rewrap every supporter key under it; retire the old one."""
    from receipts.outreach.crypto import has_keyring
    from receipts.outreach.services import rotate_keys

    chosen = _organisations(org)
    if org is None:
        # Without --org, only organisations that hold keys: no key file is made for the rest.
        chosen = [o for o in chosen if has_keyring(o.slug)]
    if not chosen:
        click.echo("No organisation holds outreach keys yet.")
    for organisation in chosen:
        result = rotate_keys(organisation)
        state = "old versions retired" if result.retired else result.note
        click.echo(
            f"{result.organisation}: kek-{result.kek_version}, index-{result.index_version}; "
            f"{result.rewrapped} keys rewrapped, {result.reindexed} indexes rebuilt; {state}"
        )


def _erasure_lines(result: Any) -> None:
    for rotation in result.rotations:
        click.echo(
            f"{rotation.organisation}: keys rotated to kek-{rotation.kek_version}"
            + (", old versions retired" if rotation.retired else f" ({rotation.note})")
        )
    for note in result.notes:
        click.echo(f"Warning: {note}", err=True)


@outreach_group.command("purge")
@click.option(
    "--days",
    type=click.IntRange(0),
    help="Erase supporters whose last sign-up is older than this (default "
    "RECEIPTS_SUPPORTER_RETENTION_DAYS).",
)
def outreach_purge(days: int | None) -> None:
    """Erase supporters past the retention period, then rotate the keys that held them."""
    from django.conf import settings

    from receipts.outreach.services import purge_expired_supporters

    kept = settings.SUPPORTER_RETENTION_DAYS if days is None else days
    result = purge_expired_supporters(days=days)
    click.echo(f"Purged {result.erased} supporters whose last sign-up is older than {kept} days.")
    _erasure_lines(result)


@outreach_group.command("erase")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--email", help="The person's email (asked for, hidden, if neither is given).")
@click.option("--phone", help="The person's phone number.")
def outreach_erase(campaign_slug: str, email: str | None, phone: str | None) -> None:
    """Erase one supporter everywhere, found by the blind index of their email or phone."""
    from receipts.outreach.models import AuditChannel
    from receipts.outreach.services import erase_supporters, find_supporter

    campaign = _campaign(campaign_slug)
    if not email and not phone:
        email = click.prompt("Email of the person to erase", hide_input=True)
    supporter = find_supporter(campaign, email=email or "", phone=phone or "")
    if supporter is None:
        raise NameError_(f"no supporter of {campaign.slug!r} has that email or phone")
    result = erase_supporters(campaign, [supporter], channel=AuditChannel.CLI)
    click.echo(f"Erased 1 supporter of {campaign.slug}: sign-ups, consent records and key.")
    _erasure_lines(result)


@outreach_group.command("export")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--email", help="Only this person: every sign-up and consent record held on them.")
@click.option("--phone", help="Only this person, found by phone.")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    required=True,
    help="CSV file to write ('-' for stdout).",
)
def outreach_export(
    campaign_slug: str, email: str | None, phone: str | None, output: IO[str]
) -> None:
    """Write the campaign's accepted supporters as CSV, or all held on one person (audited)."""
    from receipts.outreach.exports import write_person_csv, write_supporters_csv
    from receipts.outreach.models import AuditAction, AuditChannel
    from receipts.outreach.queries import open_submissions, opened_supporters
    from receipts.outreach.services import find_supporter, record_audit

    campaign = _campaign(campaign_slug)
    if email or phone:
        supporter = find_supporter(campaign, email=email or "", phone=phone or "")
        if supporter is None:
            raise NameError_(f"no supporter of {campaign.slug!r} has that email or phone")
        submissions = list(
            supporter.submissions.select_related("form").order_by("submitted_at", "id")
        )
        record_audit(AuditAction.EXPORT_CSV, channel=AuditChannel.CLI, campaign=campaign, count=1)
        write_person_csv(output, open_submissions(campaign, submissions))
        count = 1
    else:
        people = opened_supporters(campaign, accepted_only=True)
        record_audit(
            AuditAction.EXPORT_CSV, channel=AuditChannel.CLI, campaign=campaign, count=len(people)
        )
        write_supporters_csv(output, people)
        count = len(people)
    if output is not sys.stdout:
        click.echo(f"Wrote {count} supporters of {campaign.slug}.", err=True)


@outreach_group.command("assign")
@click.option("--campaign", "campaign_slug", required=True, help="The campaign's slug.")
@click.option("--org", "org", required=True, help="The organisation's slug (names its key file).")
@click.option("--name", default="", help="The organisation's name, when it is new.")
def outreach_assign(campaign_slug: str, org: str, name: str) -> None:
    """Let an organisation hold a campaign's supporter data and keys (before any sign-up)."""
    from receipts.outreach.services import assign_organisation, save_organisation

    campaign = _campaign(campaign_slug)
    organisation = save_organisation(org, name)
    assign_organisation(campaign, organisation)
    click.echo(f"{campaign.slug}: supporter data held by {organisation.slug}")


# --- screening ----------------------------------------------------------------------


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--profile",
    "profile_slug",
    default=None,
    help="Screening profile (slug); default: dhs, DHS with its components.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Output file (default stdout).",
)
def screen(file: str, profile_slug: str | None, fmt: str, output: IO[str]) -> None:
    """Screen a CSV of holdings or vendors (FILE, or - for stdin) against the evidence.

    Columns are found by their headers: ticker, ISIN, CUSIP, LEI, name, UEI,
    DUNS, and value or weight. Each line is flagged, possible, clear or not
    found, with the ties behind it; nothing is printed unless the whole file
    is read.
    """
    _migrate()  # a new data directory starts with an empty database
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from receipts.screening import report as screening_report
    from receipts.screening.queries import profile_spec
    from receipts.screening.screen import screen_file

    spec = profile_spec(profile_slug)
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 110)
    display = "stdin" if file == "-" else file
    size = None if file == "-" else os.path.getsize(file)
    with (
        click.open_file(file, "rb") as stream,
        Progress(
            TextColumn("screening {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[lines]:,} lines"),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # gone when done: an error stays one line
            disable=not console.is_terminal,
        ) as bar,
    ):
        task = bar.add_task(display, total=size, lines=0)

        def progress(done: int, total: int | None, lines: int) -> None:
            bar.update(task, completed=done, total=total, lines=lines)

        result = screen_file(stream, display, spec, size=size, progress=progress)
    if fmt == "json":
        screening_report.write_json(result, output)
    elif fmt == "csv":
        screening_report.write_csv(result, output)
    else:
        screening_report.print_table(result, output)
    if fmt != "table":
        click.echo(screening_report.summary_text(result), err=True)


# --- watchlists and alerts ----------------------------------------------------------


def _watchlist(ref: str) -> Any:
    from receipts.watch.models import Watchlist

    found = Watchlist.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    if found is None:
        matches = list(Watchlist.objects.filter(name=ref)[:2])
        if len(matches) > 1:
            raise NameError_(f"more than one watchlist is named {ref!r}; use its id")
        found = matches[0] if matches else None
    if found is None:
        raise NameError_(f"no watchlist has the id or name {ref!r}")
    return found


def _feed_url(watchlist: Any) -> str:
    from django.urls import reverse

    from receipts.watch.queries import site_url

    return site_url(reverse("watchlist-feed", args=[watchlist.feed_token]))


@main.group("watch")
def watch_group() -> None:
    """Watchlists: alerts when a watched company or agency gets a new tie, contract or end."""


@watch_group.command("create")
@click.argument("name")
@click.option(
    "--entity",
    "entities",
    multiple=True,
    required=True,
    help="An entity to watch (name, alias, slug or identifier); repeatable. Its subsidiaries "
    "and components are watched too.",
)
@click.option("--webhook", "webhook_url", help="POST signed JSON to this http(s) URL.")
@click.option("--secret", default="", help="The webhook's signing secret (default: a random one).")
@click.option("--email", "emails", multiple=True, help="Send an email digest here; repeatable.")
@click.option(
    "--owner",
    help="The user the watchlist belongs to; its private campaigns' demand changes reach it.",
)
def watch_create(
    name: str,
    entities: tuple[str, ...],
    webhook_url: str | None,
    secret: str,
    emails: tuple[str, ...],
    owner: str | None,
) -> None:
    """Make a watchlist; prints its Atom feed address and, for a webhook, the secret."""
    _migrate()  # a new data directory starts with an empty database
    from django.contrib.auth import get_user_model

    from receipts.watch import services
    from receipts.watch.models import ChannelKind

    if secret and not webhook_url:
        raise click.BadParameter("--secret goes with --webhook", param_hint="--secret")
    user = None
    if owner:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise NameError_(f"no user is named {owner!r}")
    watchlist = services.create_watchlist(
        name,
        owner=user,
        entities=[_resolve(e) for e in entities],
        webhook_url=webhook_url or "",
        webhook_secret=secret,
        emails=emails,
    )
    watched = ", ".join(e.name for e in watchlist.entities.all())
    click.echo(f"watchlist {watchlist.pk}: {watchlist.name} (watching {watched})")
    click.echo(f"feed: {_feed_url(watchlist)}")
    for channel in watchlist.channels.all():
        if channel.kind == ChannelKind.WEBHOOK:
            click.echo(f"webhook: {channel.url}")
            if not secret:
                click.echo(f"webhook secret (shown once here): {channel.secret}")
        else:
            click.echo("email digest: " + ", ".join(channel.recipients))


@watch_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def watch_list(fmt: str) -> None:
    """List every watchlist with what it watches and how it delivers."""
    _migrate()
    from receipts.watch.models import Watchlist

    records = []
    for w in Watchlist.objects.select_related("owner").prefetch_related("entities", "channels"):
        records.append(
            {
                "id": w.pk,
                "name": w.name,
                "owner": w.owner.get_username() if w.owner else None,
                "entities": [{"name": e.name, "slug": e.slug} for e in w.entities.all()],
                "feed": _feed_url(w),
                "channels": [
                    {"kind": c.kind, "url": c.url, "recipients": c.recipients, "active": c.active}
                    for c in w.channels.all()
                ],
            }
        )
    if fmt == "json":
        click.echo(json.dumps({"watchlists": records}, indent=2, ensure_ascii=False))
        return
    rows = [
        [
            str(r["id"]),
            r["name"],
            ", ".join(e["name"] for e in r["entities"]),
            "; ".join(c["url"] or ", ".join(c["recipients"]) for c in r["channels"]) or "feed only",
            r["feed"],
        ]
        for r in records
    ]
    _print_table("Watchlists", ("Id", "Name", "Watching", "Sends to", "Feed"), rows, sys.stdout)


@watch_group.command("run")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def watch_run(fmt: str) -> None:
    """Send what is pending: new events to each webhook and email digest, once, and due retries."""
    _migrate()
    from receipts.watch.delivery import send_pending

    summary = send_pending()
    if fmt == "json":
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    for line in summary.lines():
        click.echo(line)


@watch_group.command("events")
@click.option("--since", help="Only events recorded on or after this date (YYYY-MM-DD).")
@click.option(
    "--watchlist", "watchlist_ref", help="Only the events this watchlist (id or name) sees."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Output file (default stdout).",
)
def watch_events(since: str | None, watchlist_ref: str | None, fmt: str, output: IO[str]) -> None:
    """List change events, oldest first, with their receipts."""
    _migrate()
    import datetime as dt

    from django.utils import timezone

    from receipts.watch import queries

    start = None
    if since:
        try:
            day = dt.date.fromisoformat(since)
        except ValueError as exc:
            raise click.BadParameter(f"{since!r} is not a date like 2026-02-13") from exc
        start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
    events = queries.all_events(start)
    if watchlist_ref:
        events = events.filter(pk__in=queries.events_for(_watchlist(watchlist_ref)).values("pk"))
    records = queries.event_records(list(events))
    if fmt == "json":
        json.dump({"events": records}, output, indent=2, ensure_ascii=False)
        output.write("\n")
        return
    rows = [
        [
            r["occurred_at"][:19].replace("T", " "),
            r["kind"],
            r["summary"],
            r["citation"]["source"]
            + (f" ({r['citation']['locator']})" if r["citation"]["locator"] else ""),
        ]
        for r in records
    ]
    _print_table("Change events", ("Recorded", "Kind", "Change", "Receipt"), rows, output)


# --- backups ------------------------------------------------------------------------


@main.command("backup")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The backup file to write.",
)
def backup_command(output: Path) -> None:
    """Back up the database (not the archived files, not the outreach keys) to a file."""
    from receipts.backup import backup_database

    click.echo(backup_database(output), err=True)


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_command(file: Path, force: bool) -> None:
    """Restore the database from a backup FILE, all or nothing; stop the site first."""
    from receipts.backup import restore_database

    click.echo(restore_database(file, force=force), err=True)
