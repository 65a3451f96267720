from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "receipts.outreach"
    verbose_name = "Outreach"
