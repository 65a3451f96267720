from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "receipts.contracts"
    verbose_name = "Contract data"
