from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "receipts.accounts"
    label = "accounts"
    verbose_name = "Accounts"
