from django.contrib import admin
from django.urls import include, path

from receipts.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/two-factor/", include("receipts.accounts.urls")),
    path("accounts/", include("receipts.accounts.auth_urls")),
    path("api/", api.urls),
    path("", include("receipts.outreach.urls")),
    path("", include("receipts.campaigns.urls")),
    path("", include("receipts.screening.urls")),
    path("", include("receipts.captures.urls")),
    path("", include("receipts.web.urls")),
    path("", include("receipts.watch.urls")),
    path("", include("receipts.fetch.urls")),
]
