"""Sealed fields, wrapped keys, key files, rotation and crypto-shredding, on the real database and key files."""

from __future__ import annotations

import base64
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from receipts.outreach import crypto, services
from receipts.outreach.models import Submission, Supporter, SupporterKey
from receipts.outreach.queries import open_submissions
from tests.campaigns.factories import make_campaign
from tests.outreach.factories import make_form, person, sign_up

pytestmark = pytest.mark.django_db

TABLE = "outreach_submission"


def _keyring(org: str = "tenants-union") -> crypto.Keyring:
    return crypto.load_keyring(org, create=True)


def test_a_field_opens_only_in_its_own_row_and_field() -> None:
    key = crypto.new_data_key()
    row, other_row = uuid.uuid4(), uuid.uuid4()
    sealed = crypto.seal_field(key, "Quillon", table=TABLE, row_uid=row, field_name="name")
    assert b"Quillon" not in sealed
    assert crypto.open_field(key, sealed, table=TABLE, row_uid=row, field_name="name") == "Quillon"
    with pytest.raises(crypto.DecryptionError):
        crypto.open_field(key, sealed, table=TABLE, row_uid=other_row, field_name="name")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_field(key, sealed, table=TABLE, row_uid=row, field_name="city")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_field(key, sealed, table="other_table", row_uid=row, field_name="name")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_field(
            crypto.new_data_key(), sealed, table=TABLE, row_uid=row, field_name="name"
        )
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(crypto.DecryptionError):
        crypto.open_field(key, tampered, table=TABLE, row_uid=row, field_name="name")


def test_sealing_the_same_value_twice_gives_different_ciphertext() -> None:
    key, row = crypto.new_data_key(), uuid.uuid4()
    first = crypto.seal_field(key, "same", table=TABLE, row_uid=row, field_name="name")
    second = crypto.seal_field(key, "same", table=TABLE, row_uid=row, field_name="name")
    assert first != second


def test_a_wrapped_key_opens_only_for_its_supporter() -> None:
    keyring = _keyring()
    data_key = crypto.new_data_key()
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    version, wrapped = crypto.wrap_data_key(keyring, data_key, supporter_uid=owner)
    assert (
        crypto.unwrap_data_key(keyring, wrapped, supporter_uid=owner, version=version) == data_key
    )
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(keyring, wrapped, supporter_uid=stranger, version=version)
    other_org = crypto.load_keyring("another-org", create=True)
    with pytest.raises(crypto.KeyringError):
        crypto.unwrap_data_key(other_org, wrapped, supporter_uid=owner, version=version + 1)
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(other_org, wrapped, supporter_uid=owner, version=version)


def test_a_key_file_is_owner_only_and_outside_the_database(outreach_key_dir: Path) -> None:
    keyring = _keyring("aecj")
    path = outreach_key_dir / "aecj.key"
    assert keyring.path == path and keyring.from_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outreach_key_dir.stat().st_mode) == 0o700
    text = path.read_text()
    assert "kek-1:" in text and "index-1:" in text
    # Loading again reads the same keys rather than making new ones.
    assert crypto.load_keyring("aecj").keks == keyring.keks
    with pytest.raises(crypto.KeyringError, match="no key file"):
        crypto.load_keyring("nobody")


def test_keys_in_the_environment_win_over_the_file(monkeypatch: Any) -> None:
    master = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("RECEIPTS_OUTREACH_KEY_SEATTLE_DSA", master)
    keyring = crypto.load_keyring("seattle-dsa", create=True)
    assert keyring.origin == "environment"
    assert keyring.kek(1) != keyring.index_key(1)
    assert not crypto.key_path("seattle-dsa").exists()
    kek, index = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    monkeypatch.setenv("RECEIPTS_OUTREACH_KEY_SEATTLE_DSA", f"kek-3:{kek}; index-2:{index}")
    named = crypto.load_keyring("seattle-dsa")
    assert (named.active_kek_version, named.active_index_version) == (3, 2)
    monkeypatch.setenv("RECEIPTS_OUTREACH_KEY_SEATTLE_DSA", "kek-1:c2hvcnQ=")
    with pytest.raises(crypto.KeyringError, match="32 bytes"):
        crypto.load_keyring("seattle-dsa")


