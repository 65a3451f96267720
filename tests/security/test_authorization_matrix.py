"""Who may open what: every route of the URL configuration against every role.

The routes are read from the resolver, the API's included, so a new route
without a rule in ``RULES`` fails ``test_every_route_has_a_rule``. Each route
is then opened (GET, or the API operation's own method) by each role and the
answer sorted into allowed (2xx, or a redirect elsewhere than a login or
two-factor page) or refused (a login or two-factor redirect, 401, 403, 404,
405). Routes of a campaign run twice: on the public demo campaign and on a
private one, where anyone but a member answers 404.

An organiser and a superuser who have not turned two-factor login on open
what their verified selves open, except the pages that show or change
accounts, tokens, keys or supporters (the rules in ``TWO_FACTOR_RULES``, the
whole admin among them): there they are sent to turn it on.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from receipts import demo
from receipts.api.api import api
from receipts.campaigns import services as campaigns
from receipts.campaigns.models import (
    ActionKind,
    Campaign,
    CampaignMembership,
    MemberRole,
    Visibility,
)
from receipts.evidence.models import Entity, Source, Tie
from receipts.evidence.services import attach_archive
from receipts.outreach import services as outreach
from receipts.outreach.models import Flyer, SignupForm
from receipts.screening.models import ScreeningProfile
from receipts.watch.models import Watchlist
from tests.campaigns.factories import (
    cite,
    make_campaign,
    make_demand,
    make_member,
    make_organisation,
    make_user,
)
from tests.factories import login_verified, make_editor
from tests.outreach.factories import make_flyer, make_form, sign_up

VERIFIED_ROLES = ("anonymous", "outsider", "viewer", "editor", "organiser", "superuser")
# Users who must use two-factor login but have not turned it on, and their verified selves.
UNVERIFIED = {"organiser-no-2fa": "organiser", "superuser-no-2fa": "superuser"}
ROLES = VERIFIED_ROLES + tuple(UNVERIFIED)
MEMBERS = frozenset({"viewer", "editor", "organiser", "organiser-no-2fa"})
SUPERUSERS = frozenset({"superuser", "superuser-no-2fa"})

# Pages that show or change accounts, tokens, keys or supporters: they need two factors.
TWO_FACTOR_RULES = frozenset({"admin", "account", "campaign-members", "supporter-data"})

# What each rule allows: the verified roles that open the route.
ALLOWED: dict[str, frozenset[str]] = {
    "public": frozenset(VERIFIED_ROLES),
    "signed-in": frozenset(VERIFIED_ROLES) - {"anonymous"},
    # The password pages of one's own account.
    "account": frozenset(VERIFIED_ROLES) - {"anonymous"},
    # Evidence editors hold evidence.add_tie; the organiser here does not.
    "evidence-editor": frozenset({"editor", "superuser"}),
    "campaign-viewer": frozenset(VERIFIED_ROLES),
    "campaign-editor": frozenset({"editor", "organiser", "superuser"}),
    "campaign-organiser": frozenset({"organiser", "superuser"}),
    # Who is a member of the campaign, in which role (the organiser role opens supporter data).
    "campaign-members": frozenset({"organiser", "superuser"}),
    # Supporter data: the campaign's own organisers only, never staff by status.
    "supporter-data": frozenset({"organiser"}),
    # The sample watchlist belongs to the organiser; anyone else's is not found.
    "watchlist-owner": frozenset({"organiser"}),
    # The sample screening profile has no creator: superusers only may change it.
    "profile-changer": frozenset({"superuser"}),
    "superuser": frozenset({"superuser"}),
    # Django's admin: accounts, API tokens, two-factor devices, supporters' organisations.
    "admin": frozenset({"superuser"}),
    # A form action: GET answers 405 (or a login redirect) to everyone.
    "post-only": frozenset(),
    # An API write: session cookies never authenticate one, so 401 to everyone.
    "token-write": frozenset(),
    # Nothing to show to a GET here (no setup under way, a catch-all for 404s).
    "nobody": frozenset(),
    # Non-staff are sent to the admin index (which sends them to sign in); staff get 405.
    "admin-logout": frozenset(VERIFIED_ROLES) - {"superuser"},
    # Sign-up forms are open to anyone with the link, a private campaign's too
    # (its form does not name the campaign).
    "sign-up-form": frozenset(VERIFIED_ROLES),
}


def allowed_roles(rule: str) -> frozenset[str]:
    """The roles that open a route under ``rule``, unverified ones included."""
    verified = ALLOWED[rule]
    if rule in TWO_FACTOR_RULES or rule == "watchlist-owner":
        # Two factors needed; or the sample watchlist is the verified organiser's own.
        return verified
    return verified | {role for role, itself in UNVERIFIED.items() if itself in verified}


RULES: dict[str, str] = {
    # Django's admin: staff pages, except its login page.
    "admin:*": "admin",
    "admin:login": "public",
    "admin:logout": "admin-logout",
    "admin:(?P<url>.*)$": "nobody",
    "admin:autocomplete": "nobody",
    # django-otp shows a device's key only while it is unconfirmed; every sample device is.
    "admin:otp_totp_totpdevice_config": "nobody",
    "admin:otp_totp_totpdevice_qrcode": "nobody",
    # Rows written only through the services: the admin adds and deletes none.
    "admin:watch_delivery_add": "nobody",
    "admin:watch_changeevent_add": "nobody",
    "admin:outreach_signupform_add": "nobody",
    "admin:outreach_signupform_delete": "nobody",
    "admin:outreach_organisation_add": "nobody",
    "admin:outreach_organisation_delete": "nobody",
    "admin:outreach_flyer_add": "nobody",
    "admin:outreach_flyer_delete": "nobody",
    "admin:outreach_consenttext_add": "nobody",
    "admin:outreach_consenttext_delete": "nobody",
    "admin:outreach_consentrecord_add": "nobody",
    "admin:outreach_consentrecord_delete": "nobody",
    "admin:outreach_campaignorganisation_add": "nobody",
    "admin:outreach_campaignorganisation_delete": "nobody",
    "admin:outreach_auditevent_add": "nobody",
    "admin:outreach_auditevent_delete": "nobody",
    "admin:evidence_citation_add": "nobody",
    "admin:evidence_citation_delete": "nobody",
    "admin:django_tasks_database_dbtaskresult_add": "nobody",
    "admin:django_tasks_database_dbtaskresult_delete": "nobody",
    "admin:campaigns_goal_add": "nobody",
    "admin:campaigns_goal_delete": "nobody",
    "admin:campaigns_demand_add": "nobody",
    "admin:campaigns_demand_delete": "nobody",
    "admin:campaigns_campaigncitation_add": "nobody",
    "admin:campaigns_campaigncitation_delete": "nobody",
    "admin:campaigns_action_add": "nobody",
    "admin:campaigns_action_delete": "nobody",
    "admin:api_apitoken_add": "nobody",
    "admin:api_apitoken_delete": "nobody",
    "admin:accounts_recoverycodeset_add": "nobody",
    "admin:accounts_codeattempts_add": "nobody",
    # Login failures are counted by django-axes alone.
    "admin:axes_accessattempt_add": "nobody",
    "admin:axes_accesslog_add": "nobody",
    "admin:axes_accessfailurelog_add": "nobody",
    # Accounts.
    "login": "public",
    "logout": "post-only",
    "password_change": "account",
    "password_change_done": "account",
    "password_reset": "public",
    "password_reset_done": "public",
    "password_reset_confirm": "public",
    "password_reset_complete": "public",
    # Pages behind one-time links: a made-up token opens nothing (410) for anyone.
    "invitation": "nobody",
    "login-link": "nobody",
    "two-factor": "signed-in",
    "two-factor-turn-on": "signed-in",
    "two-factor-qr": "nobody",
    "two-factor-verify": "signed-in",
    "two-factor-turn-off": "signed-in",
    # API: reads are public (campaign reads follow the campaign's visibility).
    "api:api-root": "nobody",
    "api:openapi-json": "public",
    "api:openapi-view": "public",
    "api:list_entities": "public",
    "api:get_entity": "public",
    "api:entity_ties": "public",
    "api:get_tie": "public",
    "api:list_sources": "public",
    "api:get_source": "public",
    "api:list_campaigns": "public",
    "api:get_campaign": "campaign-viewer",
    "api:list_demands": "campaign-viewer",
    "api:list_actions": "campaign-viewer",
    "api:list_coalition": "campaign-viewer",
    "api:list_goals": "campaign-viewer",
    "api:create_entity": "token-write",
    "api:update_entity": "token-write",
    "api:update_tie": "token-write",
    "api:create_tie": "token-write",
    "api:cite_tie": "token-write",
    "api:create_source": "token-write",
    "api:create_capture": "token-write",
    "api:get_capture": "public",
    "api:list_captures": "public",
    "api:create_campaign": "token-write",
    "api:update_campaign": "token-write",
    "api:create_demand": "token-write",
    "api:update_demand": "token-write",
    "api:change_demand_status": "token-write",
    "api:confirm_demand_met": "token-write",
    "api:create_action": "token-write",
    "api:update_action": "token-write",
    "api:add_coalition_member": "token-write",
    "api:remove_coalition_member": "token-write",
    "api:create_goal": "token-write",
    "api:update_goal": "token-write",
    "api:update_goal_progress": "token-write",
    # Evidence pages.
    "home": "public",
    "favicon": "public",
    "entities": "public",
    "sources": "public",
    "entity-watch": "post-only",
    "entity": "public",
    "entity-map": "public",
    "tie": "public",
    "source": "public",
    "source-archive": "public",
    "entity-new": "evidence-editor",
    "entity-edit": "evidence-editor",
    "source-new": "evidence-editor",
    "source-edit": "evidence-editor",
    "source-search": "evidence-editor",
    "source-archive-upload": "evidence-editor",
    "capture-file": "public",
    "source-from-link": "evidence-editor",
    "source-confirm": "evidence-editor",
    "source-capture": "post-only",
    "tie-new": "evidence-editor",
    "tie-check": "evidence-editor",
    "tie-edit": "evidence-editor",
    "tie-cite": "evidence-editor",
    "review": "evidence-editor",
    "review-decide": "post-only",
    "merge-undo": "post-only",
    # Subscriptions to USAspending (editors).
    "fetch-subscriptions": "evidence-editor",
    "fetch-subscription-remove": "post-only",
    # Campaigns.
    "campaigns": "public",
    "campaign": "campaign-viewer",
    "campaign-brief": "campaign-viewer",
    "campaign-card": "campaign-viewer",
    "campaign-short": "public",
    "campaign-new": "superuser",
    "campaign-manage": "campaign-editor",
    "campaign-settings": "campaign-organiser",
    "demand-new": "campaign-editor",
    "demand-edit": "campaign-editor",
    "demand-status": "campaign-editor",
    "demand-confirm-met": "post-only",
    "action-new": "campaign-editor",
    "action-edit": "campaign-editor",
    "coalition-add": "post-only",
    "coalition-remove": "post-only",
    "goal-new": "campaign-editor",
    "goal-edit": "campaign-editor",
    "goal-progress": "campaign-editor",
    "campaign-members": "campaign-members",
    "campaign-member-remove": "post-only",
    "campaign-invite": "post-only",
    "campaign-invitation-revoke": "post-only",
    # Outreach.
    "outreach-flyer-short": "campaign-viewer",
    "outreach-join": "sign-up-form",
    "outreach-thanks": "sign-up-form",
    "outreach-flyer-svg": "campaign-editor",
    "outreach-flyer-png": "campaign-editor",
    "outreach-flyer-print": "campaign-editor",
    "outreach-manage": "campaign-editor",
    "outreach-form-new": "campaign-editor",
    "outreach-form-edit": "campaign-editor",
    "outreach-flyer-new": "campaign-editor",
    "outreach-review": "supporter-data",
    "outreach-decide": "post-only",
    "outreach-supporters": "supporter-data",
    "outreach-export": "supporter-data",
    "outreach-export-osdi": "supporter-data",
    "outreach-confirm": "nobody",
    "outreach-withdraw": "nobody",
    "outreach-erase": "supporter-data",
    "outreach-attribution": "supporter-data",
    # Screening.
    "screen": "public",
    "screening-profile-new": "signed-in",
    "screening-profile": "public",
    "screening-profile-edit": "profile-changer",
    # Watchlists.
    "watchlists": "signed-in",
    "watchlist": "watchlist-owner",
    "watchlist-entities": "post-only",
    "watchlist-unwatch": "post-only",
    "watchlist-webhook": "post-only",
    "watchlist-email": "post-only",
    "watchlist-ending-warnings": "post-only",
    "watchlist-channel-remove": "post-only",
    "watchlist-rotate": "post-only",
    "watchlist-delete": "post-only",
    "watchlist-feed": "public",
}

# Routes named by a campaign's slug; they run on a public and on a private campaign.
CAMPAIGN_PREFIXES = ("campaigns/<", "edit/campaigns/<", "api/campaigns/<")
# Routes whose ``slug`` names something other than a campaign.
SLUG_OF = {
    "entity": "entity",
    "entity-map": "entity",
    "entity-edit": "entity",
    "api:get_entity": "entity",
    "api:update_entity": "entity",
    "api:entity_ties": "entity",
    "screening-profile": "profile",
    "screening-profile-edit": "profile",
}
# What the ``pk`` of a route names (routes left out take any number: they refuse a GET).
PK_OF = {
    "demand-edit": "demand",
    "demand-status": "demand",
    "demand-confirm-met": "demand",
    "action-edit": "action",
    "goal-edit": "goal",
    "goal-progress": "goal",
    "outreach-form-edit": "form",
    "campaign-member-remove": "membership",
    "tie": "tie",
    "tie-edit": "tie",
    "tie-cite": "tie",
    "source": "source",
    "source-archive": "source",
    "source-edit": "source",
    "source-archive-upload": "source",
    "source-confirm": "source",
    "source-capture": "source",
    "watchlist": "watchlist",
}


@dataclass(frozen=True)
class Route:
    key: str
    pattern: str
    names: tuple[str, ...]  # the keyword arguments of the pattern, in order
    method: str = "GET"
    named: bool = True


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            key = namespace + (entry.name or str(entry.pattern))
            names = tuple(entry.pattern.regex.groupindex)
            yield Route(key, pattern, names, API_METHODS.get(key, "GET"), entry.name is not None)


def _api_methods() -> dict[str, str]:
    """The HTTP method of each API operation, by route name (the operation's view name)."""
    methods = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                methods[f"api:{operation.view_func.__name__}"] = operation.methods[0]
    return methods


API_METHODS = _api_methods()
ROUTES = list(_walk(get_resolver().url_patterns))


def rule_for(key: str) -> str | None:
    """The route's own rule, else that of the longest wildcard that covers it, else None."""
    if key in RULES:
        return RULES[key]
    covering = [k for k in RULES if k.endswith("*") and key.startswith(k[:-1])]
    return RULES[max(covering, key=len)] if covering else None


def is_campaign_route(route: Route) -> bool:
    return route.pattern.startswith(CAMPAIGN_PREFIXES) and route.key not in SLUG_OF


# --- the world: users and evidence, built once for the module ------------------------


@dataclass
class CampaignSample:
    campaign: Campaign
    form: SignupForm
    flyer: Flyer
    coalition_slug: str
    supporter_uid: str
    ids: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    users: dict[str, User]
    campaigns: dict[str, CampaignSample]
    entity: Entity
    tie: Tie
    source: Source
    profile: ScreeningProfile
    watchlist: Watchlist
    sessions: dict[str, str]


@pytest.fixture(scope="module")
def module_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("authorization")


@pytest.fixture(autouse=True)
def outreach_key_dir(settings: Any, module_folder: Path) -> Path:
    """Supporter keys made for the module's campaigns stay readable in every test."""
    settings.OUTREACH_KEY_DIR = module_folder / "keys"
    return settings.OUTREACH_KEY_DIR


def _sample(campaign: Campaign, form: SignupForm, flyer: Flyer) -> CampaignSample:
    supporter = sign_up(form).supporter
    coalition = campaign.coalition.select_related("organisation").first()
    assert coalition is not None
    return CampaignSample(
        campaign=campaign,
        form=form,
        flyer=flyer,
        coalition_slug=coalition.organisation.slug,
        supporter_uid=str(supporter.uid),
        ids={
            "demand": campaign.demands.first().pk,  # type: ignore[union-attr]
            "action": campaign.actions.first().pk,  # type: ignore[union-attr]
            "goal": campaign.goals.first().pk,  # type: ignore[union-attr]
            "form": form.pk,
            "membership": CampaignMembership.objects.filter(campaign=campaign).first().pk,  # type: ignore[union-attr]
        },
    )


def _private_campaign(entity: Entity, members: dict[str, User]) -> CampaignSample:
    campaign = make_campaign("Private campaign", targets=[entity], visibility=Visibility.PRIVATE)
    make_demand(campaign)
    campaigns.record_action(
        campaign, kind=ActionKind.RALLY, title="A rally", date="2026", citations=[cite()]
    )
    campaigns.add_coalition_member(campaign, make_organisation())
    campaigns.set_goal(campaign, metric="new members", target=10)
    for role, user in members.items():
        campaigns.add_campaign_member(campaign, user, UNVERIFIED.get(role, role))
    organisation = outreach.save_organisation("private-org", "Private organisation")
    outreach.assign_organisation(campaign, organisation)
    form = make_form(campaign)
    return _sample(campaign, form, make_flyer(campaign, form))


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, module_folder: Path) -> Iterator[World]:
    """The demo, a private campaign and one user per role, rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(
            OUTREACH_KEY_DIR=module_folder / "keys", ARCHIVE_DIR=module_folder / "archive"
        ),
        transaction.atomic(),
    ):
        demo.load_demo()
        public = Campaign.objects.get(slug=demo.CAMPAIGN_SLUG)
        users = {
            "outsider": make_user("outsider"),
            "viewer": make_user("viewer"),
            "editor": make_editor("editor"),
            "organiser": make_user("organiser"),
            "superuser": User.objects.create_superuser("root", password=None),
            "organiser-no-2fa": make_user("organiser-no-2fa"),
            "superuser-no-2fa": User.objects.create_superuser("root-no-2fa", password=None),
        }
        members = {
            role: users[role] for role in ("viewer", "editor", "organiser", "organiser-no-2fa")
        }
        for role, user in members.items():
            make_member(public, user.username, MemberRole(UNVERIFIED.get(role, role)))
        entity = Entity.objects.get(ftm_id=f"{demo.PREFIX}amazon")
        form = SignupForm.objects.get(campaign=public, slug=demo.EMPLOYEE_FORM_SLUG)
        flyer = Flyer.objects.get(code=demo.FLYER_CODE)
        # One verified login per role, reused by every test (each rolls its changes back).
        # The unverified ones log in with a password alone and have no device.
        sessions = {}
        for role, user in users.items():
            client = Client()
            if role in UNVERIFIED:
                client.force_login(user)
            else:
                login_verified(client, user)
            sessions[role] = client.session.session_key
        yield World(
            sessions=sessions,
            users=users,
            campaigns={
                "public": _sample(public, form, flyer),
                "private": _private_campaign(entity, members),
            },
            entity=entity,
            tie=Tie.objects.filter(ftm_id__startswith=demo.PREFIX).first(),  # type: ignore[arg-type]
            source=Source.objects.get(ftm_id=f"{demo.PREFIX}source-truthout-report"),
            profile=ScreeningProfile.objects.first(),  # type: ignore[arg-type]
            watchlist=Watchlist.objects.create(name="Mine", owner=users["organiser"]),
        )
        transaction.set_rollback(True)


# --- sample arguments ------------------------------------------------------------------


def sample_kwargs(route: Route, world: World, sample: CampaignSample | None) -> dict[str, Any]:
    """Arguments naming rows that exist, so a refusal is never a missing row's 404."""
    kwargs: dict[str, Any] = {}
    for name in route.names:
        if name == "slug":
            kind = SLUG_OF.get(route.key, "campaign")
            kwargs[name] = {
                "entity": world.entity.slug,
                "profile": world.profile.slug,
                "campaign": sample.campaign.slug if sample else "",
            }[kind]
        elif name == "form_slug":
            kwargs[name] = sample.form.slug  # type: ignore[union-attr]
        elif name == "code" and route.key == "campaign-short":
            from receipts.campaigns.share import short_code

            kwargs[name] = short_code(sample.campaign)  # type: ignore[union-attr]
        elif name == "code":
            kwargs[name] = sample.flyer.code  # type: ignore[union-attr]
        elif name == "fmt":
            kwargs[name] = "json"
        elif name == "entity_slug" or name == "organisation":
            kwargs[name] = sample.coalition_slug  # type: ignore[union-attr]
        elif name == "uid":
            kwargs[name] = sample.supporter_uid  # type: ignore[union-attr]
        elif name in ("demand_id", "action_id", "goal_id"):
            kwargs[name] = sample.ids[name.removesuffix("_id")]  # type: ignore[union-attr]
        elif name == "tie_id":
            kwargs[name] = world.tie.pk
        elif name == "source_id":
            kwargs[name] = world.source.pk
        elif name == "token" and route.key == "watchlist-feed":
            kwargs[name] = str(world.watchlist.feed_token)
        elif name == "pk":
            kwargs[name] = _pk(route, world, sample)
        elif name == "object_id":
            kwargs[name] = "1"
        elif name == "content_type_id":
            kwargs[name] = ContentType.objects.get_for_model(Entity).pk
        elif name == "id":
            kwargs[name] = world.users["superuser"].pk
        elif name == "app_label":
            kwargs[name] = "evidence"
        elif name == "url":
            kwargs[name] = "no-such-page/"
        elif name == "uidb64":
            kwargs[name] = "MQ"
        elif name == "sha256":
            kwargs[name] = "0" * 64  # replaced by the archived copy's in the test
        else:
            kwargs[name] = "1"
    if route.key == "admin:view_on_site":
        kwargs["object_id"] = str(world.entity.pk)
    if route.key == "password_reset_confirm":
        kwargs["token"] = "set-password"
    return kwargs


