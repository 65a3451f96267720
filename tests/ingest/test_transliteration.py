"""Transliteration to ASCII, which name keys rest on, works from the installed ICU wheels.

The `icu` module comes prebuilt (``pyicu-wheels``) instead of compiled from
source; a wheel that fails to load, or lacks ICU's transliteration data,
breaks every name comparison of the imports and of screening.
"""

from __future__ import annotations

import normality
import pytest
from rigour.text import ascii_text

from receipts.ingest.resolution import name_key


def test_icu_module_loads_and_transliterates() -> None:
    import icu

    to_ascii = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")
    assert to_ascii.transliterate("Łódź") == "Lodz"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Łódź", "Lodz"),
        ("Société Générale", "Societe Generale"),
        ("Владимир Путин", "Vladimir Putin"),
        ("北京", "bei jing"),
    ],
)
def test_ascii_text_reaches_ascii_from_other_scripts(text: str, expected: str) -> None:
    assert normality.ascii_text(text) == expected
    assert ascii_text(text) == expected


def test_name_keys_of_names_in_other_scripts() -> None:
    assert name_key("Łódź Metal Sp. z o.o.") == "lodz metal sp z oo"
    assert name_key("ООО Газпром") == "ooo gazprom"
    assert name_key("Straße GmbH") == "strasse gmbh"
