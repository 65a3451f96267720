"""Deterministic generator of realistic USAspending contract downloads, with their ground truth.

The same arguments give byte-identical files, and award *i* of a seed is the same award in a
transactions file and in an award-summary file, so both describe one set of awards.

    uv run python benchmarks/make_usaspending.py --rows N --kind transactions|awards -o DIR
        [--seed S] [--zip] [--split-rows K] [--truth FILE]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import functools
import hashlib
import io
import itertools
import json
import math
import random
import sys
import time
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

Kind = Literal["transactions", "awards"]
KINDS: tuple[Kind, ...] = ("transactions", "awards")

HERE = Path(__file__).resolve().parent
# The copy in the repository wins; the shared reference folder is the fallback.
COLUMN_DIRS = (HERE / "data", HERE.parent.parent / "shared" / "data" / "usaspending")
COLUMN_FILES: dict[Kind, tuple[str, int]] = {
    "transactions": ("contracts_prime_transactions_columns_297.txt", 297),
    "awards": ("contracts_prime_award_summaries_columns_286.txt", 286),
}

# Names as USAspending gives them: the zip is stamped to the microsecond, its members to the second.
FILE_PREFIX: dict[Kind, str] = {
    "transactions": "Contracts_PrimeTransactions",
    "awards": "Contracts_PrimeAwardSummaries",
}
ZIP_PREFIX: dict[Kind, str] = {"transactions": "PrimeTransactions", "awards": "PrimeAwardSummaries"}
MEMBER_STAMP = "2026-11-26_H10M20S30"
ZIP_STAMP = "2026-11-26_H10M20S30123456"
ZIP_DATE_TIME = (2026, 11, 26, 10, 20, 30)
# A zip member larger than 2 GiB needs zip64 headers, which must be asked for before writing.
ZIP64_MEMBER_ROWS = 200_000

PROGRESS_EVERY = 100_000

# The award universe does not depend on the number of rows, so that award i of a seed is the
# same in files of any length and kind.
FAMILIES = 3_000
CONFUSABLE_SHARE = 0.06
ACQUIRED_SHARE = 0.05
ZIPF_EXPONENT = 0.9

FIRST_BASE_DATE = date(2015, 10, 1).toordinal()  # FY2016
LAST_BASE_DATE = date(2026, 9, 30).toordinal()  # FY2026
LAST_ACTION_DATE = date(2026, 11, 20).toordinal()
LAST_MODIFIED_CAP = date(2026, 11, 25).toordinal()
# SAM replaced DUNS with the UEI on this day: later rows carry no DUNS, earlier rows carry one
# and, where USAspending has not back-filled it, no UEI.
UEI_SWITCH_DATE = date(2022, 4, 4).toordinal()
HIDDEN_UEI_SHARE = 0.3

# Transactions per award: share of awards, smallest and largest count in the band.
AWARD_SIZE_BANDS = ((0.45, 1, 1), (0.25, 2, 4), (0.20, 5, 12), (0.10, 13, 40))
DEOBLIGATION_SHARE = 0.095  # of modifications; about 8 % of all rows
ZERO_ACTION_SHARE = 0.12  # of modifications: administrative changes that move no money

NONE = "-NONE-"


# --- Reference tables -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    names: tuple[str, ...]  # today's form first, then older forms


@dataclass(frozen=True, slots=True)
class SubAgency:
    code: str
    key_id: str  # the agency id in award keys: the sub-tier code, or 9700 for all of defence
    names: tuple[str, ...]  # today's form first, then older forms
    department: Department
    offices: tuple[tuple[str, str], ...]
    treasury_account: str
    weight: float
    serial_digits: int  # PIID serials: eight digits for civilian agencies, four for defence


DHS = Department(
    "070",
    (
        "Department of Homeland Security",
        "DEPARTMENT OF HOMELAND SECURITY (DHS)",
        "HOMELAND SECURITY, DEPARTMENT OF",
    ),
)
DOJ = Department(
    "015", ("Department of Justice", "DEPARTMENT OF JUSTICE (DOJ)", "JUSTICE, DEPARTMENT OF")
)
DOD = Department("097", ("Department of Defense", "DEPARTMENT OF DEFENSE (DOD)", "DEPT OF DEFENSE"))

SUB_AGENCIES: tuple[SubAgency, ...] = (
    SubAgency(
        "7012",
        "7012",
        (
            "U.S. Immigration and Customs Enforcement",
            "U.S. IMMIGRATION AND CUSTOMS ENFORCEMENT",
            "IMMIGRATION AND CUSTOMS ENFORCEMENT",
        ),
        DHS,
        (
            ("70CDCR", "DETENTION COMPLIANCE AND REMOVALS"),
            ("70CMSD", "ICE MISSION SUPPORT DALLAS"),
            ("70CMSW", "ICE MISSION SUPPORT WASHINGTON"),
            ("70CTD0", "ICE INFORMATION TECHNOLOGY DIVISION"),
        ),
        "0540",
        22,
        8,
    ),
    SubAgency(
        "7014",
        "7014",
        ("U.S. Customs and Border Protection", "U.S. CUSTOMS AND BORDER PROTECTION"),
        DHS,
        (
            ("70B01C", "OFFICE OF ACQUISITION"),
            ("70B02C", "BORDER ENFORCEMENT CONTRACTS DIVISION"),
            ("70B03C", "ENTERPRISE CONTRACTING OFFICE"),
            ("70B04C", "MISSION SUPPORT CONTRACTING DIVISION"),
        ),
        "0530",
        18,
        8,
    ),
    SubAgency(
        "7013",
        "7013",
        ("Transportation Security Administration", "TRANSPORTATION SECURITY ADMINISTRATION"),
        DHS,
        (("70T01A", "MISSION SUPPORT PROCUREMENT"), ("70T02A", "TECHNOLOGY PROCUREMENT")),
        "0550",
        8,
        8,
    ),
    SubAgency(
        "7022",
        "7022",
        ("Federal Emergency Management Agency", "FEDERAL EMERGENCY MANAGEMENT AGENCY"),
        DHS,
        (("70FA20", "MISSION SUPPORT BRANCH"), ("70FB70", "DISASTER PROCUREMENT BRANCH")),
        "0702",
        8,
        8,
    ),
    SubAgency(
        "7003",
        "7003",
        ("U.S. Citizenship and Immigration Services", "U.S. CITIZENSHIP AND IMMIGRATION SERVICES"),
        DHS,
        (("70SBUR", "USCIS CONTRACTING OFFICE"),),
        "0300",
        5,
        8,
    ),
    SubAgency(
        "7015",
        "7015",
        ("U.S. Secret Service", "UNITED STATES SECRET SERVICE"),
        DHS,
        (("70US09", "SECRET SERVICE PROCUREMENT DIVISION"),),
        "0400",
        4,
        8,
    ),
    SubAgency(
        "7008",
        "7008",
        ("U.S. Coast Guard", "U.S. COAST GUARD"),
        DHS,
        (("70Z023", "SFLC PROCUREMENT BRANCH 3"), ("70Z0G3", "C5I SERVICE CENTER")),
        "0610",
        7,
        8,
    ),
    SubAgency(
        "1549",
        "1549",
        ("Federal Bureau of Investigation", "FEDERAL BUREAU OF INVESTIGATION"),
        DOJ,
        (("15F067", "FBI-JEH"), ("15F06C", "FBI CRIMINAL JUSTICE INFORMATION SERVICES")),
        "0200",
        6,
        8,
    ),
    SubAgency(
        "1524",
        "1524",
        ("Drug Enforcement Administration", "DRUG ENFORCEMENT ADMINISTRATION"),
        DOJ,
        (("15DDHQ", "DEA HEADQUARTERS"),),
        "1100",
        3,
        8,
    ),
    SubAgency(
        "1544",
        "1544",
        ("U.S. Marshals Service", "U.S. MARSHALS SERVICE", "UNITED STATES MARSHALS SERVICE"),
        DOJ,
        (("15M102", "U.S. MARSHALS SERVICE HEADQUARTERS"),),
        "0324",
        3,
        8,
    ),
    SubAgency(
        "2100",
        "9700",
        ("Department of the Army", "DEPT OF THE ARMY"),
        DOD,
        (("W91QUZ", "W6QK ACC-APG"), ("W912DY", "W2SD ENDIST HUNTSVILLE")),
        "2020",
        8,
        4,
    ),
    SubAgency(
        "1700",
        "9700",
        ("Department of the Navy", "DEPT OF THE NAVY"),
        DOD,
        (("N00024", "NAVAL SEA SYSTEMS COMMAND"), ("N00039", "NAVAL INFORMATION WARFARE SYSTEMS")),
        "1804",
        3,
        4,
    ),
    SubAgency(
        "5700",
        "9700",
        ("Department of the Air Force", "DEPT OF THE AIR FORCE"),
        DOD,
        (("FA8730", "FA8730 AFLCMC HBK"),),
        "3400",
        2,
        4,
    ),
    SubAgency(
        "97AS",
        "9700",
        ("Defense Logistics Agency", "DEFENSE LOGISTICS AGENCY"),
        DOD,
        (("SP4701", "DLA CONTRACTING SERVICES OFFICE"),),
        "4930",
        2,
        4,
    ),
)

# Contract vehicles of other agencies that orders are placed under: agency id, name, PIID shape.
OUTSIDE_VEHICLES = (
    ("4730", "FEDERAL ACQUISITION SERVICE", "GS{a:02d}F{b:04d}{c}", "C", "FSS", "M"),
    ("4732", "FEDERAL ACQUISITION SERVICE", "47QTCA{a:02d}D{b:04d}{c}", "C", "FSS", "M"),
    (
        "8000",
        "NATIONAL AERONAUTICS AND SPACE ADMINISTRATION",
        "NNG{a:02d}SC{b:02d}B",
        "A",
        "GWAC",
        "M",
    ),
    ("7529", "NATIONAL INSTITUTES OF HEALTH", "HHSN3162{a:02d}{b:05d}W", "A", "GWAC", "M"),
)


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    state: str
    state_name: str
    county: str
    county_fips: str
    zip5: str
    district: str
    area_code: str


PLACES: tuple[Place, ...] = tuple(
    Place(*fields)
    for fields in (
        ("RESTON", "VA", "VIRGINIA", "FAIRFAX", "51059", "20190", "11", "703"),
        ("HERNDON", "VA", "VIRGINIA", "FAIRFAX", "51059", "20171", "11", "703"),
        ("MCLEAN", "VA", "VIRGINIA", "FAIRFAX", "51059", "22102", "08", "703"),
        ("ARLINGTON", "VA", "VIRGINIA", "ARLINGTON", "51013", "22202", "08", "571"),
        ("ALEXANDRIA", "VA", "VIRGINIA", "ALEXANDRIA CITY", "51510", "22314", "08", "703"),
        (
            "WASHINGTON",
            "DC",
            "DISTRICT OF COLUMBIA",
            "DISTRICT OF COLUMBIA",
            "11001",
            "20528",
            "98",
            "202",
        ),
        ("COLUMBIA", "MD", "MARYLAND", "HOWARD", "24027", "21046", "03", "410"),
        ("BETHESDA", "MD", "MARYLAND", "MONTGOMERY", "24031", "20817", "08", "301"),
        ("BOCA RATON", "FL", "FLORIDA", "PALM BEACH", "12099", "33431", "23", "561"),
        ("MIAMI", "FL", "FLORIDA", "MIAMI-DADE", "12086", "33131", "27", "305"),
        ("BRENTWOOD", "TN", "TENNESSEE", "WILLIAMSON", "47187", "37027", "07", "615"),
        ("NASHVILLE", "TN", "TENNESSEE", "DAVIDSON", "47037", "37203", "05", "615"),
        ("SAN ANTONIO", "TX", "TEXAS", "BEXAR", "48029", "78216", "20", "210"),
        ("HOUSTON", "TX", "TEXAS", "HARRIS", "48201", "77002", "18", "713"),
        ("EL PASO", "TX", "TEXAS", "EL PASO", "48141", "79901", "16", "915"),
        ("DALLAS", "TX", "TEXAS", "DALLAS", "48113", "75201", "30", "214"),
        ("SAN DIEGO", "CA", "CALIFORNIA", "SAN DIEGO", "06073", "92101", "50", "619"),
        ("LOS ANGELES", "CA", "CALIFORNIA", "LOS ANGELES", "06037", "90012", "34", "213"),
        ("PHOENIX", "AZ", "ARIZONA", "MARICOPA", "04013", "85004", "03", "602"),
        ("TUCSON", "AZ", "ARIZONA", "PIMA", "04019", "85701", "07", "520"),
        ("ATLANTA", "GA", "GEORGIA", "FULTON", "13121", "30303", "05", "404"),
        ("DENVER", "CO", "COLORADO", "DENVER", "08031", "80202", "01", "303"),
        ("SEATTLE", "WA", "WASHINGTON", "KING", "53033", "98104", "07", "206"),
        ("NEW YORK", "NY", "NEW YORK", "NEW YORK", "36061", "10007", "10", "212"),
        ("CHICAGO", "IL", "ILLINOIS", "COOK", "17031", "60604", "07", "312"),
        ("MINNEAPOLIS", "MN", "MINNESOTA", "HENNEPIN", "27053", "55455", "05", "612"),
        ("HUNTSVILLE", "AL", "ALABAMA", "MADISON", "01089", "35801", "05", "256"),
        ("BOSTON", "MA", "MASSACHUSETTS", "SUFFOLK", "25025", "02108", "07", "617"),
        ("NEWARK", "NJ", "NEW JERSEY", "ESSEX", "34013", "07102", "10", "973"),
        ("COLORADO SPRINGS", "CO", "COLORADO", "EL PASO", "08041", "80903", "05", "719"),
    )
)
STREETS = (
    "SUNRISE VALLEY DR", "WILSON BLVD", "MAIN ST", "PENNSYLVANIA AVE NW", "COMMERCE ST",
    "TECHNOLOGY DR", "CORPORATE BLVD", "INDUSTRIAL PKWY", "MARKET ST", "PARK AVE", "OAK ST SE",
    "HIGHWAY 94", "LEE HWY", "FREEDOM DR", "GATEWAY BLVD", "CENTRAL AVE",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Industry:
    words: tuple[str, ...]  # words that put a company in this industry by name
    naics: tuple[str, str]
    psc: tuple[str, str]
    descriptions: tuple[str, ...]  # templates: {city}, {state}, {system}, {fy}


INDUSTRIES: tuple[Industry, ...] = (
    Industry(
        ("DETENTION SERVICES", "CORRECTIONS", "RESIDENTIAL SERVICES"),
        ("561210", "FACILITIES SUPPORT SERVICES"),
        ("R499", "SUPPORT- PROFESSIONAL: OTHER"),
        (
            "DETENTION SERVICES AT THE {city} PROCESSING CENTER",
            "DETENTION BED SPACE, MEALS, AND MEDICAL CARE, {state} AREA OF RESPONSIBILITY",
            'IGSA - "GUARANTEED MINIMUM" DETENTION BEDS, {city}, {state}',
        ),
    ),
    Industry(
        ("SECURITY", "PROTECTIVE SERVICES", "SECURITY SERVICES"),
        ("561612", "SECURITY GUARDS AND PATROL SERVICES"),
        ("S206", "HOUSEKEEPING- GUARD"),
        (
            "ARMED GUARD SERVICES, {city} FIELD OFFICE",
            "DETENTION OFFICER & TRANSPORTATION SERVICES, {state}",
            "PROTECTIVE SECURITY OFFICER SERVICES",
        ),
    ),
    Industry(
        ("TECHNOLOGIES", "SYSTEMS", "SOLUTIONS", "DIGITAL"),
        ("541512", "COMPUTER SYSTEMS DESIGN SERVICES"),
        ("D399", "IT AND TELECOM - OTHER IT AND TELECOMMUNICATIONS"),
        (
            "IGF::CL,CT::IGF OPERATIONS AND MAINTENANCE OF THE {system} SYSTEM",
            "ENTERPRISE INFRASTRUCTURE SUPPORT SERVICES FOR {system}",
            "IT SERVICE DESK, END-USER SUPPORT, AND FIELD SERVICES",
        ),
    ),
    Industry(
        ("SOFTWARE", "ANALYTICS", "DATA"),
        ("511210", "SOFTWARE PUBLISHERS"),
        ("7A21", "IT AND TELECOM - BUSINESS APPLICATION SOFTWARE (PERPETUAL LICENSE SOFTWARE)"),
        (
            "SOFTWARE LICENSES AND MAINTENANCE FOR {system}",
            'DATA ANALYTICS PLATFORM "{system}" SUBSCRIPTION RENEWAL, FY{fy}',
            "CASE MANAGEMENT SOFTWARE, LICENSES, AND HOSTING",
        ),
    ),
    Industry(
        ("CONSULTING", "ASSOCIATES", "PARTNERS", "STRATEGIES"),
        ("541611", "ADMINISTRATIVE MANAGEMENT AND GENERAL MANAGEMENT CONSULTING SERVICES"),
        ("R408", "SUPPORT- PROFESSIONAL: PROGRAM MANAGEMENT/SUPPORT"),
        (
            "PROGRAM MANAGEMENT SUPPORT SERVICES",
            "ACQUISITION SUPPORT SERVICES FOR THE OFFICE OF THE CHIEF PROCUREMENT OFFICER",
            "MISSION SUPPORT, ANALYSIS, AND REPORTING, FY{fy}",
        ),
    ),
    Industry(
        ("HEALTH SERVICES", "MEDICAL", "HEALTHCARE"),
        ("621999", "ALL OTHER MISCELLANEOUS AMBULATORY HEALTH CARE SERVICES"),
        ("Q201", "MEDICAL- GENERAL HEALTH CARE"),
        (
            "MEDICAL STAFFING AT THE {city} DETENTION FACILITY",
            "HEALTH SERVICES FOR NONCITIZENS IN CUSTODY, {state}",
            "TELEHEALTH AND PHARMACY SERVICES",
        ),
    ),
    Industry(
        ("TRANSPORTATION", "TRANSPORT", "LOGISTICS"),
        ("485999", "ALL OTHER TRANSIT AND GROUND PASSENGER TRANSPORTATION"),
        ("V999", "TRANSPORTATION/TRAVEL/RELOCATION- OTHER: OTHER"),
        (
            "GROUND TRANSPORTATION SERVICES, {city}, {state}",
            "TRANSPORTATION AND GUARD SERVICES FOR THE {city} AREA",
            "LOGISTICS AND WAREHOUSING SUPPORT",
        ),
    ),
    Industry(
        ("AVIATION", "AIR", "CHARTER"),
        ("481211", "NONSCHEDULED CHARTERED PASSENGER AIR TRANSPORTATION"),
        ("V121", "TRANSPORTATION/TRAVEL/RELOCATION- TRANSPORTATION: AIR CHARTER"),
        (
            "AIR CHARTER SERVICES FOR REMOVAL FLIGHTS",
            "AVIATION SERVICES, FLIGHT HOURS AND CREW, {city}",
            "AIRCRAFT MAINTENANCE AND CHARTER SUPPORT",
        ),
    ),
    Industry(
        ("CONSTRUCTION", "BUILDERS", "CONTRACTORS"),
        ("236220", "COMMERCIAL AND INSTITUTIONAL BUILDING CONSTRUCTION"),
        ("Y1JZ", "CONSTRUCTION OF MISCELLANEOUS BUILDINGS"),
        (
            "CONSTRUCTION OF A SOFT-SIDED FACILITY, {city}, {state}",
            "RENOVATION OF THE {city} FIELD OFFICE",
            "BARRIER CONSTRUCTION, {state}",
        ),
    ),
    Industry(
        ("ENGINEERING", "RESEARCH", "SCIENCES"),
        ("541330", "ENGINEERING SERVICES"),
        ("R425", "SUPPORT- PROFESSIONAL: ENGINEERING/TECHNICAL"),
        (
            "ENGINEERING AND TECHNICAL SUPPORT SERVICES",
            "TEST AND EVALUATION OF {system} SENSORS",
            "SYSTEMS ENGINEERING AND INTEGRATION, FY{fy}",
        ),
    ),
    Industry(
        ("DEFENSE", "SENSORS", "DYNAMICS"),
        (
            "334511",
            "SEARCH, DETECTION, NAVIGATION, GUIDANCE, AERONAUTICAL, AND NAUTICAL SYSTEM AND "
            "INSTRUMENT MANUFACTURING",
        ),
        ("6665", "HAZARD-DETECTING INSTRUMENTS AND APPARATUS"),
        (
            "SURVEILLANCE TOWERS AND SENSORS, {state}",
            "LICENSE PLATE READERS AND MAINTENANCE",
            "NON-INTRUSIVE INSPECTION EQUIPMENT, {city} PORT OF ENTRY",
        ),
    ),
    Industry(
        ("TRAINING", "LEARNING", "INSTITUTE"),
        ("611699", "ALL OTHER MISCELLANEOUS SCHOOLS AND INSTRUCTION"),
        ("U099", "EDUCATION/TRAINING- OTHER"),
        (
            "FIREARMS TRAINING RANGE RENTAL, {city}",
            "LAW ENFORCEMENT TRAINING COURSES",
            "LANGUAGE TRAINING SERVICES",
        ),
    ),
    Industry(
        ("FOOD SERVICES", "CATERING", "HOSPITALITY"),
        ("722310", "FOOD SERVICE CONTRACTORS"),
        ("S203", "HOUSEKEEPING- FOOD"),
        (
            "FOOD SERVICES AT THE {city} STAGING FACILITY",
            "MEALS FOR PERSONS IN CUSTODY, {state}",
            "HOTEL ROOMS AND MEALS, {city}, {state}",
        ),
    ),
    Industry(
        ("COMMUNICATIONS", "NETWORKS", "WIRELESS"),
        ("517312", "WIRELESS TELECOMMUNICATIONS CARRIERS (EXCEPT SATELLITE)"),
        ("DG11", "IT AND TELECOM - NETWORK SUPPORT SERVICES (LABOR)"),
        (
            "WIRELESS DEVICES AND SERVICE PLANS",
            "RADIO COMMUNICATIONS MAINTENANCE, {state}",
            "TELECOMMUNICATIONS EXPENSE MANAGEMENT",
        ),
    ),
)
SYSTEMS = ("EAGLE", "ICM", "HART", "TECS", "ATS", "IDENT", "EID", "LEADS", "ENFORCE", "CPIC")

# Name pieces for synthetic companies.
STEMS = (
    "ACME", "ALLIED", "APEX", "ARGUS", "ATLAS", "AURORA", "BEACON", "BLUE RIDGE", "BRIDGEWAY",
    "CANYON", "CAPSTONE", "CARDINAL", "CASCADE", "CENTURION", "CHESAPEAKE", "CITADEL", "COBALT",
    "COMPASS", "CORNERSTONE", "CRESTVIEW", "DELTA", "DOMINION", "EAGLE ROCK", "ECHELON",
    "ELEVATE", "EMPIRE", "ENDEAVOR", "EVERGREEN", "FALCON", "FRONTIER", "GALAXY", "GATEWAY",
    "GRANITE", "GUARDIAN", "HARBOR", "HAWTHORNE", "HERITAGE", "HORIZON", "IRONWOOD",
    "KEYSTONE", "LANDMARK", "LIBERTY", "LIGHTHOUSE", "MAGNOLIA", "MERIDIAN", "MESA",
    "MONARCH", "NORTHSTAR", "OAKRIDGE", "OLYMPUS", "ONYX", "ORION", "PALISADE", "PARAGON",
    "PATRIOT", "PEREGRINE", "PINNACLE", "PIONEER", "POTOMAC", "PRAIRIE", "PRECISION",
    "QUANTUM", "RAVEN", "REDSTONE", "SABLE", "SENTINEL", "SEQUOIA", "SIERRA", "SILVERLINE",
    "SKYLINE", "SOLSTICE", "SPARTAN", "STERLING", "SUMMIT", "TALON", "TITAN", "TRIDENT",
    "TRINITY", "VANGUARD", "VECTOR", "VERTEX", "VIKING", "WESTBROOK", "WILLOW", "ZENITH",
)  # fmt: skip
PREFIXES = (
    "AMERICAN", "NATIONAL", "GLOBAL", "UNITED", "FEDERAL", "ADVANCED", "INTEGRATED",
    "STRATEGIC", "NORTH AMERICAN", "PACIFIC", "ATLANTIC", "SOUTHWEST", "CONTINENTAL",
)  # fmt: skip
SURNAMES = (
    "ANDERSON", "BAKER", "CALLOWAY", "DAVENPORT", "ELLISON", "FITZGERALD", "GÓMEZ", "HARGROVE",
    "IBARRA", "JOHNSON", "KOWALSKI", "LINDQVIST", "MARTÍNEZ", "NAKAMURA", "O'BRIEN", "PEÑA",
    "QUINTERO", "RAMÍREZ", "SCHMIDT", "THORNTON", "VILLANUEVA", "WHITAKER", "YOUNG", "ZIMMER",
    "MÜLLER", "BYRNE", "CASTILLO", "DUBOIS", "HOLLOWAY", "MCALLISTER",
)  # fmt: skip
PARENT_WORDS = ("HOLDINGS", "GROUP", "ENTERPRISES", "INDUSTRIES", "PARTNERS", "CAPITAL")
CONFUSING_WORDS = ("GROUP", "INTERNATIONAL", "FEDERAL", "USA", "OF VIRGINIA", "OF TEXAS", "GLOBAL")

# Legal forms and their spelled-out variants.
LEGAL_FORMS = ("INC", "LLC", "CORP", "CORPORATION", "CO", "LP", "INCORPORATED", "LTD")
FORM_WEIGHTS = (30, 30, 12, 8, 4, 3, 3, 2)
LONG_FORM = {
    "INC": "INCORPORATED",
    "INCORPORATED": "INC",
    "LLC": "L.L.C.",
    "CORP": "CORPORATION",
    "CORPORATION": "CORP",
    "CO": "COMPANY",
    "LP": "L.P.",
    "LTD": "LIMITED",
}
DOTTED_FORM = {"INC", "CORP", "CO", "LTD"}  # written "INC." by some contracting offices
# Spellings of one legal form. Two companies whose names differ only within a group are one
# name written two ways, which no name rule can tell apart: look-alikes differ across groups.
FORM_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"INC", "INCORPORATED", "INC."}),
    frozenset({"CORP", "CORPORATION", "CORP."}),
    frozenset({"CO", "COMPANY", "CO."}),
    frozenset({"LTD", "LIMITED", "LTD."}),
    frozenset({"LLC", "L.L.C."}),
    frozenset({"LP", "L.P."}),
)
FORM_GROUP: dict[str, frozenset[str]] = {form: group for group in FORM_GROUPS for form in group}
KEEP_UPPER = {"LLC", "LP", "USA", "II", "III", "IT", "L.L.C.", "L.P."}

# Competition: extent competed, solicitation procedures, other than full and open, offers.
COMPETITION = (
    (("A", "FULL AND OPEN COMPETITION"), ("NP", "NEGOTIATED PROPOSAL/QUOTE"), ("", ""), (2, 9)),
    (("G", "NOT COMPETED UNDER SAP"), ("SP1", "SIMPLIFIED ACQUISITION"),
     ("SP2", "SAP NON-COMPETITION (FAR 13)"), (1, 1)),
    (("F", "COMPETED UNDER SAP"), ("SP1", "SIMPLIFIED ACQUISITION"), ("", ""), (2, 6)),
    (("C", "NOT COMPETED"), ("NP", "NEGOTIATED PROPOSAL/QUOTE"),
     ("ONE", "ONLY ONE SOURCE-OTHER (FAR 6.302-1 OTHER)"), (1, 1)),
    (("D", "FULL AND OPEN COMPETITION AFTER EXCLUSION OF SOURCES"),
     ("NP", "NEGOTIATED PROPOSAL/QUOTE"), ("", ""), (2, 5)),
)  # fmt: skip
PRICING = (
    ("J", "FIRM FIXED PRICE"),
    ("J", "FIRM FIXED PRICE"),
    ("J", "FIRM FIXED PRICE"),
    ("Y", "TIME AND MATERIALS"),
    ("Z", "LABOR HOURS"),
    ("U", "COST PLUS FIXED FEE"),
    ("R", "COST PLUS AWARD FEE"),
)
# Award type code, name, PIID letter, weight, log-normal mean and spread of the first obligation.
AWARD_TYPES = (
    ("B", "PURCHASE ORDER", "P", 35, math.log(25_000), 1.2),
    ("C", "DELIVERY ORDER", "F", 35, math.log(250_000), 1.5),
    ("D", "DEFINITIVE CONTRACT", "C", 25, math.log(900_000), 1.6),
    ("A", "BPA CALL", "A", 5, math.log(40_000), 1.1),
)
ACTION_TYPES_UP = (
    ("G", "EXERCISE AN OPTION"),
    ("C", "FUNDING ONLY ACTION"),
    ("B", "SUPPLEMENTAL AGREEMENT FOR WORK WITHIN SCOPE"),
    ("A", "ADDITIONAL WORK (NEW AGREEMENT, JUSTIFICATION REQUIRED)"),
)
ACTION_TYPES_ZERO = (("M", "OTHER ADMINISTRATIVE ACTION"), ("D", "CHANGE ORDER"))
ACTION_TYPES_DOWN = (
    ("M", "OTHER ADMINISTRATIVE ACTION"),
    ("F", "TERMINATE FOR CONVENIENCE (COMPLETE OR PARTIAL)"),
    ("C", "FUNDING ONLY ACTION"),
)
CLOSE_OUT = ("K", "CLOSE OUT")
DESCRIPTIONS_UP = (
    "EXERCISE OPTION PERIOD {n}",
    "INCREMENTAL FUNDING",
    "PROVIDE INCREMENTAL FUNDING, FY{fy} FUNDS",
    "INCREASE CEILING, ADD CLIN {clin}",
    "EXERCISE OPTION PERIOD {n}\nINCREMENTAL FUNDING FOR CLINS {clin} AND {clin2}",
)
DESCRIPTIONS_ZERO = (
    'ADMINISTRATIVE MODIFICATION TO UPDATE THE COR, "POINT OF CONTACT" AND LINE OF ACCOUNTING',
    "ADMINISTRATIVE CHANGE\r\nUPDATE SAM ADDRESS",
    "EXTEND PERIOD OF PERFORMANCE – NO COST",
    "INCORPORATE WAGE DETERMINATION REVISION",
)
DESCRIPTIONS_DOWN = (
    "DE-OBLIGATE EXCESS FUNDS",
    "DE-OBLIGATE REMAINING FUNDS\nCLOSE OUT",
    "PARTIAL TERMINATION FOR CONVENIENCE – REDUCE QUANTITY, CLIN {clin}",
    'REDUCE FUNDING ON CLIN {clin}, "UNUSED BALANCE"',
)
BASE_DESCRIPTION_TAILS = (
    "\nBASE PERIOD PLUS FOUR 12-MONTH OPTION PERIODS",
    "\nPERIOD OF PERFORMANCE: BASE YEAR, OPTION YEARS 1-4\nSEE ATTACHED SOW",
    "\r\nTHIS IS A FIRM-FIXED-PRICE ORDER",
)

# Business-type flag columns that are "t" or "f" on every row; the rest of the flags stay "f".
FLAG_COLUMNS_START = "alaskan_native_corporation_owned_firm"
FLAG_COLUMNS_END = "sba_certified_8a_joint_venture"
NOT_FLAGS = {
    "contracting_officers_determination_of_business_size",
    "contracting_officers_determination_of_business_size_code",
    "organizational_type",
}
SMALL_BUSINESS_FLAGS = (
    ("woman_owned_business", 0.2),
    ("women_owned_small_business", 0.15),
    ("veteran_owned_business", 0.15),
    ("service_disabled_veteran_owned_business", 0.1),
    ("minority_owned_business", 0.3),
    ("hispanic_american_owned_business", 0.1),
    ("black_american_owned_business", 0.08),
    ("self_certified_small_disadvantaged_business", 0.2),
    ("c8a_program_participant", 0.12),
    ("historically_underutilized_business_zone_hubzone_firm", 0.08),
)

# Columns with one value on every generated row, as in the real downloads.
CONSTANTS = {
    "foreign_funding": "X",
    "foreign_funding_description": "NOT APPLICABLE",
    "recipient_country_code": "USA",
    "recipient_country_name": "UNITED STATES",
    "primary_place_of_performance_country_code": "USA",
    "primary_place_of_performance_country_name": "UNITED STATES",
    "award_or_idv_flag": "AWARD",
    "number_of_actions": "1",
    "inherently_governmental_functions": "OT",
    "inherently_governmental_functions_description": "OTHER FUNCTIONS",
    "contract_bundling_code": "H",
    "contract_bundling": "NOT BUNDLED",
    "recovered_materials_sustainability_code": "C",
    "recovered_materials_sustainability": "NO CLAUSES INCLUDED AND NO SUSTAINABILITY INCLUDED",
    "domestic_or_foreign_entity_code": "A",
    "domestic_or_foreign_entity": "U.S. OWNED BUSINESS",
    "epa_designated_product_code": "E",
    "epa_designated_product": "NOT REQUIRED",
    "country_of_product_or_service_origin_code": "USA",
    "country_of_product_or_service_origin": "UNITED STATES",
    "place_of_manufacture_code": "C",
    "place_of_manufacture": "NOT A MANUFACTURED END PRODUCT",
    "subcontracting_plan_code": "B",
    "subcontracting_plan": "PLAN NOT REQUIRED",
    "type_of_set_aside_code": "NONE",
    "type_of_set_aside": "NO SET ASIDE USED.",
    "evaluated_preference_code": "NONE",
    "evaluated_preference": "NO PREFERENCE USED",
    "commercial_item_acquisition_procedures_code": "A",
    "commercial_item_acquisition_procedures": "COMMERCIAL PRODUCTS/SERVICES",
    "small_business_competitiveness_demonstration_program": "f",
    "simplified_procedures_for_certain_commercial_items_code": "N",
    "simplified_procedures_for_certain_commercial_items": "NO",
    "a76_fair_act_action_code": "N",
    "a76_fair_act_action": "NO",
    "fed_biz_opps_code": "Y",
    "fed_biz_opps": "YES",
    "local_area_set_aside_code": "N",
    "local_area_set_aside": "NO",
    "clinger_cohen_act_planning_code": "N",
    "clinger_cohen_act_planning": "NO",
    "materials_supplies_articles_equipment_code": "N",
    "materials_supplies_articles_equipment": "NO",
    "labor_standards_code": "N",
    "labor_standards": "NO",
    "construction_wage_rate_requirements_code": "N",
    "construction_wage_rate_requirements": "NO",
    "interagency_contracting_authority_code": "X",
    "interagency_contracting_authority": "NOT APPLICABLE",
    "national_interest_action_code": "NONE",
    "national_interest_action": "NONE",
    "government_furnished_property_code": "N",
    "government_furnished_property": "N",
    "undefinitized_action_code": "X",
    "undefinitized_action": "NO",
    "consolidated_contract_code": "D",
    "consolidated_contract": "NOT CONSOLIDATED",
    "performance_based_service_acquisition_code": "N",
    "performance_based_service_acquisition": "NO - SERVICE WHERE PBA IS NOT USED.",
    "multi_year_contract_code": "N",
    "multi_year_contract": "NO",
    "contract_financing_code": "Z",
    "contract_financing": "NOT APPLICABLE",
    "purchase_card_as_payment_method_code": "N",
    "purchase_card_as_payment_method": "NO",
    "contingency_humanitarian_or_peacekeeping_operation_code": "X",
    "contingency_humanitarian_or_peacekeeping_operation": "NOT APPLICABLE",
    "transaction_number": "0",
}
DISASTER_CODE_Q = "Q: Not Designated Nonemergency/Emergency/Disaster/Wildfire Suppression"


# --- Columns ----------------------------------------------------------------------------------


def column_file(kind: Kind) -> Path:
    """The column list of a kind: the repository's copy, else the shared reference folder."""
    name = COLUMN_FILES[kind][0]
    for folder in COLUMN_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} is in none of: {', '.join(str(d) for d in COLUMN_DIRS)}")


