"""The demo: the Amazon "dump ICE" case, built only from the facts of one news report.

Every object has a fixed FollowTheMoney id (a campaign its slug, its
demands, actions and goals fixed keys), so loading twice updates the same
rows and duplicates nothing. Where the report gives no exact date, only the
partial date it supports is stored; the report's address is not recorded, so
the source has no URL rather than an invented one. Every figure belongs to
whoever the report gives it to: the publisher's donor drive is the
publisher's own campaign, cited to the report, and a figure no source gives
is stored as an example (``GoalBasis.EXAMPLE``), which every page marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from receipts.campaigns import services as campaigns
from receipts.campaigns.models import (
    Action,
    ActionKind,
    Campaign,
    CampaignStatus,
    CoalitionRole,
    DemandStatus,
    Goal,
    GoalBasis,
    GoalProgress,
    Visibility,
)
from receipts.campaigns.queries import demand_counts
from receipts.evidence import services
from receipts.evidence.models import Entity, EntityKind, Source, SourceKind, Tie, TieKind, TieStatus
from receipts.outreach import services as outreach
from receipts.outreach.models import Flyer, FormField, FormKind
from receipts.screening.services import ensure_default_profile

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
    DemoEntity(
        "ring", "Ring", EntityKind.COMPANY, summary="Home security camera maker owned by Amazon."
    ),
    DemoEntity("flock-safety", "Flock Safety", EntityKind.COMPANY),
    DemoEntity("palantir", "Palantir Technologies", EntityKind.COMPANY, ("Palantir",), "PLTR"),
    DemoEntity("google", "Google", EntityKind.COMPANY),
    DemoEntity("target", "Target", EntityKind.COMPANY, ticker="TGT"),
    DemoEntity(
        "dhs",
        "U.S. Department of Homeland Security",
        EntityKind.AGENCY,
        ("DHS", "Department of Homeland Security"),
    ),
    DemoEntity(
        "ice",
        "U.S. Immigration and Customs Enforcement",
        EntityKind.AGENCY,
        ("ICE", "Immigration and Customs Enforcement"),
    ),
    DemoEntity(
        "cbp",
        "U.S. Customs and Border Protection",
        EntityKind.AGENCY,
        ("CBP", "Customs and Border Protection"),
    ),
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
    DemoEntity(
        "seattle-dsa",
        "Seattle DSA",
        EntityKind.ORGANIZATION,
        ("Seattle Democratic Socialists of America",),
    ),
    DemoEntity("350-seattle", "350 Seattle", EntityKind.ORGANIZATION),
    DemoEntity("southend-indivisible", "Southend Indivisible", EntityKind.ORGANIZATION),
    DemoEntity("eff", "Electronic Frontier Foundation", EntityKind.ORGANIZATION, ("EFF",)),
    DemoEntity(
        "truthout",
        "Truthout",
        EntityKind.ORGANIZATION,
        summary="Publisher of the report behind the demo data.",
    ),
]

COALITION = [
    "aecj",
    "no-tech-for-apartheid",
    "defend-immigrants-alliance",
    "la-resistencia",
    "troublemakers",
    "washington-for-all",
    "seattle-indivisible",
    "seattle-dsa",
    "350-seattle",
    "southend-indivisible",
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
    DemoTie(
        "amazon-owns-aws",
        "amazon",
        TieKind.OWNS,
        "aws",
        TieStatus.ACTIVE,
        f"{REPORT}: Amazon Web Services as Amazon's cloud business",
    ),
    DemoTie(
        "amazon-owns-ring",
        "amazon",
        TieKind.OWNS,
        "ring",
        TieStatus.ACTIVE,
        f"{REPORT}: Ring as Amazon's camera company",
    ),
    DemoTie(
        "ring-owns-search-party",
        "ring",
        TieKind.OWNS,
        "search-party",
        TieStatus.ACTIVE,
        f"{REPORT}: the Search Party feature and its Super Bowl ad",
    ),
    DemoTie(
        "ice-part-of-dhs",
        "ice",
        TieKind.PART_OF,
        "dhs",
        TieStatus.ACTIVE,
        f"{REPORT}: ICE as a component of DHS",
    ),
    DemoTie(
        "cbp-part-of-dhs",
        "cbp",
        TieKind.PART_OF,
        "dhs",
        TieStatus.ACTIVE,
        f"{REPORT}: CBP as a component of DHS",
    ),
    DemoTie(
        "ring-flock-partnership",
        "ring",
        TieKind.PARTNERSHIP,
        "flock-safety",
        TieStatus.ENDED,
        f"{REPORT}: Ring's announcement, the day before the rally",
        "Ring announced it would cut ties with Flock Safety the day before the Seattle "
        "rally, after backlash to its Super Bowl ad.",
        end_date="2026",
    ),
    DemoTie(
        "aws-hosts-ice",
        "aws",
        TieKind.HOSTING,
        "ice",
        TieStatus.ALLEGED,
        f"{REPORT}: the protesters' first demand",
        "Protesters say AWS hosts ICE; active per the report.",
    ),
    DemoTie(
        "aws-hosts-cbp",
        "aws",
        TieKind.HOSTING,
        "cbp",
        TieStatus.ALLEGED,
        f"{REPORT}: the protesters' first demand",
        "Protesters say AWS hosts CBP; active per the report.",
    ),
    DemoTie(
        "amazon-palantir-partnership",
        "amazon",
        TieKind.PARTNERSHIP,
        "palantir",
        TieStatus.ALLEGED,
        f"{REPORT}: the protesters' second demand",
        "Protesters say the partnership facilitates deportations and surveillance; "
        "active per the report.",
    ),
    DemoTie(
        "google-ice",
        "google",
        TieKind.OTHER,
        "ice",
        TieStatus.ALLEGED,
        f"{REPORT}: Google employees' open letter",
        "Google employees asked the company, in an open letter, to disclose and divest "
        "from its dealings with ICE.",
    ),
    DemoTie(
        "google-cbp",
        "google",
        TieKind.OTHER,
        "cbp",
        TieStatus.ALLEGED,
        f"{REPORT}: Google employees' open letter",
        "Google employees asked the company, in an open letter, to disclose and divest "
        "from its dealings with CBP.",
    ),
    DemoTie(
        "target-ice",
        "target",
        TieKind.OTHER,
        "ice",
        TieStatus.ALLEGED,
        f"{REPORT}: nationwide protests against Target",
        "Nationwide protests allege Target's complicity with ICE.",
    ),
]


CAMPAIGN_SLUG = "amazon-dump-ice"


@dataclass(frozen=True)
class DemoDemand:
    key: str
    text: str
    ties: tuple[str, ...]
    met: bool = False


DEMANDS = [
    DemoDemand(
        "aws",
        "Stop hosting ICE and CBP on Amazon Web Services",
        ("aws-hosts-ice", "aws-hosts-cbp"),
    ),
    DemoDemand("palantir", "End the partnership with Palantir", ("amazon-palantir-partnership",)),
    # Met the day before the Seattle rally; the report gives the year only.
    DemoDemand(
        "ring-flock",
        "Ring: end the partnership with Flock Safety",
        ("ring-flock-partnership",),
        met=True,
    ),
]


def _put_campaign(slug: str, name: str, summary: str, targets: list[Entity]) -> Campaign:
    """The demo campaign SLUG, created or brought back to the demo's settings
    (an active public campaign without a start date), so a reload duplicates nothing."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        return campaigns.create_campaign(
            slug=slug,
            name=name,
            summary=summary,
            targets=targets,
            status=CampaignStatus.ACTIVE,
            visibility=Visibility.PUBLIC,
        )
    return campaigns.update_campaign(
        campaign,
        name=name,
        summary=summary,
        targets=targets,
        status=CampaignStatus.ACTIVE,
        visibility=Visibility.PUBLIC,
        start_date="",
    )


