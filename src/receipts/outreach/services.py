"""Every write to outreach data goes through these functions, whatever the path in.

They keep the outreach invariants: personal fields are sealed before they
reach a model; a returning person (same blind index in the campaign) gains a
submission instead of becoming a second supporter; each submission has its
consent record; sign-ups are rate-limited per client in the same transaction
that stores them, so a refusal stores nothing and an accepted sign-up is
never lost; every view, export and change of supporter data is audited.

Nothing here logs or puts a personal value into an error message; functions
that hold plaintext are marked ``sensitive_variables`` so that Django's error
reports leave their locals out.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables

from receipts.campaigns.models import Action, Campaign, Goal, GoalProgress
from receipts.refusals import Refusal

from . import crypto, wipe
from .models import (
    SEALED_COLUMNS,
    AuditAction,
    AuditChannel,
    AuditEvent,
    CampaignOrganisation,
    ConsentRecord,
    ConsentText,
    Flyer,
    FormField,
    FormKind,
    Organisation,
    RateLimitBucket,
    SignupForm,
    Submission,
    SubmissionStatus,
    Supporter,
    SupporterKey,
)
from .ratelimit import take_place

# The longest answer each field takes; the public form refuses more with 400.
FIELD_MAX_LENGTH: dict[str, int] = {
    FormField.NAME: 200,
    FormField.EMAIL: 254,
    FormField.PHONE: 40,
    FormField.EMPLOYER: 200,
    FormField.ROLE: 200,
    FormField.CITY: 200,
    FormField.MESSAGE: 2000,
}
SOURCE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Rows rewritten per statement during a key rotation.
ROTATION_BATCH = 500


class OutreachError(Refusal):
    """An outreach write that would break an invariant, keyed by the field it concerns."""


class Throttled(Exception):
    """Too many sign-ups from one client: nothing was stored."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-ups from this connection; try again in {retry_after} s")
        self.retry_after = retry_after


