from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "receipts.api"
    verbose_name = "API"
