import hashlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from receipts.demo import load_demo
from receipts.evidence.models import Entity, Source, Tie
from receipts.web.views import TIES_PER_GROUP, TIES_PER_PAGE
from tests.factories import make_editor, make_entity, make_source, make_tie

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    load_demo()


@pytest.fixture
def editor_client(client):
    client.force_login(make_editor())
    return client


def test_home_search_finds_by_name_alias_and_identifier(client, demo):
    assert "Ring" in client.get("/", {"q": "Ring"}).content.decode()
    by_alias = client.get("/", {"q": "AWS"}).content.decode()
    assert "Amazon Web Services" in by_alias
    by_ticker = client.get("/", {"q": "PLTR"}).content.decode()
    assert "Palantir Technologies" in by_ticker


def test_search_escapes_what_it_echoes(client, demo):
    html = client.get("/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_entity_page_shows_ties_by_kind_with_receipts(client, demo):
    html = client.get("/entities/ring/").content.decode()
    assert "Partnership" in html and "Flock Safety" in html
    assert "Ended" in html
    assert "Protesters Demand Amazon Cut Ties With ICE and Palantir" in html
    assert "Truthout" in html
    # The end date is stored and shown as the report gives it: a year.
    assert "until 2026" in html


def test_rolled_up_page_shows_paths(client, demo):
    html = client.get("/entities/amazon/", {"rollup": "1"}).content.decode()
    assert (
        "Amazon &gt; Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement"
        in html
    )
    assert "Amazon &gt; Amazon Web Services — hosting — U.S. Customs and Border Protection" in html
    assert "Amazon &gt; Ring — partnership — Flock Safety" in html


def test_agency_page_rolls_up_components(client, demo):
    html = client.get(
        "/entities/us-department-of-homeland-security/", {"rollup": "1"}
    ).content.decode()
    assert "With components" in html
    assert (
        "U.S. Department of Homeland Security &gt; U.S. Immigration and Customs Enforcement — hosted by — Amazon Web Services"
        in html
    )


def test_tie_map_is_svg_from_this_site(client, demo):
    response = client.get("/entities/amazon/map.svg")
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg") and "Palantir Technologies" in svg
    assert "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in svg


def test_pages_send_a_strict_content_security_policy(client, demo):
    csp = client.get("/entities/amazon/")["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_unknown_entity_is_404(client):
    assert client.get("/entities/nobody/").status_code == 404


def test_source_page_lists_what_it_backs(client, demo):
    source = Source.objects.get()
    html = client.get(f"/sources/{source.pk}/").content.decode()
    assert "Ring — partnership — Flock Safety" in html
    assert "none recorded" in html  # the report's address is not recorded


def test_editor_attaches_archive_served_back_by_fingerprint(editor_client, archive_dir):
    source = make_source("Contract PDF", kind="government_record")
    content = b"%PDF-1.4\n% a receipt\n"
    response = editor_client.post(
        f"/edit/sources/{source.pk}/archive/",
        {"file": SimpleUploadedFile("contract.pdf", content, content_type="application/pdf")},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    sha = hashlib.sha256(content).hexdigest()
    assert source.archive_sha256 == sha
    assert (archive_dir / sha[:2] / sha[2:4] / sha).read_bytes() == content
    page = editor_client.get(f"/sources/{source.pk}/").content.decode()
    assert sha in page
    served = editor_client.get(f"/sources/{source.pk}/archive/{sha}")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content) == content


def test_archived_html_is_served_as_an_attachment_in_a_sandbox(editor_client):
    source = make_source()
    editor_client.post(
        f"/edit/sources/{source.pk}/archive/",
        {"file": SimpleUploadedFile("page.html", b"<html><script>alert(1)</script></html>")},
    )
    source.refresh_from_db()
    served = editor_client.get(f"/sources/{source.pk}/archive/{source.archive_sha256}")
    assert served["Content-Disposition"].startswith("attachment")
    assert "sandbox" in served["Content-Security-Policy"]


def test_archive_of_unknown_type_is_refused(editor_client):
    source = make_source()
    response = editor_client.post(
        f"/edit/sources/{source.pk}/archive/",
        {"file": SimpleUploadedFile("tool.exe", b"MZ\x90\x00binary")},
    )
    assert response.status_code == 400
    source.refresh_from_db()
    assert source.archive_sha256 == ""


def test_editor_pages_need_login(client):
    response = client.get("/edit/ties/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_editor_pages_need_the_editor_permission(client):
    client.force_login(User.objects.create_user("reader", password="pw-for-tests-only"))
    assert client.get("/edit/ties/new/").status_code == 403
    assert client.post("/edit/entities/new/", {"name": "X", "kind": "company"}).status_code == 403
    assert not Entity.objects.filter(name="X").exists()


def test_web_tie_without_source_is_refused(editor_client):
    make_entity("Acme")
    make_entity("Agency", kind="agency")
    response = editor_client.post(
        "/edit/ties/new/",
        {"subject": "Acme", "kind": "contract", "object": "Agency", "status": "active"},
    )
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert Tie.objects.count() == 0


def test_web_tie_with_source_is_recorded(editor_client):
    make_entity("Acme")
    make_entity("Agency", kind="agency")
    source = make_source()
    response = editor_client.post(
        "/edit/ties/new/",
        {
            "subject": "Acme",
            "kind": "contract",
            "object": "Agency",
            "status": "active",
            "start_date": "2025-03",
            "source": source.pk,
            "quote": "awarded to Acme",
        },
    )
    assert response.status_code == 302
    tie = Tie.objects.get()
    assert tie.start_date == "2025-03"
    assert tie.citations.get().quote == "awarded to Acme"


def test_web_cycle_is_a_form_error(editor_client):
    a, b = make_entity("A"), make_entity("B")
    source = make_source()
    base = {"kind": "owns", "status": "active", "source": source.pk}
    assert (
        editor_client.post("/edit/ties/new/", {**base, "subject": "A", "object": "B"}).status_code
        == 302
    )
    response = editor_client.post("/edit/ties/new/", {**base, "subject": "B", "object": "A"})
    assert response.status_code == 400
    assert "cycle" in response.content.decode()
    assert Tie.objects.count() == 1
    assert a.pk and b.pk


def test_web_ending_a_tie_needs_a_citation(editor_client, demo):
    tie = Tie.objects.get(kind="hosting", object__name__contains="Immigration")
    data = {
        "subject": tie.subject.slug,
        "object": tie.object.slug,
        "kind": "hosting",
        "status": "ended",
        "end_date": "2026-03",
    }
    response = editor_client.post(f"/edit/ties/{tie.pk}/", data)
    assert response.status_code == 400
    tie.refresh_from_db()
    assert tie.status == "alleged"
    source = make_source("AWS drops ICE")
    assert (
        editor_client.post(f"/edit/ties/{tie.pk}/", {**data, "source": source.pk}).status_code
        == 302
    )
    tie.refresh_from_db()
    assert (tie.status, tie.end_date, tie.citations.count()) == ("ended", "2026-03", 2)


def test_editor_creates_entity_with_identifiers(editor_client):
    response = editor_client.post(
        "/edit/entities/new/",
        {
            "name": "Acme Cloud",
            "kind": "company",
            "aliases": "Acme\nACME Inc",
            "identifiers": "ticker:acm\nuei:xyz123",
        },
    )
    assert response.status_code == 302
    e = Entity.objects.get(name="Acme Cloud")
    assert e.aliases == ["Acme", "ACME Inc"]
    assert sorted(e.identifiers.values_list("scheme", "value")) == [
        ("ticker", "ACM"),
        ("uei", "XYZ123"),
    ]


def test_admin_cannot_save_an_uncited_tie(admin_client):
    a, b = make_entity("A"), make_entity("B")
    response = admin_client.post(
        "/admin/evidence/tie/add/",
        {
            "subject": a.pk,
            "object": b.pk,
            "kind": "partnership",
            "status": "active",
            "citations-TOTAL_FORMS": "0",
            "citations-INITIAL_FORMS": "0",
            "citations-MIN_NUM_FORMS": "0",
            "citations-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "Required for a new tie" in response.content.decode()
    assert Tie.objects.count() == 0


def test_admin_saves_a_cited_tie_through_the_service(admin_client):
    a, b = make_entity("A"), make_entity("B")
    source = make_source()
    response = admin_client.post(
        "/admin/evidence/tie/add/",
        {
            "subject": a.pk,
            "object": b.pk,
            "kind": "partnership",
            "status": "active",
            "cite_source": source.pk,
            "cite_quote": "they partner",
            "citations-TOTAL_FORMS": "0",
            "citations-INITIAL_FORMS": "0",
            "citations-MIN_NUM_FORMS": "0",
            "citations-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Tie.objects.get().citations.get().quote == "they partner"


def test_admin_refuses_a_cycle(admin_client):
    a, b = make_entity("A"), make_entity("B")
    source = make_source()
    from tests.factories import make_tie

    make_tie(a, "owns", b)
    response = admin_client.post(
        "/admin/evidence/tie/add/",
        {
            "subject": b.pk,
            "object": a.pk,
            "kind": "owns",
            "status": "active",
            "cite_source": source.pk,
            "citations-TOTAL_FORMS": "0",
            "citations-INITIAL_FORMS": "0",
            "citations-MIN_NUM_FORMS": "0",
            "citations-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "cycle" in response.content.decode()
    assert Tie.objects.count() == 1


def test_an_agency_with_many_contracts_lists_the_largest_first_and_pages_the_rest(client):
    agency = make_entity("Agency With Many Contracts", kind="agency")
    source = make_source()
    total = 2 * TIES_PER_PAGE + 7
    for n in range(total):
        make_tie(
            make_entity(f"Contractor {n:03d}"),
            "contract",
            agency,
            source=source,
            amount=Decimal(n * 1000),
            currency="USD",
        )
    make_tie(agency, "partnership", make_entity("A Partner"), source=source)

    page = client.get(agency.get_absolute_url()).content.decode()
    # Every kind is listed, each with its full count; contracts largest first, cut at a group's size.
    assert f'Contract <span class="count">({total})</span>' in page
    assert "A Partner" in page
    assert page.index(f"Contractor {total - 1:03d}") < page.index(f"Contractor {total - 2:03d}")
    assert f"Contractor {total - TIES_PER_GROUP:03d}" in page
    assert f"Contractor {total - TIES_PER_GROUP - 1:03d}" not in page
    assert f'href="?kind=contract">All {total} contract ties</a> (largest first)' in page

    second = client.get(agency.get_absolute_url(), {"kind": "contract", "page": 2}).content.decode()
    assert f"Ties {TIES_PER_PAGE + 1}–{2 * TIES_PER_PAGE} of {total} (page 2 of 3)" in second
    assert f"Contractor {total - TIES_PER_PAGE - 1:03d}" in second
    assert f"Contractor {total - 1:03d}" not in second
    assert "Partnership <span" not in second  # only the kind asked for
    # Asking for an unknown kind shows the whole page, not an error.
    assert client.get(agency.get_absolute_url(), {"kind": "nonsense"}).status_code == 200


def test_a_missing_page_is_a_404_with_the_site_around_it(client):
    response = client.get("/ties/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Not found" in page and 'role="search"' in page and "Receipts" in page
