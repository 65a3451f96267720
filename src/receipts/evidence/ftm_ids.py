"""FollowTheMoney ids for rows named after outside records, such as a USAspending award key.

FollowTheMoney keeps an entity id only when it is letters, digits, dots and
hyphens, starts and ends with a letter or a digit, and has at most 200
characters; an outside record's key may be anything (``CONT_AWD_..._-NONE-``).
``ftm_id_for`` keeps a name that fits as it is and turns any other into a
readable id that no other name turns into, so each record keeps one id in
the database and in every export.
"""

from __future__ import annotations

import hashlib
import re

from followthemoney import registry
from followthemoney.util import ENTITY_ID_LEN

# Room kept for the suffixes an export adds to an id ("-contract", "-award").
SUFFIX_ROOM = 20
MAX_ID_LENGTH = ENTITY_ID_LEN - SUFFIX_ROOM
_DIGEST_LENGTH = 16


def is_ftm_id(text: str) -> bool:
    """True when FollowTheMoney keeps ``text`` as an entity id unchanged."""
    return len(text) <= ENTITY_ID_LEN and registry.entity.clean(text) == text


def ftm_id_for(name: str) -> str:
    """``name`` itself when FollowTheMoney keeps it (with room for a suffix), else a stand-in.

    The stand-in is the name's letters and digits joined by hyphens, cut to
    fit, then a digest of the whole name: readable, and different for any two
    names, even those that differ only in punctuation.
    """
    if len(name) <= MAX_ID_LENGTH and is_ftm_id(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_LENGTH]
    readable = re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-")
    readable = readable[: MAX_ID_LENGTH - _DIGEST_LENGTH - 1].rstrip("-")
    return f"{readable}-{digest}" if readable else digest
