"""Evidence commands: list the ties of an entity, record entities, sources and ties, check
the invariants."""

from __future__ import annotations

import json
from typing import IO, Any

import click

from receipts.cli.database import needs_database
from receipts.cli.lookup import entity_named, source_named
from receipts.evidence import vocabulary


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
        bits = [c["title"]]
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


TIE_KINDS = vocabulary.values(vocabulary.TIE_KINDS)


@click.command()
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
    type=click.Choice(vocabulary.values(vocabulary.MEMBERS_BASES)),
    default="dated",
    show_default=True,
    help="With --rollup, whose dealings the totals count: each member's only while the family "
    "owned it (dated by the records' parent fields), or today's members' whole history.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option(
    "-o", "--output", type=click.File("w"), default="-", help="Output file (default stdout)."
)
@needs_database
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
    from receipts.evidence.records import load_receipts, tie_record
    from receipts.ingest.family_totals import family_ties, total_records

    entity = entity_named(name)
    to = entity_named(to_name) if to_name else None
    family = family_ties(
        entity, rollup=rollup, to=to, kinds=kinds or None, members=members, defer_citations=True
    )
    rolled = family.ties
    load_receipts([rt.tie for rt in rolled], None)
    records = [tie_record(rt, family.counted.get(rt.tie.pk)) for rt in rolled]
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
            named = {**r, "subject": r["subject"]["name"], "object": r["object"]["name"]}
            writer.writerow(
                [named[c] if named[c] is not None else "" for c in columns]
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


@click.group()
def add() -> None:
    """Record evidence: an entity, a source or a cited tie."""


@add.command("entity")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(vocabulary.values(vocabulary.ENTITY_KINDS)), required=True
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
@needs_database
def add_entity(
    name: str,
    kind: str,
    aliases: tuple[str, ...],
    identifiers: tuple[str, ...],
    country: str,
    summary: str,
) -> None:
    """Add an entity."""
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
    type=click.Choice(vocabulary.values(vocabulary.SOURCE_KINDS)),
    required=True,
)
@click.option("--publisher", default="")
@click.option("--url", default="")
@click.option("--published", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--retrieved", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option(
    "--archive", type=click.File("rb"), help="The file behind the source, to keep a copy."
)
@needs_database
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


@add.command("tie")
@click.argument("subject")
@click.argument(
    "kind",
    type=click.Choice([TIE_KINDS[0], vocabulary.SUBSIDIARY_OF, *TIE_KINDS[1:]]),
)
@click.argument("object_name", metavar="OBJECT")
@click.option("--source", "source_ref", help="The citing source: its id or exact title. Required.")
@click.option("--quote", default="", help="The words in the source that back the tie.")
@click.option("--locator", default="", help="Where in the source.")
@click.option(
    "--status", type=click.Choice(vocabulary.values(vocabulary.TIE_STATUSES)), default="active"
)
@click.option("--start", "start_date", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--end", "end_date", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--amount", default=None)
@click.option("--currency", default="")
@click.option("--summary", default="")
@needs_database
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
    from receipts.evidence import services

    a, b = entity_named(subject), entity_named(object_name)
    if kind == vocabulary.SUBSIDIARY_OF:
        a, b, kind = b, a, "owns"
    citations = (
        [services.CitationInput(source_named(source_ref), quote, locator)] if source_ref else []
    )
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


@click.command()
@needs_database
def check() -> None:
    """Verify the invariants (every tie cited, no cycles, no dangling references) and quotes against captures."""
    from receipts.captures.queries import capture_file_problems, quotes_not_found
    from receipts.evidence.integrity import find_violations
    from receipts.ingest import integrity as contracts

    violations = find_violations() + contracts.find_violations() + capture_file_problems()
    for v in violations:
        click.echo(v, err=True)
    # A quote that no capture of its source holds is a receipt that does not check out.
    unmatched = quotes_not_found()
    for c in unmatched:
        backs = f"tie {c.tie_id}" if c.tie_id else f"entity {c.entity_id}"
        click.echo(
            f"citation {c.pk} ({backs}): quote not found in any capture of source "
            f"{c.source_id} ({c.source.title}): {c.quote[:80]!r}",
            err=True,
        )
    problems = []
    if violations:
        problems.append(f"{len(violations)} invariant violations")
    if unmatched:
        problems.append(f"{len(unmatched)} quotes not found in any capture")
    if problems:
        raise click.ClickException(", ".join(problems))
    click.echo(
        "ok: every tie is cited, no ownership or part_of cycles, no dangling references, "
        "every contract transaction's award stored"
    )


def register(cli: click.Group) -> None:
    """Add the ties, add and check commands to the ``receipts`` command."""
    for command in (
        ties,
        add,
        check,
    ):
        cli.add_command(command)
