"""Serve the site with gunicorn, a production WSGI server, from the CLI."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class ReceiptsServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from receipts.config.wsgi import application

        return application


def serve(host: str, port: int, workers: int, threads: int) -> None:
    ReceiptsServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "timeout": 60,
            # Workers import Django after the fork: SQLite connections must
            # never be shared across processes.
            "preload_app": False,
        }
    ).run()
