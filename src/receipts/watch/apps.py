"""The watch app: change events from every write path, and watchlists that deliver them."""

from __future__ import annotations

from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "receipts.watch"
    verbose_name = "Watchlists and alerts"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
