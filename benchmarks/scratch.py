"""A throw-away PostgreSQL database for one benchmark run."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit


@contextlib.contextmanager
def scratch_database(
    server_url: str,
    prefix: str = "receipts_bench",
    connect: Callable[[], Any] | None = None,
) -> Iterator[str]:
    """Create a database on the server at ``server_url``, yield its URL, drop it afterwards.

    ``connect`` opens an autocommit connection to the server (default: psycopg
    on ``server_url``), for a caller that waits for a server still starting.
    """
    import psycopg
    from psycopg import sql

    def admin() -> Any:
        return connect() if connect else psycopg.connect(server_url, autocommit=True)

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
