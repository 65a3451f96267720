"""Two-factor login pages: status, turning on (QR code, first code, recovery codes), the code page, turning off; and the password-reset request.

The secret key is shown only while the device waits for its first code; once
confirmed, no page shows it again. Recovery codes appear once, in the response
that confirms the device, and are never stored in the session. The reset page
says an email went out only when the email backend took it.
"""

from __future__ import annotations

import io
import logging
from base64 import b32encode
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import queries, services
from .forms import CodeForm, EmailNotSent, PasswordResetForm
from .twofactor import is_verified, mark_verified

logger = logging.getLogger(__name__)

EMAIL_NOT_SENT = (
    "Could not send the email: the site's mail server did not take it. "
    "Nothing was changed. Ask an administrator to check the site's email settings."
)
QR_SCALE = 4
QR_BORDER = 4


def _next(request: HttpRequest) -> str:
    """The page to go on to afterwards: the ``next`` field if it is on this site, else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _posted(request: HttpRequest) -> QueryDict | None:
    # An empty POST is still a submission to refuse, not a blank form to show.
    return request.POST if request.method == "POST" else None


def _qr(device: TOTPDevice) -> segno.QRCode:
    return segno.make(device.config_url, error="m", micro=False)


def _grouped_secret(device: TOTPDevice) -> str:
    key = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@never_cache
@login_required
@require_safe
def status(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {
            "is_on": queries.has_two_factor(user),
            "must": queries.must_use_two_factor(user),
            "recovery_codes_left": queries.recovery_codes_left(user),
            "locked_until": queries.locked_until(user),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def turn_on(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_path = _next(request)
    if queries.has_two_factor(user):
        messages.info(request, "Two-factor login is already on.")
        return redirect("two-factor")
    form = CodeForm(_posted(request), numeric=True)
    if request.method == "POST" and form.is_valid():
        try:
            enrolled = services.confirm_enrolment(user, form.cleaned_data["code"])
        except services.CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            mark_verified(request, enrolled.device)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": enrolled.recovery_codes, "next": next_path},
            )
    device = services.start_enrolment(user)
    width, height = _qr(device).symbol_size(scale=QR_SCALE, border=QR_BORDER)
    return render(
        request,
        "accounts/turn_on.html",
        {
            "form": form,
            "secret": _grouped_secret(device),
            "qr_width": width,
            "qr_height": height,
            "next": next_path,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
@require_safe
def qr_code(request: HttpRequest) -> HttpResponse:
    """The QR code of the device waiting for its first code, as SVG; none once it is confirmed."""
    device = queries.pending_device(request.user)
    if device is None or queries.has_two_factor(request.user):
        raise Http404("no authenticator app is being set up")
    svg = io.BytesIO()
    # A standalone image: it needs the SVG namespace, and no XML declaration.
    _qr(device).save(
        svg,
        kind="svg",
        scale=QR_SCALE,
        border=QR_BORDER,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        title="QR code to set up two-factor login",
    )
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_path = _next(request)
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if is_verified(request) or not queries.has_two_factor(user):
        return redirect(next_path)
    form = CodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            verified = services.verify_code(user, form.cleaned_data["code"])
        except services.CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            mark_verified(request, verified.device)
            if verified.used_recovery_code:
                left = verified.recovery_codes_left
                messages.warning(
                    request,
                    f"That recovery code is now used up; {left} left. "
                    "Turn two-factor login off and on again for new ones.",
                )
            return redirect(next_path)
    return render(
        request,
        "accounts/verify.html",
        {"form": form, "next": next_path, "locked_until": queries.locked_until(user)},
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def turn_off(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not queries.has_two_factor(user):
        return redirect("two-factor")
    form = CodeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.turn_off(user, form.cleaned_data["code"])
        except services.CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(request, "Two-factor login is off.")
            return redirect("two-factor")
    return render(
        request,
        "accounts/turn_off.html",
        {"form": form, "must": queries.must_use_two_factor(user)},
        status=400 if form.is_bound and form.errors else 200,
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, through the configured email backend; a failed send is said, not hidden."""

    form_class = PasswordResetForm
    template_name = "accounts/password_reset_form.html"

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            return super().form_valid(form)
        except EmailNotSent:
            logger.exception("a password-reset email could not be sent")
            form.add_error(None, EMAIL_NOT_SENT)
            # The server failed, not the request: 503, and the form to try again.
            return self.render_to_response(self.get_context_data(form=form), status=503)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
