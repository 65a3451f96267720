"""Watchlists and the change events they deliver: what changed, to whom it went, and how.

Invariant: one change makes one ``ChangeEvent`` (its ``dedupe_key`` is unique),
and one event goes to one channel at most once (``DeliveryEvent`` is unique on
channel and event). Events keep a snapshot of their names and receipts, so an
alert still reads right after the tie, award or demand behind it is deleted.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from receipts.campaigns.models import Campaign, Demand, DemandStatusChange
from receipts.contracts.models import ContractAward
from receipts.evidence.models import Entity, Source, Tie


class EventKind(models.TextChoices):
    TIE_ADDED = "tie_added", "Tie added"
    TIE_ENDED = "tie_ended", "Tie ended"
    TIE_REMOVED = "tie_removed", "Tie removed"
    CONTRACT_NEW = "contract_new", "New contract tie"
    AWARD_NEW = "award_new", "New contract award"
    DEMAND_STATUS_CHANGED = "demand_status_changed", "Demand status changed"
    CONTRACT_ENDING = "contract_ending", "Contract ending"
    SOURCE_CHANGED = "source_changed", "Source changed"
    SOURCE_GONE = "source_gone", "Source gone"


class ChangeEvent(models.Model):
    """One change to the evidence or to a campaign that watchers may want to hear of.

    Recorded in the same transaction as the change itself. The foreign keys
    are cleared when their row is deleted; the snapshot fields keep what the
    alert says. Demand events go with their campaign: a deleted private
    campaign leaves nothing behind.

    Only the keys that are looked up often are indexed (the tie, which imports
    delete and recreate, and the campaign); the others (award, demand, source,
    subject, object) are read from the event, and deleting one of those rows,
    rare as it is, scans the events instead of every import paying for more
    indexes.
    """

    uid = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="The event's id in feeds."
    )
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    dedupe_key = models.CharField(
        max_length=300,
        unique=True,
        help_text="Names the change itself (e.g. tie_ended:<tie>:<end date>): the same "
        "change never makes a second event.",
    )
    summary = models.CharField(max_length=1000, help_text="One line saying what changed.")
    date = models.CharField(
        max_length=10,
        blank=True,
        help_text="When the change happened, as its source says: YYYY, YYYY-MM or YYYY-MM-DD.",
    )
    occurred_at = models.DateTimeField(
        db_index=True, help_text="When Receipts recorded the change."
    )
    tie = models.ForeignKey(Tie, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    award = models.ForeignKey(
        ContractAward,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    demand = models.ForeignKey(
        Demand,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    status_change = models.ForeignKey(
        DemandStatusChange,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set for demand events: only watchers who may see the campaign get them.",
    )
    subject = models.ForeignKey(
        Entity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    object = models.ForeignKey(
        Entity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    subject_name = models.CharField(max_length=300, blank=True)
    object_name = models.CharField(max_length=300, blank=True)
    entities = models.ManyToManyField(
        Entity,
        through="EventEntity",
        related_name="+",
        help_text="Every entity the change involves; watchlists match on these.",
    )
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    source = models.ForeignKey(
        Source,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    source_title = models.CharField(max_length=500, blank=True)
    source_url = models.URLField(max_length=2000, blank=True, verbose_name="source URL")
    citation_locator = models.CharField(max_length=500, blank=True)
    citation_quote = models.TextField(blank=True)
    lead_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="For contract_ending: how many days ahead of the end it warns; a watchlist "
        "sees the warnings of the lead times it asks for.",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = "change event"

    def __str__(self) -> str:
        return self.summary


class EventEntity(models.Model):
    """An entity a change event involves: a tie's ends, an award's parties, a campaign's targets."""

    event = models.ForeignKey(ChangeEvent, on_delete=models.CASCADE, related_name="+")
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "event"], name="event_entity_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ~ {self.entity_id}"


def new_feed_token() -> uuid.UUID:
    return uuid.uuid4()


# How many days before a contract's current end a watchlist hears of it, by default.
DEFAULT_ENDING_WARNING_DAYS = [180, 90, 30]


def default_ending_warning_days() -> list[int]:
    return list(DEFAULT_ENDING_WARNING_DAYS)


class Watchlist(models.Model):
    """Entities (with their families and components) whose changes a user wants to hear of."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="watchlists",
        help_text="Who manages it. Demand events of private campaigns reach a watchlist only "
        "when its owner is a member; a watchlist without an owner sees public ones only.",
    )
    entities = models.ManyToManyField(
        Entity,
        related_name="watchlists",
        blank=True,
        help_text="Watched entities; their subsidiaries and components are watched too.",
    )
    feed_token = models.UUIDField(
        default=new_feed_token,
        unique=True,
        editable=False,
        help_text="The secret in the Atom feed's address. Changing it retires the old address.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ending_warning_days = models.JSONField(
        default=default_ending_warning_days,
        blank=True,
        help_text="Days before a watched contract's current end to warn of it (contract_ending "
        "events), e.g. [180, 90, 30]; empty for none.",
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "Email digest"


class Channel(models.Model):
    """A way a watchlist pushes its events out: a signed webhook or an email digest.

    A channel sends only events recorded after it was made, so adding one to
    a watchlist over a full database does not flood it with history (the
    Atom feed shows the recent past instead).
    """

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    url = models.URLField(
        max_length=2000, blank=True, verbose_name="URL", help_text="Webhooks: where to POST."
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Webhooks: the key of the HMAC-SHA256 signature the receiver checks.",
    )
    recipients = models.JSONField(
        default=list, blank=True, help_text="Email digests: the addresses to send to."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["watchlist", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind=ChannelKind.WEBHOOK) & ~models.Q(url="") & ~models.Q(secret="")
                )
                | models.Q(kind=ChannelKind.EMAIL),
                name="watch_webhook_has_url_and_secret",
            )
        ]

    def __str__(self) -> str:
        if self.kind == ChannelKind.WEBHOOK:
            return f"webhook {self.url}"
        return "email to " + ", ".join(self.recipients)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class Delivery(models.Model):
    """One message of a channel: a webhook POST or an email digest carrying a batch of events.

    Retries resend the same body, so a receiver can drop repeats by the
    delivery's ``uid``; after ``RECEIPTS_WATCH_MAX_ATTEMPTS`` failures it gives up.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    body = models.TextField(help_text="What is sent: JSON for webhooks, the text of an email.")
    event_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        db_index=True, help_text="Not tried again before this time."
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel}: {self.event_count} events ({self.status})"


class DeliveryEvent(models.Model):
    """An event carried by a delivery. Unique per channel: each event goes out once per channel."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="items")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(ChangeEvent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "event"], name="delivery_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} via {self.channel_id}"


class DeliveryAttempt(models.Model):
    """The log of one try at sending a delivery."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "attempted_at", "id"]

    def __str__(self) -> str:
        if self.error:
            outcome = self.error
        elif self.status_code is not None:
            outcome = f"HTTP {self.status_code}"
        else:
            outcome = "sent"
        return f"attempt at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {outcome}"
