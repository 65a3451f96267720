"""The public page cache, through the real middleware stack on a real database.

These tests commit (``transaction=True``): the content generation moves on
when a change commits, and inside a test's own transaction the cache stands
aside, so only committed work shows what readers would see.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.test import Client

from receipts.campaigns import services as campaigns
from receipts.campaigns.models import Campaign, MemberRole
from receipts.demo import load_demo
from receipts.evidence import services
from receipts.evidence.models import Entity, Source, Tie
from receipts.evidence.queries import resolve_entity
from receipts.ingest.usaspending.importer import import_usaspending
from receipts.pagecache import generation
from receipts.pagecache.middleware import HEADER
from tests.campaigns.factories import cite, make_campaign, make_member, make_token
from tests.factories import make_editor, make_entity

pytestmark = pytest.mark.django_db(transaction=True)

CAMPAIGN = "/campaigns/amazon-dump-ice/"
FORM = "/campaigns/amazon-dump-ice/join/amazon-employees/"
# The public pages and API reads of the load benchmark, and the other cached views.
PUBLIC = [
    "/",
    "/entities/amazon/",
    "/entities/amazon/?rollup=1",
    CAMPAIGN,
    "/?q=Amazon",
    "/api/entities/amazon/ties?rollup=true",
    "/api/campaigns/amazon-dump-ice",
    f"{CAMPAIGN}brief/",
    "/campaigns/",
    "/entities/amazon/map.svg",
]
AWARDS_SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "data/usaspending/ice_umn_Contracts_PrimeAwardSummaries.csv"
)


@pytest.fixture(autouse=True)
def empty_cache():
    caches[settings.PAGE_CACHE_ALIAS].clear()
    yield
    caches[settings.PAGE_CACHE_ALIAS].clear()


@pytest.fixture
def demo() -> Campaign:
    load_demo()
    return Campaign.objects.get(slug="amazon-dump-ice")


@pytest.fixture
def anonymous() -> Client:
    return Client()


def cached(response) -> str | None:
    return response.get(HEADER)


# --- hits -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC)
def test_a_public_page_is_rendered_once_then_served_with_one_query(
    demo: Campaign, anonymous: Client, django_assert_num_queries, path: str
):
    first = anonymous.get(path)
    assert first.status_code == 200
    assert cached(first) == "miss"
    # Only the content generation is read: no session, no view.
    with django_assert_num_queries(1):
        second = anonymous.get(path)
    assert cached(second) == "hit"
    assert second.status_code == 200
    assert second.content == first.content


@pytest.mark.parametrize("path", [CAMPAIGN, "/entities/amazon/", "/api/campaigns/amazon-dump-ice"])
def test_a_hit_carries_the_security_headers_of_a_fresh_answer(
    demo: Campaign, anonymous: Client, path: str
):
    fresh = anonymous.get(path)
    hit = anonymous.get(path)
    assert cached(hit) == "hit"
    for header in (
        "Content-Type",
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Vary",
    ):
        if header != "Vary" or fresh.has_header("Vary"):
            assert hit[header] == fresh[header], header
    assert "script-src 'self'" in hit["Content-Security-Policy"]
    assert hit["X-Frame-Options"] == "DENY"
    assert int(hit["Content-Length"]) == len(hit.content)
    assert not hit.cookies


def test_a_csrf_cookie_alone_still_gets_cached_pages(demo: Campaign, anonymous: Client):
    anonymous.get(FORM)  # the sign-up form sets the CSRF cookie
    assert settings.CSRF_COOKIE_NAME in anonymous.cookies
    anonymous.get(CAMPAIGN)
    assert cached(anonymous.get(CAMPAIGN)) == "hit"


# --- fresh after every change -----------------------------------------------------------


def test_a_tie_changed_through_the_services_shows_at_once(demo: Campaign, anonymous: Client):
    tie = Tie.objects.get(ftm_id="receipts-demo-tie-ring-flock-partnership")
    anonymous.get("/entities/ring/")
    before = anonymous.get("/entities/ring/")
    assert cached(before) == "hit"
    assert "A summary written just now" not in before.content.decode()
    services.update_tie(tie, summary="A summary written just now")
    after = anonymous.get("/entities/ring/")
    assert cached(after) == "miss"
    assert "A summary written just now" in after.content.decode()
    # The campaign page lists the same tie among its target's: fresh as well.
    assert "A summary written just now" in anonymous.get(CAMPAIGN).content.decode()


def test_a_tie_changed_by_an_editor_on_the_site_shows_at_once(demo: Campaign, anonymous: Client):
    tie = Tie.objects.get(ftm_id="receipts-demo-tie-ring-flock-partnership")
    editor = Client()
    editor.force_login(make_editor())
    page = editor.get(f"/edit/ties/{tie.pk}/")
    anonymous.get("/entities/ring/")
    assert cached(anonymous.get("/entities/ring/")) == "hit"
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["summary"] = "Edited on the site a moment ago"
    response = editor.post(f"/edit/ties/{tie.pk}/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    html = anonymous.get("/entities/ring/").content.decode()
    assert "Edited on the site a moment ago" in html


def test_a_demand_met_shows_on_the_campaign_page_and_the_api_at_once(
    demo: Campaign, anonymous: Client
):
    for path in (CAMPAIGN, "/api/campaigns/amazon-dump-ice"):
        anonymous.get(path)
    assert "1 of 3 demands met" in anonymous.get(CAMPAIGN).content.decode()
    demand = demo.demands.exclude(status="met").order_by("position").first()
    campaigns.change_demand_status(demand, "met", date="2026-03", citation=cite())
    assert "2 of 3 demands met" in anonymous.get(CAMPAIGN).content.decode()
    assert anonymous.get("/api/campaigns/amazon-dump-ice").json()["demands_met"] == 2


def test_bulk_inserted_ties_show_at_once(demo: Campaign, anonymous: Client):
    amazon = Entity.objects.get(slug="amazon")
    agency = make_entity("Bureau of Bulk Records", kind="agency")
    source = Source.objects.first()
    anonymous.get("/entities/amazon/")
    assert cached(anonymous.get("/entities/amazon/")) == "hit"
    services.record_ties_bulk(
        [
            services.TieSpec(
                subject_id=amazon.pk,
                object_id=agency.pk,
                kind="contract",
                ftm_id="bulk-tie-1",
                citations=[(source.pk, "a quote", "row 1")],
            )
        ]
    )
    assert "Bureau of Bulk Records" in anonymous.get("/entities/amazon/").content.decode()
    assert "Bureau of Bulk Records" in anonymous.get("/api/entities/amazon/ties").content.decode()


def test_bulk_inserts_say_so_even_where_no_statement_is_seen(demo: Campaign):
    """COPY on PostgreSQL passes no execute wrapper: ``insert_rows`` reports the change itself."""
    from django.utils import timezone

    from receipts.evidence import bulk
    from receipts.evidence.models import Citation

    tie = Tie.objects.get(ftm_id="receipts-demo-tie-ring-flock-partnership")
    source = Source.objects.first()
    before = generation.current()
    connection.execute_wrappers.remove(generation._watch_writes)
    try:
        bulk.insert_rows(
            Citation,
            ["tie_id", "source_id", "quote", "locator", "created_at"],
            [[tie.pk, source.pk, "q", "x", timezone.now()]],
        )
    finally:
        generation.watch(connection)
    assert generation.current() != before


def test_an_import_shows_at_once(demo: Campaign, anonymous: Client):
    ice = resolve_entity("ICE")
    path = ice.get_absolute_url()
    anonymous.get(path)
    assert cached(anonymous.get(path)) == "hit"
    import_usaspending([AWARDS_SAMPLE])
    after = anonymous.get(path)
    assert cached(after) == "miss"
    assert "REGENTS OF THE UNIVERSITY OF MINNESOTA" in after.content.decode().upper()


# --- never shared between people, never for private things ----------------------------------


def test_a_logged_in_editor_never_gets_the_anonymous_page(demo: Campaign, anonymous: Client):
    anonymous.get(CAMPAIGN)
    assert cached(anonymous.get(CAMPAIGN)) == "hit"
    editor = Client()
    editor.force_login(make_member(demo, "organiser", MemberRole.ORGANISER))
    response = editor.get(CAMPAIGN)
    assert cached(response) is None
    html = response.content.decode()
    assert "Log out organiser" in html


def test_the_anonymous_page_never_gets_a_logged_in_editors_page(demo: Campaign, anonymous: Client):
    editor = Client()
    editor.force_login(make_member(demo, "organiser", MemberRole.ORGANISER))
    for _ in range(2):
        assert cached(editor.get(CAMPAIGN)) is None
    response = anonymous.get(CAMPAIGN)
    assert cached(response) == "miss"
    assert "Log out" not in response.content.decode()
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_any_session_cookie_goes_past_the_cache(demo: Campaign, anonymous: Client):
    anonymous.get(CAMPAIGN)
    anonymous.cookies[settings.SESSION_COOKIE_NAME] = "not-a-real-session"
    assert cached(anonymous.get(CAMPAIGN)) is None
    other = Client()
    other.cookies["messages"] = "anything"
    assert cached(other.get(CAMPAIGN)) is None


def test_a_page_with_a_csrf_token_is_never_cached(demo: Campaign, anonymous: Client):
    for client in (anonymous, Client()):
        response = client.get(FORM)
        assert response.status_code == 200
        assert "csrfmiddlewaretoken" in response.content.decode()
        assert cached(response) is None
    # Two browsers, two tokens: neither was handed the other's page.
    assert anonymous.get(FORM).content != Client().get(FORM).content


def test_a_private_campaign_is_never_cached_nor_leaked(demo: Campaign):
    secret = make_campaign("Secret plans", slug="secret", visibility="private")
    member = make_member(secret, "member", MemberRole.VIEWER)
    insider = Client()
    insider.force_login(member)
    for path in ("/campaigns/secret/", "/api/campaigns/secret", "/campaigns/"):
        assert insider.get(path).status_code == 200
    token = make_token(member)
    by_token = Client().get("/api/campaigns/secret", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_token.status_code == 200
    assert cached(by_token) is None
    outsider = Client()
    for _ in range(2):
        assert outsider.get("/campaigns/secret/").status_code == 404
        assert outsider.get("/api/campaigns/secret").status_code == 404
        assert "Secret plans" not in outsider.get("/campaigns/").content.decode()
        assert "Secret plans" not in outsider.get("/api/campaigns").content.decode()


def test_a_campaign_made_private_disappears_from_the_cache(demo: Campaign, anonymous: Client):
    anonymous.get(CAMPAIGN)
    assert cached(anonymous.get(CAMPAIGN)) == "hit"
    campaigns.update_campaign(demo, visibility="private")
    assert anonymous.get(CAMPAIGN).status_code == 404
    assert anonymous.get("/api/campaigns/amazon-dump-ice").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/admin/",
        "/edit/entities/new/",
        "/screen/",
        "/watch/",
        FORM,
        "/campaigns/no-such-campaign/",
    ],
)
def test_other_addresses_are_never_cached(demo: Campaign, anonymous: Client, path: str):
    for _ in range(2):
        assert cached(anonymous.get(path)) is None


def test_only_get_is_cached(demo: Campaign, anonymous: Client):
    anonymous.get(CAMPAIGN)
    assert cached(anonymous.head(CAMPAIGN)) is None
    assert anonymous.post(CAMPAIGN).status_code == 405


def test_a_sign_up_leaves_the_cache_warm(demo: Campaign, anonymous: Client, settings):
    """Supporters' data is never shown publicly: storing it moves nothing on."""
    import re

    settings.OUTREACH_MIN_FILL_SECONDS = 0
    anonymous.get(CAMPAIGN)
    before = generation.current()
    page = anonymous.get(FORM).content.decode()
    data = {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1],
        "started": re.search(r'name="started" value="([^"]+)"', page)[1],
        "source": "",
        "name": "Pat Example",
        "email": "pat@example.org",
        "employer": "Amazon",
        "role": "Warehouse associate",
        "city": "Seattle",
        "fax_number_confirm": "",
        "consent": "on",
    }
    assert anonymous.post(FORM, data).status_code in (302, 303)
    assert generation.current() == before
    assert cached(anonymous.get(CAMPAIGN)) == "hit"


