from django.urls import path

from . import views

urlpatterns = [
    path("", views.status, name="two-factor"),
    path("turn-on/", views.turn_on, name="two-factor-turn-on"),
    path("turn-on/qr.svg", views.qr_code, name="two-factor-qr"),
    path("verify/", views.verify, name="two-factor-verify"),
    path("turn-off/", views.turn_off, name="two-factor-turn-off"),
]