def load_demo_campaign(
    report: Source, entities: dict[str, Entity], ties: dict[str, Tie]
) -> dict[str, int]:
    """The campaign "Amazon: dump ICE": three demands, two actions and the coalition.

    No source gives the coalition a numeric goal, so none is set here (the
    sign-up goal of ``load_demo_outreach`` is marked as an example).
    No exact date is invented: the Seattle rally and Ring's announcement are
    dated 2026, the year of the report; the campaign has no start date, since
    the report gives none.
    """
    name = "Amazon: dump ICE"
    summary = (
        "A coalition of tech-worker and immigrant-justice groups presses Amazon to stop "
        "hosting ICE and CBP on Amazon Web Services, to end its partnership with Palantir, "
        "and to have Ring drop Flock Safety."
    )
    campaign = _put_campaign(CAMPAIGN_SLUG, name, summary, [entities["amazon"]])

    for position, d in enumerate(DEMANDS, start=1):
        demand = campaigns.add_demand(
            campaign,
            d.text,
            ties=[ties[k] for k in d.ties],
            key=f"{PREFIX}demand-{d.key}",
            position=position,
        )
        if d.met and demand.status != DemandStatus.MET:
            # The Ring–Flock tie ended with the report as its receipt: confirming
            # the suggestion copies that receipt, and the tie's year, into the history.
            campaigns.confirm_demand_met(
                demand,
                note="Ring announced it would cut ties with Flock Safety the day before the "
                "Seattle rally, after backlash to its Super Bowl ad.",
            )

    coalition = [entities[k] for k in COALITION]
    campaigns.record_action(
        campaign,
        key=f"{PREFIX}action-seattle-rally",
        kind=ActionKind.RALLY,
        title="Rally outside Amazon's headquarters in Seattle",
        date="2026",
        place="Outside Amazon's headquarters, Seattle",
        attendance_min=200,
        attendance_max=250,
        speakers="Six speakers, among them Seattle City Councilmember Alexis Mercedes Rinck.",
        participants=coalition,
        summary="A rally of about an hour on a rainy Friday afternoon. Protesters dumped ice on "
        "the grass to illustrate “dump ICE”, and handed out a flyer with a QR code for Amazon "
        "employees to connect with Amazon Employees for Climate Justice. Organisers said it "
        "was “the first of many”.",
        citations=[services.CitationInput(report, locator=f"{REPORT}: the rally")],
    )
    campaigns.record_action(
        campaign,
        key=f"{PREFIX}action-nyc-cyber-monday",
        kind=ActionKind.OTHER,
        title="Cyber Monday protest in New York City",
        date="2025-12-01",
        place="Outside Amazon's corporate offices, New York City",
        summary="A protest against Amazon on Cyber Monday.",
        citations=[services.CitationInput(report, locator=f"{REPORT}: a photo caption")],
    )
    for organisation in coalition:
        campaigns.add_coalition_member(campaign, organisation, CoalitionRole.MEMBER)
    # A database loaded by an older demo holds the publisher's donor drive as a
    # goal of this campaign; the drive is the publisher's own
    # (``load_demo_publisher``), so that row goes.
    Goal.objects.filter(key=f"{PREFIX}goal-monthly-donors").delete()
    return {
        "demands": len(DEMANDS),
        "demands_met": demand_counts(campaign)[0],
        "actions": 2,
        "coalition": len(coalition),
        "goals": 0,
    }


