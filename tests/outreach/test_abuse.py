"""Abuse without third parties: escaping, size limits, honeypot, fill time, CSRF and rate limits.

None of these guards may lose an accepted sign-up: every sign-up answered
with the thank-you redirect is stored, and organisers can accept it.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from receipts.campaigns import services as campaign_services
from receipts.campaigns.models import GoalProgress, MemberRole
from receipts.outreach import services
from receipts.outreach.forms import HONEYPOT, STALE, TOO_FAST, started_token
from receipts.outreach.models import FormField, RateLimitBucket, Submission, SubmissionStatus
from receipts.outreach.queries import open_submissions
from receipts.outreach.views import client_key
from tests.campaigns.factories import make_campaign, make_member
from tests.factories import login_verified
from tests.outreach.factories import make_form, person, post_signup, signup_data

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _organiser(campaign: Any) -> Client:
    client = Client()
    login_verified(client, make_member(campaign, "organiser", MemberRole.ORGANISER))
    return client


def test_html_and_script_in_every_field_come_back_escaped() -> None:
    campaign = make_campaign(slug="drive")
    form = make_form(campaign)
    answers = {f: f"{f} {HOSTILE}" for f in form.fields}
    answers[FormField.EMAIL] = "hostile@example.org"
    answers[FormField.PHONE] = "+1 206 555 0100"
    client = Client()
    stored = post_signup(client, form, answers, source=HOSTILE)
    assert stored.status_code == 303
    submission = Submission.objects.get()
    assert submission.source_code == ""  # not a source code: dropped, not echoed

    # Re-displayed on the form after a refusal (an invalid email and phone keep it open).
    refused = post_signup(
        client, form, {**answers, "email": f"{HOSTILE}@x", "phone": HOSTILE}, source=HOSTILE
    )
    assert refused.status_code == 400
    # Shown to organisers in the review queue and the supporter list, and in the CSV.
    organiser = _organiser(campaign)
    pages = [
        refused,
        organiser.get(reverse("outreach-review", args=[campaign.slug])),
        organiser.get(reverse("outreach-supporters", args=[campaign.slug])),
    ]
    for page in pages:
        body = page.content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    services.decide_submissions(
        campaign, [submission.pk], SubmissionStatus.ACCEPTED, decided_by=None
    )
    export = organiser.get(reverse("outreach-export", args=[campaign.slug]))
    assert export["Content-Type"].startswith("text/csv")
    assert export["X-Content-Type-Options"] == "nosniff"
    (row,) = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert row["name"] == f"name {HOSTILE}"  # CSV is data, not HTML: kept exactly


def test_editor_text_is_escaped_on_the_public_form() -> None:
    campaign = make_campaign()
    form = make_form(
        campaign, title=f"Join {HOSTILE}", intro=HOSTILE, consent_text=f"I agree {HOSTILE}"
    )
    body = Client().get(form.get_absolute_url()).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert body.count("&lt;script&gt;") >= 3


def test_a_formula_in_a_field_is_defused_in_the_csv() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    post_signup(Client(), form, person(1, name='=HYPERLINK("http://evil")'))
    services.decide_submissions(
        campaign, list(Submission.objects.values_list("pk", flat=True)), "accepted", decided_by=None
    )
    export = _organiser(campaign).get(reverse("outreach-export", args=[campaign.slug]))
    assert "'=HYPERLINK" in export.content.decode()


@pytest.mark.parametrize("field", ["name", "email", "employer", "message", "source", HONEYPOT])
def test_a_one_megabyte_field_is_refused_and_nothing_stored(field: str) -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    response = post_signup(Client(), form, person(1), **{field: "A" * 1_000_000})
    assert response.status_code == 400
    assert b"far longer than the form allows" in response.content
    assert not Submission.objects.exists()
    assert not RateLimitBucket.objects.exists()


def test_a_field_over_its_length_is_refused_with_the_form_shown_again() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    response = post_signup(Client(), form, person(1, name="N" * 201))
    assert response.status_code == 400
    assert b"at most 200 characters" in response.content
    assert not Submission.objects.exists()


def test_control_characters_are_refused() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    response = post_signup(Client(), form, person(1, name="Quillon\x00\x1b[31m"))
    assert response.status_code == 400
    assert not Submission.objects.exists()
    with pytest.raises(services.OutreachError, match="control characters"):
        services.record_signup(
            form,
            {**person(2), "city": "x\x07"},
            consent_text_shown=form.consent_text,
            client_key="k",
        )


def test_a_filled_honeypot_stores_nothing() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    response = post_signup(Client(), form, person(1), **{HONEYPOT: "http://spam.example"})
    assert response.status_code == 400
    assert b"must stay empty" in response.content
    assert not Submission.objects.exists()
    page = Client().get(form.get_absolute_url()).content.decode()
    # Hidden by the stylesheet's class, not an inline style (the CSP forbids those).
    assert '<div class="hp" aria-hidden="true">' in page
    assert "style=" not in page


def test_a_form_sent_faster_than_a_person_can_fill_it_is_refused(settings: Any) -> None:
    settings.OUTREACH_MIN_FILL_SECONDS = 3
    campaign = make_campaign()
    form = make_form(campaign)
    client = Client()
    url = reverse("outreach-join", args=[campaign.slug, form.slug])
    data = signup_data(form, person(1))
    data["started"] = started_token(form)  # served just now
    response = client.post(url, data)
    assert response.status_code == 400
    assert TOO_FAST.encode() in response.content
    assert not Submission.objects.exists()
    data["started"] = started_token(form, at=time.time() - 4)
    assert client.post(url, data).status_code == 303
    settings.OUTREACH_MIN_FILL_SECONDS = 0
    data = signup_data(form, person(2))
    data["started"] = started_token(form)
    assert client.post(url, data).status_code == 303


def test_a_forged_stale_or_foreign_start_time_is_refused() -> None:
    campaign = make_campaign()
    form, other = make_form(campaign), make_form(campaign)
    client = Client()
    url = reverse("outreach-join", args=[campaign.slug, form.slug])
    for token in (
        "forged",
        started_token(form, at=time.time() - 3 * 86400),
        started_token(other, at=time.time() - 60),
        "",
    ):
        data = signup_data(form, person(1))
        data["started"] = token
        response = client.post(url, data)
        assert response.status_code == 400
        assert STALE.encode() in response.content or b"This field is required" in response.content
    assert not Submission.objects.exists()


def test_csrf_is_checked_on_the_public_form() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    client = Client(enforce_csrf_checks=True)
    url = form.get_absolute_url()
    assert client.post(url, signup_data(form, person(1))).status_code == 403
    page = client.get(url)
    token = page.cookies["csrftoken"].value
    data = {**signup_data(form, person(1)), "csrfmiddlewaretoken": token}
    assert client.post(url, data).status_code == 303


def test_the_content_security_policy_allows_no_other_origin() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    response = Client().get(form.get_absolute_url())
    policy = response["Content-Security-Policy"]
    assert "http" not in policy.replace("'self'", "")
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    body = response.content.decode()
    assert "<script>" not in body and "http://" not in body.replace("http://testserver", "")


@pytest.mark.slow
def test_a_thousand_rapid_sign_ups_from_one_client_are_throttled_without_losing_any(
    settings: Any,
) -> None:
    settings.OUTREACH_RATE_PER_MINUTE = 5
    settings.OUTREACH_RATE_PER_DAY = 50
    campaign = make_campaign()
    form = make_form(campaign)
    goal = campaign_services.set_goal(
        campaign, metric="sign-ups", target=10, progress_source=GoalProgress.SIGNUPS
    )
    flood, neighbour = Client(), Client()
    codes: list[int] = []
    accepted_emails: list[str] = []
    throttled = None
    for n in range(1000):
        answers = person(n, email=f"flood.{n}@example.org")
        response = post_signup(flood, form, answers, ip="203.0.113.66")
        codes.append(response.status_code)
        if response.status_code == 303:
            accepted_emails.append(answers["email"])
        elif throttled is None:
            throttled = response
        if n == 500:
            # Another client, mid-flood, still gets through.
            assert (
                post_signup(neighbour, form, person(5000), ip="198.51.100.200").status_code == 303
            )
    stored = codes.count(303)
    # 5 in each minute the flood ran through, however many that was (a slow run crosses
    # more), and never more than the day's 50.
    flood_key = client_key(RequestFactory().post("/", REMOTE_ADDR="203.0.113.66"))
    minutes = list(
        RateLimitBucket.objects.filter(client_key=flood_key, scope=f"form-{form.pk}/minute")
    )
    assert minutes, "the flood was counted in no minute"
    assert all(bucket.count <= 5 for bucket in minutes)
    assert sum(bucket.count for bucket in minutes) == stored
    assert 5 <= stored <= min(50, 5 * len(minutes))
    assert codes.count(429) == 1000 - stored
    assert set(codes) == {303, 429}
    assert throttled is not None and throttled.status_code == 429
    assert int(throttled["Retry-After"]) >= 1
    assert b"Too many sign-ups" in throttled.content
    assert post_signup(neighbour, form, person(5001), ip="198.51.100.200").status_code == 303

    # Every sign-up answered with the thank-you page is stored, and none other.
    submissions = list(Submission.objects.order_by("id"))
    assert len(submissions) == stored + 2
    opened_emails = [o.values["email"] for o in open_submissions(campaign, submissions)]
    assert sorted(opened_emails) == sorted(
        [*accepted_emails, person(5000)["email"], person(5001)["email"]]
    )
    services.decide_submissions(
        campaign, [s.pk for s in submissions], SubmissionStatus.ACCEPTED, decided_by=None
    )
    goal.refresh_from_db()
    assert goal.value == stored + 2


def test_the_daily_cap_holds_across_minutes(settings: Any) -> None:
    settings.OUTREACH_RATE_PER_MINUTE = 100
    settings.OUTREACH_RATE_PER_DAY = 3
    campaign = make_campaign()
    form = make_form(campaign)
    codes = [post_signup(Client(), form, person(n)).status_code for n in range(5)]
    assert codes == [303, 303, 303, 429, 429]
    # The limit is per form: another form of the campaign still takes sign-ups.
    assert post_signup(Client(), make_form(campaign), person(9)).status_code == 303


def test_rate_limits_store_no_ip_address() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    post_signup(Client(), form, person(1), ip="203.0.113.77")
    assert RateLimitBucket.objects.exists(), "the sign-up was counted nowhere"
    for bucket in RateLimitBucket.objects.all():
        assert "203.0.113" not in bucket.client_key
        assert len(bucket.client_key) == 64


def test_ipv6_clients_are_counted_by_their_64_network(settings: Any) -> None:
    settings.OUTREACH_RATE_PER_MINUTE = 2
    campaign = make_campaign()
    form = make_form(campaign)
    codes = [
        post_signup(Client(), form, person(n), ip=f"2001:db8:1:2::{n + 1:x}").status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]
    assert post_signup(Client(), form, person(7), ip="2001:db8:1:3::1").status_code == 303