def test_the_cache_can_be_turned_off(demo: Campaign, anonymous: Client, settings):
    settings.PAGE_CACHE = False
    for _ in range(2):
        assert cached(anonymous.get(CAMPAIGN)) is None


def test_without_a_readable_generation_nothing_is_cached(demo: Campaign, anonymous: Client):
    from receipts.pagecache.models import ContentGeneration

    ContentGeneration.objects.all().delete()
    for _ in range(2):
        response = anonymous.get(CAMPAIGN)
        assert response.status_code == 200
        assert cached(response) is None
    # The next change writes a generation again.
    services.update_tie(Tie.objects.first(), summary="changed")
    assert generation.current()


# --- a full disk -----------------------------------------------------------------------


@pytest.fixture
def token_unwritable():
    """The database refuses to write the content generation, as a full disk would.

    A trigger raises the error a full disk raises (on PostgreSQL its very SQLSTATE,
    ``disk_full``); the statements go past the write hook, which would otherwise
    count them as changes. Dropping it frees the space again.
    """
    table = "pagecache_contentgeneration"
    if connection.vendor == "postgresql":
        install = [
            "CREATE FUNCTION receipts_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = 'disk_full'; END $$",
            f"CREATE TRIGGER receipts_disk_full BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION receipts_disk_full()",
        ]
        remove = [
            f"DROP TRIGGER receipts_disk_full ON {table}",
            "DROP FUNCTION receipts_disk_full()",
        ]
    else:
        install = [
            f"CREATE TRIGGER receipts_disk_full_{verb} BEFORE {verb} ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            for verb in ("INSERT", "UPDATE")
        ]
        remove = [f"DROP TRIGGER receipts_disk_full_{verb}" for verb in ("INSERT", "UPDATE")]

    installed = []

    def run(statements: list[str]) -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.cursor.execute(sql)

    def free_space() -> None:
        if installed:
            run(remove)
            installed.clear()

    run(install)
    installed.append(True)
    yield free_space
    free_space()


