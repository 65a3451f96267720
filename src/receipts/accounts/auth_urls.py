"""Addresses of logging in and out and of passwords, under /accounts/.

Django's own views, as ``django.contrib.auth.urls`` lists them, except the
password-reset request, which says when its email could not be sent; and the
pages behind one-time links (invitations, login links).
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import onboarding, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invitations/<str:token>/", onboarding.invitation, name="invitation"),
    path("login-link/<str:token>/", onboarding.login_link, name="login-link"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
