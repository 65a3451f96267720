from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "receipts.web"
    verbose_name = "Web pages"