def load_columns(kind: Kind) -> list[str]:
    """Today's header of a kind of download, in order."""
    path = column_file(kind)
    columns = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    columns = [c for c in columns if c]
    expected = COLUMN_FILES[kind][1]
    if len(columns) != expected or len(set(columns)) != expected:
        raise ValueError(f"{path}: expected {expected} distinct columns, found {len(columns)}")
    return columns


def summary_column(transaction_column: str) -> str:
    """The award-summary name of a column, given its name in the transactions header."""
    if transaction_column == "total_dollars_obligated":
        return "total_obligated_amount"
    name = transaction_column.replace("prime_award_transaction_", "prime_award_summary_")
    return name.removesuffix("_for_overall_award")


# --- Companies --------------------------------------------------------------------------------


@dataclass(slots=True)
class Recipient:
    """One SAM registration: a UEI, its DUNS, the spellings of its name seen in contract rows."""

    index: int
    uei: str
    duns: str
    names: tuple[str, ...]  # names[0] is the legal name as SAM has it
    name_cum_weights: tuple[float, ...]
    dba: str
    cage: str
    place: Place
    address: str
    zip4: str
    phone: str
    fax: str
    industry: Industry
    small: bool
    flags: tuple[tuple[str, str], ...]
    parent: int  # index of the ultimate parent (its own index when it is a parent)
    acquired_on: int | None = None  # date ordinal from which `acquirer` is the ultimate parent
    acquirer: int | None = None
    confusable_with: tuple[int, ...] = ()
    vehicle: tuple[str, str, str, str, str, str] | None = None

    def parent_on(self, day: int) -> int:
        if self.acquired_on is not None and self.acquirer is not None and day >= self.acquired_on:
            return self.acquirer
        return self.parent


