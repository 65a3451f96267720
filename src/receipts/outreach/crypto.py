"""Envelope encryption of supporter data and the keyed blind index; keys live outside the database.

Keys. Each organisation has a keyring that never enters the database: the
file ``OUTREACH_KEY_DIR/<org>.key`` (created owner-only, 0600, in a 0700
folder) or the environment variable ``RECEIPTS_OUTREACH_KEY_<ORG>`` (upper
case, ``-`` as ``_``), which wins over the file. A keyring holds numbered
versions of two independent 32-byte keys, one ``name:base64`` pair a line
(or separated by ``;`` in the environment)::

    kek-1:<base64 of 32 random bytes>      key-encryption key, version 1
    index-1:<base64 of 32 random bytes>    blind-index key, version 1

A bare base64 value in the environment is a master key from which ``kek-1``
and ``index-1`` are derived with HKDF-SHA256 under distinct labels.

Envelope. Each supporter has a random 256-bit data key. Every personal field
is sealed with AES-256-GCM under that data key, with a random 96-bit nonce and
associated data naming the table, the row's stable UUID and the field, so a
sealed value copied to another row or field fails to open. The data key is
itself sealed with AES-256-GCM under the organisation's newest KEK, with
associated data naming the organisation, the supporter's UUID and the KEK
version. A sealed value is ``0x01 | nonce (12 bytes) | ciphertext | tag (16 bytes)``.

Blind index. HMAC-SHA256 under the organisation's index key over the kind
(``email`` or ``phone``) and the normalised value: equal addresses give equal
indexes, so sign-ups de-duplicate, while the index reveals nothing without
the key.

Invariant: no plaintext personal field and no key is written to the database
or to a log; errors name the organisation, the table and the field, never a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

KEY_BYTES = 32
NONCE_BYTES = 12
SEAL_FORMAT = b"\x01"
ENV_PREFIX = "RECEIPTS_OUTREACH_KEY_"

FIELD_AAD = b"receipts/outreach/field/v1"
DATA_KEY_AAD = b"receipts/outreach/data-key/v1"

ORGANISATION_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_ENTRY = re.compile(r"^(kek|index)-([1-9][0-9]{0,5})$")


class KeyringError(Exception):
    """A keyring that is missing, unreadable or lacks the version a row was sealed with."""


class DecryptionError(Exception):
    """A sealed value did not open: a wrong or retired key, or a value moved from elsewhere."""


@dataclass(frozen=True)
class Keyring:
    """The keys of one organisation, as read from its key file or the environment."""

    organisation: str
    # Kept out of repr: a traceback or a debug page never shows a key.
    keks: Mapping[int, bytes] = field(repr=False)
    index_keys: Mapping[int, bytes] = field(repr=False)
    origin: str = "file"  # "file" or "environment"
    path: Path | None = field(default=None)

    @property
    def active_kek_version(self) -> int:
        return max(self.keks)

    @property
    def active_index_version(self) -> int:
        return max(self.index_keys)

    @property
    def from_file(self) -> bool:
        return self.origin == "file"

    def kek(self, version: int) -> bytes:
        try:
            return self.keks[version]
        except KeyError:
            raise KeyringError(
                f"organisation {self.organisation!r}: kek-{version} is not in its keyring "
                f"({self.origin})"
            ) from None

    def index_key(self, version: int) -> bytes:
        try:
            return self.index_keys[version]
        except KeyError:
            raise KeyringError(
                f"organisation {self.organisation!r}: index-{version} is not in its keyring "
                f"({self.origin})"
            ) from None


# --- where keys live -----------------------------------------------------------------


def check_organisation_slug(slug: str) -> str:
    if not ORGANISATION_SLUG.match(slug or ""):
        raise KeyringError(
            "organisation: a slug of lower-case letters, digits and hyphens (at most 60) names "
            "a keyring"
        )
    return slug


def env_name(organisation: str) -> str:
    """The environment variable that holds the organisation's keyring, if any."""
    return ENV_PREFIX + check_organisation_slug(organisation).upper().replace("-", "_")


def key_dir() -> Path:
    return Path(settings.OUTREACH_KEY_DIR)


def key_path(organisation: str) -> Path:
    return key_dir() / f"{check_organisation_slug(organisation)}.key"


def has_keyring(organisation: str) -> bool:
    """True when the organisation's keys are in the environment or a key file exists."""
    return bool(os.environ.get(env_name(organisation))) or key_path(organisation).exists()


def _decode_key(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}: not base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"{where}: a key is {KEY_BYTES} bytes, this one is {len(raw)}")
    return raw


def _derive(master: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label.encode()).derive(
        master
    )


