"""The site's URLs plus one view behind ``two_factor_required``, standing in for supporter data."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from receipts.accounts.twofactor import two_factor_required
from receipts.config.urls import urlpatterns as site_urlpatterns


@two_factor_required
def protected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("supporter data")


urlpatterns = [path("protected/", protected, name="protected"), *site_urlpatterns]