def test_a_change_whose_generation_cannot_be_written_is_not_kept(
    demo: Campaign, anonymous: Client, token_unwritable, caplog
):
    tie = Tie.objects.get(ftm_id="receipts-demo-tie-ring-flock-partnership")
    anonymous.get("/entities/ring/")
    assert cached(anonymous.get("/entities/ring/")) == "hit"
    with pytest.raises(DatabaseError):
        services.update_tie(tie, summary="Written as the disk filled up")
    # The change and the generation commit together or not at all: the page served
    # shows what the database holds.
    stored = Tie.objects.get(pk=tie.pk).summary
    page = anonymous.get("/entities/ring/").content.decode()
    assert stored != "Written as the disk filled up"
    assert "Written as the disk filled up" not in page

    token_unwritable()  # space freed: the next change shows at once
    services.update_tie(tie, summary="Written once there was room")
    after = anonymous.get("/entities/ring/")
    assert cached(after) == "miss"
    assert "Written once there was room" in after.content.decode()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_an_autocommitted_change_whose_generation_cannot_be_written_shows_here_at_once(
    demo: Campaign, anonymous: Client, token_unwritable, caplog
):
    tie = Tie.objects.get(ftm_id="receipts-demo-tie-ring-flock-partnership")
    anonymous.get("/entities/ring/")
    assert cached(anonymous.get("/entities/ring/")) == "hit"
    # Outside any transaction the row is committed before the generation can follow.
    Tie.objects.filter(pk=tie.pk).update(summary="Committed as the disk filled up")
    after = anonymous.get("/entities/ring/")
    assert cached(after) == "miss"
    assert "Committed as the disk filled up" in after.content.decode()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    warnings = [r.getMessage() for r in caplog.records if r.name == generation.__name__]
    assert warnings, "the failed generation write went unreported"
    assert all("could not be moved on" in w for w in warnings), warnings