def _text(value: Any, field: str, max_length: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise OutreachError(field, "may not be empty")
    if len(text) > max_length:
        raise OutreachError(field, f"longer than {max_length} characters")
    return text


def clean_source_code(value: Any) -> str:
    """The source code in lower case, or "" when it is not letters, digits, - and _."""
    text = "" if value is None else str(value).strip()
    return text.lower() if SOURCE_CODE.match(text) else ""


def consent_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- audit ----------------------------------------------------------------------------


def record_audit(
    action: str,
    *,
    user: Any = None,
    channel: str = AuditChannel.WEB,
    campaign: Campaign | None = None,
    organisation: Organisation | None = None,
    count: int = 0,
) -> AuditEvent:
    """Append one audit event: who (a user id), what, which campaign, how many supporters."""
    return AuditEvent.objects.create(
        user_id=getattr(user, "pk", None),
        channel=channel,
        action=action,
        campaign_id=campaign.pk if campaign is not None else None,
        organisation_id=organisation.pk if organisation is not None else None,
        supporter_count=count,
    )


# --- organisations --------------------------------------------------------------------


@transaction.atomic
def save_organisation(slug: str, name: str = "") -> Organisation:
    """Create an organisation, or rename the one under ``slug``."""
    try:
        crypto.check_organisation_slug(slug)
    except crypto.KeyringError as exc:
        raise OutreachError(
            "organisation",
            "a slug of lower-case letters, digits and hyphens (at most 60) names a keyring",
        ) from exc
    organisation, created = Organisation.objects.get_or_create(
        slug=slug, defaults={"name": _text(name, "name", 200) or slug}
    )
    if not created and name and organisation.name != name:
        organisation.name = _text(name, "name", 200)
        organisation.save(update_fields=["name"])
    return organisation


def _default_organisation_slug(campaign: Campaign) -> str:
    # Campaign slugs may hold underscores; key file names and variables take hyphens only.
    base = slugify(campaign.slug).replace("_", "-")[:50].strip("-") or "campaign"
    if Organisation.objects.filter(slug=base).exists():
        return f"{base}-{campaign.pk}"
    return base


def organisation_for(campaign: Campaign) -> Organisation:
    """The organisation holding the campaign's supporter data; one of its own by default."""
    link = CampaignOrganisation.objects.select_related("organisation").filter(campaign=campaign)
    found = link.first()
    if found is not None:
        return found.organisation
    with transaction.atomic():
        organisation = save_organisation(_default_organisation_slug(campaign), campaign.name)
        CampaignOrganisation.objects.get_or_create(
            campaign=campaign, defaults={"organisation": organisation}
        )
    return (
        CampaignOrganisation.objects.select_related("organisation")
        .get(campaign=campaign)
        .organisation
    )


@transaction.atomic
def assign_organisation(campaign: Campaign, organisation: Organisation) -> CampaignOrganisation:
    """Let ``organisation`` hold the campaign's supporter data; refused once supporters exist.

    Moving existing supporters would mean rewrapping their keys and rebuilding
    their indexes under another keyring: it is not done behind an operator's back.
    """
    link = CampaignOrganisation.objects.filter(campaign=campaign).first()
    if link is not None and link.organisation_id == organisation.pk:
        return link
    if Supporter.objects.filter(campaign=campaign).exists():
        raise OutreachError(
            "organisation", "the campaign already has supporters under another organisation's keys"
        )
    link, _ = CampaignOrganisation.objects.update_or_create(
        campaign=campaign, defaults={"organisation": organisation}
    )
    return link


# --- forms and flyers -----------------------------------------------------------------


def _field_list(values: Iterable[str], name: str) -> list[str]:
    chosen = set()
    for value in values:
        if value not in FormField.values:
            raise OutreachError(name, f"{value!r} is not one of {', '.join(FormField.values)}")
        chosen.add(value)
    return [f for f in FormField.values if f in chosen]


def clean_domains(text: str) -> str:
    """One lower-case domain a line; a leading ``@`` or ``www.`` is dropped."""
    out: list[str] = []
    for raw in re.split(r"[\s,;]+", text or ""):
        domain = raw.strip().lower().lstrip("@")
        domain = domain.removeprefix("www.")
        if not domain:
            continue
        if not DOMAIN.match(domain):
            raise OutreachError("employer_domains", f"{domain[:80]!r} is not a domain name")
        if domain not in out:
            out.append(domain)
    return "\n".join(out)


@transaction.atomic
def save_form(
    campaign: Campaign,
    *,
    slug: str,
    title: str,
    consent_text: str,
    fields: Iterable[str],
    required_fields: Iterable[str] = (),
    kind: str = FormKind.SIGN_UP,
    intro: str = "",
    employer_domains: str = "",
    thank_you: str = "",
    is_open: bool = True,
    confirm_first: bool = False,
    form: SignupForm | None = None,
) -> SignupForm:
    """Create a form, or change ``form`` (or the campaign's form under ``slug``).

    Refuses a form without consent text, and one that asks neither email nor
    phone: a supporter must be reachable, and de-duplicated by one of them.
    """
    if kind not in FormKind.values:
        raise OutreachError("kind", f"{kind!r} is not one of {', '.join(FormKind.values)}")
    slug = slugify(slug or title)[:80]
    if not slug:
        raise OutreachError("slug", "use letters, digits and hyphens")
    asked = _field_list(fields, "fields")
    if FormField.EMAIL not in asked and FormField.PHONE not in asked:
        raise OutreachError("fields", "a form asks for an email or a phone number, or both")
    required = _field_list(required_fields, "required_fields")
    missing = [f for f in required if f not in asked]
    if missing:
        raise OutreachError("required_fields", f"{', '.join(missing)} is not asked on the form")
    if confirm_first and FormField.EMAIL not in required:
        raise OutreachError(
            "confirm_first", "confirming the address first needs a required email field"
        )
    if form is None:
        form = SignupForm.objects.filter(campaign=campaign, slug=slug).first()
    elif form.campaign_id != campaign.pk:
        raise OutreachError("form", "that form belongs to another campaign")
    clash = SignupForm.objects.filter(campaign=campaign, slug=slug)
    if form is not None:
        clash = clash.exclude(pk=form.pk)
    if clash.exists():
        raise OutreachError("slug", f"the campaign already has a form at {slug!r}")
    if form is None:
        form = SignupForm(campaign=campaign)
    form.slug = slug
    form.kind = kind
    form.title = _text(title, "title", 200, required=True)
    form.intro = _text(intro, "intro", 5000)
    form.consent_text = _text(consent_text, "consent_text", 5000, required=True)
    form.fields = asked
    form.required_fields = required
    form.employer_domains = clean_domains(employer_domains)
    form.thank_you = _text(thank_you, "thank_you", 2000)
    form.is_open = bool(is_open)
    form.confirm_first = bool(confirm_first)
    form.save()
    return form


@transaction.atomic
def create_flyer(
    campaign: Campaign,
    *,
    form: SignupForm,
    label: str,
    code: str,
    action: Action | None = None,
) -> Flyer:
    """A flyer whose QR code leads to ``form`` through ``/f/<code>``; the code is unique."""
    if form.campaign_id != campaign.pk:
        raise OutreachError("form", "that form belongs to another campaign")
    if action is not None and action.campaign_id != campaign.pk:
        raise OutreachError("action", "that action belongs to another campaign")
    clean = clean_source_code(code)
    if not clean:
        raise OutreachError("code", "use 1 to 40 letters, digits, - and _")
    if Flyer.objects.filter(code=clean).exists():
        raise OutreachError("code", f"{clean!r} is already used by another flyer")
    return Flyer.objects.create(
        campaign=campaign,
        form=form,
        action=action,
        label=_text(label, "label", 200, required=True),
        code=clean,
    )


# --- rate limits ----------------------------------------------------------------------


def _take_rate_limit(client_key: str, form: SignupForm, now: datetime) -> None:
    """Count one sign-up for the client, or raise ``Throttled`` with nothing counted.

    Runs inside the transaction that stores the sign-up: a sign-up that fails
    later gives its count back.
    """
    wait = take_place(
        client_key,
        f"form-{form.pk}",
        settings.OUTREACH_RATE_PER_MINUTE,
        settings.OUTREACH_RATE_PER_DAY,
        now,
    )
    if wait is not None:
        raise Throttled(wait)


# --- sign-ups -------------------------------------------------------------------------


def _clean_answer(value: Any, field: str) -> str:
    text = unicodedata.normalize("NFC", "" if value is None else str(value)).strip()
    if len(text) > FIELD_MAX_LENGTH[field]:
        raise OutreachError(field, f"longer than {FIELD_MAX_LENGTH[field]} characters")
    allowed = "\n\t" if field == FormField.MESSAGE else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise OutreachError(field, "contains control characters")
    return text


@sensitive_variables()
def _find_supporter(
    campaign: Campaign, keyring: crypto.Keyring, email: str, phone: str
) -> Supporter | None:
    """The campaign's supporter with this email, else (no email given) with this phone.

    Indexes of every version in the keyring are tried, so a sign-up during an
    unfinished rotation still finds the person.
    """
    if email:
        match = Q()
        for version in keyring.index_keys:
            digest = crypto.blind_index(keyring, version, "email", email)
            match |= Q(index_version=version, email_index=digest)
        return Supporter.objects.filter(match, campaign=campaign).first()
    if phone:
        match = Q()
        for version in keyring.index_keys:
            digest = crypto.blind_index(keyring, version, "phone", phone)
            match |= Q(index_version=version, phone_index=digest)
        return Supporter.objects.filter(match, campaign=campaign).order_by("id").first()
    return None


def _data_key(keyring: crypto.Keyring, supporter: Supporter) -> bytes:
    key = SupporterKey.objects.get(supporter=supporter)
    return crypto.unwrap_data_key(
        keyring, key.wrapped, supporter_uid=supporter.uid, version=key.kek_version
    )


def _lock(organisation: Organisation) -> None:
    # Serialises sign-ups with key rotation on PostgreSQL; SQLite's immediate
    # transactions serialise every write already.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


@sensitive_variables()
def _supporter_for(
    campaign: Campaign,
    organisation: Organisation,
    keyring: crypto.Keyring,
    email: str,
    phone: str,
    now: datetime,
) -> tuple[Supporter, bytes]:
    """The returning supporter and their data key, or a new supporter with a new key."""
    version = keyring.active_index_version
    email_index = crypto.blind_index(keyring, version, "email", email) if email else ""
    phone_index = crypto.blind_index(keyring, version, "phone", phone) if phone else ""
    for _attempt in range(2):
        supporter = _find_supporter(campaign, keyring, email, phone)
        if supporter is not None:
            changed = ["last_submitted_at"]
            supporter.last_submitted_at = now
            if supporter.index_version == version:
                if email_index and not supporter.email_index:
                    supporter.email_index = email_index
                    changed.append("email_index")
                if phone_index and not supporter.phone_index:
                    supporter.phone_index = phone_index
                    changed.append("phone_index")
            supporter.save(update_fields=changed)
            return supporter, _data_key(keyring, supporter)
        try:
            with transaction.atomic():
                supporter = Supporter.objects.create(
                    campaign=campaign,
                    email_index=email_index,
                    phone_index=phone_index,
                    index_version=version,
                    created_at=now,
                    last_submitted_at=now,
                )
                data_key = crypto.new_data_key()
                kek_version, wrapped = crypto.wrap_data_key(
                    keyring, data_key, supporter_uid=supporter.uid
                )
                SupporterKey.objects.create(
                    supporter=supporter,
                    organisation=organisation,
                    kek_version=kek_version,
                    wrapped=wrapped,
                )
                return supporter, data_key
        except IntegrityError:
            # Another sign-up with the same email won the race: join it.
            continue
    raise OutreachError("email", "the sign-up could not be stored; send it again")


@sensitive_variables()
def record_signup(
    form: SignupForm,
    answers: Mapping[str, Any],
    *,
    consent_text_shown: str,
    source_code: str = "",
    client_key: str,
    work_address: bool = False,
    now: datetime | None = None,
) -> Submission:
    """Store one sign-up, sealed, with its consent record; raise ``Throttled`` past the limits.

    ``answers`` maps form fields to what the person entered; fields the form
    does not ask are ignored. A person whose email (or, without an email,
    phone) is already known in the campaign gains a submission rather than a
    second supporter. The submission waits for review, or first for the person
    to confirm their address when the form asks that.
    """
    if not form.is_open:
        raise OutreachError("form", "this form is closed")
    if consent_text_shown != form.consent_text:
        raise OutreachError("consent", "the consent text changed; read it again and resend")
    now = now or timezone.now()
    values = {f: _clean_answer(answers.get(f), f) for f in form.fields}
    for f in form.required_fields:
        if not values.get(f):
            raise OutreachError(f, "may not be empty")
    email = crypto.normalise_email(values.get(FormField.EMAIL, ""))
    phone_text = values.get(FormField.PHONE, "")
    phone = crypto.normalise_phone(phone_text, settings.OUTREACH_PHONE_REGION) if phone_text else ""
    if not email and not phone:
        raise OutreachError("email", "an email or a phone number is needed")
    source = clean_source_code(source_code)
    campaign = form.campaign
    with transaction.atomic():
        _take_rate_limit(client_key, form, now)
        organisation = organisation_for(campaign)
        _lock(organisation)
        keyring = crypto.load_keyring(organisation.slug, create=True)
        supporter, data_key = _supporter_for(campaign, organisation, keyring, email, phone, now)
        submission = Submission(
            uid=uuid.uuid4(),
            supporter=supporter,
            campaign=campaign,
            form=form,
            flyer=Flyer.objects.filter(campaign=campaign, code=source).first() if source else None,
            source_code=source,
            work_address=work_address,
            submitted_at=now,
            # A form that asks to confirm first keeps the sign-up out of review until then.
            status=SubmissionStatus.UNCONFIRMED if form.confirm_first else SubmissionStatus.PENDING,
        )
        table = Submission._meta.db_table
        for field_name, value in values.items():
            sealed = crypto.seal_field(
                data_key, value, table=table, row_uid=submission.uid, field_name=field_name
            )
            setattr(submission, SEALED_COLUMNS[field_name], sealed)
        submission.save()
        digest = consent_hash(form.consent_text)
        if not ConsentText.objects.filter(sha256=digest).exists():
            ConsentText(sha256=digest, text=form.consent_text, first_shown_at=now).save()
        ConsentRecord(
            submission=submission, consent_sha256=digest, consented_at=now, source_code=source
        ).save()
    return submission


# --- review and goals -----------------------------------------------------------------


def signup_count(campaign: Campaign) -> int:
    """People with at least one accepted sign-up: one person signing twice counts once."""
    return (
        Supporter.objects.filter(campaign=campaign, submissions__status=SubmissionStatus.ACCEPTED)
        .distinct()
        .count()
    )


def refresh_signup_goals(campaign: Campaign) -> None:
    """Set every sign-up goal of the campaign to the count of accepted people."""
    Goal.objects.filter(campaign=campaign, progress_source=GoalProgress.SIGNUPS).update(
        value=signup_count(campaign), updated_at=timezone.now()
    )


@transaction.atomic
def decide_submissions(
    campaign: Campaign,
    submission_ids: Iterable[int],
    status: str,
    *,
    decided_by: Any,
    channel: str = AuditChannel.WEB,
) -> int:
    """Accept or reject pending submissions of the campaign; returns how many changed."""
    if status not in (SubmissionStatus.ACCEPTED, SubmissionStatus.REJECTED):
        raise OutreachError("status", "a submission is accepted or rejected")
    pending = Submission.objects.filter(
        campaign=campaign, pk__in=list(submission_ids), status=SubmissionStatus.PENDING
    )
    people = pending.values("supporter_id").distinct().count()
    changed = Submission.objects.filter(pk__in=list(pending.values_list("pk", flat=True))).update(
        status=status,
        decided_at=timezone.now(),
        decided_by=decided_by if getattr(decided_by, "pk", None) else None,
    )
    if changed:
        refresh_signup_goals(campaign)
        action = AuditAction.ACCEPT if status == SubmissionStatus.ACCEPTED else AuditAction.REJECT
        record_audit(action, user=decided_by, channel=channel, campaign=campaign, count=people)
    return changed


# --- erasure, retention and key rotation ----------------------------------------------


@dataclass
class RotationResult:
    """What a key rotation did; ``retired`` is False when old versions are still held."""

    organisation: str
    kek_version: int
    index_version: int
    rewrapped: int
    reindexed: int
    retired: bool
    note: str = ""


@dataclass
class ErasureResult:
    erased: int
    rotations: list[RotationResult]
    notes: list[str]


@sensitive_variables()
def find_supporter(campaign: Campaign, *, email: str = "", phone: str = "") -> Supporter | None:
    """The campaign's supporter with this email or phone, found by blind index alone."""
    organisation = organisation_for(campaign)
    try:
        keyring = crypto.load_keyring(organisation.slug)
    except crypto.KeyringError:
        return None
    email_norm = crypto.normalise_email(email) if email else ""
    phone_norm = crypto.normalise_phone(phone, settings.OUTREACH_PHONE_REGION) if phone else ""
    return _find_supporter(campaign, keyring, email_norm, phone_norm)


def _rotate_after_removal(
    organisations: Iterable[Organisation],
) -> tuple[list[RotationResult], list[str]]:
    """Rotate each organisation's keys so old backups cannot open the removed keys.

    A backup taken before the erasure still holds the erased person's wrapped
    key; once the KEK that wrapped it is retired from the key file, nothing
    opens it. Keys held in the environment cannot be rotated from here: the
    note says what the operator does.
    """
    results: list[RotationResult] = []
    notes: list[str] = []
    for organisation in organisations:
        try:
            keyring = crypto.load_keyring(organisation.slug)
        except crypto.KeyringError:
            continue  # no keys were ever made: nothing was ever sealed
        if not keyring.from_file:
            notes.append(
                f"organisation {organisation.slug!r}: its keys are in "
                f"{crypto.env_name(organisation.slug)}; add kek-N and index-N of a new version "
                "there and run `receipts outreach rotate-keys` so old backups cannot open the "
                "erased keys"
            )
            continue
        try:
            # The erasure's own audit event covers the rotation that follows it.
            results.append(rotate_keys(organisation, audit=False))
        except (crypto.KeyringError, crypto.DecryptionError) as exc:
            notes.append(
                f"organisation {organisation.slug!r}: the erasure is done but the key rotation "
                f"failed ({exc}); run `receipts outreach rotate-keys --org {organisation.slug}`"
            )
    return results, notes


def erase_supporters(
    campaign: Campaign,
    supporters: Iterable[Supporter],
    *,
    user: Any = None,
    channel: str = AuditChannel.WEB,
    action: str = AuditAction.ERASE,
    rotate: bool = True,
    wipe_files: bool = True,
) -> ErasureResult:
    """Delete supporters everywhere: submissions, consent records and their wrapped keys.

    The deleted rows' bytes are then wiped from the live database files
    (``wipe.wipe_erased_rows``): no sealed field, wrapped key or blind index
    of the person stays there for a copy of the key file to open. The
    rotation that follows retires the KEK that could open an old backup's
    copy of the wrapped key. Old backups then open for no one with the
    current key file, which is the price of the guarantee: take a fresh
    backup after an erasure. The audit event records the count, not who.
    """
    ids = [s.pk for s in supporters if s.campaign_id == campaign.pk]
    with transaction.atomic():
        wipe.prepare_erasure()
        doomed = Supporter.objects.filter(pk__in=ids, campaign=campaign)
        count = doomed.count()
        doomed.delete()
        refresh_signup_goals(campaign)
        record_audit(action, user=user, channel=channel, campaign=campaign, count=count)
    rotations: list[RotationResult] = []
    notes: list[str] = []
    if count and rotate:
        rotations, notes = _rotate_after_removal([organisation_for(campaign)])
    if count and wipe_files:
        # After the rotation: it rewrites every other key, and its old versions go too.
        notes += wipe.wipe_erased_rows()
    return ErasureResult(count, rotations, notes)


def purge_expired_supporters(
    *, days: int | None = None, now: datetime | None = None, channel: str = AuditChannel.CLI
) -> ErasureResult:
    """Erase supporters whose last sign-up is older than the retention period; drop old buckets."""
    days = settings.SUPPORTER_RETENTION_DAYS if days is None else days
    if days < 0:
        raise OutreachError("days", "the retention period cannot be negative")
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    total = 0
    touched: dict[int, Organisation] = {}
    campaign_ids = (
        Supporter.objects.filter(last_submitted_at__lt=cutoff)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    for campaign in Campaign.objects.filter(pk__in=list(campaign_ids)):
        expired = list(Supporter.objects.filter(campaign=campaign, last_submitted_at__lt=cutoff))
        result = erase_supporters(
            campaign,
            expired,
            channel=channel,
            action=AuditAction.PURGE,
            rotate=False,
            wipe_files=False,
        )
        total += result.erased
        organisation = organisation_for(campaign)
        touched[organisation.pk] = organisation
    RateLimitBucket.objects.filter(window_start__lt=now - timedelta(days=2)).delete()
    rotations, notes = _rotate_after_removal(touched.values())
    if total:
        notes += wipe.wipe_erased_rows()
    return ErasureResult(total, rotations, notes)


@sensitive_variables()
def _identity(supporter: Supporter, data_key: bytes) -> tuple[str, str]:
    """The normalised email and phone a supporter's indexes were made from: the first given."""
    email = phone = ""
    table = Submission._meta.db_table
    rows = supporter.submissions.order_by("submitted_at", "id").values_list(
        "uid", "email_sealed", "phone_sealed"
    )
    for uid, email_sealed, phone_sealed in rows:
        if not email and email_sealed is not None:
            email = crypto.normalise_email(
                crypto.open_field(
                    data_key, email_sealed, table=table, row_uid=uid, field_name="email"
                )
            )
        if not phone and phone_sealed is not None:
            text = crypto.open_field(
                data_key, phone_sealed, table=table, row_uid=uid, field_name="phone"
            )
            phone = crypto.normalise_phone(text, settings.OUTREACH_PHONE_REGION) if text else ""
        if email and phone:
            break
    return email, phone


def rotate_keys(
    organisation: Organisation,
    *,
    user: Any = None,
    channel: str = AuditChannel.CLI,
    audit: bool = True,
) -> RotationResult:
    """Move an organisation to a new KEK and index key; sealed fields are not touched.

    1. A key file gains ``kek-N+1`` and ``index-N+1`` (the old versions stay).
       Keys in the environment must already hold a newer version.
    2. In one transaction, every supporter key is unwrapped with its old KEK
       and wrapped with the new one, and every blind index is rebuilt from the
       sealed email and phone under the new index key.
    3. Once no row uses them, the old versions leave the key file (retired).

    A rotation cut short is finished by running it again: a key file that
    still holds several versions is completed with its newest one.
    """
    keyring = crypto.load_keyring(organisation.slug, create=True)
    used_keks = set(
        SupporterKey.objects.filter(organisation=organisation)
        .values_list("kek_version", flat=True)
        .distinct()
    )
    if keyring.from_file:
        if len(keyring.keks) == 1 and len(keyring.index_keys) == 1:
            keyring = crypto.add_key_versions(keyring)
    elif used_keks and keyring.active_kek_version <= max(used_keks):
        raise crypto.KeyringError(
            f"organisation {organisation.slug!r}: to rotate keys held in "
            f"{crypto.env_name(organisation.slug)}, add kek-{max(used_keks) + 1} and "
            f"index-{keyring.active_index_version + 1} there and run this again"
        )
    kek_version, index_version = keyring.active_kek_version, keyring.active_index_version
    rewrapped = reindexed = 0
    now = timezone.now()
    with transaction.atomic():
        _lock(organisation)
        keys = list(
            SupporterKey.objects.filter(organisation=organisation).select_related("supporter")
        )
        changed_keys: list[SupporterKey] = []
        changed_supporters: list[Supporter] = []
        for key in keys:
            supporter = key.supporter
            data_key = crypto.unwrap_data_key(
                keyring, key.wrapped, supporter_uid=supporter.uid, version=key.kek_version
            )
            if key.kek_version != kek_version:
                key.kek_version, key.wrapped = crypto.wrap_data_key(
                    keyring, data_key, supporter_uid=supporter.uid, version=kek_version
                )
                key.rewrapped_at = now
                changed_keys.append(key)
            if supporter.index_version != index_version:
                email, phone = _identity(supporter, data_key)
                supporter.email_index = (
                    crypto.blind_index(keyring, index_version, "email", email) if email else ""
                )
                supporter.phone_index = (
                    crypto.blind_index(keyring, index_version, "phone", phone) if phone else ""
                )
                supporter.index_version = index_version
                changed_supporters.append(supporter)
        SupporterKey.objects.bulk_update(
            changed_keys, ["kek_version", "wrapped", "rewrapped_at"], batch_size=ROTATION_BATCH
        )
        Supporter.objects.bulk_update(
            changed_supporters,
            ["email_index", "phone_index", "index_version"],
            batch_size=ROTATION_BATCH,
        )
        rewrapped, reindexed = len(changed_keys), len(changed_supporters)
        if audit:
            record_audit(
                AuditAction.ROTATE_KEYS,
                user=user,
                channel=channel,
                organisation=organisation,
                count=len(keys),
            )
    retired = False
    note = ""
    if keyring.from_file:

        def retire() -> None:
            nonlocal retired
            still_old = (
                SupporterKey.objects.filter(organisation=organisation)
                .exclude(kek_version=kek_version)
                .exists()
            )
            if not still_old:
                crypto.retire_key_versions(
                    crypto.load_keyring(organisation.slug), kek=kek_version, index=index_version
                )
                retired = True

        # Retire only once the rewrap is committed: a rollback must find the old KEK.
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(retire)
            note = "old key versions leave the key file when the surrounding transaction commits"
        else:
            retire()
    else:
        note = (
            f"remove the key versions older than kek-{kek_version} and index-{index_version} "
            f"from {crypto.env_name(organisation.slug)}"
        )
    return RotationResult(
        organisation.slug, kek_version, index_version, rewrapped, reindexed, retired, note
    )
