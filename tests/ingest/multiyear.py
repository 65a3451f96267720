"""A generated multi-year set of USAspending contract transaction downloads, one file per
fiscal year plus a later download overlapping two of them.

It has what makes the order of import matter when an importer gets it wrong:
awards with actions across years, whose rows were modified after newer
actions (so the newest change of an award sits in an older year's file);
offices that award only some actions of an award; recipients that change
their name's spelling and their parent over time; an award that passes
from one company to another; look-alike names with different UEIs, more
of them than the review queue keeps per entity, and a name without UEI or
DUNS; and a second download holding the same transactions as two yearly
files, some of them in a newer version.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from tests.ingest.csv_files import write_rows

HEADER = [
    "contract_transaction_unique_key",
    "contract_award_unique_key",
    "award_id_piid",
    "modification_number",
    "transaction_number",
    "parent_award_agency_id",
    "parent_award_id_piid",
    "federal_action_obligation",
    "action_date",
    "action_date_fiscal_year",
    "awarding_agency_code",
    "awarding_agency_name",
    "awarding_sub_agency_code",
    "awarding_sub_agency_name",
    "awarding_office_code",
    "awarding_office_name",
    "recipient_uei",
    "recipient_duns",
    "recipient_name",
    "cage_code",
    "recipient_parent_uei",
    "recipient_parent_duns",
    "recipient_parent_name",
    "transaction_description",
    "usaspending_permalink",
    "last_modified_date",
]

YEARS = range(2019, 2025)
SUB_AGENCIES = {
    "7012": "U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT",
    "7014": "U.S. CUSTOMS AND BORDER PROTECTION",
}
OFFICES = {
    "7012": {"70CDCR": "DETENTION COMPLIANCE AND REMOVALS", "70CMSD": "MISSION SUPPORT DALLAS"},
    "7014": {
        "70B01C": "BORDER ENFORCEMENT CONTRACTS DIVISION",
        "70B04C": "BORDER PATROL LOGISTICS",
    },
}
# Offices that award only later modifications, and only in some years.
LATE_OFFICES = {
    "7012": ("70CRPL", "ICE PROCUREMENT LAGUNA"),
    "7014": ("70B07C", "CBP TUCSON FIELD"),
}
# Offices that award only a modification between an award's first and latest action:
# never the office of an award's record, in a file of its own year only.
MIDDLE_OFFICES = {
    "7012": ("70CTMP", "ICE TEMPORARY OFFICE"),
    "7014": ("70B09C", "CBP SURGE OFFICE"),
}

_PARENT_GEO = ("PG0000000001", "THE GEO GROUP INC")
_PARENT_GEO_HOLDINGS = ("PG0000000002", "GEO HOLDINGS INC")


@dataclass(frozen=True)
class Recipient:
    uei: str
    # (first fiscal year, name spelling, parent UEI, parent name): the latest that has begun applies.
    eras: tuple[tuple[int, str, str, str], ...]

    def as_of(self, year: int) -> tuple[str, str, str]:
        name, parent_uei, parent_name = self.eras[0][1:]
        for first, n, pu, pn in self.eras:
            if year >= first:
                name, parent_uei, parent_name = n, pu, pn
        return name, parent_uei, parent_name


RECIPIENTS = [
    Recipient(
        "GEOSEC000001",
        (
            (2019, "GEO SECURE SERVICES, LLC", *_PARENT_GEO),
            (2022, "GEO SECURE SERVICES LLC", *_PARENT_GEO_HOLDINGS),
        ),
    ),
    Recipient(
        "PALUSG000001",
        ((2019, "PALANTIR USG, INC.", "PALTEC000001", "PALANTIR TECHNOLOGIES INC."),),
    ),
    Recipient("DELCON000001", ((2019, "DELOITTE CONSULTING LLP", "DELLLP000001", "DELOITTE LLP"),)),
    # Look-alikes with UEIs of their own: five, more than the queue keeps per entity.
    Recipient("ACMEDS000001", ((2019, "ACME DETENTION SERVICES LLC", "", ""),)),
    Recipient("ACMEDS000002", ((2019, "ACME DETENTION SERVICE LLC", "", ""),)),
    Recipient("ACMEDS000003", ((2019, "ACME DETENTIONS SERVICES LLC", "", ""),)),
    Recipient("ACMEDS000004", ((2019, "ACME DETENTON SERVICES LLC", "", ""),)),
    Recipient("ACMEDS000005", ((2019, "ACME DETENTION SVCS LLC", "", ""),)),
    # A name without identifiers, and the same name key under a UEI.
    Recipient("", ((2019, "NAKAMOTO SECURITY CO", "", ""),)),
    Recipient("NAKSEC000001", ((2019, "NAKAMOTO SECURITY COMPANY", "", ""),)),
    # The company an award passes to after a novation, and the one it leaves.
    Recipient("OLDCOS000001", ((2019, "OLDCO SYSTEMS INC", "OLDPAR000001", "OLDCO PARENT CORP"),)),
    Recipient(
        "NEWCOS000001",
        (
            (2019, "NEWCO SYSTEMS INC", "", ""),
            (2021, "NEWCO SYSTEMS, INC.", "NEWPAR000001", "NEWCO HOLDINGS CORP"),
        ),
    ),
]


def _fy_date(rng: random.Random, year: int) -> dt.date:
    start = dt.date(year - 1, 10, 1)
    return start + dt.timedelta(days=rng.randrange(365))


def _stamp(rng: random.Random, after: dt.date) -> str:
    """A last_modified_date after ``after``, up to mid-2025: an old action is often changed late."""
    end = dt.date(2025, 6, 30)
    day = after + dt.timedelta(days=rng.randrange(1, max(2, (end - after).days)))
    return (
        f"{day.isoformat()} {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    )


def _row(
    award: dict[str, str], mod: int, when: dt.date, recipient: Recipient, office: tuple[str, str],
    cents: int, stamp: str, description: str,
) -> dict[str, str]:  # fmt: skip
    name, parent_uei, parent_name = recipient.as_of(when.year + (when.month >= 10))
    fy = when.year + (1 if when.month >= 10 else 0)
    return {
        "contract_transaction_unique_key": f"{award['sub']}_-NONE-_{award['piid']}_P{mod:05d}_-NONE-_0",
        "contract_award_unique_key": award["key"],
        "award_id_piid": award["piid"],
        "modification_number": "0" if mod == 0 else f"P{mod:05d}",
        "transaction_number": "0",
        "federal_action_obligation": f"{cents // 100}.{cents % 100:02d}"
        if cents >= 0
        else f"-{-cents // 100}.{-cents % 100:02d}",
        "action_date": when.isoformat(),
        "action_date_fiscal_year": str(fy),
        "awarding_agency_code": "070",
        "awarding_agency_name": "DEPARTMENT OF HOMELAND SECURITY (DHS)",
        "awarding_sub_agency_code": award["sub"],
        "awarding_sub_agency_name": SUB_AGENCIES[award["sub"]],
        "awarding_office_code": office[0],
        "awarding_office_name": office[1],
        "recipient_uei": recipient.uei,
        "recipient_name": name,
        "recipient_parent_uei": parent_uei,
        "recipient_parent_name": parent_name,
        "transaction_description": description,
        "usaspending_permalink": f"https://www.usaspending.gov/award/{award['key']}/",
        "last_modified_date": stamp,
    }


def generate_years(folder: Path, seed: int = 13) -> list[Path]:
    """Write the yearly files and the overlapping later download; returns their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    by_year: dict[int, list[dict[str, str]]] = {y: [] for y in YEARS}
    n = 0
    for recipient in RECIPIENTS:
        for _ in range(rng.randint(2, 3)):
            n += 1
            sub = rng.choice(sorted(SUB_AGENCIES))
            piid = f"70{sub[-2:]}RCPT{n:04d}"
            award = {"sub": sub, "piid": piid, "key": f"CONT_AWD_{piid}_{sub}_-NONE-_-NONE-"}
            office = rng.choice(sorted(OFFICES[sub].items()))
            first = rng.choice(list(YEARS)[:-1])
            later = [y for y in YEARS if y > first]
            years = sorted({first, *rng.sample(later, rng.randint(1, min(3, len(later))))})
            holder = recipient
            for mod, year in enumerate(years):
                # Some later modifications come from another office, which appears only then.
                this_office = LATE_OFFICES[sub] if mod and rng.random() < 0.3 else office
                if mod == 1 and len(years) >= 3:
                    this_office = MIDDLE_OFFICES[sub]
                if recipient.uei == "OLDCOS000001" and year >= 2021:
                    holder = RECIPIENTS[-1]  # the novation
                when = _fy_date(rng, year)
                cents = (
                    rng.randrange(-50_000_00, 900_000_00) if mod else rng.randrange(1, 2_000_000_00)
                )
                by_year[year].append(
                    _row(award, mod, when, holder, this_office, cents, _stamp(rng, when),
                         f"{'BASE AWARD' if mod == 0 else 'MODIFICATION'} {mod} OF {piid}")
                )  # fmt: skip
    paths = [
        write_rows(folder / f"FY{year}_070_Contracts_Full_20250701.csv", HEADER, rows)
        for year, rows in by_year.items()
    ]
    # A later download of FY2021 and FY2022: the same rows, some of them modified since.
    later = []
    for row in by_year[2021] + by_year[2022]:
        row = dict(row)
        if rng.random() < 0.3:
            row["federal_action_obligation"] = (
                f"{rng.randrange(1, 500_000)}.{rng.randrange(100):02d}"
            )
            row["last_modified_date"] = "2025-07-15 09:30:00"
        later.append(row)
    paths.append(
        write_rows(folder / "FY2021-FY2022_070_Contracts_Full_20250716.csv", HEADER, later)
    )
    return paths
