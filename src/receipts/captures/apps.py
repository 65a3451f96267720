from django.apps import AppConfig


class CapturesConfig(AppConfig):
    name = "receipts.captures"
    verbose_name = "Web captures of sources"
    default_auto_field = "django.db.models.BigAutoField"
