"""The public sign-up path: flyer short address, form, thank-you page, review queue, goals, attribution.

Also the employer-as-adversary guards (work-address warning, nothing public
reveals who signed) and consent records that cannot be edited.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from receipts.campaigns import services as campaign_services
from receipts.campaigns.models import GoalProgress, MemberRole
from receipts.outreach import services
from receipts.outreach.forms import CONSENT_CHANGED
from receipts.outreach.models import (
    ConsentRecord,
    ConsentText,
    FormField,
    Submission,
    SubmissionStatus,
    Supporter,
)
from receipts.outreach.qr import qr_svg
from receipts.outreach.queries import attribution, employer_domains, open_submissions
from tests.campaigns.factories import cite, make_campaign, make_member
from tests.factories import login_verified
from tests.outreach.factories import (
    CONSENT,
    make_flyer,
    make_form,
    person,
    post_signup,
    sign_up,
    signup_data,
    website_target,
)

pytestmark = pytest.mark.django_db


def _organiser_client(campaign: Any, username: str = "organiser") -> Client:
    client = Client()
    login_verified(client, make_member(campaign, username, MemberRole.ORGANISER))
    return client


def test_flyer_short_url_leads_to_the_form_with_its_source_code() -> None:
    campaign = make_campaign(slug="dump-ice")
    form = make_form(campaign, slug="employees")
    make_flyer(campaign, form, code="Rally-2026")
    client = Client()
    response = client.get("/f/rally-2026")
    assert response.status_code == 302
    assert response["Location"] == "/campaigns/dump-ice/join/employees/?source=rally-2026"
    assert client.get("/f/RALLY-2026")["Location"].endswith("?source=rally-2026")
    assert client.get("/f/no-such-flyer").status_code == 404
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'name="source" value="rally-2026"' in page.content


def test_sign_up_through_a_flyer_waits_for_review_then_moves_goal_and_attribution() -> None:
    campaign = make_campaign(slug="dump-ice")
    rally = campaign_services.record_action(
        campaign, kind="rally", title="Seattle rally", date="2026", citations=[cite()]
    )
    form = make_form(campaign)
    flyer = make_flyer(campaign, form, code="seattle-rally", action=rally)
    goal = campaign_services.set_goal(
        campaign, metric="employees signed up", target=10, progress_source=GoalProgress.SIGNUPS
    )
    client = Client()
    response = post_signup(client, form, person(1), source="seattle-rally")
    assert response.status_code == 303
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert b'id="thanks-heading"' in thanks.content
    assert b"Quillon" not in thanks.content and b"quillon" not in thanks.content

    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.PENDING
    assert submission.flyer == flyer and submission.source_code == "seattle-rally"
    goal.refresh_from_db()
    assert goal.value == 0
    assert attribution(campaign).total == 0

    organiser = _organiser_client(campaign)
    queue = organiser.get(reverse("outreach-review", args=[campaign.slug]))
    assert f'id="submission-{submission.pk}"'.encode() in queue.content
    assert b"Quillon Testperson1" in queue.content
    decided = organiser.post(
        reverse("outreach-decide", args=[campaign.slug]),
        {"submission": submission.pk, "decision": "accept"},
    )
    assert decided.status_code == 302
    goal.refresh_from_db()
    assert goal.value == 1
    public = Client().get(campaign.get_absolute_url())
    assert f'id="goal-{goal.pk}-progress" max="10" value="1"'.encode() in public.content

    report = attribution(campaign)
    assert report.total == 1
    assert [(r.code, r.signups) for r in report.by_flyer] == [("seattle-rally", 1)]
    assert [(r.label, r.signups) for r in report.by_action] == [("Seattle rally", 1)]
    assert report.by_day == [(timezone.now().date(), 1)]
    page = organiser.get(reverse("outreach-attribution", args=[campaign.slug]))
    assert page.status_code == 200
    assert b'id="attribution-flyer-seattle-rally"' in page.content
    assert b'id="signups-chart"' in page.content


def test_rejected_sign_ups_count_nowhere() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    goal = campaign_services.set_goal(
        campaign, metric="sign-ups", target=5, progress_source=GoalProgress.SIGNUPS
    )
    submission = sign_up(form)
    changed = services.decide_submissions(
        campaign, [submission.pk], SubmissionStatus.REJECTED, decided_by=None
    )
    assert changed == 1
    goal.refresh_from_db()
    assert goal.value == 0 and attribution(campaign).total == 0
    # A decided submission is not decided again.
    assert (
        services.decide_submissions(
            campaign, [submission.pk], SubmissionStatus.ACCEPTED, decided_by=None
        )
        == 0
    )


def test_a_sign_up_goal_refuses_a_hand_set_counter() -> None:
    campaign = make_campaign()
    goal = campaign_services.set_goal(
        campaign, metric="sign-ups", target=5, progress_source=GoalProgress.SIGNUPS
    )
    with pytest.raises(campaign_services.CampaignError, match="moves with them"):
        campaign_services.update_goal_counter(goal, 3, citation=cite())


def test_the_same_email_twice_is_one_supporter_with_two_submissions() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    goal = campaign_services.set_goal(
        campaign, metric="sign-ups", target=5, progress_source=GoalProgress.SIGNUPS
    )
    first = sign_up(form, person(1))
    again = sign_up(form, person(1, email="  QUILLON.1@Example.org ", city="Renton"))
    other = sign_up(form, person(2))
    assert Supporter.objects.filter(campaign=campaign).count() == 2
    assert first.supporter_id == again.supporter_id != other.supporter_id
    assert again.supporter.submissions.count() == 2
    services.decide_submissions(
        campaign, [first.pk, again.pk, other.pk], SubmissionStatus.ACCEPTED, decided_by=None
    )
    goal.refresh_from_db()
    assert goal.value == 2  # people, not submissions
    # Dots and plus tags are kept: another address is another person.
    sign_up(form, person(3, email="quillon.1+rally@example.org"))
    assert Supporter.objects.filter(campaign=campaign).count() == 3
    # The same person in another campaign is a separate supporter there.
    sign_up(make_form(make_campaign()), person(1))
    assert Supporter.objects.count() == 4


def test_without_an_email_the_phone_finds_the_returning_person() -> None:
    campaign = make_campaign()
    form = make_form(
        campaign, fields=[FormField.NAME, FormField.PHONE], required_fields=[FormField.PHONE]
    )
    a = sign_up(form, {"name": "A", "phone": "(206) 555-0142"})
    b = sign_up(form, {"name": "A", "phone": "+1 206-555-0142"})
    assert a.supporter_id == b.supporter_id


def test_a_returning_person_sees_exactly_what_a_new_one_sees() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    client = Client()
    first = post_signup(client, form, person(1), ip="198.51.100.1")
    again = post_signup(client, form, person(1), ip="198.51.100.2")
    assert first.status_code == again.status_code == 303
    assert first["Location"] == again["Location"]
    assert client.get(first["Location"]).content == client.get(again["Location"]).content


def test_work_address_is_warned_on_the_form_until_the_person_keeps_it() -> None:
    amazon = website_target("Amazon", "https://www.amazon.com/")
    campaign = make_campaign(targets=[amazon])
    form = make_form(campaign, employer_domains="@aws.example\nring.com")
    assert employer_domains(form) == ["aws.example", "ring.com", "amazon.com"]
    client = Client()
    page = client.get(form.get_absolute_url())
    assert b"not an address at aws.example, ring.com, amazon.com" in page.content

    warned = post_signup(client, form, person(1, email="q.1@corp.amazon.com"))
    assert warned.status_code == 400
    assert b"This looks like a work address" in warned.content
    assert b'id="field-work_address_ok"' in warned.content
    assert not Submission.objects.exists()

    kept = post_signup(client, form, person(1, email="q.1@corp.amazon.com"), work_address_ok="on")
    assert kept.status_code == 303
    assert Submission.objects.get().work_address is True
    personal = post_signup(client, form, person(2, email="q.2@notamazon.com"))
    assert personal.status_code == 303
    assert Submission.objects.filter(work_address=False).count() == 1


def test_nothing_public_reveals_who_signed() -> None:
    campaign = make_campaign(slug="open-campaign")
    form = make_form(campaign)
    make_flyer(campaign, form, code="leaflet")
    submission = sign_up(form, person(1), source_code="leaflet")
    services.decide_submissions(
        campaign, [submission.pk], SubmissionStatus.ACCEPTED, decided_by=None
    )
    sign_up(form, person(2))
    client = Client()
    pages = [
        campaign.get_absolute_url(),
        reverse("campaign-brief", args=[campaign.slug]),
        form.get_absolute_url(),
        reverse("outreach-thanks", args=[campaign.slug, form.slug]),
        f"/api/campaigns/{campaign.slug}",
        "/f/leaflet",
    ]
    for url in pages:
        body = client.get(url, follow=True).content.decode()
        for value in (*person(1).values(), *person(2).values()):
            assert value not in body, url
        assert "waiting" not in body.lower(), url
    for url in (
        reverse("outreach-review", args=[campaign.slug]),
        reverse("outreach-supporters", args=[campaign.slug]),
        reverse("outreach-export", args=[campaign.slug]),
        reverse("outreach-attribution", args=[campaign.slug]),
        reverse("outreach-flyer-print", args=[campaign.slug, "leaflet"]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_consent_record_keeps_the_hash_of_the_text_shown_and_cannot_be_edited() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    response = post_signup(Client(), form, person(1), source="door-knock")
    assert response.status_code == 303
    record = ConsentRecord.objects.get()
    assert record.source_code == "door-knock"
    assert ConsentText.objects.get(sha256=record.consent_sha256).text == CONSENT
    assert record.consent_sha256 == services.consent_hash(CONSENT)
    record.source_code = "forged"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        ConsentRecord.objects.update(source_code="forged")
    with pytest.raises(PermissionError):
        ConsentText.objects.update(text="something else")
    with pytest.raises(PermissionError):
        ConsentText.objects.get().delete()
    assert ConsentRecord.objects.get().source_code == "door-knock"
    # A changed consent text is stored beside the old one; old records keep theirs.
    services.save_form(
        campaign,
        form=form,
        slug=form.slug,
        title=form.title,
        consent_text="New words.",
        fields=form.fields,
    )
    form.refresh_from_db()
    post_signup(Client(), form, person(2))
    assert ConsentText.objects.count() == 2
    assert ConsentRecord.objects.filter(consent_sha256=services.consent_hash(CONSENT)).count() == 1


def test_a_form_needs_consent_text_and_an_email_or_phone() -> None:
    campaign = make_campaign()
    with pytest.raises(services.OutreachError, match="consent_text"):
        make_form(campaign, consent_text="  ")
    with pytest.raises(services.OutreachError, match="email or a phone"):
        make_form(campaign, fields=[FormField.NAME, FormField.CITY])
    with pytest.raises(services.OutreachError, match="not asked"):
        make_form(campaign, fields=[FormField.EMAIL], required_fields=[FormField.NAME])
    with pytest.raises(services.OutreachError, match="not a domain"):
        make_form(campaign, employer_domains="amazon")


def test_a_flyer_code_is_checked_and_unique() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    with pytest.raises(services.OutreachError, match="code"):
        make_flyer(campaign, form, code="no spaces")
    make_flyer(campaign, form, code="rally")
    with pytest.raises(services.OutreachError, match="already used"):
        other = make_campaign()
        make_flyer(other, make_form(other), code="RALLY")


def test_a_closed_form_takes_no_sign_ups() -> None:
    campaign = make_campaign()
    form = make_form(campaign, is_open=False)
    assert Client().get(form.get_absolute_url()).status_code == 410
    assert post_signup(Client(), form, person(1)).status_code == 410
    assert not Submission.objects.exists()


def test_a_private_campaign_form_does_not_name_the_campaign() -> None:
    campaign = make_campaign("Secret organising drive", visibility="private")
    form = make_form(campaign)
    page = Client().get(form.get_absolute_url())
    assert page.status_code == 200
    assert b"Secret organising drive" not in page.content


def test_the_editor_builds_a_form_and_a_flyer_with_qr_codes() -> None:
    campaign = make_campaign(slug="drive")
    editor = Client()
    editor.force_login(make_member(campaign, "ed", MemberRole.EDITOR))
    response = editor.post(
        reverse("outreach-form-new", args=[campaign.slug]),
        {
            "title": "Warehouse workers",
            "slug": "",
            "kind": "sign_up",
            "asked": ["name", "email", "city"],
            "required": ["email"],
            "consent_text": "I agree.",
            "employer_domains": "amazon.com",
            "is_open": "on",
        },
    )
    assert response.status_code == 302, response.content
    form = campaign.signup_forms.get()
    assert (form.slug, form.fields) == ("warehouse-workers", ["name", "email", "city"])
    missing_consent = editor.post(
        reverse("outreach-form-new", args=[campaign.slug]),
        {"title": "Other", "kind": "sign_up", "asked": ["email"], "consent_text": ""},
    )
    assert missing_consent.status_code == 400
    response = editor.post(
        reverse("outreach-flyer-new", args=[campaign.slug]),
        {"label": "Gate flyer", "code": "gate-1", "form": form.pk},
    )
    assert response.status_code == 302, response.content
    svg = editor.get(reverse("outreach-flyer-svg", args=[campaign.slug, "gate-1"]))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content
    # The code holds the absolute short address and nothing else.
    assert svg.content == qr_svg("http://testserver/f/gate-1", title="QR code for Gate flyer")
    assert svg.content != qr_svg("http://testserver/f/gate-2", title="QR code for Gate flyer")
    png = editor.get(reverse("outreach-flyer-png", args=[campaign.slug, "gate-1"]))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "flyer-gate-1.png" in png["Content-Disposition"]
    printable = editor.get(reverse("outreach-flyer-print", args=[campaign.slug, "gate-1"]))
    assert printable.status_code == 200
    assert b"http://testserver/f/gate-1" in printable.content
    assert b'src="/campaigns/drive/flyers/gate-1/qr.svg"' in printable.content
    assert b"outreach/flyer.css" in printable.content
    # An editor builds forms but sees no supporter data.
    assert editor.get(reverse("outreach-review", args=[campaign.slug])).status_code == 403


def test_open_submissions_needs_the_organisations_key(outreach_key_dir: Any) -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    submission = sign_up(form, person(1))
    for path in outreach_key_dir.iterdir():
        path.unlink()
    with pytest.raises(Exception, match="no key file"):
        open_submissions(campaign, [submission])


def test_a_consent_text_changed_after_the_page_was_served_is_read_again_first() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    client = Client()
    url = reverse("outreach-join", args=[campaign.slug, form.slug])
    data = signup_data(form, person(1))  # the page showed the old consent text
    services.save_form(
        campaign,
        form=form,
        slug=form.slug,
        title=form.title,
        consent_text="New words.",
        fields=form.fields,
    )
    form.refresh_from_db()
    response = client.post(url, data)
    assert response.status_code == 400
    assert CONSENT_CHANGED.encode() in response.content
    assert b"New words." in response.content
    (box,) = re.findall(r'<input[^>]*name="consent"[^>]*>', response.content.decode())
    assert "checked" not in box  # ticked again only after reading the new text
    assert not Submission.objects.exists()
    assert client.post(url, signup_data(form, person(1))).status_code == 303
    assert ConsentRecord.objects.get().consent_sha256 == services.consent_hash("New words.")


def test_a_keyring_never_shows_its_keys() -> None:
    from receipts.outreach import crypto

    keyring = crypto.load_keyring("aecj", create=True)
    text = repr(keyring) + str(keyring)
    for key in (*keyring.keks.values(), *keyring.index_keys.values()):
        assert repr(key) not in text
        assert base64.b64encode(key).decode() not in text
