"""Checks that a backup holds exactly the schema the migrations make, before a restore touches live data.

A backup file may have been changed by whoever could reach it: a trigger on
``outreach_submission`` that copies every sign-up into a table of its own, a
view, an extra table or column would otherwise be restored with the data and
stay. The reference is made, not trusted: a scratch database (a temporary
SQLite file, or a scratch PostgreSQL database) is migrated to exactly the
migrations the backup records in ``django_migrations``, and the backup's
schema must equal it, object for object. A backup recording a migration this
version does not have is refused too.

SQLite: the backup is opened read-only with ``trusted_schema`` off; it must
pass ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``, and its
``sqlite_master`` (type, name, table, SQL with whitespace collapsed) must equal
the reference's.

PostgreSQL: a custom-format archive is SQL text that ``pg_restore`` runs as
the database role as written, so even a scratch restore of a hostile archive
could act on the live database (drop it, alter the role), and a ``COPY``
statement stored with a table's rows may carry more than a COPY. So the
archive is only ever read as text (``pg_restore --file=-``), never run:
``pg_restore --list`` must name only tables, sequences, constraints, indexes
and their data; the schema script (with its ``--clean`` drops) must be,
statement for statement, the script of a dump of the reference database; the
data script may hold nothing but rows for the reference's tables and columns,
``setval`` of its sequences and the settings lines ``pg_restore`` writes
itself. ``restore_postgresql_archive`` then runs those checked statements and
copies the rows in with COPY statements of its own, in one transaction.
"""

from __future__ import annotations

import copy
import functools
import re
import secrets
import sqlite3
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import router

Migrations = frozenset[tuple[str, str]]

# SQLite writes these statistics tables itself (ANALYZE, PRAGMA optimize); they hold no data.
SQLITE_STATISTICS = frozenset({"sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4"})
# The kinds of archive entry a dump of the migrated schema holds. ACL entries are
# listed but never run (the restore passes --no-privileges).
ARCHIVE_KINDS = frozenset(
    {
        "TABLE",
        "TABLE DATA",
        "SEQUENCE",
        "SEQUENCE SET",
        "SEQUENCE OWNED BY",
        "DEFAULT",
        "CONSTRAINT",
        "FK CONSTRAINT",
        "INDEX",
        "ACL",
    }
)
# How the schema script is rendered: drops first (the restore replaces tables), no owners or grants.
RESTORE_FLAGS = ("--clean", "--if-exists", "--no-owner", "--no-privileges")
_TOC_LINE = re.compile(r"^\d+; \d+ \d+ (.+)$")
_COPY = re.compile(r"^COPY public\.(\"?[a-z0-9_]+\"?) \(([^)]*)\) FROM stdin;$")
_SETVAL = re.compile(r"^SELECT pg_catalog\.setval\('public\.([a-z0-9_]+)', \d+, (?:true|false)\);$")
# psql meta-commands that pg_restore 15.14 and later write around a script with a random key.
_RESTRICT = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+$")


class SchemaError(Exception):
    """The backup's schema or data is not what the migrations make; the message names what."""


def _say(differences: list[str]) -> str:
    shown = "; ".join(differences[:3])
    more = f" (and {len(differences) - 3} more)" if len(differences) > 3 else ""
    return f"its schema is not what the migrations make: {shown}{more}"


# --- the reference: a scratch database migrated to the backup's migrations -----------


@contextmanager
def _scratch_connection(name: str) -> Iterator[Any]:
    """A Django connection to the database ``name``, with the default's engine and credentials.

    It is reachable as ``connections[alias]`` (migrations look it up by alias)
    without joining the configured databases, so nothing that acts on every
    configured database (the page cache's content generation, a test's
    database guard) mistakes it for one.
    """
    from django.db import connections
    from django.db.utils import load_backend

    alias = f"restore_reference_{secrets.token_hex(4)}"
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["NAME"] = name
    connection = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    connections[alias] = connection
    try:
        yield connection
    finally:
        connection.close()
        del connections[alias]


