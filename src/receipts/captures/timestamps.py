"""An RFC 3161 timestamp on a capture's manifest, from the authority at ``RECEIPTS_TSA_URL``.

The manifest's SHA-256 (the capture's fingerprint) is sent as a timestamp
query with a nonce; the answer is verified with rfc3161-client against the
root certificates in ``RECEIPTS_TSA_ROOTS`` (message imprint, nonce,
signature and certificate chain) and kept, as the ``.tsr`` file the
authority sent, in the archive store. A timestamp that cannot be had or
does not verify leaves the capture without one; it never stops a capture.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from django.conf import settings
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from receipts import outbound

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timestamp:
    """A verified timestamp: the authority's answer and the time it vouches for."""

    token: bytes
    at: dt.datetime
    authority: str


def _roots() -> list[x509.Certificate]:
    path = settings.TSA_ROOTS
    if not path:
        return []
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def timestamp_manifest(manifest: bytes) -> Timestamp | None:
    """A verified RFC 3161 timestamp over ``manifest``, or None (not configured, or it failed)."""
    if not settings.TSA_URL:
        return None
    try:
        roots = _roots()
        if not roots:
            raise ValueError("RECEIPTS_TSA_ROOTS names no root certificate to verify against")
        request = (
            TimestampRequestBuilder()
            .data(manifest)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        answer = outbound.request(
            "POST",
            settings.TSA_URL,
            body=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=settings.TSA_TIMEOUT,
            max_response_bytes=256 * 1024,
        )
        if answer.status != 200:
            raise ValueError(f"the authority answered {answer.status}")
        response = decode_timestamp_response(answer.body)
        builder = VerifierBuilder.from_request(request)
        for root in roots:
            builder = builder.add_root_certificate(root)
        builder.build().verify_message(response, manifest)
    except (OSError, ValueError, VerificationError, outbound.Refused) as exc:
        logger.warning("no RFC 3161 timestamp from %s: %s", settings.TSA_URL, exc)
        return None
    return Timestamp(token=answer.body, at=response.tst_info.gen_time, authority=settings.TSA_URL)
