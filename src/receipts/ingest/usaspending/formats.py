"""The USAspending contract file formats this importer reads, kept as data.

Each kind of file is recognised from its header, never from its name or the
position of its columns; each field of a record is read from the first of its
column names that the header has, which covers the older eras (2018: no
unique keys, no UEI, ``award_description``) as well as today's headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PUBLISHER = "USAspending.gov"
PUBLISHER_URL = "https://www.usaspending.gov/"
PERMALINK = "https://www.usaspending.gov/award/{award_key}/"


@dataclass(frozen=True)
class FileKind:
    """One kind of USAspending file: how to recognise it and which columns it needs."""

    name: str
    label: str
    # Present in the header of this kind, and absent from the other kinds.
    signature: tuple[str, ...]
    absent: tuple[str, ...]
    # Columns only this kind has: a header with any of them (and none of
    # ``absent``) is taken for this kind, and whatever it lacks is named.
    hints: tuple[str, ...]
    # Canonical field -> header names to try, in order.
    fields: dict[str, tuple[str, ...]]
    # Canonical fields that must resolve to a column, or the file is refused.
    required: tuple[str, ...]
    # At least one of these canonical fields must resolve (identifiers of the recipient).
    one_of: tuple[str, ...] = field(default=())


_COMMON: dict[str, tuple[str, ...]] = {
    "piid": ("award_id_piid",),
    "parent_agency_id": ("parent_award_agency_id",),
    "parent_piid": ("parent_award_id_piid", "parent_award_id"),
    "awarding_agency_code": ("awarding_agency_code",),
    "awarding_agency_name": ("awarding_agency_name",),
    "awarding_sub_agency_code": ("awarding_sub_agency_code",),
    "awarding_sub_agency_name": ("awarding_sub_agency_name",),
    "awarding_office_code": ("awarding_office_code",),
    "awarding_office_name": ("awarding_office_name",),
    "recipient_uei": ("recipient_uei",),
    "recipient_duns": ("recipient_duns",),
    "recipient_name": ("recipient_name",),
    "cage_code": ("cage_code",),
    "parent_uei": ("recipient_parent_uei",),
    "parent_duns": ("recipient_parent_duns",),
    "parent_name": ("recipient_parent_name",),
    "permalink": ("usaspending_permalink",),
    "last_modified": ("last_modified_date",),
    # Delta files mark corrections (C) and deletions (D) in this column.
    "correction_delete": ("correction_delete_ind",),
}

TRANSACTIONS = FileKind(
    name="transactions",
    label="Contracts prime transactions",
    signature=("federal_action_obligation", "action_date", "modification_number"),
    absent=("total_obligated_amount",),
    hints=(
        "contract_transaction_unique_key",
        "federal_action_obligation",
        "action_date",
        "modification_number",
    ),
    fields={
        **_COMMON,
        "transaction_key": ("contract_transaction_unique_key",),
        "award_key": ("contract_award_unique_key",),
        "modification_number": ("modification_number",),
        "transaction_number": ("transaction_number",),
        "obligation": ("federal_action_obligation",),
        "action_date": ("action_date",),
        "description": (
            "prime_award_base_transaction_description",
            "award_description",
            "transaction_description",
        ),
    },
    required=(
        "piid",
        "modification_number",
        "obligation",
        "action_date",
        "awarding_agency_code",
        "awarding_agency_name",
        "awarding_sub_agency_code",
        "awarding_sub_agency_name",
        "recipient_name",
    ),
    one_of=("recipient_uei", "recipient_duns"),
)

AWARDS = FileKind(
    name="awards",
    label="Contracts prime award summaries",
    signature=("contract_award_unique_key", "total_obligated_amount"),
    absent=("federal_action_obligation",),
    hints=("total_obligated_amount", "award_base_action_date", "award_latest_action_date"),
    fields={
        **_COMMON,
        "award_key": ("contract_award_unique_key",),
        "total_obligated": ("total_obligated_amount",),
        "base_date": ("award_base_action_date", "period_of_performance_start_date"),
        "latest_date": ("award_latest_action_date",),
        "description": ("prime_award_base_transaction_description", "award_description"),
    },
    required=(
        "award_key",
        "piid",
        "total_obligated",
        "base_date",
        "awarding_agency_code",
        "awarding_agency_name",
        "awarding_sub_agency_code",
        "awarding_sub_agency_name",
        "recipient_name",
    ),
    one_of=("recipient_uei", "recipient_duns"),
)

KINDS = (TRANSACTIONS, AWARDS)

# Headers of files Receipts knows but does not import, to say so plainly.
_NOT_IMPORTED = {
    "subaward_number": "a subaward file (Contracts_Subawards); only prime awards are imported",
    "assistance_transaction_unique_key": "a financial assistance file; only contracts are imported",
    "assistance_award_unique_key": "a financial assistance file; only contracts are imported",
}


class HeaderError(ValueError):
    """The header does not belong to a file this importer reads, or lacks columns."""


class NotImportedKind(HeaderError):
    """A USAspending file of a kind Receipts knows but does not import (subawards, assistance)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.what = what