def _pk(route: Route, world: World, sample: CampaignSample | None) -> int:
    kind = PK_OF.get(route.key)
    if kind is None and route.key.startswith("admin:otp_totp"):
        kind = "device"
    if kind in ("demand", "action", "goal", "form", "membership"):
        return sample.ids[kind]  # type: ignore[union-attr]
    found = {
        "tie": world.tie.pk,
        "source": world.source.pk,
        "watchlist": world.watchlist.pk,
    }
    if kind == "device":
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=world.users["superuser"]).first()
        return device.pk if device is not None else 1
    return found.get(kind or "", 1)


# --- the outcome of a request ------------------------------------------------------------

# 410: a one-time link that does not work (made up, used or expired).
REFUSED = {"login", "second-factor", "401", "403", "404", "405", "410"}
# Where a signed-in user is sent to give or set up a second factor.
SECOND_FACTOR = ("/accounts/two-factor/verify/", "/accounts/two-factor/turn-on/")


def outcome(response: Any) -> str:
    """``allowed``, ``login``, ``second-factor`` (sent to set up or give one) or the status code."""
    status = response.status_code
    if 200 <= status < 300:
        return "allowed"
    if status in (301, 302, 303, 307, 308):
        location = response["Location"]
        if location.startswith(SECOND_FACTOR):
            return "second-factor"
        if "/login/" in location:
            return "login"
        return "allowed"
    return str(status)


