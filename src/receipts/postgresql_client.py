"""PostgreSQL's client programs (``pg_dump``, ``pg_restore``) as backups and the
restore checks run them: where to find them, and the arguments and environment
that connect them to a database.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any


class ClientProgramMissing(Exception):
    """A client program is not installed; the message names it."""


def postgresql_program(name: str) -> str:
    """The path of ``pg_dump`` or ``pg_restore``: on PATH, else in PostgreSQL's own bin folder."""
    found = shutil.which(name)
    if found:
        return found
    folders = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with suppress(OSError, subprocess.SubprocessError):
            folders.append(
                subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, check=True
                ).stdout.strip()
            )
    folders += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in folders:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ClientProgramMissing(f"{name} not found: install PostgreSQL's client programs")


def connection_args(database: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Command-line arguments and environment (the password) connecting a client program."""
    args = ["--dbname", str(database["NAME"])]
    if database.get("HOST"):
        args += ["--host", str(database["HOST"])]
    if database.get("PORT"):
        args += ["--port", str(database["PORT"])]
    if database.get("USER"):
        args += ["--username", str(database["USER"])]
    env = dict(os.environ)
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return args, env
