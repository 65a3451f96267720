from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "receipts.campaigns"
    verbose_name = "Campaigns"
