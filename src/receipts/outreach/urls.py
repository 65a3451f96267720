"""Addresses of outreach pages.

Public: ``/f/<code>`` (a flyer's short address), the forms under
``/campaigns/<slug>/join/<form>/`` and the links emailed to those who sign
(``/signed/confirm/<token>/``, ``/signed/withdraw/<token>/``). Editors: forms, flyers and their QR codes
and printable pages. Organisers: review, supporters, CSV export, erasure and
attribution under ``/edit/campaigns/<slug>/outreach/``.
"""

from django.urls import path

from . import editor, views

urlpatterns = [
    path("f/<str:code>", views.flyer_short, name="outreach-flyer-short"),
    path("signed/confirm/<str:token>/", views.confirm, name="outreach-confirm"),
    path("signed/withdraw/<str:token>/", views.withdraw, name="outreach-withdraw"),
    path("campaigns/<slug:slug>/join/<slug:form_slug>/", views.join, name="outreach-join"),
    path(
        "campaigns/<slug:slug>/join/<slug:form_slug>/thanks/",
        views.thanks,
        name="outreach-thanks",
    ),
    path(
        "campaigns/<slug:slug>/flyers/<str:code>/qr.svg",
        editor.flyer_qr_svg,
        name="outreach-flyer-svg",
    ),
    path(
        "campaigns/<slug:slug>/flyers/<str:code>/qr.png",
        editor.flyer_qr_png,
        name="outreach-flyer-png",
    ),
    path(
        "campaigns/<slug:slug>/flyers/<str:code>/print/",
        editor.flyer_print,
        name="outreach-flyer-print",
    ),
    path("edit/campaigns/<slug:slug>/outreach/", editor.manage, name="outreach-manage"),
    path(
        "edit/campaigns/<slug:slug>/outreach/forms/new/", editor.form_edit, name="outreach-form-new"
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/forms/<int:pk>/",
        editor.form_edit,
        name="outreach-form-edit",
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/flyers/new/",
        editor.flyer_new,
        name="outreach-flyer-new",
    ),
    path("edit/campaigns/<slug:slug>/outreach/review/", editor.review, name="outreach-review"),
    path(
        "edit/campaigns/<slug:slug>/outreach/review/decide/",
        editor.decide,
        name="outreach-decide",
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/supporters/",
        editor.supporters,
        name="outreach-supporters",
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/supporters.csv",
        editor.export_csv,
        name="outreach-export",
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/supporters.osdi.<str:fmt>",
        editor.export_osdi,
        name="outreach-export-osdi",
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/supporters/<uuid:uid>/erase/",
        editor.erase,
        name="outreach-erase",
    ),
    path(
        "edit/campaigns/<slug:slug>/outreach/attribution/",
        editor.attribution,
        name="outreach-attribution",
    ),
]
