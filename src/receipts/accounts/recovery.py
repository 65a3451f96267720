"""Recovery codes: how they look, how they are made and how they are hashed.

A code is 12 characters of lower-case base32 (60 random bits), shown as
``abcd-efgh-ijkl``. That is beyond guessing online, but 60 bits can be
searched offline, so the stored digest is keyed (``keys.recovery_digest``):
HMAC-SHA256, under a key outside the database, of the SHA-256 from
``digest_of``. A slow password hash would add nothing but a delay per try.
"""

from __future__ import annotations

import hashlib
import re
import secrets

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
LENGTH = 12
COUNT = 10
# Room for hyphens and spaces a person types; anything longer is not a code.
MAX_INPUT = 40
_SHAPE = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")


def new_codes(count: int = COUNT) -> list[str]:
    """Fresh codes in their printed form (``abcd-efgh-ijkl``)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, LENGTH, 4)))
    return codes


def normalise(text: str) -> str | None:
    """The code without hyphens and spaces, in lower case; None if it cannot be a code."""
    if len(text) > MAX_INPUT:
        return None
    raw = re.sub(r"[\s-]", "", text).lower()
    return raw if _SHAPE.fullmatch(raw) else None


def looks_like_recovery_code(text: str) -> bool:
    return normalise(text) is not None


def digest_of(text: str) -> str | None:
    """The SHA-256 hex of the normalised code, before keying; None if it cannot be a code."""
    raw = normalise(text)
    if raw is None:
        return None
    return hashlib.sha256(raw.encode("ascii")).hexdigest()
