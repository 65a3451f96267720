"""Addresses of the screening pages: the upload at /screen/, profiles under /screen/profiles/."""

from django.urls import path

from . import views

urlpatterns = [
    path("screen/", views.screen_page, name="screen"),
    path("screen/profiles/new/", views.profile_edit, name="screening-profile-new"),
    path("screen/profiles/<slug:slug>/", views.profile_page, name="screening-profile"),
    path("screen/profiles/<slug:slug>/edit/", views.profile_edit, name="screening-profile-edit"),
]