def test_a_bad_organisation_slug_names_no_file() -> None:
    with pytest.raises(crypto.KeyringError):
        crypto.key_path("../etc/passwd")


def test_sign_up_round_trip_opens_every_field() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    answers = person(1)
    submission = sign_up(form, answers)
    stored = Submission.objects.get(pk=submission.pk)
    for column in ("name_sealed", "email_sealed", "phone_sealed", "city_sealed"):
        assert isinstance(bytes(getattr(stored, column)), bytes)
    (opened,) = open_submissions(campaign, [stored])
    assert opened.values == answers
    assert "Quillon" not in repr(opened)


def test_ciphertext_swapped_between_two_rows_does_not_open() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    first = sign_up(form, person(1))
    second = sign_up(form, person(2))
    a, b = Submission.objects.get(pk=first.pk), Submission.objects.get(pk=second.pk)
    # Same supporter key, other row: the associated data differs.
    Submission.objects.filter(pk=a.pk).update(email_sealed=bytes(b.email_sealed))
    with pytest.raises(crypto.DecryptionError):
        open_submissions(campaign, [Submission.objects.get(pk=a.pk)])
    # Same row, another field's ciphertext.
    Submission.objects.filter(pk=b.pk).update(city_sealed=bytes(b.name_sealed))
    with pytest.raises(crypto.DecryptionError):
        open_submissions(campaign, [Submission.objects.get(pk=b.pk)])


def test_wrapped_keys_swapped_between_supporters_do_not_open() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    a = sign_up(form, person(1)).supporter
    b = sign_up(form, person(2)).supporter
    key_b = SupporterKey.objects.get(supporter=b)
    SupporterKey.objects.filter(supporter=a).update(wrapped=bytes(key_b.wrapped))
    with pytest.raises(crypto.DecryptionError):
        open_submissions(campaign, list(Submission.objects.filter(supporter=a)))


