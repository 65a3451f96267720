"""The closed sets of kinds and statuses of the evidence, each defined once.

Plain data without Django, so the command line can offer them as choices before
Django is set up; the models build their ``TextChoices`` from the same lists.
Each entry is ``(NAME, (value, label))``: the value is what the database stores.
"""

from __future__ import annotations

Vocabulary = list[tuple[str, tuple[str, str]]]

ENTITY_KINDS: Vocabulary = [
    ("COMPANY", ("company", "Company")),
    ("AGENCY", ("agency", "Government agency")),
    ("ORGANIZATION", ("organization", "Organisation")),
    ("PRODUCT", ("product", "Product or programme")),
]

SOURCE_KINDS: Vocabulary = [
    ("GOVERNMENT_RECORD", ("government_record", "Government record")),
    ("DATASET_ROW", ("dataset_row", "Dataset row")),
    ("NEWS_REPORT", ("news_report", "News report")),
    ("COMPANY_STATEMENT", ("company_statement", "Company statement")),
    ("COURT_FILING", ("court_filing", "Court filing")),
    ("ORGANISER_REPORT", ("organiser_report", "Organiser report")),
]

TIE_KINDS: Vocabulary = [
    ("OWNS", ("owns", "Owns")),
    ("PART_OF", ("part_of", "Part of")),
    ("CONTRACT", ("contract", "Contract")),
    ("HOSTING", ("hosting", "Hosting")),
    ("PARTNERSHIP", ("partnership", "Partnership")),
    ("DATA_SHARING", ("data_sharing", "Data sharing")),
    ("INVESTMENT", ("investment", "Investment")),
    ("MEMBER_OF", ("member_of", "Member of")),
    ("OTHER", ("other", "Other dealings")),
]

# Accepted when a tie is recorded and stored as ``owns`` with its ends swapped.
SUBSIDIARY_OF = "subsidiary_of"

TIE_STATUSES: Vocabulary = [
    ("ACTIVE", ("active", "Active")),
    ("ENDED", ("ended", "Ended")),
    ("ANNOUNCED", ("announced", "Announced")),
    ("ALLEGED", ("alleged", "Alleged")),
]

# Whose dealings a rolled-up family's totals count.
MEMBERS_BASES: Vocabulary = [
    ("DATED", ("dated", "Members while owned (dated by the records)")),
    ("CURRENT", ("current", "Today's members, whole history")),
]


def values(vocabulary: Vocabulary) -> list[str]:
    """The stored values of a vocabulary, in order: what a command line offers."""
    return [value for _name, (value, _label) in vocabulary]