class _ScratchRouter:
    """Sends every read and write to the scratch database while its migrations run."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias


def _migrate(connection: Any, applied: Migrations) -> None:
    """Migrate the scratch database to exactly the migrations ``applied``, or refuse."""
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.recorder import MigrationRecorder

    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    unknown = sorted(applied - set(graph.nodes))
    if unknown:
        app, name = unknown[0]
        raise SchemaError(
            f"it records the migration {app}.{name}, which this version of Receipts does not "
            "have (a backup of a newer version)"
        )
    # Per app, the applied migrations no other applied migration of the app depends on.
    targets = [
        node
        for node in applied
        if not any(
            other != node and other[0] == node[0] and node in graph.forwards_plan(other)
            for other in applied
        )
    ]
    # Data migrations (RunPython) reach their models through the router, which
    # names the live database: route every query to the scratch one meanwhile,
    # or building the reference would write into the data being protected.
    scratch = _ScratchRouter(connection.alias)
    router.routers.insert(0, scratch)
    try:
        executor.migrate(targets, plan=executor.migration_plan(targets, clean_start=True))
    finally:
        router.routers.remove(scratch)
    made = set(MigrationRecorder(connection).applied_migrations())
    if made != applied:
        missing = sorted(made - applied)
        app, name = missing[0] if missing else sorted(applied - made)[0]
        raise SchemaError(
            f"its recorded migrations are not a state the migrations reach ({app}.{name} "
            "does not fit)"
        )


# --- SQLite ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SqliteSchema:
    """Every object of a SQLite database's catalogue, and each table's columns."""

    objects: Mapping[tuple[str, str], tuple[str, str]]
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _normalised(sql: str | None) -> str:
    return " ".join((sql or "").split())


def read_sqlite_schema(conn: sqlite3.Connection) -> SqliteSchema:
    objects: dict[tuple[str, str], tuple[str, str]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for kind, name, table, sql in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master"
    ):
        if name in SQLITE_STATISTICS:
            continue
        objects[(kind, name)] = (table, _normalised(sql))
        if kind == "table":
            # table_xinfo includes generated (hidden) columns.
            columns[name] = tuple(
                row[1] for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (name,))
            )
    return SqliteSchema(objects, columns)


def sqlite_migrations(conn: sqlite3.Connection) -> Migrations:
    return frozenset(
        (app, name) for app, name in conn.execute("SELECT app, name FROM django_migrations")
    )


@functools.cache
def sqlite_reference(applied: Migrations) -> SqliteSchema:
    """The schema the migrations make on SQLite at the state ``applied``."""
    with tempfile.TemporaryDirectory(prefix="receipts-restore-reference-") as folder:
        path = Path(folder) / "reference.sqlite3"
        with _scratch_connection(str(path)) as connection:
            _migrate(connection, applied)
        conn = sqlite3.connect(path)
        try:
            return read_sqlite_schema(conn)
        finally:
            conn.close()


def _describe(kind: str, name: str, table: str) -> str:
    return f"{kind} {name!r}" + (f" on {table}" if kind in ("trigger", "index") else "")


def compare_sqlite(found: SqliteSchema, reference: SqliteSchema) -> list[str]:
    """What in ``found`` differs from ``reference``, one phrase per difference."""
    differences: list[str] = []
    for key in sorted(found.objects.keys() - reference.objects.keys()):
        table = found.objects[key][0]
        differences.append(f"{_describe(*key, table)} is not made by the migrations")
    for key in sorted(reference.objects.keys() - found.objects.keys()):
        table = reference.objects[key][0]
        differences.append(f"{_describe(*key, table)} is missing")
    for key in sorted(found.objects.keys() & reference.objects.keys()):
        if found.objects[key] == reference.objects[key]:
            continue
        kind, name = key
        if kind == "table":
            extra = [c for c in found.columns[name] if c not in reference.columns[name]]
            missing = [c for c in reference.columns[name] if c not in found.columns[name]]
            differences += [
                f"table {name!r} has a column {c!r} the migrations do not make" for c in extra
            ]
            differences += [f"table {name!r} lacks its column {c!r}" for c in missing]
            if extra or missing:
                continue
        differences.append(
            f"{_describe(kind, name, found.objects[key][0])} differs from what the migrations make"
        )
    return differences


def check_sqlite_file(path: Path) -> None:
    """Raise SchemaError unless the SQLite file is whole, consistent and exactly the migrated schema."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        # A schema's own SQL functions (in defaults, views, generated columns) never run here.
        conn.execute("PRAGMA trusted_schema = OFF")
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise SchemaError(f"the database is damaged ({'; '.join(result[:3])})")
        broken = conn.execute("PRAGMA foreign_key_check").fetchone()
        if broken is not None:
            table, rowid, parent, _ = broken
            raise SchemaError(
                f"row {rowid} of {table} refers to a row of {parent} that is not there"
            )
        has_migrations = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'"
        ).fetchone()
        if has_migrations is None:
            raise SchemaError("not a Receipts database (it has no django_migrations table)")
        applied = sqlite_migrations(conn)
        found = read_sqlite_schema(conn)
    finally:
        conn.close()
    differences = compare_sqlite(found, sqlite_reference(applied))
    if differences:
        raise SchemaError(_say(differences))


