"""Delivery: signed webhooks to a real receiver on loopback, email digests, retries, once each."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from django.core import mail
from django.utils import timezone

from receipts.campaigns.models import DemandStatus, MemberRole, Visibility
from receipts.campaigns.services import change_demand_status
from receipts.ingest.merges import merge_entities
from receipts.watch import services, webhooks
from receipts.watch.delivery import backoff, send_pending
from receipts.watch.models import Delivery, DeliveryAttempt, DeliveryStatus
from receipts.watch.queries import events_for
from receipts.watch.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify_signature,
)
from tests.campaigns.factories import cite, make_campaign, make_demand, make_member, make_user
from tests.factories import make_entity, make_tie
from tests.watch.conftest import SECRET, Receiver
from tests.watch.factories import make_case, make_watchlist

pytestmark = pytest.mark.django_db


def test_a_watchlist_on_amazon_sees_its_subsidiaries_events() -> None:
    case = make_case()
    watchlist = make_watchlist(case.amazon)
    aws_ice = make_tie(case.aws, "hosting", case.ice, case.source)
    google_ice = make_tie(case.google, "hosting", case.ice, case.source)
    seen = {e.tie_id for e in events_for(watchlist)}
    assert aws_ice.pk in seen
    assert google_ice.pk not in seen


def test_a_watchlist_on_an_agency_sees_its_components_events() -> None:
    case = make_case()
    watchlist = make_watchlist(case.dhs)
    google_ice = make_tie(case.google, "contract", case.ice, case.source)
    assert google_ice.pk in {e.tie_id for e in events_for(watchlist)}


def test_private_demand_events_reach_only_watchlists_of_members() -> None:
    amazon = make_entity("Amazon")
    campaign = make_campaign("Internal", targets=[amazon])
    campaign.visibility = Visibility.PRIVATE
    campaign.save()
    member = make_member(campaign, "member", MemberRole.VIEWER)
    outsider = make_user("outsider")
    change_demand_status(make_demand(campaign), DemandStatus.MET, date="2026", citation=cite())
    mine = make_watchlist(amazon, owner=member)
    theirs = make_watchlist(amazon, owner=outsider)
    nobody = make_watchlist(amazon)
    assert events_for(mine).filter(campaign=campaign).exists()
    assert not events_for(theirs).filter(campaign=campaign).exists()
    assert not events_for(nobody).filter(campaign=campaign).exists()


def test_a_webhook_gets_new_events_signed_and_a_second_run_sends_nothing(
    receiver: Receiver,
) -> None:
    case = make_case()
    watchlist = make_watchlist(
        case.amazon, webhook_url=receiver.url, webhook_secret=SECRET, emails=["org@example.org"]
    )
    tie = make_tie(case.aws, "hosting", case.ice, case.source, status="alleged")
    make_tie(case.google, "hosting", case.ice, case.source)  # not watched

    first = send_pending()
    assert (first.sent, first.events) == (2, 2)  # one webhook POST, one digest, one event each
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.verified and got.status == 204
    assert got.headers[SIGNATURE_HEADER].startswith("sha256=")
    payload = got.json()
    assert payload["watchlist"] == {"id": watchlist.pk, "name": "Targets"}
    [event] = payload["events"]
    assert event["kind"] == "tie_added"
    assert event["url"] == f"https://receipts.example/ties/{tie.pk}/"
    assert event["subject"]["name"] == "Amazon Web Services"
    assert event["citation"]["source"] == "Report on the rally"
    assert event["citation"]["url"] == "https://news.example/rally"
    assert payload["delivery"] == got.headers["X-Receipts-Delivery"]
    assert len(mail.outbox) == 1

    second = send_pending()
    assert (second.sent, second.events) == (0, 0)
    assert len(receiver.requests) == 1
    assert len(mail.outbox) == 1


def test_a_tampered_or_replayed_delivery_fails_verification(receiver: Receiver) -> None:
    body = json.dumps({"events": [{"summary": "New contract"}]}).encode()
    timestamp = str(int(time.time()))
    good = sign(body, SECRET, timestamp)
    assert verify_signature(body, good, SECRET, timestamp)
    assert not verify_signature(body.replace(b"New", b"Old"), good, SECRET, timestamp)
    assert not verify_signature(body, good, "another-secret-entirely", timestamp)
    assert not verify_signature(body, good, SECRET, str(int(timestamp) + 1))
    assert not verify_signature(body, good, SECRET, timestamp, now=int(timestamp) + 3600)
    assert not verify_signature(body, "", SECRET, timestamp)
    assert not verify_signature(body, good, SECRET, "not a number")

    # The receiver refuses a tampered body sent with the original signature.
    tampered = urllib.request.Request(  # noqa: S310 - the loopback test server
        receiver.url,
        data=body.replace(b"New", b"Old"),
        headers={SIGNATURE_HEADER: good, TIMESTAMP_HEADER: timestamp},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=5)  # noqa: S310 - loopback test server
    assert refused.value.code == 401
    assert receiver.requests[-1].verified is False


def test_a_failing_endpoint_is_retried_with_backoff_and_logged(
    receiver: Receiver, settings
) -> None:
    settings.WATCH_RETRY_SECONDS = 60
    case = make_case()
    make_watchlist(case.amazon, webhook_url=receiver.url, webhook_secret=SECRET)
    receiver.fail_first = 2
    make_tie(case.ring, "partnership", case.google, case.source)
    t0 = timezone.now()

    first = send_pending(now=t0)
    assert (first.sent, first.retrying) == (0, 1)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=60)
    assert first.next_attempt_at == delivery.next_attempt_at

    # Not due yet: nothing is sent, and newer events wait behind the retry.
    make_tie(case.aws, "hosting", case.ice, case.source)
    assert send_pending(now=t0 + dt.timedelta(seconds=30)).retrying == 0
    assert len(receiver.requests) == 1

    t1 = t0 + dt.timedelta(seconds=61)
    send_pending(now=t1)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == t1 + dt.timedelta(seconds=120)

    t2 = t1 + dt.timedelta(seconds=121)
    third = send_pending(now=t2)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.delivered_at == t2
    # The retry resends the same body, then the event that waited goes out.
    assert receiver.requests[0].body == receiver.requests[2].body
    assert third.sent == 2 and len(receiver.accepted) == 2
    log = list(
        DeliveryAttempt.objects.filter(delivery=delivery).values_list("status_code", "error")
    )
    assert log == [(500, "HTTP 500"), (500, "HTTP 500"), (204, "")]
    assert backoff(1) == dt.timedelta(seconds=60) and backoff(3) == dt.timedelta(seconds=240)


def test_a_dead_endpoint_is_given_up_after_the_last_attempt(settings) -> None:
    settings.WATCH_RETRY_SECONDS = 1
    settings.WATCH_MAX_ATTEMPTS = 2
    case = make_case()
    # Nothing listens on port 9 of loopback: the connection is refused.
    make_watchlist(case.amazon, webhook_url="http://127.0.0.1:9/", webhook_secret=SECRET)
    make_tie(case.aws, "hosting", case.ice, case.source)
    t0 = timezone.now()
    send_pending(now=t0)
    summary = send_pending(now=t0 + dt.timedelta(seconds=5))
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 2
    assert "ConnectionRefusedError" in delivery.last_error
    assert summary.gave_up == 1
    assert send_pending(now=t0 + dt.timedelta(hours=1)).sent == 0
    assert DeliveryAttempt.objects.count() == 2


def test_a_channel_starts_with_events_recorded_after_it(receiver: Receiver) -> None:
    case = make_case()
    make_tie(case.aws, "hosting", case.ice, case.source)  # before the watchlist: history
    watchlist = make_watchlist(case.amazon, webhook_url=receiver.url, webhook_secret=SECRET)
    assert send_pending().sent == 0
    assert events_for(watchlist).exists()  # the feed still shows the history
    make_tie(case.ring, "partnership", case.google, case.source)
    assert send_pending().events == 1


def test_the_email_digest_lists_new_events_with_their_receipts() -> None:
    case = make_case()
    make_watchlist(case.amazon, name="Amazon family", emails=["a@example.org", "b@example.org"])
    tie = make_tie(case.aws, "hosting", case.ice, case.source)
    make_tie(case.ring, "partnership", case.google, case.source)
    summary = send_pending()
    assert (summary.sent, summary.events) == (1, 2)
    assert [m.to for m in mail.outbox] == [["a@example.org"], ["b@example.org"]]
    message = mail.outbox[0]
    assert message.subject == "Receipts: 2 new changes on Amazon family"
    assert "New tie: Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement" in (
        message.body
    )
    assert f"https://receipts.example/ties/{tie.pk}/" in message.body
    assert "Source: Report on the rally (p. 1) https://news.example/rally" in message.body
    send_pending()
    assert len(mail.outbox) == 2


def test_a_mail_server_that_fails_is_retried(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    case = make_case()
    make_watchlist(case.amazon, emails=["org@example.org"])
    make_tie(case.aws, "hosting", case.ice, case.source)
    summary = send_pending()
    assert summary.retrying == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error.startswith("ConnectionRefusedError")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://user:pass@example.org/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_webhook_targets_that_are_never_allowed(url: str) -> None:
    watchlist = make_watchlist(make_entity("Amazon"))
    with pytest.raises(services.WatchError):
        services.add_webhook(watchlist, url, SECRET)


def test_loopback_and_private_targets_need_the_setting(settings) -> None:
    settings.ALLOW_PRIVATE_ADDRESSES = False
    watchlist = make_watchlist(make_entity("Amazon"))
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "https://10.0.0.5/hook"):
        with pytest.raises(services.WatchError, match="not a public address"):
            services.add_webhook(watchlist, url, SECRET)
    settings.ALLOW_PRIVATE_ADDRESSES = True
    assert services.add_webhook(watchlist, "http://127.0.0.1:8080/hook", SECRET).pk


def test_a_webhook_refused_at_send_time_is_logged_not_sent(receiver: Receiver, settings) -> None:
    case = make_case()
    make_watchlist(case.amazon, webhook_url=receiver.url, webhook_secret=SECRET)
    settings.ALLOW_PRIVATE_ADDRESSES = False  # turned off after the webhook was added
    make_tie(case.aws, "hosting", case.ice, case.source)
    send_pending()
    assert receiver.requests == []
    assert Delivery.objects.get().last_error.startswith(
        "refused: 127.0.0.1 is a loopback address: not a public address"
    )


def test_webhooks_go_through_the_guard(receiver: Receiver, settings) -> None:
    """A real receiver on 127.0.0.1: refused without the setting, reached with it."""
    mapped = receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]")
    settings.ALLOW_PRIVATE_ADDRESSES = False
    for url in (receiver.url, mapped):
        result = webhooks.post(url, b"{}", SECRET, delivery_id="d-1")
        assert result.status_code is None
        assert result.error.startswith("refused: ")
        assert "loopback" in result.error
    assert receiver.requests == []

    settings.ALLOW_PRIVATE_ADDRESSES = True
    result = webhooks.post(receiver.url, b"{}", SECRET, delivery_id="d-2")
    assert result.ok, result.error
    assert [r.verified for r in receiver.requests] == [True]


def test_the_connection_goes_to_the_address_that_was_checked(
    receiver: Receiver, settings, monkeypatch
) -> None:
    """A name answering another address on a second look-up (DNS rebinding) is not looked up again."""
    settings.ALLOW_PRIVATE_ADDRESSES = True
    real = socket.getaddrinfo
    answers = ["127.0.0.1"]  # then 127.0.0.2, where nothing listens

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            host = answers.pop(0) if answers else "127.0.0.2"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = receiver.url.replace("127.0.0.1", "rebind.test")
    result = webhooks.post(url, b"{}", SECRET, delivery_id="d-3")
    assert result.ok, result.error
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["Host"].startswith("rebind.test")


def test_a_short_secret_is_refused() -> None:
    watchlist = make_watchlist(make_entity("Amazon"))
    with pytest.raises(services.WatchError, match="secret"):
        services.add_webhook(watchlist, "http://127.0.0.1:8080/hook", "short")


def test_watchlists_follow_merges_both_ways() -> None:
    keep = make_entity("Palantir Technologies")
    drop = make_entity("PALANTIR TECHNOLOGIES INC.")
    ice = make_entity("ICE", kind="agency")
    cbp = make_entity("CBP", kind="agency")
    before = make_tie(drop, "contract", ice)  # recorded while the duplicate stood alone
    on_drop, on_keep = make_watchlist(drop), make_watchlist(keep)
    merge_entities(keep, drop)
    after = make_tie(keep, "contract", cbp)
    assert {before.pk, after.pk} <= {e.tie_id for e in events_for(on_keep)}
    assert {before.pk, after.pk} <= {e.tie_id for e in events_for(on_drop)}
