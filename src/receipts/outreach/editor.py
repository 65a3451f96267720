"""Editor and organiser pages for outreach.

Editors (and organisers) of a campaign build its forms and flyers and
download flyers' QR codes and printable pages: none of that shows supporter
data. Supporter data (the review queue, the supporter list, the CSV export,
erasure, the attribution report) opens only to the campaign's organisers,
through ``access.supporter_data_view``; each page that shows or exports
supporter data writes an audit event with the number of people shown.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST, require_safe

from receipts.campaigns.editor import campaign_role, form_error, render_form
from receipts.campaigns.models import Campaign, MemberRole

from . import access, charts, queries, services
from .exports import write_osdi_csv, write_osdi_json, write_supporters_csv
from .forms import EraseForm, FlyerForm, FormSettingsForm
from .models import (
    AuditAction,
    Flyer,
    FormField,
    SignupForm,
    SubmissionStatus,
    Supporter,
)
from .qr import qr_png, qr_svg


def _outreach_url(campaign: Campaign, anchor: str = "") -> str:
    url = reverse("outreach-manage", args=[campaign.slug])
    return f"{url}#{anchor}" if anchor else url


# --- forms and flyers (editors) -------------------------------------------------------


@campaign_role(MemberRole.EDITOR)
def manage(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """The outreach overview: forms, flyers and, for organisers, counts and their pages."""
    organiser = access.can_see_supporters(request.user, campaign)
    context = {
        "campaign": campaign,
        "forms": SignupForm.objects.filter(campaign=campaign).order_by("title"),
        "flyers": Flyer.objects.filter(campaign=campaign)
        .select_related("form", "action")
        .order_by("label"),
        "organiser": organiser,
        "counts": queries.supporter_counts(campaign) if organiser else None,
    }
    return render(request, "outreach/manage.html", context)


@campaign_role(MemberRole.EDITOR)
def form_edit(request: HttpRequest, campaign: Campaign, pk: int | None = None) -> HttpResponse:
    signup_form = get_object_or_404(SignupForm, campaign=campaign, pk=pk) if pk else None
    initial: dict[str, Any] = {"is_open": True, "asked": [FormField.NAME, FormField.EMAIL]}
    if signup_form is not None:
        initial = {
            "title": signup_form.title,
            "slug": signup_form.slug,
            "kind": signup_form.kind,
            "intro": signup_form.intro,
            "asked": signup_form.fields,
            "required": signup_form.required_fields,
            "consent_text": signup_form.consent_text,
            "employer_domains": signup_form.employer_domains,
            "thank_you": signup_form.thank_you,
            "is_open": signup_form.is_open,
            "confirm_first": signup_form.confirm_first,
        }
    form = FormSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            signup_form = services.save_form(
                campaign,
                form=signup_form,
                slug=d["slug"] or d["title"],
                title=d["title"],
                kind=d["kind"],
                intro=d["intro"],
                fields=d["asked"],
                required_fields=d["required"],
                consent_text=d["consent_text"],
                employer_domains=d["employer_domains"],
                thank_you=d["thank_you"],
                is_open=d["is_open"],
                confirm_first=d["confirm_first"],
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Saved the form {signup_form.title}.")
            return redirect(_outreach_url(campaign, f"form-{signup_form.pk}"))
    heading = f"Edit form: {signup_form.title}" if signup_form else f"New form: {campaign.name}"
    return render_form(
        request,
        form,
        heading,
        campaign,
        intro="People at risk from their employer sign here: ask only what the campaign needs.",
    )


@campaign_role(MemberRole.EDITOR)
def flyer_new(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = FlyerForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            flyer = services.create_flyer(
                campaign, form=d["form"], label=d["label"], code=d["code"], action=d["action"]
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Created the flyer {flyer.label}.")
            return redirect(_outreach_url(campaign, f"flyer-{flyer.code}"))
    return render_form(request, form, f"New flyer: {campaign.name}", campaign)


def _flyer(campaign: Campaign, code: str) -> Flyer:
    return get_object_or_404(
        Flyer.objects.select_related("form", "action"),
        campaign=campaign,
        code=services.clean_source_code(code),
    )


def _short_url(request: HttpRequest, flyer: Flyer) -> str:
    return request.build_absolute_uri(flyer.get_short_url())


@require_safe
@campaign_role(MemberRole.EDITOR)
def flyer_qr_svg(request: HttpRequest, campaign: Campaign, code: str) -> HttpResponse:
    flyer = _flyer(campaign, code)
    response = HttpResponse(
        qr_svg(_short_url(request, flyer), title=f"QR code for {flyer.label}"),
        content_type="image/svg+xml",
    )
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="flyer-{flyer.code}.svg"'
    return response


@require_safe
@campaign_role(MemberRole.EDITOR)
def flyer_qr_png(request: HttpRequest, campaign: Campaign, code: str) -> HttpResponse:
    flyer = _flyer(campaign, code)
    response = HttpResponse(qr_png(_short_url(request, flyer)), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="flyer-{flyer.code}.png"'
    return response


@require_safe
@campaign_role(MemberRole.EDITOR)
def flyer_print(request: HttpRequest, campaign: Campaign, code: str) -> HttpResponse:
    flyer = _flyer(campaign, code)
    context = {
        "campaign": campaign,
        "flyer": flyer,
        "short_url": _short_url(request, flyer),
        "show_campaign": campaign.is_public,
    }
    return render(request, "outreach/flyer_print.html", context)


# --- supporter data (organisers only) -------------------------------------------------


@access.supporter_data_view
def review(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """The queue of sign-ups waiting for an organiser; opening it is audited."""
    pending = queries.pending_submissions(campaign)
    people = len({p.submission.supporter_id for p in pending})
    services.record_audit(
        AuditAction.VIEW_REVIEW, user=request.user, campaign=campaign, count=people
    )
    context = {"campaign": campaign, "pending": pending, "fields": FormField}
    return render(request, "outreach/review.html", context)


@require_POST
@access.supporter_data_view
def decide(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    decision = request.POST.get("decision", "")
    status = {"accept": SubmissionStatus.ACCEPTED, "reject": SubmissionStatus.REJECTED}.get(
        decision
    )
    ids = [int(v) for v in request.POST.getlist("submission") if v.isdigit()]
    if status is None or not ids:
        messages.error(request, "Choose a sign-up and accept or reject it.")
    else:
        changed = services.decide_submissions(campaign, ids, status, decided_by=request.user)
        verb = "Accepted" if status == SubmissionStatus.ACCEPTED else "Rejected"
        messages.success(request, f"{verb} {changed} sign-up{'s' if changed != 1 else ''}.")
    return redirect(reverse("outreach-review", args=[campaign.slug]))


@access.supporter_data_view
def supporters(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """Every supporter with their submissions; opening the list is audited."""
    people = queries.opened_supporters(campaign)
    services.record_audit(
        AuditAction.VIEW_SUPPORTERS, user=request.user, campaign=campaign, count=len(people)
    )
    context = {"campaign": campaign, "people": people, "fields": FormField}
    return render(request, "outreach/supporters.html", context)


@access.supporter_data_view
@sensitive_variables()
def export_csv(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """Accepted supporters as CSV, one row a person with their newest answers; audited."""
    people = queries.opened_supporters(campaign, accepted_only=True)
    services.record_audit(
        AuditAction.EXPORT_CSV, user=request.user, campaign=campaign, count=len(people)
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{campaign.slug}-supporters.csv"'
    write_supporters_csv(response, people)
    return response


@access.supporter_data_view
@sensitive_variables()
def export_osdi(request: HttpRequest, campaign: Campaign, fmt: str) -> HttpResponse:
    """Accepted supporters as OSDI people (JSON or CSV), for Action Network; audited."""
    if fmt not in ("json", "csv"):
        raise Http404("OSDI people come as .json or .csv")
    people = queries.opened_supporters(campaign, accepted_only=True)
    services.record_audit(
        AuditAction.EXPORT_OSDI, user=request.user, campaign=campaign, count=len(people)
    )
    if fmt == "json":
        response = HttpResponse(content_type="application/hal+json; charset=utf-8")
        write_osdi_json(response, people)
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        write_osdi_csv(response, people)
    response["Content-Disposition"] = (
        f'attachment; filename="{campaign.slug}-supporters.osdi.{fmt}"'
    )
    return response


@access.supporter_data_view
def erase(request: HttpRequest, campaign: Campaign, uid: uuid.UUID) -> HttpResponse:
    """Erase one supporter everywhere, after a confirmation that shows no personal data."""
    supporter = get_object_or_404(Supporter, campaign=campaign, uid=uid)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = services.erase_supporters(campaign, [supporter], user=request.user)
        messages.success(request, "Erased the supporter: their sign-ups, consent and key are gone.")
        for note in result.notes:
            messages.warning(request, note)
        return redirect(reverse("outreach-supporters", args=[campaign.slug]))
    status = 400 if form.is_bound and form.errors else 200
    context = {"campaign": campaign, "supporter": supporter, "form": form}
    return render(request, "outreach/erase.html", context, status=status)


@access.supporter_data_view
def attribution(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """Accepted sign-ups per flyer, per action and per day: counts only, no personal data."""
    report = queries.attribution(campaign)
    chart = charts.signups_by_day_svg(report.by_day, f"Accepted sign-ups per day: {campaign.name}")
    context = {
        "campaign": campaign,
        "report": report,
        # Built from dates and counts only, every text escaped in charts.py.
        "chart": mark_safe(chart),  # noqa: S308
    }
    return render(request, "outreach/attribution.html", context)
