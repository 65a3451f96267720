from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "receipts.web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from receipts.private_files import on_connection_created

        # Owner-only database files for every connection the site opens.
        connection_created.connect(on_connection_created, dispatch_uid="receipts-private-sqlite")
