"""Public outreach pages: a flyer's short address, the sign-up form and its thank-you page.

Nothing here reveals who signed: a new person, a returning one and a refused
duplicate all see the same thank-you page, which holds nothing about the
sign-up; no count of pending sign-ups appears anywhere public. Sign-ups are
refused (and nothing stored) past the body-size limit (400), on a filled
honeypot or a form sent too fast (400), and past the per-client rate limits
(429). POST values are marked sensitive, so an error report never shows them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from receipts import refusals

from . import queries, replies, services
from .forms import CONSENT_CHANGED, STALE, SignupFields, started_token
from .models import Flyer, FormField, FormKind, LinkPurpose, SignupForm


def client_key(request: HttpRequest) -> str:
    """A keyed hash of the client's address: rate limits never store an IP.

    An IPv6 client is counted by its /64 network, which one subscriber usually
    holds whole; ``REMOTE_ADDR`` is used as given (set it from a trusted proxy
    header in the web server, not here).
    """
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    if ":" in address:
        groups = address.split("%")[0].split(":")
        address = ":".join(groups[:4]) + "::/64"
    return salted_hmac("receipts.outreach.client", address, algorithm="sha256").hexdigest()


def _signup_form(slug: str, form_slug: str) -> SignupForm:
    found = (
        SignupForm.objects.select_related("campaign")
        .filter(campaign__slug=slug, slug=form_slug)
        .first()
    )
    if found is None:
        raise Http404("no such form")
    return found


def _render_form(
    request: HttpRequest,
    signup_form: SignupForm,
    fields: SignupFields | None,
    *,
    status: int = 200,
    refusal: str = "",
) -> HttpResponse:
    context = {
        "signup_form": signup_form,
        "campaign": signup_form.campaign,
        "show_campaign": signup_form.campaign.is_public,
        "fields": fields,
        "domains": fields.domains if fields is not None else [],
        "honeypot": fields["fax_number_confirm"] if fields is not None else None,
        "is_pledge": signup_form.kind == FormKind.PLEDGE,
        "refusal": refusal,
        "asks_email": FormField.EMAIL in signup_form.fields,
        "asks_phone": FormField.PHONE in signup_form.fields,
        "form_errors": _form_errors(fields) if fields is not None else [],
    }
    return render(request, "outreach/join.html", context, status=status)


def _form_errors(fields: SignupFields) -> list[str]:
    """Errors not shown beside a visible field, each once."""
    found: list[str] = []
    for errors in (fields.non_field_errors(), fields["started"].errors, fields["source"].errors):
        for error in errors:
            if str(error) not in found:
                found.append(str(error))
    return found


def _fresh_data(request: HttpRequest, fields: SignupFields, signup_form: SignupForm) -> QueryDict:
    """The posted data for re-display, with a new start time when the old one is unusable."""
    data = request.POST.copy()
    if (
        STALE in fields.errors.get("started", [])
        or CONSENT_CHANGED in fields.errors.get("consent", [])
        or not data.get("started")
    ):
        data["started"] = started_token(signup_form)
    if CONSENT_CHANGED in fields.errors.get("consent", []):
        data.pop("consent", None)
    data.pop("work_address_ok", None)
    return data


@sensitive_post_parameters()
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_variables()
def join(request: HttpRequest, slug: str, form_slug: str) -> HttpResponse:
    signup_form = _signup_form(slug, form_slug)
    if not signup_form.is_open:
        return _render_form(request, signup_form, None, status=410)
    domains = queries.employer_domains(signup_form)
    if request.method != "POST":
        source = services.clean_source_code(request.GET.get("source"))
        fields = SignupFields(
            initial={"source": source, "started": started_token(signup_form)},
            signup_form=signup_form,
            domains=domains,
        )
        return _render_form(request, signup_form, fields)

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.OUTREACH_MAX_BODY_BYTES:
        refusal = "This sign-up is far longer than the form allows and was not kept."
        return _render_form(request, signup_form, None, status=400, refusal=refusal)
    fields = SignupFields(request.POST, signup_form=signup_form, domains=domains)
    if fields.is_valid():
        answers = fields.answers()
        try:
            submission = services.record_signup(
                signup_form,
                answers,
                consent_text_shown=signup_form.consent_text,
                source_code=fields.cleaned_data["source"],
                client_key=client_key(request),
                work_address=fields.at_work_domain,
            )
        except services.Throttled as exc:
            minutes = max(1, round(exc.retry_after / 60))
            refusal = (
                "Too many sign-ups have come from this connection. Nothing was kept from this "
                f"one; try again in about {minutes} minute{'s' if minutes != 1 else ''}."
            )
            response = _render_form(request, signup_form, None, status=429, refusal=refusal)
            response["Retry-After"] = str(exc.retry_after)
            return response
        except services.OutreachError as exc:
            refusals.add_to_form(fields, exc)
        else:
            email = answers.get(FormField.EMAIL, "")
            if email:
                replies.send_signup_email(
                    submission,
                    email,
                    lambda purpose, token: request.build_absolute_uri(
                        reverse(f"outreach-{purpose}", args=[token])
                    ),
                )
            return HttpResponseRedirect(
                reverse("outreach-thanks", args=[signup_form.campaign.slug, signup_form.slug]),
                status=303,
            )
    # Shown again with the errors found, a usable start time and the override unticked.
    fields.data = _fresh_data(request, fields, signup_form)
    return _render_form(request, signup_form, fields, status=400)


@require_safe
def thanks(request: HttpRequest, slug: str, form_slug: str) -> HttpResponse:
    signup_form = _signup_form(slug, form_slug)
    context: dict[str, Any] = {
        "signup_form": signup_form,
        "campaign": signup_form.campaign,
        "show_campaign": signup_form.campaign.is_public,
    }
    return render(request, "outreach/thanks.html", context)


def _link_unusable(request: HttpRequest) -> HttpResponse:
    return render(request, "outreach/link.html", {"unusable": replies.LINK_UNUSABLE}, status=410)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The confirm link: a GET shows a button, so that a mail scanner confirms nothing."""
    link = replies.usable_link(token, LinkPurpose.CONFIRM)
    if link is None:
        return _link_unusable(request)
    context: dict[str, Any] = {"link": link, "purpose": "confirm"}
    if request.method == "POST":
        try:
            replies.confirm(token)
        except replies.LinkRefused:
            return _link_unusable(request)
        context["done"] = True
    return render(request, "outreach/link.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request: HttpRequest, token: str) -> HttpResponse:
    """The withdraw link: a GET asks, the POST erases the person from the campaign."""
    link = replies.usable_link(token, LinkPurpose.WITHDRAW)
    if request.method == "POST":
        try:
            replies.withdraw(token)
        except replies.LinkRefused:
            return _link_unusable(request)
        return render(request, "outreach/link.html", {"purpose": "withdraw", "done": True})
    if link is None:
        return _link_unusable(request)
    return render(request, "outreach/link.html", {"link": link, "purpose": "withdraw"})


@require_safe
def flyer_short(request: HttpRequest, code: str) -> HttpResponse:
    """``/f/<code>``: to the flyer's form, keeping the code as the sign-up's source."""
    flyer = get_object_or_404(
        Flyer.objects.select_related("form", "campaign"), code=services.clean_source_code(code)
    )
    target = reverse("outreach-join", args=[flyer.campaign.slug, flyer.form.slug])
    return HttpResponseRedirect(f"{target}?source={flyer.code}")
