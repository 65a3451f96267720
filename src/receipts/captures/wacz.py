"""The HTTP exchanges of a capture as a WARC, packed in a WACZ that ReplayWeb.page replays.

The WACZ is written by its specification (WACZ 1.1.1): ``archive/data.warc.gz``,
a CDXJ index at ``indexes/index.cdx``, ``pages/pages.jsonl`` and a
``datapackage.json`` listing every file with its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .fetching import Exchange

WARC_NAME = "data.warc.gz"
SOFTWARE = "Receipts (warcio)"


def _warc_date(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_warc(exchanges: Iterable[Exchange]) -> bytes:
    """A gzipped WARC holding a request and a response record for each exchange."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    writer.write_record(
        writer.create_warcinfo_record(WARC_NAME, {"software": SOFTWARE, "format": "WARC/1.1"})
    )
    for ex in exchanges:
        date = _warc_date(ex.at)
        parts = urlsplit(ex.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = StatusAndHeaders(
            f"{ex.method} {target} HTTP/1.1",
            [("Host", parts.netloc), *ex.request_headers],
            is_http_request=True,
        )
        headers = [(k, v) for k, v in ex.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(ex.body))))
        response_headers = StatusAndHeaders(
            f"{ex.status} {ex.reason}".strip(), headers, protocol="HTTP/1.1"
        )
        response = writer.create_warc_record(
            ex.url,
            "response",
            payload=io.BytesIO(ex.body),
            length=len(ex.body),
            http_headers=response_headers,
            warc_headers_dict={"WARC-Date": date},
        )
        request = writer.create_warc_record(
            ex.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=request_headers,
            warc_headers_dict={"WARC-Date": date},
        )
        writer.write_request_response_pair(request, response)
    return out.getvalue()


def surt(url: str) -> str:
    """The sort-friendly key of a URL (host reversed, ``www.`` dropped), as CDXJ indexes use."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    key = ",".join(reversed(labels))
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return f"{key}){path.lower()}"


def cdxj_index(warc: bytes) -> bytes:
    """A CDXJ line for each response record of ``warc``, sorted by key and time."""
    lines = []
    iterator = ArchiveIterator(io.BytesIO(warc))
    for record in iterator:
        if record.rec_type != "response":
            record.content_stream().read()
            continue
        url = record.rec_headers.get_header("WARC-Target-URI")
        date = record.rec_headers.get_header("WARC-Date")
        status = record.http_headers.get_statuscode() if record.http_headers else "200"
        mime = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip()
        digest = hashlib.sha256(record.content_stream().read()).hexdigest()
        offset = iterator.get_record_offset()
        length = iterator.get_record_length()
        stamp = date.replace("-", "").replace(":", "").replace("T", "").replace("Z", "")[:14]
        fields = {
            "url": url,
            "mime": mime or "unk",
            "status": status,
            "digest": f"sha256:{digest}",
            "length": str(length),
            "offset": str(offset),
            "filename": WARC_NAME,
        }
        lines.append(f"{surt(url)} {stamp} {json.dumps(fields, separators=(',', ':'))}")
    lines.sort()
    return ("\n".join(lines) + "\n").encode()


def write_wacz(
    exchanges: Sequence[Exchange], *, page_url: str, title: str, captured_at: dt.datetime
) -> bytes:
    """A WACZ file holding the exchanges, with ``page_url`` as its one page."""
    warc = write_warc(exchanges)
    stamp = captured_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = (
        json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})
        + "\n"
        + json.dumps(
            {
                "id": hashlib.sha256(page_url.encode()).hexdigest()[:24],
                "url": page_url,
                "ts": stamp,
                "title": title or page_url,
            }
        )
        + "\n"
    ).encode()
    files = {
        f"archive/{WARC_NAME}": warc,
        "indexes/index.cdx": cdxj_index(warc),
        "pages/pages.jsonl": pages,
    }
    package = {
        "profile": "data-package",
        "wacz_version": "1.1.1",
        "title": title or page_url,
        "mainPageUrl": page_url,
        "mainPageDate": stamp,
        "created": stamp,
        "software": SOFTWARE,
        "resources": [
            {
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
                "bytes": len(data),
            }
            for path, data in files.items()
        ],
    }
    packed = json.dumps(package, indent=2).encode()
    digest = {
        "path": "datapackage.json",
        "hash": f"sha256:{hashlib.sha256(packed).hexdigest()}",
    }
    out = io.BytesIO()
    # A fixed date inside the zip: the same capture packs to the same bytes.
    when = captured_at.astimezone(dt.UTC).timetuple()[:6]
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in [
            *files.items(),
            ("datapackage.json", packed),
            ("datapackage-digest.json", json.dumps(digest).encode()),
        ]:
            info = zipfile.ZipInfo(path, date_time=when)
            # The WARC is gzipped already; ReplayWeb.page reads stored entries by range.
            info.compress_type = (
                zipfile.ZIP_STORED if path.endswith(".gz") else zipfile.ZIP_DEFLATED
            )
            archive.writestr(info, data)
    return out.getvalue()


def merge_wacz(parts: Sequence[bytes], *, title: str) -> bytes:
    """One WACZ holding the WARCs of several captures (a source's whole history), each page listed."""
    exchanges_warcs: list[bytes] = []
    pages: list[dict[str, str]] = []
    for part in parts:
        with zipfile.ZipFile(io.BytesIO(part)) as archive:
            exchanges_warcs.append(archive.read(f"archive/{WARC_NAME}"))
            for line in archive.read("pages/pages.jsonl").decode().splitlines()[1:]:
                if line.strip():
                    pages.append(json.loads(line))
    warc = b"".join(exchanges_warcs)  # gzip members concatenate into one valid WARC
    page_lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})]
    page_lines += [json.dumps(p) for p in pages]
    files = {
        f"archive/{WARC_NAME}": warc,
        "indexes/index.cdx": cdxj_index(warc),
        "pages/pages.jsonl": ("\n".join(page_lines) + "\n").encode(),
    }
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package = {
        "profile": "data-package",
        "wacz_version": "1.1.1",
        "title": title,
        "created": now,
        "software": SOFTWARE,
        "resources": [
            {
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
                "bytes": len(data),
            }
            for path, data in files.items()
        ],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in files.items():
            archive.writestr(
                path,
                data,
                compress_type=zipfile.ZIP_STORED if path.endswith(".gz") else zipfile.ZIP_DEFLATED,
            )
        archive.writestr("datapackage.json", json.dumps(package, indent=2))
    return out.getvalue()