def _client(world: World, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


CASES = [
    pytest.param(route, visibility, id=f"{route.key}-{visibility}")
    for route in ROUTES
    for visibility in (("public", "private") if is_campaign_route(route) else ("-",))
]


def test_every_route_has_a_rule() -> None:
    missing = sorted(route.key for route in ROUTES if rule_for(route.key) is None)
    assert missing == [], f"routes without a rule in RULES: {missing}"
    assert {rule_for(route.key) for route in ROUTES} <= set(ALLOWED)
    assert set(ALLOWED) >= TWO_FACTOR_RULES


def test_every_rule_names_a_route() -> None:
    """Route names and rule keys are the same set: no stale rule outlives its route."""
    keys = {route.key for route in ROUTES}
    covered = {key for key in keys if key in RULES} | {
        pattern
        for pattern in RULES
        if pattern.endswith("*") and any(key.startswith(pattern[:-1]) for key in keys)
    }
    assert covered == set(RULES)


def test_the_site_asks_two_factors_of_every_route_the_rules_say_needs_them() -> None:
    """The middleware's list (settings) and the rules here name the same pages."""
    keys = {route.key for route in ROUTES}
    assert keys >= settings.TWO_FACTOR_VIEWS
    needing = {
        route.key
        for route in ROUTES
        if rule_for(route.key) in TWO_FACTOR_RULES
        and not route.key.startswith(tuple(f"{ns}:" for ns in settings.TWO_FACTOR_NAMESPACES))
    }
    assert needing <= settings.TWO_FACTOR_VIEWS


def test_a_route_without_a_rule_is_caught() -> None:
    assert rule_for("brand-new-page") is None
    assert rule_for("admin:brand_new_changelist") == "admin"


def test_the_matrix_covers_every_route_and_role() -> None:
    assert len(ROUTES) > 100
    assert {case.values[0].key for case in CASES} == {route.key for route in ROUTES}
    assert len(ROLES) == 8


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize(("route", "visibility"), CASES)
def test_route_answers_each_role(world: World, route: Route, visibility: str) -> None:
    rule = rule_for(route.key)
    assert rule is not None
    sample = world.campaigns.get(visibility) or world.campaigns["public"]
    kwargs = sample_kwargs(route, world, sample)
    if route.key == "source-archive":
        attach_archive(world.source, io.BytesIO(b"an archived copy"), "copy.txt")
        world.source.refresh_from_db()
        kwargs["sha256"] = world.source.archive_sha256
    if route.key in ("capture-file", "source-confirm", "api:get_capture"):
        from tests.captures.factories import make_capture

        capture = make_capture(world.source)
        kwargs.update(
            {
                "capture-file": {"pk": capture.pk, "role": "text"},
                "source-confirm": {"capture_pk": capture.pk},
                "api:get_capture": {"capture_id": capture.pk},
            }[route.key]
        )
    url = _url(route, kwargs)
    private = visibility == "private"
    allowed = allowed_roles(rule)
    if private and rule != "sign-up-form":
        allowed = allowed & (MEMBERS | SUPERUSERS)
    wrong = {}
    for role in ROLES:
        client = _client(world, role)
        if route.method == "GET":
            response = client.get(url)
        else:
            response = client.generic(route.method, url, "{}", content_type="application/json")
        got = outcome(response)
        if not _as_expected(got, role, rule, allowed, private):
            wrong[role] = got
    assert wrong == {}, f"{route.method} {url} under rule {rule!r}"


def _as_expected(got: str, role: str, rule: str, allowed: frozenset[str], private: bool) -> bool:
    if role in allowed:
        return got == "allowed"
    if rule in TWO_FACTOR_RULES and UNVERIFIED.get(role) in allowed:
        # Its verified self opens the page: without two factors it is sent to turn them on.
        return got == "second-factor"
    if rule in TWO_FACTOR_RULES and role in UNVERIFIED and got == "second-factor":
        # Sent to turn two factors on before the page looks anything up: that tells nothing.
        return True
    if got not in REFUSED:
        return False
    if rule == "token-write":
        # Session cookies never authenticate an API write.
        return got == "401"
    if private and role not in MEMBERS and rule != "post-only":
        # A private campaign does not exist for non-members; the anonymous may be
        # sent to sign in first.
        return got == "404" or (role == "anonymous" and got == "login")
    return True


def _url(route: Route, kwargs: dict[str, Any]) -> str:
    from django.urls import reverse

    if not route.named:
        # An unnamed route (the admin's object redirects, its catch-all): fill it by hand.
        return "/" + _fill(route.pattern, kwargs)
    return reverse(route.key, kwargs=kwargs)


def _fill(pattern: str, kwargs: dict[str, Any]) -> str:
    import re

    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), text)
    return text.replace("^", "").replace("$", "")
