from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "receipts.evidence"
    verbose_name = "Evidence"
