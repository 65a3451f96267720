"""Campaigns as data: a target, demands backed by ties, actions, a coalition and goals.

Invariant: every demand status change, every action, every goal counter
update and every goal taken from a source carries at least one
``CampaignCitation``; a goal no source gives says so (``GoalBasis``). The models cannot enforce it
alone (a change and its citations are several rows); every write goes through
``services``, which saves them together in one transaction.
"""

from __future__ import annotations

import functools
import operator
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from receipts.evidence.dates import validate_partial_date
from receipts.evidence.models import Entity, Source, Tie

PARTIAL_DATE_HELP = "YYYY, YYYY-MM or YYYY-MM-DD; leave out what the source does not say."
# The largest count a PositiveIntegerField holds on every supported database
# (attendance, goal targets and progress): a larger one is refused, not overflowed.
MAX_COUNT = 2**31 - 1


def new_key() -> str:
    return f"receipts-{uuid.uuid4().hex}"


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    WON = "won", "Won"
    ENDED = "ended", "Ended"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private (members only)"


class Campaign(models.Model):
    """A campaign against one or more target entities, run by its members."""

    slug = models.SlugField(
        max_length=120, unique=True, help_text="Used in the campaign's address; a fixed key."
    )
    name = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="What the campaign is about, in a paragraph.")
    targets = models.ManyToManyField(
        Entity,
        related_name="targeted_by_campaigns",
        blank=True,
        help_text="The companies or agencies the campaign presses; their families roll up.",
    )
    status = models.CharField(
        max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    visibility = models.CharField(
        max_length=20,
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        help_text="A private campaign is visible only to its members.",
    )
    start_date = models.CharField(
        max_length=10,
        blank=True,
        validators=[validate_partial_date],
        help_text=f"When the campaign began. No action may be dated before it. {PARTIAL_DATE_HELP}",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaign", args=[self.slug])

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC


class MemberRole(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ORGANISER = "organiser", "Organiser"


class CampaignMembership(models.Model):
    """A user's role in one campaign: viewers read, editors change, organisers also manage."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_memberships"
    )
    role = models.CharField(max_length=20, choices=MemberRole.choices, default=MemberRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "campaign membership"
        ordering = ["campaign", "user"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="campaign_membership_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display().lower()} — {self.campaign}"


class DemandStatus(models.TextChoices):
    OPEN = "open", "Open"
    MET = "met", "Met"
    PARTLY_MET = "partly_met", "Partly met"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Demand(models.Model):
    """What the campaign asks of its target, linked to the ties it wants ended."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="demands")
    key = models.CharField(
        max_length=200,
        unique=True,
        default=new_key,
        editable=False,
        help_text="A fixed key: saving the same key twice updates one demand.",
    )
    text = models.CharField(max_length=500, help_text="The demand, as the campaign words it.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the page.")
    ties = models.ManyToManyField(
        Tie,
        related_name="demands",
        blank=True,
        help_text="The ties the demand asks to end. When all have ended, the demand is "
        "suggested as met.",
    )
    status = models.CharField(
        max_length=20,
        choices=DemandStatus.choices,
        default=DemandStatus.OPEN,
        help_text="Changed only with a dated, cited entry in the demand's history.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "position", "id"]

    def __str__(self) -> str:
        return self.text


class DemandStatusChange(models.Model):
    """One change of a demand's status: when it happened, who recorded it, and its receipts."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, choices=DemandStatus.choices)
    to_status = models.CharField(max_length=20, choices=DemandStatus.choices)
    date = models.CharField(
        max_length=10,
        validators=[validate_partial_date],
        help_text=f"When the change happened, as the source reports it. {PARTIAL_DATE_HELP}",
    )
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "demand status change"
        ordering = ["demand", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.demand}: {self.from_status} → {self.to_status} ({self.date})"


class ActionKind(models.TextChoices):
    RALLY = "rally", "Rally"
    MARCH = "march", "March"
    LETTER = "letter", "Letter"
    PETITION_DELIVERY = "petition_delivery", "Petition delivery"
    WALKOUT = "walkout", "Walkout"
    SHAREHOLDER_RESOLUTION = "shareholder_resolution", "Shareholder resolution"
    CALL_IN = "call_in", "Call-in"
    OTHER = "other", "Other"


class Action(models.Model):
    """Something the campaign did in public: a rally, a letter, a walkout."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="actions")
    key = models.CharField(
        max_length=200,
        unique=True,
        default=new_key,
        editable=False,
        help_text="A fixed key: saving the same key twice updates one action.",
    )
    kind = models.CharField(max_length=30, choices=ActionKind.choices)
    title = models.CharField(max_length=200, help_text="A short name for the timeline.")
    date = models.CharField(
        max_length=10,
        validators=[validate_partial_date],
        help_text=f"Not before the campaign's start. {PARTIAL_DATE_HELP}",
    )
    place = models.CharField(max_length=300, blank=True)
    attendance_min = models.PositiveIntegerField(
        null=True, blank=True, help_text="The low end of the reported attendance."
    )
    attendance_max = models.PositiveIntegerField(
        null=True, blank=True, help_text="The high end of the reported attendance."
    )
    speakers = models.TextField(
        blank=True,
        help_text="Speakers in their public role only (an official, an organisation's "
        "spokesperson), as text. No private persons.",
    )
    participants = models.ManyToManyField(
        Entity,
        related_name="campaign_actions",
        blank=True,
        help_text="Participating organisations.",
    )
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "date", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.date})"


class CoalitionRole(models.TextChoices):
    LEAD = "lead", "Lead organisation"
    MEMBER = "member", "Member"
    SUPPORTER = "supporter", "Supporter"


class CoalitionMember(models.Model):
    """An organisation in the campaign's coalition, with its role."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="coalition")
    organisation = models.ForeignKey(
        Entity,
        on_delete=models.PROTECT,
        related_name="coalition_memberships",
        help_text="An entity of kind organisation.",
    )
    role = models.CharField(
        max_length=20, choices=CoalitionRole.choices, default=CoalitionRole.MEMBER
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "coalition member"
        ordering = ["campaign", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "organisation"], name="coalition_member_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display().lower()}) in {self.campaign}"


class GoalProgress(models.TextChoices):
    COUNTER = "counter", "A counter editors update with a cited note"
    # Moved by outreach.services when organisers accept or erase sign-ups.
    SIGNUPS = "signups", "People with an accepted sign-up on the campaign's forms"


class GoalBasis(models.TextChoices):
    """Where a goal's figures (target, deadline, duration) come from."""

    OWN = "own", "Set by the campaign"
    SOURCED = "sourced", "From a source"
    EXAMPLE = "example", "An example, not from a source"


# The longest duration a goal may state, in days: a PositiveSmallIntegerField's range.
MAX_DURATION_DAYS = 32767


class Goal(models.Model):
    """A measurable goal: a metric, a target, an optional deadline and the progress so far.

    Its ``basis`` says whose figure the target is: the campaign's own decision,
    a figure reported by a source (then cited, like any claim), or an example
    no source gives, which every page and export marks as such.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="goals")
    key = models.CharField(
        max_length=200,
        unique=True,
        default=new_key,
        editable=False,
        help_text="A fixed key: saving the same key twice updates one goal.",
    )
    metric = models.CharField(max_length=200, help_text="What is counted, e.g. new monthly donors.")
    target = models.PositiveIntegerField(help_text="The count the campaign aims for.")
    deadline = models.CharField(
        max_length=10, blank=True, validators=[validate_partial_date], help_text=PARTIAL_DATE_HELP
    )
    duration_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="How many days the goal runs, when a source gives its length but no dates.",
    )
    progress_source = models.CharField(
        max_length=20, choices=GoalProgress.choices, default=GoalProgress.COUNTER
    )
    basis = models.CharField(
        max_length=20,
        choices=GoalBasis.choices,
        default=GoalBasis.OWN,
        help_text="Where the target, deadline and duration come from. A goal from a source "
        "cites it; an example is marked as one wherever the goal is shown.",
    )
    basis_note = models.CharField(
        max_length=500,
        blank=True,
        help_text="Shown beside the goal: why an example was set, or whose figure it is.",
    )
    value = models.PositiveIntegerField(
        default=0, help_text="The count so far; changed only by a cited update."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "id"]

    def __str__(self) -> str:
        return f"{self.target} {self.metric}"

    @property
    def percent(self) -> int:
        return min(100, self.value * 100 // self.target) if self.target else 0


class GoalUpdate(models.Model):
    """A cited change of a goal's counter."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="updates")
    previous_value = models.PositiveIntegerField()
    value = models.PositiveIntegerField()
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "goal update"
        ordering = ["goal", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.goal}: {self.previous_value} → {self.value}"


def _backs_exactly_one(*fields: str) -> models.Q:
    """True when exactly one of the foreign keys ``fields`` is set."""
    ones = [models.Q(**{f"{f}__isnull": f != chosen for f in fields}) for chosen in fields]
    return functools.reduce(operator.or_, ones)


class CampaignCitation(models.Model):
    """A receipt for an action, a demand status change, a goal update or a goal's figures.

    Campaign citations point to the same ``evidence.Source`` rows as tie
    citations but live here rather than as extra columns on
    ``evidence.Citation``: a private campaign's actions and decisions must
    never surface through the public source pages, the API's ``backs`` list
    or the FollowTheMoney export, which all read ``evidence.Citation``. The
    check constraint keeps each citation backing exactly one thing.
    """

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="campaign_citations")
    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, null=True, blank=True, related_name="citations"
    )
    status_change = models.ForeignKey(
        DemandStatusChange,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
    )
    goal_update = models.ForeignKey(
        GoalUpdate, on_delete=models.CASCADE, null=True, blank=True, related_name="citations"
    )
    goal = models.ForeignKey(
        Goal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        help_text="A goal whose target comes from the cited source.",
    )
    quote = models.TextField(blank=True, help_text="The words in the source that back the claim.")
    locator = models.CharField(
        max_length=500, blank=True, help_text="Where in the source: page, paragraph, record key."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "campaign citation"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=_backs_exactly_one("action", "status_change", "goal_update", "goal"),
                name="campaign_citation_backs_one_thing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} ({self.locator or self.quote[:40]})"