def detect_kind(header: list[str], where: str) -> FileKind:
    """The kind of a file from its header; HeaderError naming what is missing otherwise."""
    columns = set(header)
    for column, what in _NOT_IMPORTED.items():
        if column in columns:
            raise NotImportedKind(where, what)
    for kind in KINDS:
        if any(c in columns for c in kind.hints) and not any(c in columns for c in kind.absent):
            missing = [c for c in kind.signature if c not in columns]
            missing += [
                kind.fields[f][0]
                for f in kind.required
                if not any(c in columns for c in kind.fields[f])
                and kind.fields[f][0] not in missing
            ]
            if kind.one_of and not any(c in columns for f in kind.one_of for c in kind.fields[f]):
                missing.append(" or ".join(kind.fields[f][0] for f in kind.one_of))
            # Files from before the unique keys have neither; a file with one has both.
            keys = ("contract_transaction_unique_key", "contract_award_unique_key")
            if kind is TRANSACTIONS and any(k in columns for k in keys):
                missing += [k for k in keys if k not in columns]
            if missing:
                raise HeaderError(
                    f"{where}: a {kind.label.lower()} file without the required columns "
                    + ", ".join(missing)
                )
            return kind
    raise HeaderError(
        f"{where}: not a USAspending contract transactions or award summaries file "
        "(its header has neither federal_action_obligation nor total_obligated_amount "
        "with contract_award_unique_key)"
    )


def column_map(kind: FileKind, header: list[str]) -> dict[str, str | None]:
    """Canonical field -> the header column it is read from (None if the file lacks it)."""
    columns = set(header)
    return {f: next((c for c in names if c in columns), None) for f, names in kind.fields.items()}


@dataclass(frozen=True)
class KnownAgency:
    code: str
    name: str
    parent: str = ""
    aliases: tuple[str, ...] = ()


# Canonical names for the codes that matter most to the people using Receipts.
# Files spell these names in many ways ("U.S. IMMIGRATION AND CUSTOMS
# ENFORCEMENT"); the code decides, the name here is what the page shows.
KNOWN_AGENCIES = {
    a.code: a
    for a in [
        KnownAgency(
            "070",
            "U.S. Department of Homeland Security",
            aliases=("DHS", "Department of Homeland Security"),
        ),
        KnownAgency("7012", "U.S. Immigration and Customs Enforcement", "070", ("ICE",)),
        KnownAgency("7014", "U.S. Customs and Border Protection", "070", ("CBP",)),
        KnownAgency("7013", "Transportation Security Administration", "070", ("TSA",)),
        KnownAgency("7022", "Federal Emergency Management Agency", "070", ("FEMA",)),
        KnownAgency("7003", "U.S. Citizenship and Immigration Services", "070", ("USCIS",)),
        KnownAgency("7015", "U.S. Secret Service", "070", ("USSS",)),
        KnownAgency("7008", "U.S. Coast Guard", "070", ("USCG",)),
        KnownAgency("7001", "Office of Procurement Operations", "070"),
        KnownAgency("015", "U.S. Department of Justice", aliases=("DOJ", "Department of Justice")),
        KnownAgency("1549", "Federal Bureau of Investigation", "015", ("FBI",)),
        KnownAgency("1524", "Drug Enforcement Administration", "015", ("DEA",)),
        KnownAgency("1544", "U.S. Marshals Service", "015", ("USMS",)),
        KnownAgency("1540", "Federal Prisons System / Bureau of Prisons", "015", ("BOP",)),
        KnownAgency("097", "U.S. Department of Defense", aliases=("DOD", "Department of Defense")),
        KnownAgency("2100", "Department of the Army", "097", ("U.S. Army",)),
        KnownAgency("1700", "Department of the Navy", "097", ("U.S. Navy",)),
        KnownAgency("5700", "Department of the Air Force", "097", ("U.S. Air Force",)),
        KnownAgency("97AS", "Defense Logistics Agency", "097", ("DLA",)),
    ]
}