# --- PostgreSQL -------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresqlReference:
    """The scripts pg_restore makes of a dump of the migrated schema, and its tables' columns."""

    schema: Counter[str]
    settings_lines: frozenset[str]
    columns: Mapping[str, frozenset[str]]
    sequences: frozenset[str]


def _run(command: list[str], env: dict[str, str] | None, what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise SchemaError(f"{what} failed: {lines[0] if lines else result.returncode}")
    return result.stdout


def split_statements(script: str) -> list[str]:
    """The SQL statements of a pg_restore script, as written; comments and meta-commands left out."""
    lines = [
        line
        for line in script.splitlines()
        if line.strip() and not line.startswith("--") and not _RESTRICT.match(line)
    ]
    text = "\n".join(lines) + "\n"
    return [part.strip() + ";" for part in re.split(r";\s*\n", text) if part.strip()]


def statements(script: str) -> Counter[str]:
    """The statements of a pg_restore script with whitespace collapsed, counted."""
    return Counter(_normalised(statement) for statement in split_statements(script))


def _schema_script(pg_restore: str, archive: Path) -> str:
    return _run(
        [pg_restore, "--schema-only", *RESTORE_FLAGS, "--file=-", str(archive)],
        None,
        f"{archive}: reading its schema",
    )


def postgresql_migrations(pg_restore: str, archive: Path) -> Migrations:
    script = _run(
        [pg_restore, "--data-only", "--table=django_migrations", "--file=-", str(archive)],
        None,
        f"{archive}: reading its migrations",
    )
    applied: set[tuple[str, str]] = set()
    columns: list[str] | None = None
    for line in script.splitlines():
        if columns is None:
            found = _COPY.match(line)
            if found and found.group(1) == "django_migrations":
                columns = [c.strip().strip('"') for c in found.group(2).split(",")]
            continue
        if line == "\\.":
            break
        values = dict(zip(columns, line.split("\t"), strict=False))
        applied.add((values["app"], values["name"]))
    if columns is None:
        raise SchemaError("not a Receipts database (it has no django_migrations data)")
    return frozenset(applied)


@functools.cache
def postgresql_reference(
    applied: Migrations, database_key: tuple[tuple[str, str], ...]
) -> PostgresqlReference:
    """Migrate a scratch PostgreSQL database to ``applied``, dump it, and describe the dump."""
    import psycopg
    from psycopg import sql

    from receipts.postgresql_client import connection_args, postgresql_program

    database = dict(database_key)
    scratch = f"receipts_restore_check_{secrets.token_hex(6)}"
    params: dict[str, Any] = {
        "dbname": database["NAME"],
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
    }
    with psycopg.connect(**params, autocommit=True) as admin:
        try:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch))
            )
        except psycopg.Error as exc:
            raise SchemaError(
                "checking a backup needs a scratch database to migrate, and the database role "
                f"may not create one ({exc.diag.message_primary or exc})"
            ) from None
        try:
            with tempfile.TemporaryDirectory(prefix="receipts-restore-reference-") as folder:
                with _scratch_connection(scratch) as connection:
                    _migrate(connection, applied)
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public'"
                        )
                        pairs = cursor.fetchall()
                        # Identity columns' sequences are not in information_schema.
                        cursor.execute(
                            "SELECT relname FROM pg_class "
                            "WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
                        )
                        sequences = frozenset(name for (name,) in cursor.fetchall())
                dump = Path(folder) / "reference.dump"
                args, env = connection_args({**database, "NAME": scratch})
                _run(
                    [postgresql_program("pg_dump"), "--format=custom", "--file", str(dump), *args],
                    env,
                    "pg_dump of the reference database",
                )
                pg_restore = postgresql_program("pg_restore")
                schema = statements(_schema_script(pg_restore, dump))
                data = _run([pg_restore, "--data-only", "--file=-", str(dump)], None, "reference")
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            )
    settings_lines = frozenset(
        line
        for line in data.splitlines()
        if line.startswith(("SET ", "SELECT pg_catalog.set_config("))
    )
    columns: dict[str, set[str]] = {}
    for table, column in pairs:
        columns.setdefault(table, set()).add(column)
    return PostgresqlReference(
        schema,
        settings_lines,
        {table: frozenset(names) for table, names in columns.items()},
        sequences,
    )


