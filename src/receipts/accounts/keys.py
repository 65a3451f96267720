"""The login keyring: seals authenticator-app secrets and keys recovery-code digests.

Two-factor secrets are what a copy of the database must not give away, so
they are kept as supporters' data is (``receipts.outreach.crypto``): under a
keyring that never enters the database. It is the file
``OUTREACH_KEY_DIR/logins.keyring`` (owner-only, created on first use) or the
environment variable ``RECEIPTS_LOGIN_KEYS``, in the same format as an
organisation's keyring. Its ``kek-N`` keys seal authenticator secrets with
AES-256-GCM, bound to the user; its ``index-N`` keys are the HMAC keys of
recovery-code digests. Without the keyring, a database or a backup holds no
secret that computes a code and no digest that can be checked offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from receipts.outreach import crypto

KEYRING_NAME = "logins"
KEYRING_FILE = "logins.keyring"
KEYRING_VARIABLE = "RECEIPTS_LOGIN_KEYS"
HEADING = "# The login keyring: authenticator-app keys and recovery-code digests."

TOTP_AAD = b"receipts/accounts/totp-key/v1"
# ``sealed-<version>:<base64url>``: fits django-otp's 80-character key column
# for a 20-byte secret, and is never hex, so no code that expects a plain key
# can use it.
# The longest secret whose sealed form fits those 80 characters at any key version.
MAX_KEY_BYTES = 20
_SEALED = re.compile(r"^sealed-([1-9][0-9]{0,5}):([A-Za-z0-9_-]+)$")


def keyring(*, create: bool = True) -> crypto.Keyring:
    return crypto.load_site_keyring(
        KEYRING_NAME, KEYRING_FILE, KEYRING_VARIABLE, create=create, heading=HEADING
    )


def is_sealed(value: str) -> bool:
    return _SEALED.match(value or "") is not None


def _totp_aad(user_id: int, version: int) -> bytes:
    return b"\x00".join([TOTP_AAD, str(user_id).encode(), str(version).encode()])


def seal_totp_key(hex_key: str, *, user_id: int) -> str:
    """The sealed form of a hex authenticator secret, bound to its user."""
    ring = keyring()
    version = ring.active_kek_version
    try:
        raw = binascii.unhexlify(hex_key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        raise crypto.DecryptionError("an authenticator key: not hex") from None
    if len(raw) > MAX_KEY_BYTES:
        raise ValueError(
            f"an authenticator key: at most {MAX_KEY_BYTES} bytes can be stored sealed "
            f"(this one has {len(raw)}), as django-otp makes them"
        )
    sealed = crypto.seal_bytes(ring.kek(version), raw, _totp_aad(user_id, version))
    return f"sealed-{version}:{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"


def open_totp_key(value: str, *, user_id: int) -> bytes:
    """The raw authenticator secret of a sealed value; DecryptionError if it does not open."""
    found = _SEALED.match(value or "")
    if found is None:
        raise crypto.DecryptionError("an authenticator key: not sealed")
    version, body = int(found.group(1)), found.group(2)
    sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    ring = keyring(create=False)
    return crypto.open_bytes(
        ring.kek(version), sealed, _totp_aad(user_id, version), "an authenticator key"
    )


def recovery_digests(plain_digest: str) -> list[str]:
    """The stored digests a recovery code may have: one per index key in the keyring.

    ``plain_digest`` is the SHA-256 hex of the normalised code; the stored
    digest is its HMAC-SHA256 under an index key, so a digest read from the
    database cannot be checked against guesses without the keyring.
    """
    ring = keyring()
    return [_keyed(ring.index_key(version), plain_digest) for version in sorted(ring.index_keys)]


def recovery_digest(plain_digest: str) -> str:
    """The digest to store for a new recovery code, under the newest index key."""
    ring = keyring()
    return _keyed(ring.index_key(ring.active_index_version), plain_digest)


def _keyed(key: bytes, plain_digest: str) -> str:
    return hmac.new(
        key, b"recovery-code\x00" + plain_digest.encode("ascii"), hashlib.sha256
    ).hexdigest()
