"""The USAspending contract file formats this importer reads, kept as data.

Each kind of file is recognised from its header, never from its name or the
position of its columns; each field of a record is read from the first of its
column names that the header has, which covers the older eras (2018: no
unique keys, no UEI, ``award_description``) as well as today's headers.
"""

from __future__ import annotations

import re
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
    # How today's header starts, and how many columns it has: named when a file
    # comes without its header.
    header_start: tuple[str, ...] = field(default=())
    width_today: int = 0


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
    # The period of performance as of the record: when the contract ends as things
    # stand, and when it would end if every option were exercised.
    "current_end": ("period_of_performance_current_end_date",),
    "potential_end": ("period_of_performance_potential_end_date",),
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
    header_start=("contract_transaction_unique_key", "contract_award_unique_key", "award_id_piid"),
    width_today=297,
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
    header_start=("contract_award_unique_key", "award_id_piid", "parent_award_agency_id"),
    width_today=286,
)

KINDS = (TRANSACTIONS, AWARDS)


# The USAspending downloads Receipts recognises but does not import, each by the
# columns only its header has (from USAspending's own download definitions), the
# most specific first; the name is the one USAspending gives the file.
@dataclass(frozen=True)
class OtherKind:
    columns: tuple[str, ...]
    name: str
    what: str


_ONLY_CONTRACTS = "only contract prime transactions and award summaries are imported"
OTHER_KINDS = (
    OtherKind(
        ("subaward_number", "prime_award_fain"),
        "Assistance_Subawards",
        "a financial assistance subaward file",
    ),
    OtherKind(
        ("subaward_number", "prime_award_piid"), "Contracts_Subawards", "a contract subaward file"
    ),
    OtherKind(
        ("subaward_number",), "Contracts_Subawards or Assistance_Subawards", "a subaward file"
    ),
    OtherKind(
        ("assistance_transaction_unique_key",),
        "Assistance_PrimeTransactions",
        "a financial assistance prime transactions file",
    ),
    OtherKind(
        ("assistance_award_unique_key",),
        "Assistance_PrimeAwardSummaries",
        "a financial assistance prime award summaries file",
    ),
    OtherKind(
        ("submission_period", "transaction_obligated_amount"),
        "AccountBreakdownByAward or FederalAccountFunding",
        "an account file of obligations by award",
    ),
    OtherKind(
        ("submission_period", "obligations_undelivered_orders_unpaid_total"),
        "AccountBreakdownByPA-OC",
        "an account file by program activity and object class",
    ),
    OtherKind(
        ("submission_period", "owning_agency_name"), "AccountBalances", "an account balances file"
    ),
    # Assistance files from before the unique keys: a FAIN, never a PIID (account
    # files by award, which have both, are told apart above).
    OtherKind(
        ("award_id_fain", "federal_action_obligation"),
        "Assistance_PrimeTransactions",
        "a financial assistance prime transactions file",
    ),  # fmt: skip
    OtherKind(
        ("award_id_fain",),
        "Assistance_PrimeAwardSummaries",
        "a financial assistance prime award summaries file",
    ),  # fmt: skip
    OtherKind(
        ("recipient", "award_obligations", "face_value_of_loans"),
        "COVID-19_Recipients",
        "a disaster spending recipients file",
    ),
)


class HeaderError(ValueError):
    """The header does not belong to a file this importer reads, or lacks columns."""


class NotImportedKind(HeaderError):
    """A file that is no contract transactions or award summaries file: another USAspending
    download (subawards, assistance, accounts) or a CSV of something else."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.what = what


# What a value of a data row looks like, and no column name does: a number, a
# date, a USAspending key.
_DATA_VALUE = re.compile(
    r"-?\d+(\.\d*)?|-?\.\d+|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?|(CONT|ASST)_(AWD|IDV|TX)_.*"
)
_AWARD_KEY_VALUE = re.compile(r"CONT_(AWD|IDV)_.+")
# A line this wide without a header is a USAspending download whatever its values.
_USASPENDING_WIDTH = 200


def _expected_header(kind: FileKind) -> str:
    return (
        f"{kind.label.lower()}: {','.join(kind.header_start)},… ({kind.width_today} columns today)"
    )


def _headerless(header: list[str], where: str) -> HeaderError | None:
    """The error for a first line that holds data, not column names; None for a header."""
    samples = [v for v in header if _DATA_VALUE.fullmatch(v)]
    if not samples:
        return None
    if _AWARD_KEY_VALUE.fullmatch(header[0]):
        expected = _expected_header(AWARDS)
    elif len(header) > 1 and _AWARD_KEY_VALUE.fullmatch(header[1]):
        expected = _expected_header(TRANSACTIONS)
    else:
        expected = " or ".join(_expected_header(k) for k in KINDS)
    shown = ", ".join(repr(v if len(v) <= 60 else v[:60] + "…") for v in samples[:3])
    message = (
        f"its first line looks like data ({shown}), not a header: a USAspending file starts "
        f"with a header row naming its columns, here the header of {expected}; add it or "
        "download the file again"
    )
    looks_contract = any(_AWARD_KEY_VALUE.fullmatch(v) for v in header[:2])
    if looks_contract or len(header) >= _USASPENDING_WIDTH:
        return HeaderError(f"{where}: {message}")
    return NotImportedKind(where, message)


def detect_kind(header: list[str], where: str) -> FileKind:
    """The kind of a file from its header; HeaderError naming what is missing otherwise.

    NotImportedKind for any file that is not a contract transactions or award
    summaries file, naming what it is when it is another USAspending download.
    """
    columns = set(header)
    for other in OTHER_KINDS:
        if all(c in columns for c in other.columns):
            raise NotImportedKind(where, f"{other.what} ({other.name}); {_ONLY_CONTRACTS}")
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
    headerless = _headerless(header, where)
    if headerless is not None:
        raise headerless
    raise NotImportedKind(
        where,
        "not a USAspending contract transactions or award summaries file "
        "(its header has neither federal_action_obligation nor total_obligated_amount "
        "with contract_award_unique_key)",
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