def _parse(text: str, organisation: str, origin: str, path: Path | None, variable: str) -> Keyring:
    where = str(path) if path is not None else variable
    entries = [
        part.strip()
        for line in text.splitlines()
        if not line.strip().startswith("#")
        for part in line.split(";")
        if part.strip()
    ]
    if origin == "environment" and len(entries) == 1 and ":" not in entries[0]:
        master = _decode_key(entries[0], where)
        return Keyring(
            organisation,
            {1: _derive(master, "receipts/outreach/kek-1")},
            {1: _derive(master, "receipts/outreach/index-1")},
            origin,
            None,
        )
    keks: dict[int, bytes] = {}
    index_keys: dict[int, bytes] = {}
    for entry in entries:
        name, sep, value = entry.partition(":")
        found = _ENTRY.match(name.strip())
        if not sep or found is None:
            raise KeyringError(f"{where}: expected lines like kek-1:<base64> or index-1:<base64>")
        version = int(found.group(2))
        target = keks if found.group(1) == "kek" else index_keys
        if version in target:
            raise KeyringError(f"{where}: {name.strip()} appears twice")
        target[version] = _decode_key(value, f"{where}: {name.strip()}")
    if not keks or not index_keys:
        raise KeyringError(f"{where}: a keyring needs at least one kek-N and one index-N")
    return Keyring(organisation, keks, index_keys, origin, path)


def _render(keyring: Keyring, heading: str | None = None) -> str:
    lines = [
        heading or f"# Outreach keys of the organisation {keyring.organisation!r}.",
        "# Owner-only. Never store this file with a database backup: without it the",
        "# secrets sealed in the database cannot be read, which is the point.",
    ]
    for version in sorted(keyring.keks):
        lines.append(f"kek-{version}:{base64.b64encode(keyring.keks[version]).decode()}")
    for version in sorted(keyring.index_keys):
        lines.append(f"index-{version}:{base64.b64encode(keyring.index_keys[version]).decode()}")
    return "\n".join(lines) + "\n"


def _write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a fresh owner-only temporary file beside ``path``, synced to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _prepare_dir() -> Path:
    folder = key_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def load_keyring(organisation: str, *, create: bool = False) -> Keyring:
    """The organisation's keyring; with ``create``, a new key file is made when none exists.

    Two processes creating the same keyring at once agree on one: the file is
    linked into place only if no other file got there first.
    """
    return _load(organisation, key_path(organisation), env_name(organisation), create=create)


def load_site_keyring(
    name: str, filename: str, variable: str, *, create: bool = False, heading: str | None = None
) -> Keyring:
    """A keyring of the site itself rather than of an organisation, as ``load_keyring``.

    It lives in ``OUTREACH_KEY_DIR/<filename>`` or in the environment variable
    ``variable``; the filename must not end in ``.key``, so that no
    organisation's slug can name the same file.
    """
    if filename.endswith(".key") or "/" in filename:
        raise KeyringError(f"{filename}: a site keyring file is named apart from organisations'")
    return _load(name, key_dir() / filename, variable, create=create, heading=heading)


def _load(
    name: str, path: Path, variable: str, *, create: bool, heading: str | None = None
) -> Keyring:
    value = os.environ.get(variable)
    if value:
        return _parse(value, name, "environment", None, variable)
    if not path.exists():
        if not create:
            raise KeyringError(
                f"organisation {name!r}: no key file at {path} and no {variable} in the environment"
            )
        _prepare_dir()
        fresh = Keyring(
            name,
            {1: AESGCM.generate_key(bit_length=256)},
            {1: secrets.token_bytes(KEY_BYTES)},
            "file",
            path,
        )
        tmp = _temporary(path)
        _write_new_file(tmp, _render(fresh, heading))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        text = path.read_text()
    except OSError as exc:
        raise KeyringError(f"{path}: cannot be read ({exc.strerror})") from None
    return _parse(text, name, "file", path, variable)


def _replace_file(keyring: Keyring) -> None:
    if not keyring.from_file or keyring.path is None:
        raise KeyringError(
            f"organisation {keyring.organisation!r}: its keys come from "
            f"{env_name(keyring.organisation)}; change them there"
        )
    _prepare_dir()
    tmp = _temporary(keyring.path)
    _write_new_file(tmp, _render(keyring))
    os.replace(tmp, keyring.path)


def add_key_versions(keyring: Keyring) -> Keyring:
    """Add a new KEK and a new index key to a key file; older versions stay until retired."""
    grown = Keyring(
        keyring.organisation,
        {**keyring.keks, keyring.active_kek_version + 1: AESGCM.generate_key(bit_length=256)},
        {**keyring.index_keys, keyring.active_index_version + 1: secrets.token_bytes(KEY_BYTES)},
        keyring.origin,
        keyring.path,
    )
    _replace_file(grown)
    return grown


