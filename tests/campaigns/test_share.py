"""Campaign pages recruit: a call to action near the top, share metadata with a picture the site
draws, and a short link that answers as the campaign page does."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from receipts.campaigns import share
from receipts.campaigns.models import Campaign, Visibility
from tests.campaigns.factories import make_campaign, make_demand
from tests.outreach.factories import make_form

pytestmark = pytest.mark.django_db


def _meta(html: str, key: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    assert found is not None, key
    return found.group(1)


def test_campaign_page_leads_to_its_open_forms_before_the_demands(client: Client) -> None:
    campaign = make_campaign("Dump ICE", summary="Amazon must stop hosting ICE.")
    make_demand(campaign, "Stop hosting ICE")
    form = make_form(campaign, title="Join the rally")
    make_form(campaign, title="A closed one", is_open=False)
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="call-to-action"' in html
    assert f'href="{form.get_absolute_url()}"' in html
    assert "A closed one" not in html
    assert html.index('id="call-to-action"') < html.index('id="demands"')


def test_campaign_page_without_forms_has_no_call_to_action(client: Client) -> None:
    campaign = make_campaign("Quiet")
    assert 'id="call-to-action"' not in client.get(campaign.get_absolute_url()).content.decode()


def test_share_metadata_points_at_a_picture_the_site_draws(client: Client) -> None:
    campaign = make_campaign("Dump ICE", summary="Amazon must stop hosting ICE and CBP.")
    make_demand(campaign, "Stop hosting ICE")
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert _meta(html, "og:title") == "Dump ICE"
    assert _meta(html, "og:description") == "Amazon must stop hosting ICE and CBP."
    assert _meta(html, "twitter:card") == "summary_large_image"
    image_url = _meta(html, "og:image")
    assert image_url == f"http://testserver/campaigns/{campaign.slug}/card.png"
    assert _meta(html, "twitter:image") == image_url
    response = client.get(image_url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (1200, 630)
    # Drawn, not blank: the text makes more than the background's colour.
    assert len(picture.getcolors(maxcolors=100_000) or []) > 2


def test_card_fits_a_very_long_name_and_summary() -> None:
    campaign = make_campaign("W" * 200, summary="word " * 2000)
    png = share.card_png(campaign, "0 of 0 demands met", "example.org/c/1")
    assert Image.open(io.BytesIO(png)).size == (1200, 630)


def test_short_link_redirects_to_the_campaign(client: Client) -> None:
    campaign = make_campaign("Dump ICE")
    html = client.get(campaign.get_absolute_url()).content.decode()
    code = share.short_code(campaign)
    assert f'<a href="/c/{code}" id="short-link">http://testserver/c/{code}</a>' in html
    response = client.get(f"/c/{code}")
    assert response.status_code == 302
    assert response["Location"] == campaign.get_absolute_url()
    assert client.get("/c/zzzzzz").status_code == 404
    assert client.get("/c/../admin").status_code == 404


def test_short_codes_round_trip() -> None:
    for pk in (1, 35, 36, 1295, 10**9):
        campaign = Campaign(pk=pk)
        assert share.campaign_id_of(share.short_code(campaign)) == pk


def test_private_campaign_has_no_share_metadata_and_hides_behind_its_short_link(
    client: Client,
) -> None:
    campaign = make_campaign("Secret", visibility=Visibility.PRIVATE)
    assert client.get(f"/c/{share.short_code(campaign)}").status_code == 404
    assert client.get(f"/campaigns/{campaign.slug}/card.png").status_code == 404
    staff = User.objects.create_user("staff", password="x-long-enough-1", is_staff=True)
    client.force_login(staff)
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert 'property="og:image"' not in html
    card = client.get(f"/campaigns/{campaign.slug}/card.png")
    assert card.status_code == 200
    assert "no-store" in card["Cache-Control"]
