"""The Atom feed, parsed as Atom, and the watchlist pages through the real views."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from receipts.evidence import services as evidence
from receipts.watch.models import Channel, Watchlist
from tests.campaigns.factories import make_user
from tests.factories import make_entity, make_source, make_tie
from tests.watch.conftest import SECRET, Receiver
from tests.watch.factories import make_case, make_watchlist

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def feed_path(watchlist: Watchlist) -> str:
    return f"/watch/{watchlist.feed_token}/feed.atom"


def test_the_feed_is_atom_with_an_entry_per_event(client: Client) -> None:
    case = make_case()
    watchlist = make_watchlist(case.amazon, name="Amazon & co")
    hosting = make_tie(case.aws, "hosting", case.ice, case.source)
    report = make_source("Ring drops <Flock>", url="https://news.example/flock")
    partnership = make_tie(case.ring, "partnership", case.google, case.source)
    evidence.end_tie(
        partnership, citation=evidence.CitationInput(report, "it ended", "para 2"), end_date="2026"
    )
    make_tie(case.google, "hosting", case.ice, case.source)  # not watched

    response = client.get(feed_path(watchlist))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)  # noqa: S314 - the site's own feed
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Receipts: Amazon & co"
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == (
        f"http://testserver{feed_path(watchlist)}"
    )
    assert root.findtext(f"{ATOM}id") == f"http://testserver/watch/{watchlist.pk}/"
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    # Newest first; the Amazon-family ties from make_case came before the watchlist and show too.
    assert titles[:3] == [
        "Tie ended: Ring — partnership — Google (ended 2026)",
        "New tie: Ring — partnership — Google",
        "New tie: Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement",
    ]
    assert not any("Google — hosting" in t for t in titles)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids) and all(
        re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", i) for i in ids
    )
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links[0] == links[1] == f"http://testserver/ties/{partnership.pk}/"
    assert links[2] == f"http://testserver/ties/{hosting.pk}/"
    for entry in entries:
        updated = dt.datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
        assert updated.tzinfo is not None
    summary = entries[0].find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    # The source's title is escaped inside the HTML summary, not markup.
    assert "Ring drops &lt;Flock&gt;" in summary.text
    assert "https://news.example/flock" in summary.text
    assert client.get(f"/ties/{partnership.pk}/").status_code == 200


def test_a_wrong_or_rotated_feed_address_is_not_found(client: Client) -> None:
    watchlist = make_watchlist(make_entity("Amazon"))
    old = feed_path(watchlist)
    assert client.get(old).status_code == 200
    assert client.get("/watch/00000000-0000-4000-8000-000000000000/feed.atom").status_code == 404
    from receipts.watch.services import rotate_feed_token

    rotate_feed_token(watchlist)
    assert client.get(old).status_code == 404
    assert client.get(feed_path(watchlist)).status_code == 200


def test_watchlist_pages_need_a_login_and_show_only_ones_own(client: Client) -> None:
    amazon = make_entity("Amazon")
    theirs = make_watchlist(amazon, owner=make_user("someone"))
    assert client.get("/watch/")["Location"].startswith("/accounts/login/")
    client.force_login(make_user("organiser"))
    assert client.get(f"/watch/{theirs.pk}/").status_code == 404
    assert client.post(f"/watch/{theirs.pk}/delete/").status_code == 404
    assert Watchlist.objects.filter(pk=theirs.pk).exists()
    assert "Targets" not in client.get("/watch/").content.decode()


def test_an_organiser_makes_a_watchlist_and_adds_channels(
    client: Client, receiver: Receiver
) -> None:
    case = make_case()
    user = make_user("organiser")
    client.force_login(user)
    response = client.post("/watch/", {"name": "Amazon", "entities": "Amazon\nNo Such Company"})
    assert response.status_code == 400
    assert "no entity matches" in response.content.decode()
    response = client.post("/watch/", {"name": "Amazon", "entities": "Amazon\nU.S. Department"})
    watchlist = Watchlist.objects.get(owner=user)
    assert response["Location"] == f"/watch/{watchlist.pk}/"
    assert list(watchlist.entities.all()) == [case.amazon, case.dhs]
    page = client.get(f"/watch/{watchlist.pk}/").content.decode()
    assert f"http://testserver/watch/{watchlist.feed_token}/feed.atom" in page

    bad = client.post(f"/watch/{watchlist.pk}/webhooks/", {"url": "http://169.254.169.254/x"})
    assert bad.status_code == 400 and "not a public address" in bad.content.decode()
    ok = client.post(f"/watch/{watchlist.pk}/webhooks/", {"url": receiver.url, "secret": SECRET})
    assert ok.status_code == 302
    client.post(f"/watch/{watchlist.pk}/emails/", {"recipients": "org@example.org"})
    kinds = sorted(Channel.objects.filter(watchlist=watchlist).values_list("kind", flat=True))
    assert kinds == ["email", "webhook"]
    page = client.get(f"/watch/{watchlist.pk}/").content.decode()
    assert receiver.url.replace("&", "&amp;") in page or receiver.url in page
    assert "<script" not in page.split("</head>", 1)[1] and "style=" not in page

    client.post(f"/watch/{watchlist.pk}/entities/{case.dhs.pk}/remove/")
    assert list(watchlist.entities.all()) == [case.amazon]
    client.post(f"/watch/{watchlist.pk}/delete/")
    assert not Watchlist.objects.filter(pk=watchlist.pk).exists()


def test_hostile_watchlist_names_are_escaped_or_refused(client: Client) -> None:
    make_entity("Amazon")
    client.force_login(make_user("organiser"))
    response = client.post("/watch/", {"name": "<script>alert(1)</script>", "entities": "Amazon"})
    watchlist = Watchlist.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    feed = client.get(feed_path(watchlist)).content
    title = ET.fromstring(feed).findtext(f"{ATOM}title")  # noqa: S314 - the site's own feed
    assert title == "Receipts: <script>alert(1)</script>"  # as text, escaped in the XML
    huge = client.post("/watch/", {"name": "x" * 10_000_000, "entities": "Amazon"})
    assert huge.status_code in (400, 413)
    assert Watchlist.objects.count() == 1


def test_an_organiser_sets_when_contract_ends_are_announced(client: Client) -> None:
    user = make_user("organiser")
    watchlist = make_watchlist(owner=user)
    client.force_login(user)
    page = client.get(f"/watch/{watchlist.pk}/").content.decode()
    assert 'value="180, 90, 30"' in page, "the page shows the lead times in force"

    bad = client.post(f"/watch/{watchlist.pk}/ending-warnings/", {"days": "60, soon"})
    assert bad.status_code == 400
    assert "&#x27;soon&#x27; is not a whole number of days" in bad.content.decode()
    too_far = client.post(f"/watch/{watchlist.pk}/ending-warnings/", {"days": "5000"})
    assert too_far.status_code == 400 and "0 to 3650 days" in too_far.content.decode()
    watchlist.refresh_from_db()
    assert watchlist.ending_warning_days == [180, 90, 30], "a refused form changes nothing"

    ok = client.post(f"/watch/{watchlist.pk}/ending-warnings/", {"days": "14, 365,14"})
    assert ok.status_code == 302
    watchlist.refresh_from_db()
    assert watchlist.ending_warning_days == [365, 14]

    other = make_user("someone-else")
    client.force_login(other)
    theirs = client.post(f"/watch/{watchlist.pk}/ending-warnings/", {"days": "1"})
    assert theirs.status_code == 404
    watchlist.refresh_from_db()
    assert watchlist.ending_warning_days == [365, 14]
