"""Sending what is pending: each channel's new events, once, and retries of failed sends.

``send_pending`` is what ``receipts watch run`` and the queued task both
call. For every active channel it first retries deliveries that are due,
then, if none of its deliveries is still waiting for a retry, packs the new
events it has not carried yet into deliveries and sends them. An event goes
into a channel's deliveries once (a unique row per channel and event), so a
second run finds nothing new to send; a delivery is claimed with one
conditional UPDATE before it is sent, so two runners at once never send it
twice. A channel whose last send failed waits for that retry before sending
newer events, so a receiver that is down is not hammered and gets its events
in order.

Sending is at least once: a process killed between a receiver's answer and
the recording of it sends that delivery again after its lease runs out, with
the same delivery id for the receiver to recognise.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import queries, webhooks
from .models import (
    ChangeEvent,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    DeliveryEvent,
    DeliveryStatus,
    Watchlist,
)

# Events per message: a webhook body stays small, a digest stays readable.
WEBHOOK_BATCH = 100
EMAIL_BATCH = 500
# A claimed delivery is not claimed again before this, unless its send is recorded.
LEASE = dt.timedelta(minutes=10)
MAX_BACKOFF = dt.timedelta(hours=6)


@dataclass
class SendSummary:
    sent: int = 0
    events: int = 0
    retrying: int = 0
    gave_up: int = 0
    next_attempt_at: dt.datetime | None = None
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"sent {self.sent} deliveries carrying {self.events} events; "
            f"{self.retrying} waiting to retry, {self.gave_up} given up"
        ]
        out += self.errors
        if self.next_attempt_at is not None:
            out.append(f"next retry due at {self.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "events": self.events,
            "retrying": self.retrying,
            "gave_up": self.gave_up,
            "next_attempt_at": None
            if self.next_attempt_at is None
            else self.next_attempt_at.isoformat(),
            "errors": self.errors,
        }


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failures: base, 2 x base, 4 x base... capped."""
    base = dt.timedelta(seconds=float(settings.WATCH_RETRY_SECONDS))
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def _webhook_body(channel: Channel, uid: str, events: list[ChangeEvent]) -> str:
    watchlist = channel.watchlist
    return json.dumps(
        {
            "delivery": uid,
            "watchlist": {"id": watchlist.pk, "name": watchlist.name},
            "events": queries.event_records(events),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _email_body(watchlist: Watchlist, events: list[ChangeEvent]) -> str:
    paths = queries.event_paths(events)
    count = len(events)
    lines = [
        f"{count} new change{'s' if count != 1 else ''} on your Receipts watchlist "
        f"“{watchlist.name}”.",
        "",
    ]
    for e in events:
        lines.append(f"- {e.summary}")
        when = e.date or f"{e.occurred_at:%Y-%m-%d}"
        lines.append(f"  {when} · {queries.site_url(paths[e.pk])}")
        if e.source_title:
            receipt = e.source_title + (f" ({e.citation_locator})" if e.citation_locator else "")
            lines.append(f"  Source: {receipt}" + (f" {e.source_url}" if e.source_url else ""))
        lines.append("")
    lines.append(f"Manage your watchlists: {queries.site_url('/watch/')}")
    return "\n".join(lines) + "\n"


def _new_events(channel: Channel, entity_ids: set[int], limit: int) -> list[ChangeEvent]:
    carried = DeliveryEvent.objects.filter(channel=channel).values("event_id")
    return list(
        queries.events_for(channel.watchlist, entity_ids)
        .filter(occurred_at__gte=channel.created_at)
        .exclude(pk__in=carried)
        .order_by("occurred_at", "id")[:limit]
    )


def _open_delivery(
    channel: Channel, events: list[ChangeEvent], now: dt.datetime
) -> Delivery | None:
    """A claimed delivery carrying these events, or None when another runner took them first."""
    delivery = Delivery(channel=channel, event_count=len(events), next_attempt_at=now + LEASE)
    if channel.kind == ChannelKind.WEBHOOK:
        delivery.body = _webhook_body(channel, str(delivery.uid), events)
    else:
        delivery.body = _email_body(channel.watchlist, events)
    try:
        with transaction.atomic():
            delivery.save()
            DeliveryEvent.objects.bulk_create(
                [DeliveryEvent(delivery=delivery, channel=channel, event=e) for e in events]
            )
    except IntegrityError:
        return None
    return delivery


def _claim(delivery: Delivery, now: dt.datetime) -> bool:
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE)
    return claimed == 1


def _send_email(channel: Channel, delivery: Delivery) -> tuple[int | None, str]:
    count = delivery.event_count
    subject = f"Receipts: {count} new change{'s' if count != 1 else ''} on {channel.watchlist.name}"
    try:
        # One message per recipient: recipients do not see each other's addresses.
        with get_connection() as connection:
            for address in channel.recipients:
                EmailMessage(
                    subject=subject[:200],
                    body=delivery.body,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[address],
                    headers={"X-Receipts-Delivery": str(delivery.uid)},
                    connection=connection,
                ).send()
    except Exception as exc:  # any failure of the mail backend is a failed try, retried
        return None, f"{exc.__class__.__name__}: {exc}"[:1000]
    return None, ""


def _attempt(delivery: Delivery, now: dt.datetime, summary: SendSummary) -> None:
    channel = delivery.channel
    if channel.kind == ChannelKind.WEBHOOK:
        result = webhooks.post(
            channel.url, delivery.body.encode(), channel.secret, delivery_id=str(delivery.uid)
        )
        status_code, error, duration = result.status_code, result.error, result.duration_ms
        if not error and not result.ok:
            error = f"HTTP {status_code}"
    else:
        started = timezone.now()
        status_code, error = _send_email(channel, delivery)
        duration = int((timezone.now() - started).total_seconds() * 1000)
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        summary.sent += 1
        summary.events += delivery.event_count
    elif delivery.attempts >= settings.WATCH_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        summary.gave_up += 1
        summary.errors.append(f"gave up on {channel} after {delivery.attempts} attempts: {error}")
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        summary.retrying += 1
        summary.errors.append(
            f"{channel}: {error}; retrying at {delivery.next_attempt_at:%H:%M:%S}"
        )
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=max(duration, 0),
        )
        delivery.save(
            update_fields=[
                "attempts",
                "last_status_code",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )


def _waiting(channel: Channel) -> bool:
    return Delivery.objects.filter(channel=channel, status=DeliveryStatus.PENDING).exists()


def send_pending(*, now: dt.datetime | None = None) -> SendSummary:
    """Send every channel's due retries and new events; see the module docstring."""
    now = timezone.now() if now is None else now
    summary = SendSummary()
    families: dict[int, set[int]] = {}
    for channel in queries.channels_to_send():
        due = channel.deliveries.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).order_by("id")
        for delivery in due:
            if _claim(delivery, now):
                delivery.channel = channel
                _attempt(delivery, now, summary)
        if _waiting(channel):
            continue
        if channel.watchlist_id not in families:
            families[channel.watchlist_id] = queries.watched_entity_ids(channel.watchlist)
        limit = WEBHOOK_BATCH if channel.kind == ChannelKind.WEBHOOK else EMAIL_BATCH
        while events := _new_events(channel, families[channel.watchlist_id], limit):
            delivery = _open_delivery(channel, events, now)
            if delivery is None:
                break
            _attempt(delivery, now, summary)
            if delivery.status != DeliveryStatus.DELIVERED:
                break
    summary.next_attempt_at = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, channel__active=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return summary
