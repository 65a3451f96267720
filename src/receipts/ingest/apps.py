from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "receipts.ingest"
    verbose_name = "Imports and entity resolution"
