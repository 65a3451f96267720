"""Capturing a link: through the command line, against a local site with every awkward page."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from receipts.captures.models import Capture
from receipts.captures.services import capture_source
from receipts.cli import main
from receipts.evidence.models import Source
from receipts.evidence.services import EvidenceError, archive_path
from tests.factories import make_source

from .site import PDF, Site

pytestmark = pytest.mark.django_db


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def capture_json(url: str, *extra: str) -> dict[str, Any]:
    result = run("capture", url, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_page_is_kept_as_wacz_pdf_screenshot_and_text_under_sha256_with_a_manifest(
    site: Site, local_captures: Any, archive_dir: Path
) -> None:
    record = capture_json(site.url("/article"))

    capture = Capture.objects.get()
    assert set(record["files"]) == {"wacz", "pdf", "screenshot", "text", "manifest"}
    for role, entry in record["files"].items():
        data = archive_path(entry["sha256"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], role
        assert len(data) == entry["size"]
    assert archive_path(record["files"]["pdf"]["sha256"]).read_bytes().startswith(b"%PDF-")
    assert archive_path(record["files"]["screenshot"]["sha256"]).read_bytes()[:4] == b"\x89PNG"
    # The fingerprint is the manifest's SHA-256, and the manifest names every other file.
    manifest_bytes = archive_path(capture.fingerprint).read_bytes()
    assert hashlib.sha256(manifest_bytes).hexdigest() == capture.fingerprint
    manifest = json.loads(manifest_bytes)
    assert {r: e["sha256"] for r, e in manifest["files"].items()} == {
        r: e["sha256"] for r, e in record["files"].items() if r != "manifest"
    }
    assert manifest["final_url"] == site.url("/article")
    assert manifest["status"] == 200
    assert manifest["captured_at"].endswith("Z")
    assert "five-year contract with the cloud provider" in capture.text
    # Read from the page and offered, but not saved without --accept.
    assert record["found"] == {
        "title": "Agency signs cloud deal",
        "publisher": "The Example Ledger",
        "published": "2025-03-14",
    }
    source = Source.objects.get()
    assert source.title == site.url("/article")
    assert source.publisher == ""


def test_accept_saves_the_title_publisher_and_date_read_from_the_page(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Placeholder")
    result = run("capture", site.url("/article"), "--source", str(source.pk), "--accept")
    assert result.exit_code == 0, result.output
    assert "saved:" in result.output
    source.refresh_from_db()
    assert (source.title, source.publisher, source.published) == (
        "Agency signs cloud deal",
        "The Example Ledger",
        "2025-03-14",
    )
    assert source.url == site.url("/article")


def test_redirects_are_followed_hop_by_hop_and_each_hop_is_in_the_wacz(
    site: Site, local_captures: Any
) -> None:
    record = capture_json(site.url("/moved"))
    assert record["requested_url"] == site.url("/moved")
    assert record["final_url"] == site.url("/article")
    wacz = zipfile.ZipFile(io.BytesIO(archive_path(record["files"]["wacz"]["sha256"]).read_bytes()))
    responses = {}
    for rec in ArchiveIterator(io.BytesIO(wacz.read("archive/data.warc.gz"))):
        if rec.rec_type == "response":
            responses[rec.rec_headers.get_header("WARC-Target-URI")] = (
                rec.http_headers.get_statuscode()
            )
    assert responses == {
        site.url("/moved"): "302",
        site.url("/moved-again"): "301",
        site.url("/article"): "200",
        site.url("/pixel.png"): "200",
    }


def test_the_wacz_follows_the_specification(site: Site, local_captures: Any) -> None:
    record = capture_json(site.url("/article"))
    data = archive_path(record["files"]["wacz"]["sha256"]).read_bytes()
    wacz = zipfile.ZipFile(io.BytesIO(data))
    package = json.loads(wacz.read("datapackage.json"))
    assert package["profile"] == "data-package"
    for resource in package["resources"]:
        body = wacz.read(resource["path"])
        assert resource["hash"] == "sha256:" + hashlib.sha256(body).hexdigest()
        assert resource["bytes"] == len(body)
    assert {r["path"] for r in package["resources"]} == {
        "archive/data.warc.gz",
        "indexes/index.cdx",
        "pages/pages.jsonl",
    }
    pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
    assert pages[0]["format"] == "json-pages-1.0"
    assert pages[1]["url"] == site.url("/article")
    index = wacz.read("indexes/index.cdx").decode().splitlines()
    urls = [json.loads(line.split(" ", 2)[2])["url"] for line in index]
    assert sorted(urls) == sorted([site.url("/article"), site.url("/pixel.png")])
    # The WARC is stored, not deflated again, so a replayer can read it by range.
    assert wacz.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED


def test_text_of_a_page_built_by_javascript_is_read_after_the_script_ran(
    site: Site, local_captures: Any
) -> None:
    capture_json(site.url("/js"))
    assert "written by JavaScript after the page loaded" in Capture.objects.get().text


def test_a_pdf_is_kept_as_it_came(site: Site, local_captures: Any) -> None:
    record = capture_json(site.url("/report.pdf"))
    assert record["media_type"] == "application/pdf"
    assert record["files"]["original"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "screenshot" not in record["files"]


def test_a_csv_is_kept_as_it_came_and_its_text_is_searchable(
    site: Site, local_captures: Any
) -> None:
    record = capture_json(site.url("/awards.csv"))
    assert record["media_type"] == "text/csv"
    assert "ICE,Example Cloud,100" in Capture.objects.get().text


@pytest.mark.parametrize(
    ("path", "limits", "expected"),
    [
        ("/missing", {}, "answered 404 Not Found; nothing captured"),
        ("/slow", {"CAPTURE_TIMEOUT": 2}, "did not answer within the capture's 2 seconds"),
        ("/endless", {}, "sent more than the capture's limit of 2097152 bytes"),
        ("/loop", {}, "redirects more than 10 times"),
        ("/to-metadata", {}, "169.254.169.254 is a link-local address"),
    ],
)
def test_a_bad_link_is_one_clear_error_and_nothing_is_stored(
    site: Site,
    local_captures: Any,
    archive_dir: Path,
    path: str,
    limits: dict[str, Any],
    expected: str,
) -> None:
    for name, value in limits.items():
        setattr(local_captures, name, value)
    result = run("capture", site.url(path))
    assert result.exit_code == 1
    assert expected in result.output
    assert result.output.count("\n") == 1, "one line"
    assert (Source.objects.count(), Capture.objects.count()) == (0, 0)
    assert stored_files(archive_dir) == []


def test_the_guard_refuses_a_loopback_link_before_any_request_is_made(
    site: Site, settings: Any, archive_dir: Path
) -> None:
    settings.ALLOW_PRIVATE_ADDRESSES = False
    result = run("capture", site.url("/article"))
    assert result.exit_code == 1
    assert "127.0.0.1 is a loopback address: not a public address" in result.output
    assert site.state.requests == []
    assert Source.objects.count() == 0
    assert stored_files(archive_dir) == []


def test_requests_of_the_page_to_the_metadata_service_are_refused_and_listed(
    site: Site, local_captures: Any
) -> None:
    record = capture_json(site.url("/inward"))
    refused = {(r["url"], r["reason"].split(":")[0]) for r in record["refused_requests"]}
    assert (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254 is a link-local address (the cloud metadata service lives there)",
    ) in refused
    assert ("http://169.254.169.254/latest/api/token", "PUT requests are not made") in refused


def test_a_capture_that_fails_while_storing_takes_its_files_back(
    site: Site, local_captures: Any, archive_dir: Path
) -> None:
    # The capture succeeds, then the new source is refused (an unknown kind): the
    # files already written must go again.
    with pytest.raises(EvidenceError, match="kind"):
        capture_source(site.url("/article"), kind="rumour")
    assert stored_files(archive_dir) == []
    assert (Source.objects.count(), Capture.objects.count()) == (0, 0)


def test_export_capture_writes_every_capture_of_a_source_as_one_wacz(
    site: Site, local_captures: Any, tmp_path: Path
) -> None:
    source = make_source("Cloud deal")
    capture_source(site.url("/article"), source=source)
    capture_source(site.url("/report.pdf"), source=source)
    out = tmp_path / "cloud.wacz"
    result = run("export", "capture", str(source.pk), "-o", str(out))
    assert result.exit_code == 0, result.output
    wacz = zipfile.ZipFile(out)
    pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()[1:]]
    assert [p["url"] for p in pages] == [site.url("/article"), site.url("/report.pdf")]
    uris = {
        rec.rec_headers.get_header("WARC-Target-URI")
        for rec in ArchiveIterator(io.BytesIO(wacz.read("archive/data.warc.gz")))
        if rec.rec_type == "response"
    }
    assert {site.url("/article"), site.url("/report.pdf")} <= uris


def test_export_capture_of_a_source_without_captures_is_refused(tmp_path: Path) -> None:
    source = make_source("Never captured")
    out = tmp_path / "none.wacz"
    result = run("export", "capture", str(source.pk), "-o", str(out))
    assert result.exit_code == 1
    assert "has no captures" in result.output
    assert not out.exists()


def test_a_missing_chromium_is_one_clear_error_and_nothing_is_stored(
    site: Site, local_captures: Any, archive_dir: Path
) -> None:
    local_captures.CAPTURE_CHROMIUM = "/nonexistent/chromium"
    result = run("capture", site.url("/article"))
    assert result.exit_code == 1
    assert (
        "Chromium could not be started from /nonexistent/chromium "
        "(install it, or set RECEIPTS_CHROMIUM)"
    ) in result.output
    assert Source.objects.count() == 0
    assert stored_files(archive_dir) == []


def test_websockets_and_service_workers_of_the_page_never_reach_the_site(
    site: Site, local_captures: Any
) -> None:
    capture_json(site.url("/sockets"))
    assert site.state.requests == ["/sockets"]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.example.org/News/a?b=1", "org,example)/news/a?b=1"),
        ("http://127.0.0.1:8000/Article", "1,0,0,127:8000)/article"),
        ("https://example.org", "org,example)/"),
    ],
)
def test_index_keys_are_surts_as_the_surt_library_writes_them(url: str, key: str) -> None:
    from receipts.captures.wacz import surt

    assert surt(url) == key