UEI_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # SAM leaves out I and O


def title_case(name: str) -> str:
    words = []
    for word in name.split(" "):
        bare = word.rstrip(".,")
        if bare in KEEP_UPPER or not word:
            words.append(word)
        else:
            words.append("-".join(part.capitalize() for part in word.split("-")))
    return " ".join(words)


def ascii_fold(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")


def name_variants(base: str, form: str, dba: str, rng: random.Random) -> list[str]:
    """Spellings of one legal name seen across contract rows: the legal name comes first."""
    legal = f"{base} {form}"
    candidates = [
        f"{base}, {form}." if form in DOTTED_FORM else f"{base}, {form}",
        f"{base} {LONG_FORM[form]}",
        title_case(f"{base}, {form}." if form in DOTTED_FORM else f"{base} {form}"),
        f"{base}  {form}." if form in DOTTED_FORM else f"{base}  {form}",  # comma lost to a space
        f"THE {legal}",
        f"{legal} (DBA {dba})" if dba else f"{legal} DBA {base}",
    ]
    folded = ascii_fold(legal)
    if folded != legal:
        candidates.insert(0, folded)
    rng.shuffle(candidates)
    extra = rng.choices((0, 1, 2, 3, 4), weights=(15, 35, 25, 15, 10))[0]
    return [legal, *candidates[:extra]]


class Universe:
    """Every company a seed can name: corporate families, look-alike names, acquisitions."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"usaspending-universe-{seed}")
        self.rng = rng
        self.recipients: list[Recipient] = []
        self.owner_of_name: dict[str, int] = {}
        # Legal names taken, as (base, form group): "ACME INC" takes "ACME INCORPORATED" too.
        self.bases: set[tuple[str, frozenset[str]]] = set()
        self.ueis: set[str] = set()
        self.duns: set[str] = set()
        for _ in range(FAMILIES):
            self._add_family()
        originals = len(self.recipients)
        for index in range(originals):
            if rng.random() < CONFUSABLE_SHARE:
                self._add_confusable(index)
        # Only companies without subsidiaries are bought, and only by parents of families.
        multi_parents = sorted({r.parent for r in self.recipients if r.parent != r.index})
        with_subsidiaries = set(multi_parents)
        for recipient in self.recipients:
            alone = recipient.parent == recipient.index and recipient.index not in with_subsidiaries
            if alone and multi_parents and rng.random() < ACQUIRED_SHARE:
                recipient.acquired_on = rng.randint(
                    date(2017, 1, 1).toordinal(), date(2025, 12, 31).toordinal()
                )
                recipient.acquirer = rng.choice(multi_parents)
        # Award counts per company follow a power law, in an order unrelated to families.
        order = list(range(len(self.recipients)))
        rng.shuffle(order)
        self.by_rank = order
        total = 0.0
        cum: list[float] = []
        for rank in range(len(order)):
            total += 1.0 / (rank + 1) ** ZIPF_EXPONENT
            cum.append(total)
        self.rank_cum_weights = cum

    def pick(self, rng: random.Random) -> Recipient:
        r = rng.random() * self.rank_cum_weights[-1]
        rank = bisect.bisect_right(self.rank_cum_weights, r)
        return self.recipients[self.by_rank[min(rank, len(self.by_rank) - 1)]]

    # Building

    def _new_uei(self) -> str:
        rng = self.rng
        while True:
            uei = rng.choice(UEI_ALPHABET[:-10] + "123456789") + "".join(
                rng.choices(UEI_ALPHABET, k=11)
            )
            if uei not in self.ueis:
                self.ueis.add(uei)
                return uei

    def _new_duns(self) -> str:
        rng = self.rng
        while True:
            # About a fifth of DUNS numbers start with a zero, which spreadsheets drop.
            if rng.random() < 0.2:
                duns = f"0{rng.randrange(10**8):08d}"
            else:
                duns = str(rng.randrange(10**8, 10**9))
            if duns not in self.duns:
                self.duns.add(duns)
                return duns

    def _industry_of(self, base: str) -> Industry:
        for industry in INDUSTRIES:
            for word in industry.words:
                if base.endswith(" " + word):
                    return industry
        return self.rng.choice(INDUSTRIES)

    def _fresh_base(self, stem: str | None = None) -> str:
        rng = self.rng
        industry = rng.choice(INDUSTRIES)
        word = rng.choice(industry.words)
        shape = rng.random()
        if stem is not None:
            return f"{stem} {word}"
        if shape < 0.45:
            return f"{rng.choice(STEMS)} {word}"
        if shape < 0.65:
            return f"{rng.choice(PREFIXES)} {rng.choice(STEMS)} {word}"
        if shape < 0.80:
            return f"{rng.choice(SURNAMES)} {word}"
        if shape < 0.90:
            first, second = rng.sample(SURNAMES, 2)
            return f"{first} & {second} {word}"
        letters = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=rng.choice((3, 4))))
        return f"{letters} {word}"

    def _form(self) -> str:
        return self.rng.choices(LEGAL_FORMS, weights=FORM_WEIGHTS)[0]

    def _other_form(self, form: str) -> str:
        """A legal form of another group than `form`'s: "LLC" for "INC", never "INCORPORATED"."""
        group = FORM_GROUP[form]
        others = [(f, w) for f, w in zip(LEGAL_FORMS, FORM_WEIGHTS, strict=True) if f not in group]
        return self.rng.choices([f for f, _ in others], weights=[w for _, w in others])[0]

    def _add(self, base: str, form: str, parent: int | None) -> Recipient | None:
        """Register a company unless its legal name is taken, in any spelling of its form;
        parent None means its own."""
        rng = self.rng
        taken = (base, FORM_GROUP[form])
        if taken in self.bases or f"{base} {form}" in self.owner_of_name:
            return None
        self.bases.add(taken)
        index = len(self.recipients)
        dba = ""
        if rng.random() < 0.08:
            dba = f"{base.split(' ')[0]} {rng.choice(rng.choice(INDUSTRIES).words)}"
        names: list[str] = []
        for name in name_variants(base, form, dba, rng):
            if name not in self.owner_of_name and name not in names:
                names.append(name)
        for name in names:
            self.owner_of_name[name] = index
        weights = [6.0] + [rng.choice((0.5, 1.0, 2.0)) for _ in names[1:]]
        place = rng.choice(PLACES)
        small = rng.random() < 0.45
        flags: list[tuple[str, str]] = [
            ("for_profit_organization", "t"),
            ("receives_contracts", "t"),
        ]
        if form in ("LLC",):
            flags.append(("limited_liability_corporation", "t"))
        elif form in ("LP",):
            flags.append(("partnership_or_limited_liability_partnership", "t"))
        else:
            flags.append(("corporate_entity_not_tax_exempt", "t"))
            if small and rng.random() < 0.3:
                flags.append(("subchapter_scorporation", "t"))
        if small:
            flags.extend(
                (column, "t") for column, share in SMALL_BUSINESS_FLAGS if rng.random() < share
            )
        if rng.random() < 0.2:
            flags.append(("manufacturer_of_goods", "t"))
        industry = self._industry_of(base)
        vehicle = None
        if rng.random() < 0.5:
            agency_id, agency, shape, code, kind, single = rng.choice(OUTSIDE_VEHICLES)
            piid = shape.format(
                a=rng.randrange(100), b=rng.randrange(10_000), c=rng.choice("ABCDLMNPQRSTUWXY")
            )
            vehicle = (agency_id, agency, piid, code, kind, single)
        recipient = Recipient(
            index=index,
            uei=self._new_uei(),
            duns=self._new_duns(),
            names=tuple(names),
            name_cum_weights=tuple(itertools.accumulate(weights)),
            dba=dba,
            cage=f"{rng.randrange(10)}{''.join(rng.choices(UEI_ALPHABET, k=3))}{rng.randrange(10)}",
            place=place,
            address=f"{rng.randint(100, 19999)} {rng.choice(STREETS)}"
            + (f" STE {rng.randint(1, 9) * 100}" if rng.random() < 0.5 else ""),
            zip4=place.zip5 + (f"{rng.randrange(10_000):04d}" if rng.random() < 0.7 else ""),
            phone=f"{place.area_code}{rng.randint(2_000_000, 9_999_999)}",
            fax=f"{place.area_code}{rng.randint(2_000_000, 9_999_999)}"
            if rng.random() < 0.6
            else "",
            industry=industry,
            small=small,
            flags=tuple(flags),
            parent=index if parent is None else parent,
            vehicle=vehicle,
        )
        self.recipients.append(recipient)
        return recipient

    def _add_family(self) -> None:
        rng = self.rng
        band = rng.random()
        if band < 0.70:
            subsidiaries = 0
        elif band < 0.90:
            subsidiaries = rng.randint(1, 3)
        elif band < 0.98:
            subsidiaries = rng.randint(4, 14)
        else:
            subsidiaries = rng.randint(15, 60)
        parent = None
        while parent is None:
            if subsidiaries:
                stem = rng.choice(STEMS + SURNAMES)
                base = f"{stem} {rng.choice(PARENT_WORDS)}"
            else:
                base = self._fresh_base()
            parent = self._add(base, self._form(), None)
        stem = parent.names[0].split(" ")[0]
        for _ in range(subsidiaries):
            for _attempt in range(20):
                # Most subsidiaries carry the family name; acquired brands keep their own.
                base = self._fresh_base(stem if rng.random() < 0.6 else None)
                if self._add(base, self._form(), parent.index) is not None:
                    break

    def _add_confusable(self, index: int) -> None:
        """A different company whose name differs from another's only by form or a word.

        A different form is one of another group ("LLC" beside "INC"): "INC" beside
        "INCORPORATED" is one name spelt two ways, not a look-alike.
        """
        rng = self.rng
        original = self.recipients[index]
        legal = original.names[0]
        base, form = legal.rsplit(" ", 1)
        for _attempt in range(10):
            shape = rng.random()
            if shape < 0.5:
                new_base, new_form = base, self._other_form(form)
            elif shape < 0.8:
                new_base, new_form = f"{base} {rng.choice(CONFUSING_WORDS)}", form
            else:
                head, _, last = base.rpartition(" ")
                plural = last[:-1] if last.endswith("S") else last + "S"
                new_base, new_form = (f"{head} {plural}" if head else plural), form
            confusable = self._add(new_base, new_form, None)
            if confusable is not None:
                confusable.confusable_with = (index,)
                original.confusable_with = (*original.confusable_with, confusable.index)
                return


def generator_fingerprint() -> str:
    """Changes whenever this generator does: caches of generated files key on it."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


@functools.lru_cache(maxsize=4)
def universe_of(seed: int) -> Universe:
    """The universe of a seed, built once per process: nothing changes it after building."""
    return Universe(seed)


# --- Awards -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Transaction:
    day: int
    cents: int
    modification: str
    action_type: tuple[str, str]
    description: str
    name: int  # index into the recipient's names
    parent_name: int
    hide_uei: bool
    spelling_draw: int  # picks today's or an older spelling of the agency names
    report_lag: int
    modified_seconds: int


@dataclass(slots=True)
class Award:
    key: str
    piid: str
    sub: SubAgency
    office: tuple[str, str]
    funding_office: tuple[str, str]
    recipient: Recipient
    award_type: tuple[str, str, str, int, float, float]
    parent_agency: tuple[str, str] | None
    parent_piid: str
    parent_type: tuple[str, str, str, str]
    parent_modification: str
    pricing: tuple[str, str]
    competition: tuple[tuple[str, str], tuple[str, str], tuple[str, str], tuple[int, int]]
    offers: int
    solicitation: str
    description: str
    place: Place
    end_day: int
    potential_end_day: int
    potential_cents: int
    outlay_share: float
    transactions: list[Transaction]

    @property
    def total_cents(self) -> int:
        return sum(t.cents for t in self.transactions)


def fiscal_year(day: int) -> int:
    d = date.fromordinal(day)
    return d.year + 1 if d.month >= 10 else d.year


class AwardMaker:
    """Draws awards one after another; award i of a seed does not depend on anything else."""

    def __init__(self, seed: int, universe: Universe) -> None:
        self.rng = random.Random(seed)
        self.universe = universe
        self.serials: dict[tuple[str, int, str], int] = {}
        self.sub_cum = list(itertools.accumulate(s.weight for s in SUB_AGENCIES))
        self.type_cum = list(itertools.accumulate(t[3] for t in AWARD_TYPES))
        self.size_cum = list(itertools.accumulate(b[0] for b in AWARD_SIZE_BANDS))

    def _serial(self, office: str, fy: int, letter: str) -> int:
        key = (office, fy, letter)
        serial = self.serials.get(key, 0) + 1
        self.serials[key] = serial
        return serial

    def _piid(self, sub: SubAgency, office: str, fy: int, letter: str) -> str:
        serial = self._serial(office, fy, letter)
        return f"{office}{fy % 100:02d}{letter}{serial:0{sub.serial_digits}d}"

    def make(self) -> Award:
        rng = self.rng
        rand = rng.random
        sub = SUB_AGENCIES[bisect.bisect_right(self.sub_cum, rand() * self.sub_cum[-1])]
        recipient = self.universe.pick(rng)
        award_type = AWARD_TYPES[bisect.bisect_right(self.type_cum, rand() * self.type_cum[-1])]
        office = sub.offices[int(rand() * len(sub.offices))]
        funding_office = office if rand() < 0.7 else sub.offices[int(rand() * len(sub.offices))]
        base_day = FIRST_BASE_DATE + int(rand() * (LAST_BASE_DATE - FIRST_BASE_DATE + 1))
        base_fy = fiscal_year(base_day)
        piid = self._piid(sub, office[0], base_fy, award_type[2])

        parent_agency: tuple[str, str] | None = None
        parent_piid = ""
        parent_type = ("", "", "", "")
        parent_modification = ""
        if award_type[0] in ("C", "A"):
            vehicle = recipient.vehicle
            if award_type[0] == "C" and vehicle is not None and rand() < 0.6:
                parent_agency = (vehicle[0], vehicle[1])
                parent_piid = vehicle[2]
                single = vehicle[5]
                parent_type = (
                    vehicle[3],
                    vehicle[4],
                    single,
                    "MULTIPLE AWARD" if single == "M" else "SINGLE AWARD",
                )
            else:
                idv_fy = max(2016, base_fy - int(rand() * 4))
                letter = "D" if award_type[0] == "C" else "A"
                parent_piid = self._piid(sub, office[0], idv_fy, letter)
                parent_agency = (sub.key_id, sub.names[1].upper())
                if sub.department is DOD:
                    parent_agency = ("9700", "DEPT OF DEFENSE")
                parent_type = (
                    ("B", "IDC", "S", "SINGLE AWARD")
                    if letter == "D"
                    else ("E", "BPA", "S", "SINGLE AWARD")
                )
            mod = int(rand() * 30)
            parent_modification = "0" if mod == 0 else f"P{mod:05d}"
        parent_key = parent_piid or NONE
        parent_agency_id = parent_agency[0] if parent_agency else NONE
        key = f"CONT_AWD_{piid}_{sub.key_id}_{parent_key}_{parent_agency_id}"

        band = AWARD_SIZE_BANDS[bisect.bisect_right(self.size_cum, rand() * self.size_cum[-1])]
        size = band[1] + int(rand() * (band[2] - band[1] + 1))
        window = min(LAST_ACTION_DATE - base_day, 30 + int(rand() * 365 * 5))
        if window > 0:
            days = sorted(base_day + 1 + int(rand() * window) for _ in range(size - 1))
        else:
            days = [base_day] * (size - 1)

        first = int(rng.lognormvariate(award_type[4], award_type[5]) * 100)
        first = min(max(first, 100), 500_000_000_000)
        place = recipient.place if rand() < 0.5 else PLACES[int(rand() * len(PLACES))]
        fy_text = f"{base_fy % 100:02d}"
        template = recipient.industry.descriptions[
            int(rand() * len(recipient.industry.descriptions))
        ]
        description = template.format(
            city=place.city, state=place.state, system=SYSTEMS[int(rand() * len(SYSTEMS))],
            fy=fy_text,
        )  # fmt: skip
        if rand() < 0.08:
            description += BASE_DESCRIPTION_TAILS[int(rand() * len(BASE_DESCRIPTION_TAILS))]

        transactions = [self._transaction(recipient, base_day, first, "0", ("", ""), description)]
        running = first
        option = 0
        for number, day in enumerate(days, start=1):
            r = rand()
            clin = f"{int(rand() * 40) + 1:04d}"
            if r < DEOBLIGATION_SHARE and running > 0:
                cents = -max(1, int(running * (0.01 + rand() * 0.5)))
                action = CLOSE_OUT if number == size - 1 else ACTION_TYPES_DOWN[int(rand() * 3)]
                text = DESCRIPTIONS_DOWN[int(rand() * len(DESCRIPTIONS_DOWN))].format(clin=clin)
            elif r < DEOBLIGATION_SHARE + ZERO_ACTION_SHARE:
                cents = 0
                action = ACTION_TYPES_ZERO[int(rand() * len(ACTION_TYPES_ZERO))]
                text = DESCRIPTIONS_ZERO[int(rand() * len(DESCRIPTIONS_ZERO))]
            else:
                cents = 1 + int(first * (0.05 + rand() * 0.95))
                action = ACTION_TYPES_UP[int(rand() * len(ACTION_TYPES_UP))]
                option += action[0] == "G"
                text = DESCRIPTIONS_UP[int(rand() * len(DESCRIPTIONS_UP))].format(
                    n=max(option, 1), fy=f"{fiscal_year(day) % 100:02d}", clin=clin,
                    clin2=f"{int(clin) + 1:04d}",
                )  # fmt: skip
            if rand() < 0.4:
                text = description
            running += cents
            transactions.append(
                self._transaction(recipient, day, cents, f"P{number:05d}", action, text)
            )

        last_day = transactions[-1].day
        end_day = last_day + 180 + int(rand() * 540)
        competition = COMPETITION[int(rand() * len(COMPETITION))]
        low, high = competition[3]
        return Award(
            key=key,
            piid=piid,
            sub=sub,
            office=office,
            funding_office=funding_office,
            recipient=recipient,
            award_type=award_type,
            parent_agency=parent_agency,
            parent_piid=parent_piid,
            parent_type=parent_type,
            parent_modification=parent_modification,
            pricing=PRICING[int(rand() * len(PRICING))],
            competition=competition,
            offers=low + int(rand() * (high - low + 1)),
            solicitation=(
                f"{office[0]}{base_fy % 100:02d}R{int(rand() * 10_000):04d}" if rand() < 0.6 else ""
            ),
            description=description,
            place=place,
            end_day=end_day,
            potential_end_day=end_day + int(rand() * 4) * 365,
            potential_cents=int(max(running, first) * (1 + rand() * 2)),
            outlay_share=0.3 + rand() * 0.7,
            transactions=transactions,
        )

    def _transaction(
        self,
        recipient: Recipient,
        day: int,
        cents: int,
        modification: str,
        action: tuple[str, str],
        description: str,
    ) -> Transaction:
        rand = self.rng.random
        cum = recipient.name_cum_weights
        name = bisect.bisect_right(cum, rand() * cum[-1])
        parent = self.universe.recipients[recipient.parent_on(day)]
        pcum = parent.name_cum_weights
        parent_name = bisect.bisect_right(pcum, rand() * pcum[-1])
        hide_uei = day < UEI_SWITCH_DATE and rand() < HIDDEN_UEI_SHARE
        return Transaction(
            day=day,
            cents=cents,
            modification=modification,
            action_type=action,
            description=description,
            name=min(name, len(cum) - 1),
            parent_name=min(parent_name, len(pcum) - 1),
            hide_uei=hide_uei,
            spelling_draw=int(rand() * 100),
            report_lag=int(rand() * 4),
            modified_seconds=int(rand() * 400 * 86_400),
        )


# --- Rows -------------------------------------------------------------------------------------


def money(cents: int) -> str:
    if cents < 0:
        return f"-{-cents // 100}.{-cents % 100:02d}"
    return f"{cents // 100}.{cents % 100:02d}"


class Calendar:
    """ISO text and fiscal year of a day, cached: a few thousand days serve a million rows."""

    def __init__(self) -> None:
        self.iso: dict[int, str] = {}
        self.fy: dict[int, int] = {}
        self.fy_text: dict[int, str] = {}

    def text(self, day: int) -> str:
        text = self.iso.get(day)
        if text is None:
            text = self.iso[day] = date.fromordinal(day).isoformat()
            self.fy[day] = fiscal_year(day)
            self.fy_text[day] = str(self.fy[day])
        return text

    def year(self, day: int) -> str:
        self.text(day)
        return self.fy_text[day]

    def fiscal(self, day: int) -> int:
        self.text(day)
        return self.fy[day]


def agency_spelling(names: tuple[str, ...], fy: int, draw: int) -> str:
    """Today's spelling mostly on recent rows, older spellings mostly on older rows."""
    share_current = 85 if fy >= 2020 else 25
    if draw < share_current or len(names) == 1:
        return names[0]
    return names[1 + draw % (len(names) - 1)]


class RowMaker:
    """Turns awards into rows of one header, keeping a template of the constant columns."""

    def __init__(self, kind: Kind, universe: Universe) -> None:
        self.kind = kind
        self.universe = universe
        self.columns = load_columns(kind)
        self.index = {name: i for i, name in enumerate(self.columns)}
        template = [""] * len(self.columns)
        start = self.index[FLAG_COLUMNS_START]
        end = self.index[FLAG_COLUMNS_END]
        for i in range(start, end + 1):
            if self.columns[i] not in NOT_FLAGS:
                template[i] = "f"
        for name, value in CONSTANTS.items():
            if name in self.index:
                template[self.index[name]] = value
        self.template = template
        self.calendar = Calendar()
        self.used_names: set[tuple[int, int]] = set()

    def _slot(self, transaction_column: str) -> int | None:
        name = (
            transaction_column
            if self.kind == "transactions"
            else summary_column(transaction_column)
        )
        return self.index.get(name)

    def award_fields(self, award: Award) -> dict[str, str]:
        """Columns that hold one value for every row of an award, named as in transactions."""
        cal = self.calendar
        rec = award.recipient
        sub = award.sub
        base_day = award.transactions[0].day
        base_fy = fiscal_year(base_day)
        total = award.total_cents
        outlay = ""
        if base_fy >= 2020:
            outlay = money(int(max(total, 0) * award.outlay_share))
        place = award.place
        recipient_district = f"{rec.place.state}-{rec.place.district}"
        fields = {
            "contract_award_unique_key": award.key,
            "award_id_piid": award.piid,
            "parent_award_agency_id": award.parent_agency[0] if award.parent_agency else "",
            "parent_award_agency_name": award.parent_agency[1] if award.parent_agency else "",
            "parent_award_id_piid": award.parent_piid,
            "parent_award_modification_number": award.parent_modification,
            "total_dollars_obligated": money(total),
            "total_outlayed_amount_for_overall_award": outlay,
            "current_total_value_of_award": money(max(total, 0)),
            "potential_total_value_of_award": money(max(award.potential_cents, total)),
            "disaster_emergency_fund_codes_for_overall_award": (
                DISASTER_CODE_Q if base_fy >= 2020 else ""
            ),
            "period_of_performance_start_date": cal.text(base_day),
            "period_of_performance_current_end_date": cal.text(award.end_day),
            "period_of_performance_potential_end_date": cal.text(award.potential_end_day)
            + " 00:00:00",
            "solicitation_date": cal.text(base_day - 30) if award.solicitation else "",
            "awarding_agency_code": sub.department.code,
            "awarding_sub_agency_code": sub.code,
            "awarding_office_code": award.office[0],
            "awarding_office_name": award.office[1],
            "funding_agency_code": sub.department.code,
            "funding_sub_agency_code": sub.code,
            "funding_office_code": award.funding_office[0],
            "funding_office_name": award.funding_office[1],
            "cage_code": rec.cage,
            "recipient_doing_business_as_name": rec.dba,
            "recipient_address_line_1": rec.address,
            "recipient_city_name": rec.place.city,
            "prime_award_transaction_recipient_county_fips_code": rec.place.county_fips,
            "recipient_county_name": rec.place.county,
            "prime_award_transaction_recipient_state_fips_code": rec.place.county_fips[:2],
            "recipient_state_code": rec.place.state,
            "recipient_state_name": rec.place.state_name,
            "recipient_zip_4_code": rec.zip4,
            "prime_award_transaction_recipient_cd_original": recipient_district,
            "prime_award_transaction_recipient_cd_current": recipient_district,
            "recipient_phone_number": rec.phone,
            "recipient_fax_number": rec.fax,
            "primary_place_of_performance_city_name": place.city,
            "prime_award_transaction_place_of_performance_county_fips_code": place.county_fips,
            "primary_place_of_performance_county_name": place.county,
            "prime_award_transaction_place_of_performance_state_fips_code": place.county_fips[:2],
            "primary_place_of_performance_state_code": place.state,
            "primary_place_of_performance_state_name": place.state_name,
            "primary_place_of_performance_zip_4": place.zip5,
            "prime_award_transaction_place_of_performance_cd_original": (
                f"{place.state}-{place.district}"
            ),
            "prime_award_transaction_place_of_performance_cd_current": (
                f"{place.state}-{place.district}"
            ),
            "award_type_code": award.award_type[0],
            "award_type": award.award_type[1],
            "type_of_contract_pricing_code": award.pricing[0],
            "type_of_contract_pricing": award.pricing[1],
            "prime_award_base_transaction_description": award.description,
            "solicitation_identifier": award.solicitation,
            "product_or_service_code": rec.industry.psc[0],
            "product_or_service_code_description": rec.industry.psc[1],
            "naics_code": rec.industry.naics[0],
            "naics_description": rec.industry.naics[1],
            "extent_competed_code": award.competition[0][0],
            "extent_competed": award.competition[0][1],
            "solicitation_procedures_code": award.competition[1][0],
            "solicitation_procedures": award.competition[1][1],
            "other_than_full_and_open_competition_code": award.competition[2][0],
            "other_than_full_and_open_competition": award.competition[2][1],
            "number_of_offers_received": str(award.offers),
            "parent_award_type_code": award.parent_type[0],
            "parent_award_type": award.parent_type[1],
            "parent_award_single_or_multiple_code": award.parent_type[2],
            "parent_award_single_or_multiple": award.parent_type[3],
            "contracting_officers_determination_of_business_size": (
                "SMALL BUSINESS" if rec.small else "OTHER THAN SMALL BUSINESS"
            ),
            "contracting_officers_determination_of_business_size_code": "S" if rec.small else "O",
            "organizational_type": "CORPORATE NOT TAX EXEMPT",
            "usaspending_permalink": f"https://www.usaspending.gov/award/{award.key}/",
        }
        if base_fy >= 2017:
            account = f"{sub.department.code}-{sub.treasury_account}"
            fields["treasury_accounts_funding_this_award"] = (
                f"{sub.department.code}-{base_fy}/{base_fy}-{sub.treasury_account}-000"
            )
            fields["federal_accounts_funding_this_award"] = account
            fields["object_classes_funding_this_award"] = (
                "25.2: Other services from non-Federal sources"
            )
        fields.update(rec.flags)
        return fields

    def _recipient_fields(self, award: Award, txn: Transaction) -> dict[str, str]:
        rec = award.recipient
        parent = self.universe.recipients[rec.parent_on(txn.day)]
        self.used_names.add((rec.index, txn.name))
        self.used_names.add((parent.index, txn.parent_name))
        name = rec.names[txn.name]
        parent_name = parent.names[txn.parent_name]
        before_switch = txn.day < UEI_SWITCH_DATE
        return {
            "recipient_uei": "" if txn.hide_uei else rec.uei,
            "recipient_duns": rec.duns if before_switch else "",
            "recipient_name": name,
            "recipient_name_raw": name,
            "recipient_parent_uei": "" if txn.hide_uei else parent.uei,
            "recipient_parent_duns": parent.duns if before_switch else "",
            "recipient_parent_name": parent_name,
            "recipient_parent_name_raw": parent_name,
        }

    def _agency_fields(self, award: Award, txn: Transaction) -> dict[str, str]:
        fy = self.calendar.fiscal(txn.day)
        sub = award.sub
        department = agency_spelling(sub.department.names, fy, txn.spelling_draw)
        sub_name = agency_spelling(sub.names, fy, txn.spelling_draw)
        return {
            "awarding_agency_name": department,
            "awarding_sub_agency_name": sub_name,
            "funding_agency_name": department,
            "funding_sub_agency_name": sub_name,
        }

    def transaction_rows(self, award: Award) -> list[list[str]]:
        index = self.index
        cal = self.calendar
        award_row = self.template[:]
        for name, value in self.award_fields(award).items():
            award_row[index[name]] = value
        agency_id = award.sub.key_id
        parent_agency_id = award.parent_agency[0] if award.parent_agency else NONE
        parent_piid = award.parent_piid or NONE
        key_head = f"{agency_id}_{parent_agency_id}_{award.piid}_"
        i_key = index["contract_transaction_unique_key"]
        i_mod = index["modification_number"]
        i_fao = index["federal_action_obligation"]
        i_exercised = index["base_and_exercised_options_value"]
        i_all = index["base_and_all_options_value"]
        i_date = index["action_date"]
        i_fy = index["action_date_fiscal_year"]
        i_desc = index["transaction_description"]
        i_type_code = index["action_type_code"]
        i_type = index["action_type"]
        i_report = index["initial_report_date"]
        i_modified = index["last_modified_date"]
        rows = []
        for txn in award.transactions:
            row = award_row[:]
            row[i_key] = f"{key_head}{txn.modification}_{parent_piid}_0"
            row[i_mod] = txn.modification
            amount = money(txn.cents)
            row[i_fao] = amount
            row[i_exercised] = amount
            is_base = txn.modification == "0"
            row[i_all] = money(award.potential_cents) if is_base else "0.00"
            row[i_date] = cal.text(txn.day)
            row[i_fy] = cal.year(txn.day)
            row[i_desc] = txn.description
            row[i_type_code], row[i_type] = txn.action_type
            row[i_report] = cal.text(txn.day + txn.report_lag)
            modified = min(txn.day * 86_400 + txn.modified_seconds, LAST_MODIFIED_CAP * 86_400)
            seconds = modified % 86_400
            row[i_modified] = (
                f"{cal.text(modified // 86_400)} "
                f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            )
            for name, value in self._recipient_fields(award, txn).items():
                row[index[name]] = value
            for name, value in self._agency_fields(award, txn).items():
                row[index[name]] = value
            rows.append(row)
        return rows

    def award_row(self, award: Award) -> list[str]:
        cal = self.calendar
        row = self.template[:]
        latest = award.transactions[-1]
        fields = self.award_fields(award)
        fields.update(self._recipient_fields(award, latest))
        fields.update(self._agency_fields(award, latest))
        for name, value in fields.items():
            slot = self._slot(name)
            if slot is not None:
                row[slot] = value
        index = self.index
        base_day = award.transactions[0].day
        row[index["award_base_action_date"]] = cal.text(base_day)
        row[index["award_base_action_date_fiscal_year"]] = cal.year(base_day)
        row[index["award_latest_action_date"]] = cal.text(latest.day)
        row[index["award_latest_action_date_fiscal_year"]] = cal.year(latest.day)
        modified = min(latest.day + latest.modified_seconds // 86_400, LAST_MODIFIED_CAP)
        row[index["last_modified_date"]] = cal.text(modified)
        return row


# --- Files ------------------------------------------------------------------------------------


class CsvParts:
    """Writes rows into `_1.csv`, `_2.csv`, … of K rows each, as files or as members of one zip."""

    def __init__(
        self,
        kind: Kind,
        out_dir: Path,
        header: Sequence[str],
        rows: int,
        zip_output: bool,
        split_rows: int | None,
    ) -> None:
        self.kind = kind
        self.out_dir = out_dir
        self.header = list(header)
        self.split_rows = split_rows
        self.zip: zipfile.ZipFile | None = None
        self.zip_path = out_dir / f"{ZIP_PREFIX[kind]}_{ZIP_STAMP}.zip"
        member_rows = rows if split_rows is None else min(rows, split_rows)
        self.force_zip64 = member_rows > ZIP64_MEMBER_ROWS
        if zip_output:
            self.zip = zipfile.ZipFile(self.zip_path, "w")
        self.names: list[str] = []
        self.paths: list[Path] = []
        self.stream: IO[str] | None = None
        self.writer: Any = None
        self.in_part = 0
        self._open_part()

    def _open_part(self) -> None:
        name = f"{FILE_PREFIX[self.kind]}_{MEMBER_STAMP}_{len(self.names) + 1}.csv"
        self.names.append(name)
        if self.zip is not None:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            raw = self.zip.open(info, "w", force_zip64=self.force_zip64)
            self.stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        else:
            path = self.out_dir / name
            self.paths.append(path)
            self.stream = open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)  # noqa: SIM115
        self.writer = csv.writer(self.stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self.writer.writerow(self.header)
        self.in_part = 0

    def write(self, rows: list[list[str]]) -> None:
        split = self.split_rows
        if split is None:
            self.writer.writerows(rows)
            self.in_part += len(rows)
            return
        start = 0
        while start < len(rows):
            if self.in_part == split:
                self._close_part()
                self._open_part()
            take = min(split - self.in_part, len(rows) - start)
            self.writer.writerows(rows[start : start + take])
            self.in_part += take
            start += take

    def _close_part(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def close(self) -> list[Path]:
        """Finish the last part (and the zip); closing twice does no harm."""
        self._close_part()
        if self.zip is not None:
            self.zip.close()
            return [self.zip_path]
        return list(self.paths)


# --- Ground truth -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameTruth:
    """One spelling of a company name seen in the rows, and who it really is."""

    name: str
    uei: str
    duns: str
    legal_name: str
    parent_uei: str  # the ultimate parent today
    parents: tuple[tuple[str | None, str], ...]  # (from ISO date or None, parent UEI)
    confusable_with: tuple[str, ...]  # UEIs of other companies with look-alike names


@dataclass(frozen=True, slots=True)
class AwardTruth:
    award_key: str
    obligation: Decimal  # the sum of federal_action_obligation over the award's transactions
    transactions: int
    recipient_uei: str
    parent_uei: str  # the ultimate parent on the award's latest action
    awarding_sub_agency_code: str


@dataclass(frozen=True, slots=True)
class GroundTruth:
    kind: Kind
    seed: int
    rows: int
    files: tuple[str, ...]
    names: dict[str, NameTruth]
    awards: dict[str, AwardTruth]
    total_obligation: Decimal
    total_dollars_obligated_sum: Decimal  # what summing the repeated award total gives
    negative_obligations: int  # transactions with a negative federal_action_obligation


def name_truth(universe: Universe, recipient: Recipient, variant: int) -> dict[str, Any]:
    recipients = universe.recipients
    parents: list[tuple[str | None, str]] = [(None, recipients[recipient.parent].uei)]
    if recipient.acquired_on is not None and recipient.acquirer is not None:
        parents.append(
            (
                date.fromordinal(recipient.acquired_on).isoformat(),
                recipients[recipient.acquirer].uei,
            )
        )
    return {
        "record": "name",
        "name": recipient.names[variant],
        "uei": recipient.uei,
        "duns": recipient.duns,
        "legal_name": recipient.names[0],
        "parent_uei": parents[-1][1],
        "parents": [list(p) for p in parents],
        "confusable_with": [recipients[i].uei for i in recipient.confusable_with],
    }


def read_truth(path: Path) -> GroundTruth:
    """The ground truth written by `generate(..., truth_path=path)`."""
    names: dict[str, NameTruth] = {}
    awards: dict[str, AwardTruth] = {}
    summary: dict[str, Any] = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            if record["record"] == "name":
                names[record["name"]] = NameTruth(
                    name=record["name"],
                    uei=record["uei"],
                    duns=record["duns"],
                    legal_name=record["legal_name"],
                    parent_uei=record["parent_uei"],
                    parents=tuple((p[0], p[1]) for p in record["parents"]),
                    confusable_with=tuple(record["confusable_with"]),
                )
            elif record["record"] == "award":
                awards[record["award_key"]] = AwardTruth(
                    award_key=record["award_key"],
                    obligation=Decimal(record["obligation"]),
                    transactions=record["transactions"],
                    recipient_uei=record["recipient_uei"],
                    parent_uei=record["parent_uei"],
                    awarding_sub_agency_code=record["awarding_sub_agency_code"],
                )
            elif record["record"] == "summary":
                summary = record
    if not summary:
        raise ValueError(f"{path}: no summary record; the file is truncated")
    return GroundTruth(
        kind=summary["kind"],
        seed=summary["seed"],
        rows=summary["rows"],
        files=tuple(summary["files"]),
        names=names,
        awards=awards,
        total_obligation=Decimal(summary["federal_action_obligation"]),
        total_dollars_obligated_sum=Decimal(summary["total_dollars_obligated_sum"]),
        negative_obligations=summary["negative_obligations"],
    )


# --- Entry points -----------------------------------------------------------------------------


def generate(
    rows: int,
    kind: Kind,
    out_dir: Path,
    seed: int = 0,
    zip_output: bool = False,
    split_rows: int | None = None,
    truth_path: Path | None = None,
    progress: bool = False,
) -> list[Path]:
    """Write `rows` rows of a kind of download into `out_dir`; return the paths written.

    A transactions file holds whole awards only: an award whose transactions would overrun
    `rows` is left out and later, smaller awards fill the file, so every award in it is complete
    and carries the same total as in the award-summary file of the same seed.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if rows < 0:
        raise ValueError(f"rows must be zero or more, not {rows}")
    if split_rows is not None and split_rows < 1:
        raise ValueError(f"split rows must be one or more, not {split_rows}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    universe = universe_of(seed)
    maker = AwardMaker(seed, universe)
    row_maker = RowMaker(kind, universe)
    parts = CsvParts(kind, out_dir, row_maker.columns, rows, zip_output, split_rows)
    truth = open(truth_path, "w", encoding="utf-8") if truth_path is not None else None  # noqa: SIM115

    written = 0
    awards = 0
    transactions = 0
    negative = 0
    total_cents = 0
    repeated_total_cents = 0
    next_report = PROGRESS_EVERY
    try:
        while written < rows:
            award = maker.make()
            size = len(award.transactions)
            if kind == "transactions":
                if size > rows - written:
                    continue
                parts.write(row_maker.transaction_rows(award))
                written += size
            else:
                parts.write([row_maker.award_row(award)])
                written += 1
            award_total = award.total_cents
            awards += 1
            transactions += size
            total_cents += award_total
            negative += sum(1 for t in award.transactions if t.cents < 0)
            repeated_total_cents += award_total * (size if kind == "transactions" else 1)
            if truth is not None:
                latest = award.transactions[-1].day
                record = {
                    "record": "award",
                    "award_key": award.key,
                    "obligation": money(award_total),
                    "transactions": size,
                    "recipient_uei": award.recipient.uei,
                    "parent_uei": universe.recipients[award.recipient.parent_on(latest)].uei,
                    "awarding_sub_agency_code": award.sub.code,
                }
                truth.write(json.dumps(record, ensure_ascii=False) + "\n")
            if progress and written >= next_report:
                elapsed = time.monotonic() - started
                print(f"{kind}: {written:,}/{rows:,} rows, {elapsed:.1f} s", file=sys.stderr)
                next_report += PROGRESS_EVERY
        paths = parts.close()
        if truth is not None:
            for recipient_index, variant in sorted(row_maker.used_names):
                record = name_truth(universe, universe.recipients[recipient_index], variant)
                truth.write(json.dumps(record, ensure_ascii=False) + "\n")
            summary = {
                "record": "summary",
                "kind": kind,
                "seed": seed,
                "rows": written,
                "files": parts.names,
                "zip": parts.zip_path.name if zip_output else None,
                "awards": awards,
                "transactions": transactions,
                "federal_action_obligation": money(total_cents),
                "total_dollars_obligated_sum": money(repeated_total_cents),
                "negative_obligations": negative,
            }
            truth.write(json.dumps(summary, ensure_ascii=False) + "\n")
    finally:
        parts.close()
        if truth is not None:
            truth.close()
    if progress:
        elapsed = time.monotonic() - started
        print(f"{kind}: {written:,} rows in {len(paths)} file(s), {elapsed:.1f} s", file=sys.stderr)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, required=True, help="data rows to write")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to write into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zip", action="store_true", help="write the CSV parts into one zip")
    parser.add_argument("--split-rows", type=int, default=None, help="rows per CSV part")
    parser.add_argument("--truth", type=Path, default=None, help="write the ground truth here")
    args = parser.parse_args(argv)
    try:
        paths = generate(
            args.rows,
            args.kind,
            args.output,
            seed=args.seed,
            zip_output=args.zip,
            split_rows=args.split_rows,
            truth_path=args.truth,
            progress=True,
        )
    except (ValueError, OSError) as error:
        print(f"make_usaspending: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
