"""A copy of the database, or a backup, lets nobody in: every stored secret is tried against the site.

The site runs as ``receipts serve`` in its own process on its own data
directory (SQLite) or its own PostgreSQL database, as in production. An
organiser logs in over HTTP, turns on two-factor login from the QR page and
opens the supporter list. Then, as a local user who can read the database
would, the test takes a copy of the database (the SQLite file with its
write-ahead log, or the PostgreSQL tables) and a ``receipts backup``, reads
every value of the session table, every authenticator key and every
recovery-code digest, and tries each against the running site: as the
session cookie, as the secret that computes a code, as a recovery code. None
gets in, while the organiser's own cookie, a code from the app and an unused
recovery code do, so each check can fail.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django_otp.oath import hotp

from receipts.backup import postgresql_program

CAMPAIGN = "amazon-dump-ice"
SUPPORTERS = f"/edit/campaigns/{CAMPAIGN}/outreach/supporters/"
LOGIN = "/accounts/login/"
TURN_ON = "/accounts/two-factor/turn-on/"
VERIFY = "/accounts/two-factor/verify/"
PASSWORD = "correct horse battery staple"
# The tables whose values are tried: sessions, authenticator keys, recovery codes.
TABLES = ("django_session", "otp_totp_totpdevice", "accounts_recoverycode")


@dataclass
class Site:
    """A running ``receipts serve`` and what reaches its database."""

    url: str
    env: dict[str, str] = field(repr=False)
    data_dir: Path
    database_url: str | None
    process: subprocess.Popen[bytes] | None = None

    def path(self, path: str) -> str:
        return self.url + path

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "receipts", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def execute(self, sql: str) -> None:
        """Run one statement on the site's database (the test's own bookkeeping only)."""
        if self.database_url is None:
            with sqlite3.connect(self.data_dir / "receipts.sqlite3", timeout=20) as conn:
                conn.execute(sql)
        else:
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                conn.execute(sql)  # type: ignore[arg-type]


@dataclass
class Stolen:
    """Every value read from the tables in TABLES, by table and column."""

    values: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def add(self, table: str, column: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, (bytes, memoryview)):
            value = bytes(value).hex()
        self.values.setdefault((table, column), set()).add(str(value))

    def column(self, table: str, column: str) -> set[str]:
        return self.values.get((table, column), set())

    def table(self, table: str) -> set[str]:
        return {v for (t, _c), vs in self.values.items() if t == table for v in vs}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RECEIPTS_", "DJANGO_")) and k != "DATABASE_URL"
    }
    data_dir = tmp_path / "data"
    env["RECEIPTS_DATA_DIR"] = str(data_dir)
    base_url = os.environ.get("DATABASE_URL", "")
    database_url = None
    admin_url = None
    name = ""
    if base_url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"receipts_leak_{uuid.uuid4().hex[:12]}"
        admin_url = _with_database(base_url, "postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        database_url = _with_database(base_url, name)
        env["DATABASE_URL"] = database_url
    port = _free_port()
    found = Site(f"http://127.0.0.1:{port}", env, data_dir, database_url)
    try:
        found.run("demo", "--no-serve")
        found.run(
            "shell",
            "-c",
            "from django.contrib.auth.models import User;"
            "from receipts.campaigns.models import Campaign;"
            "from receipts.campaigns.services import add_campaign_member;"
            f"u = User.objects.create_user('organiser', password={PASSWORD!r});"
            f"add_campaign_member(Campaign.objects.get(slug={CAMPAIGN!r}), u, 'organiser')",
        )
        found.process = subprocess.Popen(
            [sys.executable, "-m", "receipts", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                requests.get(found.path("/"), timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("receipts serve did not answer")
        yield found
    finally:
        if found.process is not None:
            found.process.terminate()
            found.process.wait(timeout=30)
        if admin_url is not None:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


# --- the organiser, over HTTP ---------------------------------------------------------------


def _csrf(session: requests.Session, site: Site, path: str) -> str:
    page = session.get(site.path(path), allow_redirects=False)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, (path, page.status_code)
    return found.group(1)


def password_login(site: Site) -> requests.Session:
    session = requests.Session()
    token = _csrf(session, site, LOGIN)
    response = session.post(
        site.path(LOGIN),
        data={"username": "organiser", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": site.path(LOGIN)},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def post_code(site: Site, session: requests.Session, path: str, code: str) -> requests.Response:
    token = _csrf(session, site, path)
    return session.post(
        site.path(path),
        data={"code": code, "csrfmiddlewaretoken": token},
        headers={"Referer": site.path(path)},
        allow_redirects=False,
    )


@dataclass
class Organiser:
    session: requests.Session
    secret: bytes
    recovery_codes: list[str]
    last_step: int


def turn_on_two_factor(site: Site) -> Organiser:
    """Log in, scan the key off the set-up page as an app does, confirm it: a verified session."""
    session = password_login(site)
    page = session.get(site.path(TURN_ON))
    found = re.search(r'<code class="secret">([^<]+)</code>', page.text)
    assert found is not None, page.text[:500]
    text = found.group(1).replace(" ", "").upper()
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    step = int(time.time()) // 30
    done = post_code(site, session, TURN_ON, _code(secret, step))
    assert done.status_code == 200, done.text[:500]
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>", done.text)
    assert len(codes) == 10
    return Organiser(session, secret, codes, step)


def _code(secret: bytes, step: int) -> str:
    return str(hotp(secret, step, 6)).zfill(6)


def opens_supporters(site: Site, cookie: str) -> bool:
    # A raw header: the value goes as read, not quoted by a cookie jar.
    response = requests.get(
        site.path(SUPPORTERS),
        headers={"Cookie": f"sessionid={cookie}"},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code == 200


# --- what a thief reads ------------------------------------------------------------------


def read_sqlite(path: Path, stolen: Stolen) -> None:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        for table in TABLES:
            cursor = conn.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    stolen.add(table, column, value)


def read_postgresql(url: str, stolen: Stolen) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        for table in TABLES:
            cursor = conn.execute(f'SELECT * FROM "{table}"')  # type: ignore[arg-type]  # noqa: S608
            columns = [d.name for d in cursor.description or []]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    stolen.add(table, column, value)


def read_pg_dump(path: Path, stolen: Stolen) -> None:
    """The rows of a ``pg_dump --format=custom`` file, from the COPY blocks pg_restore prints."""
    text = subprocess.run(
        [postgresql_program("pg_restore"), "--data-only", "--file", "-", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for block in re.finditer(
        r"^COPY [\w.]*?\"?(\w+)\"? \(([^)]*)\) FROM stdin;\n(.*?)^\\\.$", text, re.M | re.S
    ):
        table, columns = block.group(1), [c.strip().strip('"') for c in block.group(2).split(",")]
        if table not in TABLES:
            continue
        for line in block.group(3).splitlines():
            for column, value in zip(columns, line.split("\t"), strict=True):
                stolen.add(table, column, None if value == "\\N" else value)


def steal(site: Site, tmp_path: Path) -> tuple[Stolen, Stolen]:
    """What a copy of the database holds, and what a backup taken now holds."""
    copy, backup = Stolen(), Stolen()
    backup_file = tmp_path / "stolen-backup"
    site.run("backup", "-o", str(backup_file))
    if site.database_url is None:
        folder = tmp_path / "stolen-copy"
        folder.mkdir()
        for name in ("receipts.sqlite3", "receipts.sqlite3-wal", "receipts.sqlite3-shm"):
            if (site.data_dir / name).exists():
                shutil.copy(site.data_dir / name, folder / name)
        read_sqlite(folder / "receipts.sqlite3", copy)
        read_sqlite(backup_file, backup)
    else:
        read_postgresql(site.database_url, copy)
        read_pg_dump(backup_file, backup)
    return copy, backup


def secrets_in(value: str) -> list[bytes]:
    """Every way a stored authenticator key could be read as a secret: hex, base64, base32, raw."""
    found = [value.encode()]
    for text in (value, *value.split(":")):
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(binascii.unhexlify(text))
        for decode in (base64.urlsafe_b64decode, base64.b64decode, base64.b32decode):
            with contextlib.suppress(binascii.Error, ValueError):
                found.append(decode(text + "=" * (-len(text) % 8)))
    return [s for s in found if s]


def reset_lockout(site: Site) -> None:
    """Each stolen value gets a try of its own, never refused only because of earlier ones."""
    site.execute("UPDATE accounts_codeattempts SET failures = 0, locked_until = NULL")


# --- the test ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_nothing_in_a_copy_of_the_database_or_a_backup_logs_anyone_in(
    site: Site, tmp_path: Path
) -> None:
    organiser = turn_on_two_factor(site)
    cookie = organiser.session.cookies["sessionid"]
    assert opens_supporters(site, cookie)
    # A second login of the same organiser, waiting for its code: its row is in the table too.
    waiting = password_login(site)

    copy, backup = steal(site, tmp_path)
    for stolen in (copy, backup):
        assert stolen.column("django_session", "session_key"), "the session table was read"
        assert stolen.column("otp_totp_totpdevice", "key")
        assert len(stolen.column("accounts_recoverycode", "digest")) == 10

    # Every value of the session table, as the session cookie.
    tried = copy.table("django_session") | backup.table("django_session")
    for value in sorted(tried):
        assert not opens_supporters(site, value), "a value from the session table logged in"

    # Every stored authenticator key, read every way, computing the code an app would show
    # next: the step after the last one used, which the table also gives away.
    last_used = max(int(t) for t in copy.column("otp_totp_totpdevice", "last_t"))
    step = max(int(time.time()) // 30, last_used + 1)
    keys = copy.column("otp_totp_totpdevice", "key") | backup.column("otp_totp_totpdevice", "key")
    for value in sorted(keys):
        for secret in secrets_in(value):
            reset_lockout(site)
            refused = post_code(site, waiting, VERIFY, _code(secret, step))
            assert refused.status_code == 400, "a code from a stored key was accepted"

    # Every stored recovery-code digest, as a recovery code, and as an offline check.
    digests = copy.column("accounts_recoverycode", "digest") | backup.column(
        "accounts_recoverycode", "digest"
    )
    for value in sorted(digests):
        reset_lockout(site)
        assert post_code(site, waiting, VERIFY, value).status_code == 400
    plain = {
        hashlib.sha256(code.replace("-", "").encode()).hexdigest()
        for code in organiser.recovery_codes
    }
    assert not plain & digests, "a stored digest can be checked against guesses offline"
    reset_lockout(site)
    assert not opens_supporters(site, waiting.cookies["sessionid"])

    # The real ones work: the organiser's cookie, a code from the app, a recovery code.
    assert opens_supporters(site, cookie)
    by_app = password_login(site)
    next_step = max(int(time.time()) // 30, organiser.last_step + 1)
    accepted = post_code(site, by_app, VERIFY, _code(organiser.secret, next_step))
    assert accepted.status_code == 302, accepted.text[:500]
    assert opens_supporters(site, by_app.cookies["sessionid"])
    by_recovery = password_login(site)
    assert post_code(site, by_recovery, VERIFY, organiser.recovery_codes[0]).status_code == 302
    assert opens_supporters(site, by_recovery.cookies["sessionid"])
