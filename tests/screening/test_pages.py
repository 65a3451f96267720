"""The screening pages through the Django test client: upload, report, exports, limits, profiles."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from receipts.outreach.models import RateLimitBucket
from receipts.screening import reading, services, views
from receipts.screening.models import ScreeningProfile
from tests.factories import login_verified
from tests.screening.factories import REPORT_TITLE, make_world

pytestmark = pytest.mark.django_db

PORTFOLIO = (
    b"Ticker,Name,Market Value (USD)\n"
    b'AMZN,"Amazon.com, Inc.","6,000.00"\n'
    b"QQQQ,<b>Quuxly</b> Holdings,1000\n"
    b",Amazon Webb Services,1000\n"
    b",Flock Safety,2000\n"
)


def upload(client: Client, data: bytes = PORTFOLIO, name: str = "portfolio.csv", **fields: str):
    return client.post(
        "/screen/",
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **fields},
    )


def test_upload_page_has_the_form_and_the_profiles(client: Client) -> None:
    make_world()
    html = client.get("/screen/").content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "csrfmiddlewaretoken" in html
    assert "DHS immigration enforcement" in html


def test_upload_gives_a_printable_report_with_receipts(client: Client) -> None:
    make_world()
    response = upload(client, profile="dhs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Flagged (1)" in html and "Possible (1)" in html and "Clear (1)" in html
    assert "Not found (1)" in html
    assert (
        "Amazon &gt; Amazon Web Services — hosting — U.S. Immigration and Customs Enforcement "
        "&lt; U.S. Department of Homeland Security" in html
    )
    assert REPORT_TITLE in html
    assert "https://example.org/aws-ice" in html
    assert "60.0%" in html
    assert "Ended ties do not flag." in html
    assert "screening/print.css" in html
    # What the file says is shown as text, never as markup.
    assert "&lt;b&gt;Quuxly&lt;/b&gt;" in html
    assert "<b>Quuxly</b>" not in html


def test_report_has_no_inline_script_or_style(client: Client) -> None:
    make_world()
    html = upload(client).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html
    assert "<style" not in html


def test_upload_exports_csv_and_json(client: Client) -> None:
    make_world()
    response = upload(client, format="csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="screening-portfolio.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["status"] for r in rows] == ["flagged", "not_found", "possible", "clear"]
    data = json.loads(upload(client, format="json").content)
    assert data["flagged_value_share"] == pytest.approx(0.6)
    assert [line["status"] for line in data["lines"]] == [
        "flagged",
        "not_found",
        "possible",
        "clear",
    ]


def test_upload_without_csrf_token_is_refused() -> None:
    make_world()
    response = upload(Client(enforce_csrf_checks=True))
    assert response.status_code == 403


def test_bad_file_is_one_clear_error_and_no_report(client: Client) -> None:
    make_world()
    response = upload(client, "Nestlé,5\n".encode("latin-1"), name="latin.csv")
    assert response.status_code == 400
    html = response.content.decode()
    assert "latin.csv: not UTF-8 text: byte 0xE9 at byte position" in html
    assert "Flagged (" not in html
    no_columns = upload(client, b"Foo,Bar\n1,2\n", name="odd.csv")
    assert no_columns.status_code == 400
    assert "odd.csv: no column to screen by; headers found: &#x27;Foo&#x27;, &#x27;Bar&#x27;" in (
        no_columns.content.decode()
    )


def test_too_many_lines_get_a_413_pointing_to_the_command(client: Client, monkeypatch) -> None:
    make_world()
    monkeypatch.setattr(views, "UPLOAD_MAX_LINES", 3)
    response = upload(client)
    assert response.status_code == 413
    html = response.content.decode()
    assert "larger than the site screens in one request (3 lines)" in html
    assert "receipts screen FILE --profile dhs" in html


def test_too_many_bytes_get_a_413_before_the_upload_is_read(client: Client, monkeypatch) -> None:
    make_world()
    monkeypatch.setattr(views, "UPLOAD_MAX_BYTES", 2048)
    monkeypatch.setattr(views, "FORM_OVERHEAD_BYTES", 0)
    response = upload(client, b"ticker\n" + b"AMZN\n" * 1000)
    assert response.status_code == 413
    assert "receipts screen FILE" in response.content.decode()


def test_upload_stopped_at_the_limit_as_it_arrives(client: Client, monkeypatch) -> None:
    make_world()
    monkeypatch.setattr(views, "UPLOAD_MAX_BYTES", 2048)
    # A body without a declared length is cut by the upload handler.
    monkeypatch.setattr(views, "FORM_OVERHEAD_BYTES", 10**9)
    response = upload(client, b"ticker\n" + b"AMZN\n" * 1000)
    assert response.status_code == 413


def test_builtin_default_profile_has_an_address_without_a_row(client: Client) -> None:
    make_world()
    assert not ScreeningProfile.objects.exists()
    html = client.get("/screen/profiles/dhs/").content.decode()
    assert "DHS immigration enforcement" in html
    assert "U.S. Department of Homeland Security</a> with its 2 components" in html
    assert "ended ties do not flag" in html
    assert "/screen/?profile=dhs" in html


def test_unlisted_profile_is_shared_by_its_address(client: Client) -> None:
    world = make_world()
    services.save_profile(
        name="CBP only",
        agencies=[world.cbp],
        tie_kinds=["contract"],
        statuses=["active"],
        listed=False,
    )
    assert "CBP only" not in client.get("/screen/").content.decode()
    page = client.get("/screen/?profile=cbp-only").content.decode()
    assert '<option value="cbp-only" selected>CBP only</option>' in page
    assert client.get("/screen/profiles/cbp-only/").status_code == 200
    assert client.get("/screen/profiles/nope/").status_code == 404
    response = upload(client, b"ticker\nAMZN\n", profile="cbp-only")
    assert "Flagged (0)" in response.content.decode()


def test_logged_in_user_makes_a_profile_and_only_they_change_it(client: Client) -> None:
    make_world()
    assert client.get("/screen/profiles/new/").status_code == 302  # to the login page
    owner = User.objects.create_user("owner", password="correct horse battery")
    client.force_login(owner)
    response = client.post(
        "/screen/profiles/new/",
        {
            "name": "ICE contracts",
            "agencies": "ICE\n",
            "tie_kinds": ["contract"],
            "statuses": ["active", "alleged"],
            "listed": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    profile = ScreeningProfile.objects.get(slug="ice-contracts")
    assert profile.created_by == owner
    assert [a.name for a in profile.agencies.all()] == ["U.S. Immigration and Customs Enforcement"]
    assert client.get("/screen/profiles/ice-contracts/edit/").status_code == 200

    other = Client()
    other.force_login(User.objects.create_user("other", password="correct horse battery"))
    assert other.get("/screen/profiles/ice-contracts/edit/").status_code == 403


def test_profile_form_refuses_a_company_as_agency(client: Client) -> None:
    make_world()
    client.force_login(User.objects.create_user("u", password="correct horse battery"))
    response = client.post(
        "/screen/profiles/new/",
        {"name": "Odd", "agencies": "Amazon", "tie_kinds": ["contract"], "statuses": ["active"]},
    )
    assert response.status_code == 400
    assert "Amazon is a company, not an agency" in response.content.decode()
    assert not ScreeningProfile.objects.exists()


def test_admin_saves_profiles_through_the_service(client: Client) -> None:
    world = make_world()
    # The admin asks for two-factor login.
    login_verified(
        client, User.objects.create_superuser("root", "root@example.org", "correct horse")
    )
    response = client.post(
        "/admin/screening/screeningprofile/add/",
        {
            "name": "ICE contracts",
            "slug": "ice-contracts",
            "agencies": [world.ice.pk],
            "tie_kinds": ["contract"],
            "statuses": ["active"],
            "listed": "on",
            "description": "",
        },
    )
    assert response.status_code == 302
    profile = ScreeningProfile.objects.get(slug="ice-contracts")
    assert (profile.tie_kinds, profile.created_by.username) == (["contract"], "root")
    refused = client.post(
        "/admin/screening/screeningprofile/add/",
        {"name": "Odd", "slug": "odd", "agencies": [world.amazon.pk], "tie_kinds": ["owns"]},
    )
    assert refused.status_code == 200
    assert not ScreeningProfile.objects.filter(slug="odd").exists()


# --- hostile uploads: bounded work, one clear refusal ----------------------------------------

FOUR_MB_ONE_LINE = b"a," * (2 * 1024 * 1024)


def alert_text(response) -> str:
    found = re.search(r'role="alert">(.*?)</p>', response.content.decode(), re.S)
    return html.unescape(found.group(1)) if found else ""


def test_a_4mb_one_line_file_is_refused_before_its_header_is_parsed(
    client: Client, monkeypatch
) -> None:
    make_world()
    headers_read: list[str] = []
    real_header_key = reading.header_key

    def counting(header: str) -> str:
        headers_read.append(header)
        return real_header_key(header)

    monkeypatch.setattr(reading, "header_key", counting)
    response = upload(client, FOUR_MB_ONE_LINE, name="one-line.csv")
    assert response.status_code == 413
    assert alert_text(response) == (
        "This file is larger than the site screens in one request (10,000 characters on a "
        "line): one-line.csv, line 1: longer than 10,000 characters. Screen it from the command "
        "line, which reads any size: receipts screen FILE --profile dhs --format csv -o report.csv"
    )
    assert headers_read == []  # the million-cell header was never split and compared
    assert len(response.content) < 20_000  # and the page does not echo it


def test_a_long_line_further_down_is_named_by_its_line(client: Client) -> None:
    make_world()
    data = b"Ticker,Name\n" + b"AMZN,Amazon\n" * 20_000 + b"AMZN," + b"x" * 20_000 + b"\n"
    response = upload(client, data, name="long.csv")
    assert response.status_code == 413
    assert "long.csv, line 20002: longer than 10,000 characters" in alert_text(response)


def test_a_long_cell_is_a_422_naming_its_line_and_column(client: Client) -> None:
    make_world()
    response = upload(client, b"Ticker,Name\nAMZN,Amazon\nPLTR," + b"P" * 5000 + b"\n")
    assert response.status_code == 422
    html_text = html.unescape(response.content.decode())
    assert (
        "portfolio.csv, line 3: the 'Name' cell holds 5,000 characters; at most 1,000 are read "
        "in a cell here" in html_text
    )
    assert "Flagged (" not in html_text


def test_a_quoted_cell_spanning_short_lines_is_held_to_the_cell_limit(client: Client) -> None:
    make_world()
    spanning = b'"' + b"x" * 50 + (b"\n" + b"x" * 50) * 40 + b'"'
    # A header cell with a line break: this file keeps line breaks in cells on purpose.
    header = b'Ticker,"Notes\n(free text)"\n'
    response = upload(client, header + b"AMZN," + spanning + b"\n")
    assert response.status_code == 422
    assert "line 43: the 'Notes (free text)' cell holds 2,090 characters" in html.unescape(
        response.content.decode()
    )


def test_a_header_of_too_many_columns_is_refused(client: Client) -> None:
    make_world()
    header = ",".join(["Ticker", *(f"c{i}" for i in range(300))]).encode()
    response = upload(client, header + b"\nAMZN\n")
    assert response.status_code == 413
    assert "line 1: the header has 301 columns, more than 200" in alert_text(response)


def test_screening_past_its_processor_time_stops_with_a_413(client: Client, settings) -> None:
    make_world()
    settings.SCREEN_CPU_SECONDS = 0
    response = upload(client)
    assert response.status_code == 413
    text = alert_text(response)
    assert "(0 seconds of processor time): portfolio.csv: screening stopped at line 2" in text
    assert "receipts screen FILE --profile dhs" in text
    assert "Flagged (" not in response.content.decode()


def test_anonymous_uploads_past_the_rate_are_refused_with_429(client: Client, settings) -> None:
    make_world()
    settings.SCREEN_RATE_PER_MINUTE = 3
    # Three per minute; a run that crosses a minute boundary gets one more window.
    codes = [upload(client).status_code for _ in range(3)]
    refused = upload(client)
    while refused.status_code == 200 and len(codes) < 7:
        codes.append(200)
        refused = upload(client)
    assert codes[:3] == [200, 200, 200] and len(codes) <= 6
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert alert_text(refused).startswith(
        "Too many files have been screened from this connection (3 a minute and 100 a day "
        "without signing in). Nothing was read from this one; try again in about 1 minute"
    )
    assert "Flagged (" not in refused.content.decode()
    # Another address has its own count; the client's address itself is never stored.
    assert upload(Client(REMOTE_ADDR="192.0.2.7")).status_code == 200
    assert not RateLimitBucket.objects.filter(client_key__contains="127.0.0.1").exists()


def test_the_daily_rate_says_when_to_come_back(client: Client, settings) -> None:
    make_world()
    settings.SCREEN_RATE_PER_DAY = 2
    codes = [upload(client).status_code for _ in range(5)]
    assert codes[:2] == [200, 200] and 429 in codes  # a run across midnight gets a new day
    refused = upload(client)
    assert refused.status_code == 429
    assert "try again in about" in alert_text(refused)
    assert "hour" in alert_text(refused) or int(refused["Retry-After"]) <= 3600


def test_a_signed_in_editor_is_not_rate_limited(client: Client, settings) -> None:
    make_world()
    settings.SCREEN_RATE_PER_MINUTE = 1
    editor = User.objects.create_user("editor", password="a long passphrase 7")
    client.force_login(editor)
    assert [upload(client).status_code for _ in range(4)] == [200, 200, 200, 200]
    assert not RateLimitBucket.objects.exists()


def test_the_upload_page_sends_big_files_to_the_command_line(client: Client) -> None:
    make_world()
    text = html.unescape(client.get("/screen/").content.decode())
    assert "lines of at most 10,000 characters, 5 files a minute without signing in" in text
    assert "Big files go through the command line, which reads any size" in text
    assert "receipts screen FILE --format csv -o report.csv" in text


def test_a_stray_quote_is_a_400_naming_the_line_and_no_report(client: Client) -> None:
    make_world()
    broken = PORTFOLIO.replace(b'\nAMZN,"Amazon', b'\n"AMZN,"Amazon', 1)
    response = upload(client, broken)
    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    assert "portfolio.csv, line 2: a quoted cell is followed by more text" in text
    assert "Flagged (" not in text
    swallowing = b'Ticker,Name,Value\nAMZN,Amazon,1\n"TGT,Target,2\nPLTR,Palantir,3\n'
    response = upload(client, swallowing)
    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    assert "portfolio.csv, line 3: a quote opens a cell here and never closes" in text


def test_the_report_page_shows_line_counts_not_found_and_the_shares_bases(
    client: Client,
) -> None:
    make_world()
    response = upload(client, PORTFOLIO + b"\n,,\n")
    assert response.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(response.content.decode())).split())
    assert "Lines in the file 7 (1 header, 2 empty)" in text
    assert "Lines screened 4" in text
    assert "Clear 1 (matched, no tie the profile counts)" in text
    assert "Not found 1 (no entity matched" in text
    assert "Flagged, of the value of lines screened 60.0%" in text
    assert "Flagged, of the value of lines matched 75.0%" in text
    assert "Not found (1)" in text
    assert "QQQQ" in text.split("Not found (1)")[1]