def test_erasure_leaves_a_copy_of_the_ciphertext_unreadable(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    submission = sign_up(form, person(1))
    supporter = submission.supporter
    organisation = services.organisation_for(campaign)
    # What a backup taken before the erasure holds: the sealed row and the wrapped key.
    copied = Submission.objects.get(pk=submission.pk)
    old_key = SupporterKey.objects.get(supporter=supporter)
    old_keyring = crypto.load_keyring(organisation.slug)
    crypto.unwrap_data_key(  # the backup is readable while its KEK exists
        old_keyring, old_key.wrapped, supporter_uid=supporter.uid, version=old_key.kek_version
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = services.erase_supporters(campaign, [supporter], rotate=True)

    assert result.erased == 1
    assert not Supporter.objects.filter(pk=supporter.pk).exists()
    assert not SupporterKey.objects.filter(supporter_id=supporter.pk).exists()
    assert not Submission.objects.filter(pk=submission.pk).exists()
    with pytest.raises(KeyError):
        open_submissions(campaign, [copied])
    # The key file no longer holds the KEK that wrapped the backup's copy of the key.
    new_keyring = crypto.load_keyring(organisation.slug)
    assert old_key.kek_version not in new_keyring.keks
    with pytest.raises((crypto.KeyringError, crypto.DecryptionError)):
        crypto.unwrap_data_key(
            new_keyring, old_key.wrapped, supporter_uid=supporter.uid, version=old_key.kek_version
        )


@pytest.mark.django_db(transaction=True)
def test_key_rotation_keeps_data_readable_and_retires_the_old_key() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    answers = [person(n) for n in (1, 2, 3)]
    for a in answers:
        sign_up(form, a)
    organisation = services.organisation_for(campaign)
    before = crypto.load_keyring(organisation.slug)
    sealed_before = {s.pk: bytes(s.name_sealed) for s in Submission.objects.all()}
    indexes_before = set(Supporter.objects.values_list("email_index", flat=True))

    result = services.rotate_keys(organisation)

    assert (result.kek_version, result.index_version) == (2, 2)
    assert (result.rewrapped, result.reindexed, result.retired) == (3, 3, True)
    after = crypto.load_keyring(organisation.slug)
    assert set(after.keks) == {2} and set(after.index_keys) == {2}
    assert after.kek(2) != before.kek(1)
    assert set(SupporterKey.objects.values_list("kek_version", flat=True)) == {2}
    # Data ciphertext is untouched; indexes are rebuilt under the new index key.
    assert {s.pk: bytes(s.name_sealed) for s in Submission.objects.all()} == sealed_before
    assert not indexes_before & set(Supporter.objects.values_list("email_index", flat=True))
    opened = open_submissions(campaign, list(Submission.objects.order_by("id")))
    assert [o.values for o in opened] == answers
    # De-duplication still finds people after the rotation.
    assert services.find_supporter(campaign, email=answers[0]["email"].upper()) is not None
    sign_up(form, answers[1])
    assert Supporter.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_rotation_is_finished_by_running_it_again() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    sign_up(form, person(1))
    organisation = services.organisation_for(campaign)
    # The key file gained version 2, then the process died before the rewrap.
    crypto.add_key_versions(crypto.load_keyring(organisation.slug))
    sign_up(form, person(2))  # a sign-up in between uses the newest version
    assert set(SupporterKey.objects.values_list("kek_version", flat=True)) == {1, 2}

    result = services.rotate_keys(organisation)

    assert result.kek_version == 2 and result.retired
    assert set(SupporterKey.objects.values_list("kek_version", flat=True)) == {2}
    assert len(open_submissions(campaign, list(Submission.objects.all()))) == 2


def test_rotation_of_keys_in_the_environment_needs_a_new_version_there(monkeypatch: Any) -> None:
    master = base64.b64encode(os.urandom(32)).decode()
    campaign = make_campaign()
    organisation = services.organisation_for(campaign)
    monkeypatch.setenv(crypto.env_name(organisation.slug), master)
    form = make_form(campaign)
    sign_up(form, person(1))
    with pytest.raises(crypto.KeyringError, match="add kek-2"):
        services.rotate_keys(organisation)


def test_blind_index_normalises_email_and_phone_but_keeps_dots_and_tags() -> None:
    keyring = _keyring()

    def index(kind: str, value: str) -> str:
        return crypto.blind_index(keyring, 1, kind, value)

    e = crypto.normalise_email
    assert index("email", e(" Jane.Doe@Example.ORG ")) == index("email", e("jane.doe@example.org"))
    assert index("email", e("jane.doe@example.org")) != index("email", e("janedoe@example.org"))
    assert index("email", e("jane+rally@example.org")) != index("email", e("jane@example.org"))
    p = crypto.normalise_phone
    assert p("(206) 555-0142") == p("+1 206 555 0142") == "+12065550142"
    assert index("phone", p("(206) 555-0142")) == index("phone", p("+1-206-555-0142"))
    # Email and phone indexes never collide, and the index is not a bare hash.
    assert index("email", "x") != index("phone", "x")
    assert len(index("email", "x")) == 64


def test_no_plaintext_in_the_connection_queries(settings: Any) -> None:
    """With query logging on (DEBUG), the logged SQL and parameters hold no personal value."""
    settings.DEBUG = True
    campaign = make_campaign()
    form = make_form(campaign)
    answers = person(7)
    connection.queries_log.clear()
    sign_up(form, answers)
    logged = " ".join(q["sql"] for q in connection.queries)
    for value in answers.values():
        assert value not in logged
    assert "quillon.7" not in logged.lower()