def retire_key_versions(keyring: Keyring, *, kek: int, index: int) -> Keyring:
    """Keep only KEK version ``kek`` and index version ``index`` in a key file; drop the rest."""
    kept = Keyring(
        keyring.organisation,
        {kek: keyring.kek(kek)},
        {index: keyring.index_key(index)},
        keyring.origin,
        keyring.path,
    )
    _replace_file(kept)
    return kept


# --- sealing -------------------------------------------------------------------------


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return SEAL_FORMAT + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes, what: str) -> bytes:
    sealed = bytes(sealed)
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != SEAL_FORMAT:
        raise DecryptionError(f"{what}: not a sealed value")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError(
            f"{what}: does not open (a wrong or retired key, or a value from another row)"
        ) from None


def seal_bytes(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Seal ``plaintext`` under ``key`` with AES-256-GCM, bound to ``aad``, in the format above."""
    return _seal(key, plaintext, aad)


def open_bytes(key: bytes, sealed: bytes, aad: bytes, what: str) -> bytes:
    """Open a value sealed by ``seal_bytes``; DecryptionError naming ``what`` if it does not."""
    return _open(key, sealed, aad, what)


def _data_key_aad(organisation: str, supporter_uid: uuid.UUID, version: int) -> bytes:
    return b"\x00".join(
        [DATA_KEY_AAD, organisation.encode(), str(supporter_uid).encode(), str(version).encode()]
    )


def wrap_data_key(
    keyring: Keyring, data_key: bytes, *, supporter_uid: uuid.UUID, version: int | None = None
) -> tuple[int, bytes]:
    """Seal a supporter's data key under the KEK ``version`` (the newest by default)."""
    version = keyring.active_kek_version if version is None else version
    aad = _data_key_aad(keyring.organisation, supporter_uid, version)
    return version, _seal(keyring.kek(version), data_key, aad)


def unwrap_data_key(
    keyring: Keyring, wrapped: bytes, *, supporter_uid: uuid.UUID, version: int
) -> bytes:
    aad = _data_key_aad(keyring.organisation, supporter_uid, version)
    what = f"the data key of a supporter of {keyring.organisation!r}"
    return _open(keyring.kek(version), wrapped, aad, what)


def _field_aad(table: str, row_uid: uuid.UUID, field_name: str) -> bytes:
    return b"\x00".join([FIELD_AAD, table.encode(), str(row_uid).encode(), field_name.encode()])


def seal_field(
    data_key: bytes, plaintext: str, *, table: str, row_uid: uuid.UUID, field_name: str
) -> bytes:
    """Seal one personal field, bound to its table, row and field name."""
    return _seal(data_key, plaintext.encode("utf-8"), _field_aad(table, row_uid, field_name))


def open_field(
    data_key: bytes, sealed: bytes, *, table: str, row_uid: uuid.UUID, field_name: str
) -> str:
    aad = _field_aad(table, row_uid, field_name)
    return _open(data_key, sealed, aad, f"{table}.{field_name}").decode("utf-8")


# --- the blind index -------------------------------------------------------------------


def normalise_email(value: str) -> str:
    """Trimmed, NFC and lower-cased; dots and ``+tags`` are kept.

    Whether ``jane.doe+rally@`` and ``janedoe@`` reach one mailbox depends on
    the provider: folding them would merge two different people at providers
    that keep them apart, and show one person's history under another's name.
    A missed duplicate costs an organiser a second look; a wrong merge leaks.
    """
    return unicodedata.normalize("NFC", value.strip()).lower()


def parse_phone(value: str, region: str = "US") -> str | None:
    """The number in E.164 (``+12065550142``), or None when it is not a valid number.

    Uses ``phonenumbers`` (installed with followthemoney); without it, any 7
    to 15 digits pass, as their digits.
    """
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - followthemoney depends on it
        digits = "".join(ch for ch in value if ch.isdigit())
        return digits if 7 <= len(digits) <= 15 else None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalise_phone(value: str, region: str = "US") -> str:
    """E.164 when the number parses, else its digits: one person's number, one index."""
    return parse_phone(value, region) or "".join(ch for ch in value if ch.isdigit())


def blind_index(keyring: Keyring, version: int, kind: str, normalised: str) -> str:
    """HMAC-SHA256 of ``kind`` and the normalised value under the index key ``version``."""
    message = kind.encode() + b"\x00" + normalised.encode("utf-8")
    return hmac.new(keyring.index_key(version), message, hashlib.sha256).hexdigest()
