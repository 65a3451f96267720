"""Addresses of the watchlist pages (under /watch/) and of the Atom feeds."""

from django.urls import path

from . import views

urlpatterns = [
    path("watch/", views.watchlists, name="watchlists"),
    path("watch/<int:pk>/", views.watchlist_page, name="watchlist"),
    path("watch/<int:pk>/entities/", views.watchlist_entities, name="watchlist-entities"),
    path(
        "watch/<int:pk>/entities/<int:entity_pk>/remove/",
        views.watchlist_unwatch,
        name="watchlist-unwatch",
    ),
    path("watch/<int:pk>/webhooks/", views.watchlist_webhook, name="watchlist-webhook"),
    path("watch/<int:pk>/emails/", views.watchlist_email, name="watchlist-email"),
    path(
        "watch/<int:pk>/ending-warnings/",
        views.watchlist_ending_warnings,
        name="watchlist-ending-warnings",
    ),
    path(
        "watch/<int:pk>/channels/<int:channel_pk>/remove/",
        views.channel_remove,
        name="watchlist-channel-remove",
    ),
    path("watch/<int:pk>/rotate-feed/", views.watchlist_rotate, name="watchlist-rotate"),
    path("watch/<int:pk>/delete/", views.watchlist_delete, name="watchlist-delete"),
    path("watch/<uuid:token>/feed.atom", views.feed, name="watchlist-feed"),
]
