from __future__ import annotations

from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    name = "receipts.pagecache"
    label = "pagecache"
    verbose_name = "Public page cache"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import generation

        connection_created.connect(generation.watch_connection, dispatch_uid="pagecache-watch")