def _check_toc(pg_restore: str, archive: Path) -> None:
    listing = _run([pg_restore, "--list", str(archive)], None, f"{archive}: check")
    kinds = sorted(ARCHIVE_KINDS, key=len, reverse=True)
    foreign = []
    for line in listing.splitlines():
        entry = _TOC_LINE.match(line)
        if entry is None:
            continue
        rest = entry.group(1)
        if not any(rest.startswith(f"{kind} ") for kind in kinds):
            foreign.append(repr(rest.rsplit(" ", 1)[0]))  # the owner left out
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" (and {len(foreign) - 3} more)" if len(foreign) > 3 else ""
        )
        raise SchemaError(f"its entries {shown} are not made by the migrations")


@dataclass(frozen=True)
class TableData:
    """One table's rows in the data script: where they go, and the rows in COPY text format."""

    table: str
    columns: tuple[str, ...]
    rows: Iterator[bytes]


def _rows(lines: Iterator[bytes]) -> Iterator[bytes]:
    """COPY text rows up to the end marker, in chunks of about a megabyte."""
    buffer = bytearray()
    for raw in lines:
        if raw.rstrip(b"\r\n") == b"\\.":
            break
        buffer += raw
        if len(buffer) >= 1 << 20:
            yield bytes(buffer)
            buffer.clear()
    else:
        raise SchemaError("its data ends inside a table's rows")
    if buffer:
        yield bytes(buffer)


def data_script(
    pg_restore: str, archive: Path, reference: PostgresqlReference
) -> Iterator[TableData | str]:
    """The archive's data, read as text: each table's rows (``TableData``) and ``setval`` calls.

    Anything else in the script, or rows for a table or column the
    migrations do not make, raises SchemaError. The archive's own COPY
    statements are never run: the caller copies the rows with its own.
    Each ``TableData``'s rows must be read to the end before the next step.
    """
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [pg_restore, "--data-only", "--file=-", str(archive)],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert process.stdout is not None
        lines = iter(process.stdout)
        finished = False
        try:
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line or line.startswith("--") or _RESTRICT.match(line):
                    continue
                if line in reference.settings_lines:
                    continue  # pg_restore's own SET lines, as in the reference's script
                copy_line = _COPY.match(line)
                setval = _SETVAL.match(line)
                if copy_line is not None:
                    table = copy_line.group(1).strip('"')
                    columns = tuple(c.strip().strip('"') for c in copy_line.group(2).split(","))
                    known = reference.columns.get(table)
                    if known is None:
                        raise SchemaError(
                            f"its data goes into a table {table!r} the migrations do not make"
                        )
                    extra = sorted(set(columns) - known)
                    if extra:
                        raise SchemaError(
                            f"table {table!r} has a column {extra[0]!r} the migrations do not make"
                        )
                    if set(columns) != known:
                        raise SchemaError(
                            f"its data for {table!r} lacks columns the migrations make"
                        )
                    yield TableData(table, columns, _rows(lines))
                elif setval is not None and setval.group(1) in reference.sequences:
                    yield line
                else:
                    raise SchemaError(
                        f"its data script holds a statement that is not data: {line[:80]!r}"
                    )
            finished = True
        finally:
            if not finished:
                process.kill()
            process.stdout.close()
            returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            text = errors.read().decode("utf-8", "replace")
            first = next((line for line in text.splitlines() if line.strip()), str(returncode))
            raise SchemaError(f"its data cannot be read ({first})")


