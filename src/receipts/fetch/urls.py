"""Addresses of the subscription pages (under /fetch/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("fetch/subscriptions/", views.subscriptions, name="fetch-subscriptions"),
    path(
        "fetch/subscriptions/<int:pk>/remove/",
        views.subscription_remove,
        name="fetch-subscription-remove",
    ),
]