PUBLISHER_CAMPAIGN_SLUG = "truthout-monthly-donors"


def load_demo_publisher(report: Source, entities: dict[str, Entity]) -> dict[str, int]:
    """The publisher's own drive: 500 new monthly donors in 9 days, printed under its report.

    It is Truthout's fundraiser, not the coalition's, so it is a campaign of
    its own with Truthout as its lead organisation and no target. The goal
    cites the report; the report gives no dates for the drive, so the goal
    has its duration but no deadline, and no progress is recorded.
    """
    name = "Truthout: 500 new monthly donors"
    summary = (
        "Truthout, the publisher of the report on the Seattle rally, ran its own drive to add "
        "500 new monthly donors in 9 days, printed under that report. It is the publisher's "
        "fundraiser, not part of the coalition's campaign."
    )
    campaign = _put_campaign(PUBLISHER_CAMPAIGN_SLUG, name, summary, [])
    campaigns.add_coalition_member(campaign, entities["truthout"], CoalitionRole.LEAD)
    campaigns.set_goal(
        campaign,
        key=f"{PREFIX}goal-truthout-monthly-donors",
        metric="new monthly donors",
        target=500,
        duration_days=9,
        basis=GoalBasis.SOURCED,
        basis_note="the publisher's own drive, printed under its report",
        citations=[
            services.CitationInput(
                report, locator=f"{REPORT}: the publisher's donor appeal printed under it"
            )
        ],
    )
    return {"goals": 1}


EMPLOYEE_FORM_SLUG = "amazon-employees"
FLYER_CODE = "seattle-rally"


