from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "receipts.screening"
    verbose_name = "Screening"
