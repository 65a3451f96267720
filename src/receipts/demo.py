"""The demo: the Amazon "dump ICE" case, built only from the facts of one news report.

Every object has a fixed FollowTheMoney id, so loading twice updates the same
rows and duplicates nothing. Where the report gives no exact date, only the
partial date it supports is stored; the report's address is not recorded, so
the source has no URL rather than an invented one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from receipts.evidence import services
from receipts.evidence.models import EntityKind, SourceKind, TieKind, TieStatus

PREFIX = "receipts-demo-"
REPORT = "the report on the Seattle rally"


@dataclass(frozen=True)
class DemoEntity:
    key: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    ticker: str = ""
    summary: str = ""


ENTITIES = [
    DemoEntity("amazon", "Amazon", EntityKind.COMPANY, ("Amazon.com",), "AMZN"),
    DemoEntity("aws", "Amazon Web Services", EntityKind.COMPANY, ("AWS",)),
    DemoEntity("ring", "Ring", EntityKind.COMPANY, summary="Home security camera maker owned by Amazon."),
    DemoEntity("flock-safety", "Flock Safety", EntityKind.COMPANY),
    DemoEntity("palantir", "Palantir Technologies", EntityKind.COMPANY, ("Palantir",), "PLTR"),
    DemoEntity("google", "Google", EntityKind.COMPANY),
    DemoEntity("target", "Target", EntityKind.COMPANY, ticker="TGT"),
    DemoEntity("dhs", "U.S. Department of Homeland Security", EntityKind.AGENCY, ("DHS", "Department of Homeland Security")),
    DemoEntity("ice", "U.S. Immigration and Customs Enforcement", EntityKind.AGENCY, ("ICE", "Immigration and Customs Enforcement")),
    DemoEntity("cbp", "U.S. Customs and Border Protection", EntityKind.AGENCY, ("CBP", "Customs and Border Protection")),
    DemoEntity(
        "search-party",
        "Search Party",
        EntityKind.PRODUCT,
        ("Ring Search Party",),
        summary="A Ring feature that activates a network of Ring cameras and uses AI; "
        "a Super Bowl ad showed it finding lost dogs.",
    ),
    DemoEntity("aecj", "Amazon Employees for Climate Justice", EntityKind.ORGANIZATION, ("AECJ",)),
    DemoEntity("no-tech-for-apartheid", "No Tech for Apartheid", EntityKind.ORGANIZATION),
    DemoEntity("defend-immigrants-alliance", "Defend Immigrants Alliance", EntityKind.ORGANIZATION),
    DemoEntity("la-resistencia", "La Resistencia", EntityKind.ORGANIZATION),
    DemoEntity("troublemakers", "Troublemakers", EntityKind.ORGANIZATION),
    DemoEntity("washington-for-all", "Washington for All", EntityKind.ORGANIZATION),
    DemoEntity("seattle-indivisible", "Seattle Indivisible", EntityKind.ORGANIZATION),
    DemoEntity("seattle-dsa", "Seattle DSA", EntityKind.ORGANIZATION, ("Seattle Democratic Socialists of America",)),
    DemoEntity("350-seattle", "350 Seattle", EntityKind.ORGANIZATION),
    DemoEntity("southend-indivisible", "Southend Indivisible", EntityKind.ORGANIZATION),
    DemoEntity("eff", "Electronic Frontier Foundation", EntityKind.ORGANIZATION, ("EFF",)),
    DemoEntity("truthout", "Truthout", EntityKind.ORGANIZATION, summary="Publisher of the report behind the demo data."),
]

COALITION = [
    "aecj", "no-tech-for-apartheid", "defend-immigrants-alliance", "la-resistencia",
    "troublemakers", "washington-for-all", "seattle-indivisible", "seattle-dsa",
    "350-seattle", "southend-indivisible",
]


@dataclass(frozen=True)
class DemoTie:
    key: str
    subject: str
    kind: str
    object: str
    status: str
    locator: str
    summary: str = ""
    end_date: str = ""


TIES = [
    DemoTie("amazon-owns-aws", "amazon", TieKind.OWNS, "aws", TieStatus.ACTIVE,
            f"{REPORT}: Amazon Web Services as Amazon's cloud business"),
    DemoTie("amazon-owns-ring", "amazon", TieKind.OWNS, "ring", TieStatus.ACTIVE,
            f"{REPORT}: Ring as Amazon's camera company"),
    DemoTie("ring-owns-search-party", "ring", TieKind.OWNS, "search-party", TieStatus.ACTIVE,
            f"{REPORT}: the Search Party feature and its Super Bowl ad"),
    DemoTie("ice-part-of-dhs", "ice", TieKind.PART_OF, "dhs", TieStatus.ACTIVE,
            f"{REPORT}: ICE as a component of DHS"),
    DemoTie("cbp-part-of-dhs", "cbp", TieKind.PART_OF, "dhs", TieStatus.ACTIVE,
            f"{REPORT}: CBP as a component of DHS"),
    DemoTie("ring-flock-partnership", "ring", TieKind.PARTNERSHIP, "flock-safety", TieStatus.ENDED,
            f"{REPORT}: Ring's announcement, the day before the rally",
            "Ring announced it would cut ties with Flock Safety the day before the Seattle "
            "rally, after backlash to its Super Bowl ad.",
            end_date="2026"),
    DemoTie("aws-hosts-ice", "aws", TieKind.HOSTING, "ice", TieStatus.ALLEGED,
            f"{REPORT}: the protesters' first demand",
            "Protesters say AWS hosts ICE; active per the report."),
    DemoTie("aws-hosts-cbp", "aws", TieKind.HOSTING, "cbp", TieStatus.ALLEGED,
            f"{REPORT}: the protesters' first demand",
            "Protesters say AWS hosts CBP; active per the report."),
    DemoTie("amazon-palantir-partnership", "amazon", TieKind.PARTNERSHIP, "palantir", TieStatus.ALLEGED,
            f"{REPORT}: the protesters' second demand",
            "Protesters say the partnership facilitates deportations and surveillance; "
            "active per the report."),
    DemoTie("google-ice", "google", TieKind.OTHER, "ice", TieStatus.ALLEGED,
            f"{REPORT}: Google employees' open letter",
            "Google employees asked the company, in an open letter, to disclose and divest "
            "from its dealings with ICE."),
    DemoTie("google-cbp", "google", TieKind.OTHER, "cbp", TieStatus.ALLEGED,
            f"{REPORT}: Google employees' open letter",
            "Google employees asked the company, in an open letter, to disclose and divest "
            "from its dealings with CBP."),
    DemoTie("target-ice", "target", TieKind.OTHER, "ice", TieStatus.ALLEGED,
            f"{REPORT}: nationwide protests against Target",
            "Nationwide protests allege Target's complicity with ICE."),
]


@transaction.atomic
def load_demo() -> dict[str, int]:
    """Load or refresh the demo evidence; returns counts of what it holds."""
    report = services.save_source(
        ftm_id=f"{PREFIX}source-truthout-report",
        kind=SourceKind.NEWS_REPORT,
        title="Protesters Demand Amazon Cut Ties With ICE and Palantir",
        publisher="Truthout",
        url="",
        published="2026",
    )
    entities = {}
    for e in ENTITIES:
        entities[e.key] = services.save_entity(
            ftm_id=f"{PREFIX}{e.key}",
            name=e.name,
            kind=e.kind,
            aliases=e.aliases,
            identifiers={"ticker": [e.ticker] if e.ticker else []},
            summary=e.summary,
        )
    for t in TIES:
        services.record_tie(
            entities[t.subject],
            entities[t.object],
            t.kind,
            citations=[services.CitationInput(report, locator=t.locator)],
            status=t.status,
            end_date=t.end_date,
            summary=t.summary,
            ftm_id=f"{PREFIX}tie-{t.key}",
        )
    return {"entities": len(entities), "ties": len(TIES), "sources": 1}