def load_demo_outreach(campaign: Campaign) -> dict[str, int]:
    """The employee sign-up form behind the Seattle rally's QR flyer, and a sign-up goal.

    The flyer handed out at the rally let Amazon employees connect with AECJ:
    AECJ holds the form's supporter data (its keys), the form warns anyone
    signing up with an amazon.com address, and the flyer's code is
    ``seattle-rally`` (``/f/seattle-rally``). The report gives no sign-up
    target: the goal's 100 is an example set for the demo, and is stored and
    shown as one.
    """
    organisation = outreach.save_organisation("aecj", "Amazon Employees for Climate Justice")
    outreach.assign_organisation(campaign, organisation)
    form = outreach.save_form(
        campaign,
        slug=EMPLOYEE_FORM_SLUG,
        title="Amazon employees: connect with AECJ",
        kind=FormKind.SIGN_UP,
        intro="Work at Amazon? Amazon Employees for Climate Justice organises with the "
        "coalition behind the Seattle rally, which asks Amazon to stop hosting ICE and CBP "
        "and to end its partnership with Palantir. Leave your details and AECJ will get in touch.",
        fields=[
            FormField.NAME,
            FormField.EMAIL,
            FormField.EMPLOYER,
            FormField.ROLE,
            FormField.CITY,
        ],
        required_fields=[FormField.NAME, FormField.EMAIL],
        consent_text="I agree that Amazon Employees for Climate Justice keeps what I enter here "
        "to contact me about this campaign. Only the campaign's organisers see it; it is "
        "stored encrypted, never published or shared, and erased when I ask.",
        employer_domains="amazon.com",
        thank_you="Thank you. Someone from AECJ will contact you at the address you gave, "
        "never at work.",
    )
    rally = Action.objects.get(key=f"{PREFIX}action-seattle-rally")
    if not Flyer.objects.filter(code=FLYER_CODE).exists():
        outreach.create_flyer(
            campaign, form=form, label="Seattle rally flyer", code=FLYER_CODE, action=rally
        )
    campaigns.set_goal(
        campaign,
        key=f"{PREFIX}goal-employee-signups",
        metric="Amazon employees signed up",
        target=100,
        progress_source=GoalProgress.SIGNUPS,
        basis=GoalBasis.EXAMPLE,
        basis_note="set for the demo to show a goal that counts sign-ups; no source gives "
        "the coalition a sign-up target",
    )
    return {"forms": 1, "flyers": 1, "goals": 1}


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
    ties = {}
    for t in TIES:
        ties[t.key] = services.record_tie(
            entities[t.subject],
            entities[t.object],
            t.kind,
            citations=[services.CitationInput(report, locator=t.locator)],
            status=t.status,
            end_date=t.end_date,
            summary=t.summary,
            ftm_id=f"{PREFIX}tie-{t.key}",
        )
    # The screening profile "dhs": DHS with its components, ended ties left out.
    ensure_default_profile()
    campaign = load_demo_campaign(report, entities, ties)
    reached = load_demo_outreach(Campaign.objects.get(slug=CAMPAIGN_SLUG))
    campaign["goals"] += reached.pop("goals")
    publisher = load_demo_publisher(report, entities)
    return {
        "entities": len(entities),
        "ties": len(TIES),
        "sources": 1,
        "campaigns": 2,
        "publisher_goals": publisher["goals"],
        **{f"campaign_{k}": v for k, v in campaign.items()},
        **{f"outreach_{k}": v for k, v in reached.items()},
    }


DEMO_ORGANISER = "demo-organiser"


def demo_organiser_link(site_url: str) -> str:
    """A one-time link logging a newcomer in as the demo campaign's organiser.

    The account has no password: the link is the only way in, it works once,
    for 15 minutes, and each new link retires the previous one.
    """
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from receipts.accounts import links
    from receipts.campaigns import services as campaign_services
    from receipts.campaigns.models import MemberRole

    user_model = get_user_model()
    user = user_model._default_manager.filter(username=DEMO_ORGANISER).first()
    if user is None:
        user = user_model._default_manager.create_user(username=DEMO_ORGANISER)  # type: ignore[attr-defined]
        user.set_unusable_password()
        user.save(update_fields=["password"])
    campaign = Campaign.objects.get(slug=CAMPAIGN_SLUG)
    campaign_services.add_campaign_member(campaign, user, MemberRole.ORGANISER)
    issued = links.issue_login_link(
        user, next_path=reverse("campaign-manage", args=[campaign.slug])
    )
    return site_url.rstrip("/") + reverse("login-link", args=[issued.token])
