"""Editor pages for campaigns: settings, demands, actions, the coalition, goals and members.

Each page checks the user's role in the campaign it names: not logged in
goes to the login page, a private campaign the user cannot see is 404, a
role too low is 403. Refused input re-renders the form with status 400 and
nothing saved; every save goes through ``services``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from receipts import refusals
from receipts.accounts import links
from receipts.accounts.models import Invitation
from receipts.evidence.models import Entity

from . import access, queries, services
from .forms import (
    ActionForm,
    CampaignForm,
    CoalitionForm,
    ConfirmMetForm,
    DemandForm,
    DemandStatusForm,
    GoalForm,
    GoalProgressForm,
    InviteForm,
    MemberForm,
    ties_near,
)
from .models import Campaign, CampaignMembership, MemberRole

View = Callable[..., HttpResponse]

# Service refusals name a field; some of those fields have another name on the form.
FIELD_ALIASES = {"citation": "source", "user": "username"}


def form_error(form: Any, exc: ValidationError) -> None:
    """Put a service's refusal on the field it names, else above the form."""
    refusals.add_to_form(form, exc, FIELD_ALIASES)


def render_form(
    request: HttpRequest, form: Any, heading: str, campaign: Campaign, **extra: Any
) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "heading": heading, "campaign": campaign, **extra}
    return render(request, "campaigns/form.html", context, status=status)


def campaign_role(role: str) -> Callable[[View], View]:
    """Pass the campaign named by ``slug`` to the view if the user holds ``role`` in it."""
    allowed = {
        MemberRole.VIEWER: access.can_view,
        MemberRole.EDITOR: access.can_edit,
        MemberRole.ORGANISER: access.can_organise,
    }[MemberRole(role)]

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            campaign = queries.campaign_for(request.user, slug)
            if campaign is None:
                raise Http404("no such campaign")
            if not allowed(request.user, campaign):
                raise PermissionDenied(f"This needs the {role} role in the campaign.")
            return view(request, campaign, *args, **kwargs)

        return wrapper

    return decorator


def _manage_url(campaign: Campaign, anchor: str = "") -> str:
    url = reverse("campaign-manage", args=[campaign.slug])
    return f"{url}#{anchor}" if anchor else url


# --- the campaign -------------------------------------------------------------------


