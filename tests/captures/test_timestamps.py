"""RFC 3161 timestamps on capture manifests, from OpenSSL's own ``ts`` responder."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.test import Client
from rfc3161_client import VerifierBuilder, decode_timestamp_response

from receipts.captures.services import capture_source
from receipts.evidence.services import archive_path
from tests.conftest import skip_or_fail
from tests.factories import make_source

from .site import Site

pytestmark = pytest.mark.django_db

TS_CONFIG = """[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.crt
certs = {dir}/tsa.crt
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_root(folder: Path, name: str) -> None:
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
        "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip


@pytest.fixture(scope="module")
def authority() -> Iterator[dict[str, Any]]:
    """OpenSSL's ``ts -reply`` behind a small HTTP server, with its root and an unrelated root."""
    if shutil.which("openssl") is None:
        skip_or_fail("openssl not found")
    folder = Path(tempfile.mkdtemp(prefix="tsa-"))
    make_root(folder, "root")
    make_root(folder, "stranger")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", "/CN=Test TSA",
        cwd=folder,
    )  # fmt: skip
    (folder / "tsa.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
        "extendedKeyUsage=critical,timeStamping\n"
    )
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "root.crt", "-CAkey", "root.key",
        "-CAcreateserial", "-out", "tsa.crt", "-days", "2", "-extfile", "tsa.ext",
        cwd=folder,
    )  # fmt: skip
    (folder / "serial").write_text("01\n")
    (folder / "ts.cnf").write_text(TS_CONFIG.format(dir=folder))
    lock = threading.Lock()

    class Responder(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                (folder / "q.tsq").write_bytes(query)
                openssl(
                    "ts", "-reply", "-config", "ts.cnf", "-queryfile", "q.tsq", "-out", "r.tsr",
                    cwd=folder,
                )  # fmt: skip
                reply = (folder / "r.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Responder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/tsa", "folder": folder}
    server.shutdown()
    server.server_close()
    shutil.rmtree(folder)


def test_a_capture_manifest_gets_a_verified_rfc3161_timestamp(
    authority: dict[str, Any], site: Site, local_captures: Any
) -> None:
    local_captures.TSA_URL = authority["url"]
    local_captures.TSA_ROOTS = str(authority["folder"] / "root.crt")
    source = make_source("Cloud deal")
    capture = capture_source(site.url("/article"), source=source)

    assert capture.timestamp_sha256
    assert capture.timestamped_at is not None
    manifest = archive_path(capture.fingerprint).read_bytes()
    token = decode_timestamp_response(archive_path(capture.timestamp_sha256).read_bytes())
    root = x509.load_pem_x509_certificate((authority["folder"] / "root.crt").read_bytes())
    verifier = VerifierBuilder().add_root_certificate(root).build()
    assert verifier.verify_message(token, manifest)
    assert token.tst_info.message_imprint.message.hex() == capture.fingerprint
    page = Client().get(source.get_absolute_url()).content.decode()
    assert "Timestamped (RFC 3161, verified)" in page
    assert f"{capture.timestamped_at:%Y-%m-%d %H:%M:%S} UTC" in page


def test_a_timestamp_that_does_not_verify_is_not_kept_and_the_capture_stands(
    authority: dict[str, Any], site: Site, local_captures: Any
) -> None:
    local_captures.TSA_URL = authority["url"]
    local_captures.TSA_ROOTS = str(authority["folder"] / "stranger.crt")
    capture = capture_source(site.url("/article"))
    assert capture.timestamp_sha256 == ""
    assert "timestamp" not in capture.files
