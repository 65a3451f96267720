"""A small evidence graph with known screening answers, and CSV files to screen against it.

DHS has two components, ICE and CBP. Amazon has no tie of its own: its
subsidiary AWS hosts ICE (alleged), so Amazon is flagged only through AWS.
Acme Detention Services holds an ICE contract, Border Tech a CBP contract,
Oldco an ended ICE contract; Flock Safety has no tie at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from receipts.evidence.models import Entity
from tests.factories import make_entity, make_source, make_tie


@dataclass
class World:
    dhs: Entity
    ice: Entity
    cbp: Entity
    amazon: Entity
    aws: Entity
    acme: Entity
    border_tech: Entity
    oldco: Entity
    flock: Entity


REPORT_TITLE = "AWS and ICE: the hosting contract"


def make_world() -> World:
    dhs = make_entity(
        "U.S. Department of Homeland Security",
        kind="agency",
        aliases=["DHS", "Department of Homeland Security"],
    )
    ice = make_entity("U.S. Immigration and Customs Enforcement", kind="agency", aliases=["ICE"])
    cbp = make_entity("U.S. Customs and Border Protection", kind="agency", aliases=["CBP"])
    make_tie(ice, "part_of", dhs)
    make_tie(cbp, "part_of", dhs)
    amazon = make_entity(
        "Amazon", aliases=["Amazon.com"], identifiers={"ticker": "AMZN", "cusip": "023135106"}
    )
    aws = make_entity("Amazon Web Services", aliases=["AWS"])
    make_tie(amazon, "owns", aws)
    report = make_source(REPORT_TITLE, publisher="The Record", url="https://example.org/aws-ice")
    make_tie(aws, "hosting", ice, source=report, status="alleged", start_date="2018")
    acme = make_entity("Acme Detention Services", identifiers={"uei": "ACMEDET12345"})
    make_tie(acme, "contract", ice, status="active")
    border_tech = make_entity("Border Tech Inc", identifiers={"lei": "5493001KJTIIGC8Y1R12"})
    make_tie(border_tech, "contract", cbp, status="active")
    oldco = make_entity("Oldco Logistics", identifiers={"duns": "012345678"})
    make_tie(oldco, "contract", ice, status="ended", end_date="2019")
    flock = make_entity("Flock Safety")
    return World(dhs, ice, cbp, amazon, aws, acme, border_tech, oldco, flock)


def write_file(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path