def campaign_new(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not access.can_create_campaigns(request.user):
        raise PermissionDenied("Creating a campaign needs the campaigns.add_campaign permission.")
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            campaign = services.create_campaign(
                name=d["name"],
                slug=d["slug"] or None,
                summary=d["summary"],
                targets=d["targets"],
                status=d["status"],
                visibility=d["visibility"],
                start_date=d["start_date"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Created the campaign {campaign.name}.")
            return redirect(_manage_url(campaign))
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "campaigns/form.html", {"form": form, "heading": "New campaign"}, status=status
    )


@campaign_role(MemberRole.VIEWER)
def campaign_manage(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """The editor's overview; viewers of a campaign may read it but not change anything."""
    if not access.can_edit(request.user, campaign):
        raise PermissionDenied("Managing a campaign needs the editor role in it.")
    view = queries.campaign_view(campaign)
    for demand in view.demands:
        if demand.suggests_met:  # type: ignore[attr-defined]
            found = queries.met_evidence(demand)
            demand.confirm_form = ConfirmMetForm(  # type: ignore[attr-defined]
                initial={"date": found[1] if found else ""}, auto_id=f"demand-{demand.pk}-%s"
            )
    context = {
        "campaign": campaign,
        "view": view,
        "can_edit": True,
        "can_organise": access.can_organise(request.user, campaign),
        "coalition_form": CoalitionForm(auto_id="coalition-%s"),
        "members": CampaignMembership.objects.filter(campaign=campaign).select_related("user"),
    }
    return render(request, "campaigns/manage.html", context)


@campaign_role(MemberRole.ORGANISER)
def campaign_settings(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    initial = {
        "name": campaign.name,
        "slug": campaign.slug,
        "summary": campaign.summary,
        "targets": "\n".join(e.slug for e in campaign.targets.order_by("name")),
        "status": campaign.status,
        "visibility": campaign.visibility,
        "start_date": campaign.start_date,
    }
    form = CampaignForm(request.POST or None, initial=initial)
    form.fields["slug"].disabled = True
    form.fields["slug"].help_text = "The address of a campaign does not change."
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_campaign(
                campaign,
                name=d["name"],
                summary=d["summary"],
                targets=d["targets"],
                status=d["status"],
                visibility=d["visibility"],
                start_date=d["start_date"],
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Saved the campaign's settings.")
            return redirect(_manage_url(campaign))
    return render_form(request, form, f"Settings: {campaign.name}", campaign)


# --- demands ------------------------------------------------------------------------


def _demand_form(request: HttpRequest, campaign: Campaign, demand: Any = None) -> DemandForm:
    linked = list(demand.ties.select_related("subject", "object")) if demand else []
    choices = ties_near(queries.target_family_ids(campaign), linked)
    initial: dict[str, Any] = {}
    if demand is not None:
        initial = {"text": demand.text, "ties": [t.pk for t in linked if t in choices]}
    return DemandForm(request.POST or None, initial=initial, tie_choices=choices)


def _flag_unrelated(request: HttpRequest, campaign: Campaign, demand: Any) -> None:
    unrelated = queries.unrelated_tie_ids(campaign, demand.ties.all())
    for tie in demand.ties.filter(pk__in=unrelated).select_related("subject", "object"):
        messages.warning(
            request,
            f"Flagged: the tie {tie} (id {tie.pk}) does not touch the campaign's targets "
            "or their subsidiaries; check it belongs to this demand.",
        )


@campaign_role(MemberRole.EDITOR)
def demand_new(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = _demand_form(request, campaign)
    if request.method == "POST" and form.is_valid():
        try:
            demand = services.add_demand(
                campaign, form.cleaned_data["text"], ties=form.linked_ties()
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Added the demand.")
            _flag_unrelated(request, campaign, demand)
            return redirect(_manage_url(campaign, f"demand-{demand.pk}"))
    return render_form(request, form, f"New demand: {campaign.name}", campaign)


@campaign_role(MemberRole.EDITOR)
def demand_edit(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    demand = get_object_or_404(campaign.demands, pk=pk)
    form = _demand_form(request, campaign, demand)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_demand(demand, text=form.cleaned_data["text"], ties=form.linked_ties())
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Saved the demand.")
            _flag_unrelated(request, campaign, demand)
            return redirect(_manage_url(campaign, f"demand-{demand.pk}"))
    return render_form(request, form, f"Edit demand: {demand.text}", campaign)


@campaign_role(MemberRole.EDITOR)
def demand_status(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    demand = get_object_or_404(campaign.demands, pk=pk)
    form = DemandStatusForm(request.POST or None, initial={"status": request.GET.get("status", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.change_demand_status(
                    demand,
                    d["status"],
                    date=d["date"],
                    citation=form.citation(request.user),
                    note=d["note"],
                    decided_by=request.user,
                )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"The demand is now {demand.get_status_display().lower()}.")
            return redirect(_manage_url(campaign, f"demand-{demand.pk}"))
    return render_form(
        request,
        form,
        f"Change the status of: {demand.text}",
        campaign,
        intro=f"Now {demand.get_status_display().lower()}. Every change is logged with its "
        "date and the source that reports it; choose Open to reopen the demand.",
    )


@require_POST
@campaign_role(MemberRole.EDITOR)
def demand_confirm_met(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    """Confirm the "met?" suggestion in one step; with htmx, answer the demand's new block."""
    demand = get_object_or_404(campaign.demands, pk=pk)
    form = ConfirmMetForm(request.POST, auto_id=f"demand-{demand.pk}-%s")
    error = ""
    if form.is_valid():
        try:
            services.confirm_demand_met(
                demand, decided_by=request.user, date=form.cleaned_data["date"]
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
    else:
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    if getattr(request, "htmx", False):
        view = queries.campaign_view(campaign, with_target_ties=False)
        shown = next(d for d in view.demands if d.pk == demand.pk)
        if shown.suggests_met:  # type: ignore[attr-defined]
            shown.confirm_form = form  # type: ignore[attr-defined]
        context = {
            "demand": shown,
            "can_edit": True,
            "campaign": campaign,
            "error": error,
            "manage": request.POST.get("manage") == "1",
            "next": request.POST.get("next", ""),
            "tally": view.demands_text,
        }
        # htmx swaps only 2xx answers: a refusal comes back as 200 with its message inside.
        # The tally above the demands is swapped out of band.
        return render(request, "campaigns/_demand_swap.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Confirmed: the demand is met. Its receipts are in the history.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = _manage_url(campaign, f"demand-{demand.pk}")
    return redirect(back)


# --- actions ------------------------------------------------------------------------


def _save_action(request: HttpRequest, campaign: Campaign, form: ActionForm, action: Any) -> Any:
    d = form.cleaned_data
    with transaction.atomic():
        return services.record_action(
            campaign,
            action=action,
            kind=d["kind"],
            title=d["title"],
            date=d["date"],
            place=d["place"],
            attendance_min=d["attendance_min"],
            attendance_max=d["attendance_max"],
            speakers=d["speakers"],
            participants=d["participants"],
            summary=d["summary"],
            citations=[c for c in [form.citation(request.user)] if c is not None],
            created_by=request.user,
        )


@campaign_role(MemberRole.EDITOR)
def action_new(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = ActionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            action = _save_action(request, campaign, form, None)
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Logged the action {action.title}.")
            return redirect(_manage_url(campaign, f"action-{action.pk}"))
    start = f" The campaign started {campaign.start_date}." if campaign.start_date else ""
    return render_form(
        request,
        form,
        f"New action: {campaign.name}",
        campaign,
        intro=f"Every action needs a source that reports it.{start}",
    )


@campaign_role(MemberRole.EDITOR)
def action_edit(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    action = get_object_or_404(campaign.actions, pk=pk)
    initial = {
        "kind": action.kind,
        "title": action.title,
        "date": action.date,
        "place": action.place,
        "attendance_min": action.attendance_min,
        "attendance_max": action.attendance_max,
        "speakers": action.speakers,
        "summary": action.summary,
        "participants": "\n".join(e.slug for e in action.participants.order_by("name")),
    }
    form = ActionForm(request.POST or None, initial=initial)
    form.citation_required = False
    form.fields["source"].help_text = "Optional here: a further source to add to the action."
    if request.method == "POST" and form.is_valid():
        try:
            _save_action(request, campaign, form, action)
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Saved the action {action.title}.")
            return redirect(_manage_url(campaign, f"action-{action.pk}"))
    return render_form(request, form, f"Edit action: {action.title}", campaign)


# --- coalition ----------------------------------------------------------------------


def _coalition_response(
    request: HttpRequest, campaign: Campaign, form: CoalitionForm, anchor: str = "coalition"
) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    if getattr(request, "htmx", False):
        context = {
            "campaign": campaign,
            "coalition": queries.coalition_of(campaign),
            "coalition_form": form,
        }
        # htmx swaps only 2xx answers: a refusal comes back as 200 with its message inside.
        return render(request, "campaigns/_coalition_editor.html", context)
    if status == 400:
        return render_form(request, form, f"Add to the coalition: {campaign.name}", campaign)
    return redirect(_manage_url(campaign, anchor))


@require_POST
@campaign_role(MemberRole.EDITOR)
def coalition_add(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = CoalitionForm(request.POST, auto_id="coalition-%s")
    if form.is_valid():
        try:
            member = services.add_coalition_member(
                campaign, form.cleaned_data["organisation"], form.cleaned_data["role"]
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"{member.organisation.name} is in the coalition.")
            form = CoalitionForm(auto_id="coalition-%s")
    return _coalition_response(request, campaign, form)


@require_POST
@campaign_role(MemberRole.EDITOR)
def coalition_remove(request: HttpRequest, campaign: Campaign, entity_slug: str) -> HttpResponse:
    organisation = get_object_or_404(Entity, slug=entity_slug)
    if not services.remove_coalition_member(campaign, organisation):
        raise Http404("not in the coalition")
    messages.success(request, f"{organisation.name} left the coalition.")
    return _coalition_response(request, campaign, CoalitionForm(auto_id="coalition-%s"))


# --- goals --------------------------------------------------------------------------


@campaign_role(MemberRole.EDITOR)
def goal_edit(request: HttpRequest, campaign: Campaign, pk: int | None = None) -> HttpResponse:
    goal = get_object_or_404(campaign.goals, pk=pk) if pk is not None else None
    initial = (
        {
            "metric": goal.metric,
            "target": goal.target,
            "deadline": goal.deadline,
            "duration_days": goal.duration_days,
            "progress_source": goal.progress_source,
            "basis": goal.basis,
            "basis_note": goal.basis_note,
        }
        if goal
        else {}
    )
    form = GoalForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                goal = services.set_goal(
                    campaign,
                    goal=goal,
                    metric=d["metric"],
                    target=d["target"],
                    deadline=d["deadline"],
                    duration_days=d["duration_days"],
                    progress_source=d["progress_source"] or None,
                    basis=d["basis"] or None,
                    basis_note=d["basis_note"],
                    citations=[form.citation(request.user)],
                    created_by=request.user,
                )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Saved the goal: {goal}.")
            return redirect(_manage_url(campaign, f"goal-{goal.pk}"))
    heading = f"Edit goal: {goal}" if goal else f"New goal: {campaign.name}"
    return render_form(request, form, heading, campaign)


@campaign_role(MemberRole.EDITOR)
def goal_progress(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    goal = get_object_or_404(campaign.goals, pk=pk)
    form = GoalProgressForm(request.POST or None, initial={"value": goal.value})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                services.update_goal_counter(
                    goal,
                    d["value"],
                    citation=form.citation(request.user),
                    note=d["note"],
                    decided_by=request.user,
                )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Progress: {goal.value} of {goal.target} {goal.metric}.")
            return redirect(_manage_url(campaign, f"goal-{goal.pk}"))
    return render_form(
        request,
        form,
        f"Update progress: {goal}",
        campaign,
        intro=f"Now {goal.value} of {goal.target}. Each update needs the source that reports it.",
    )


# --- members ------------------------------------------------------------------------


def _members_page(
    request: HttpRequest,
    campaign: Campaign,
    form: MemberForm | None = None,
    invite_form: InviteForm | None = None,
) -> HttpResponse:
    form = form or MemberForm()
    invite_form = invite_form or InviteForm()
    context = {
        "campaign": campaign,
        "form": form,
        "invite_form": invite_form,
        "invitations": links.pending_invitations(campaign),
        "members": CampaignMembership.objects.filter(campaign=campaign)
        .select_related("user")
        .order_by("user__username"),
    }
    failed = any(f.is_bound and f.errors for f in (form, invite_form))
    return render(request, "campaigns/members.html", context, status=400 if failed else 200)


@campaign_role(MemberRole.ORGANISER)
def members(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        user_model = get_user_model()
        lookup: dict[str, Any] = {str(user_model.USERNAME_FIELD): d["username"]}
        user = user_model._default_manager.filter(**lookup).first()
        if user is None:
            form.add_error("username", f"No user is named {d['username']!r}.")
        else:
            try:
                services.add_campaign_member(campaign, user, d["role"])
            except ValidationError as exc:
                form_error(form, exc)
            else:
                role = MemberRole(d["role"]).label.lower()
                messages.success(
                    request, f"{user.get_username()} now has the {role} role in the campaign."
                )
                return redirect(reverse("campaign-members", args=[campaign.slug]))
    return _members_page(request, campaign, form=form)


@require_POST
@campaign_role(MemberRole.ORGANISER)
def member_invite(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    """Invite someone by email; the link lets them make an account with the role."""
    invite_form = InviteForm(request.POST)
    if invite_form.is_valid():
        d = invite_form.cleaned_data
        try:
            links.invite(
                campaign,
                d["email"],
                d["role"],
                invited_by=request.user,
                accept_url=lambda token: request.build_absolute_uri(
                    reverse("invitation", args=[token])
                ),
            )
        except links.EmailNotSent:
            invite_form.add_error(
                None,
                "The invitation was not sent: the site's mail server did not take the email. "
                "Nothing was kept; ask an administrator to check the site's email settings.",
            )
        except ValidationError as exc:
            form_error(invite_form, exc)
        else:
            role = MemberRole(d["role"]).label.lower()
            messages.success(request, f"Sent an invitation with the {role} role to {d['email']}.")
            return redirect(reverse("campaign-members", args=[campaign.slug]))
    return _members_page(request, campaign, invite_form=invite_form)


@require_POST
@campaign_role(MemberRole.ORGANISER)
def invitation_revoke(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, campaign=campaign, pk=pk, accepted_at__isnull=True)
    invitation.delete()
    messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect(reverse("campaign-members", args=[campaign.slug]))


@require_POST
@campaign_role(MemberRole.ORGANISER)
def member_remove(request: HttpRequest, campaign: Campaign, pk: int) -> HttpResponse:
    membership = get_object_or_404(CampaignMembership, campaign=campaign, pk=pk)
    try:
        services.remove_campaign_member(campaign, membership.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user.get_username()} left the campaign.")
    return redirect(reverse("campaign-members", args=[campaign.slug]))