def _schema_differences(found: Counter[str], reference: Counter[str]) -> list[str]:
    """What differs, one phrase each; a table's drop and its old definition are not repeated."""
    differences: list[str] = []
    explained: set[str] = set()
    extra = sorted((found - reference).elements(), key=lambda s: (s.startswith("DROP "), s))
    for statement in extra:
        if statement.startswith("DROP ") and differences:
            continue  # the drop of an object already named
        table = re.match(r"CREATE TABLE public\.(\w+) \((.*)\);$", statement)
        if table is not None:
            name = table.group(1)
            explained.add(name)
            start = f"CREATE TABLE public.{name} ("
            ours = next((s for s in reference if s.startswith(start)), None)
            if ours is None:
                differences.append(f"table {name!r} is not made by the migrations")
                continue
            theirs_columns = {c.strip().split(" ")[0] for c in table.group(2).split(",")}
            ours_columns = {c.strip().split(" ")[0] for c in ours[len(start) :].split(",")}
            added = sorted(theirs_columns - ours_columns)
            if added:
                differences.append(
                    f"table {name!r} has a column {added[0]!r} the migrations do not make"
                )
                continue
        differences.append(f"{statement[:100]!r} is not made by the migrations")
    for statement in sorted((reference - found).elements()):
        table = re.match(r"CREATE TABLE public\.(\w+) ", statement)
        if table is not None and table.group(1) in explained:
            continue
        differences.append(f"{statement[:100]!r} is missing")
    return differences


def _checked_schema(
    archive: Path, database: Mapping[str, Any]
) -> tuple[str, list[str], PostgresqlReference]:
    from receipts.postgresql_client import postgresql_program

    pg_restore = postgresql_program("pg_restore")
    _check_toc(pg_restore, archive)
    applied = postgresql_migrations(pg_restore, archive)
    key = tuple(
        (k, str(database.get(k) or "")) for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    )
    reference = postgresql_reference(applied, key)
    schema = split_statements(_schema_script(pg_restore, archive))
    found = Counter(_normalised(statement) for statement in schema)
    differences = _schema_differences(found, reference.schema)
    if differences:
        raise SchemaError(_say(differences))
    return pg_restore, schema, reference


def check_postgresql_archive(archive: Path, database: Mapping[str, Any]) -> None:
    """Raise SchemaError unless the archive holds exactly the migrated schema and its data."""
    pg_restore, _, reference = _checked_schema(archive, database)
    for step in data_script(pg_restore, archive, reference):
        if isinstance(step, TableData):
            for _ in step.rows:
                pass


def restore_postgresql_archive(archive: Path, database: Mapping[str, Any]) -> None:
    """Replace the database's tables with the archive's, in one transaction, running only checked SQL.

    ``pg_restore`` only renders the archive as text. The schema statements
    run here are the archive's only after they matched the reference's; the
    rows go in through COPY statements written here, into the reference's
    tables and columns. Everything is checked again as it runs (the file may
    have changed since the first check); any problem rolls the whole restore back.
    """
    import psycopg
    from psycopg import sql

    pg_restore, schema, reference = _checked_schema(archive, database)
    with (
        psycopg.connect(
            dbname=database["NAME"],
            user=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            host=database.get("HOST") or None,
            port=database.get("PORT") or None,
        ) as conn,
        conn.transaction(),
    ):
        for statement in schema:
            conn.execute(statement.encode())
        with conn.cursor() as cursor:
            for step in data_script(pg_restore, archive, reference):
                if isinstance(step, str):
                    cursor.execute(step.encode())
                    continue
                command = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
                    sql.Identifier("public"),
                    sql.Identifier(step.table),
                    sql.SQL(", ").join(sql.Identifier(c) for c in step.columns),
                )
                with cursor.copy(command) as copy:
                    for chunk in step.rows:
                        copy.write(chunk)
