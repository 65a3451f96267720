import pytest

from receipts.evidence import queries
from tests.factories import make_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def names():
    return {
        "amazon": make_entity("Amazon", identifiers={"ticker": "AMZN"}),
        "aws": make_entity("Amazon Web Services", aliases=["AWS"]),
        "aecj": make_entity("Amazon Employees for Climate Justice", kind="organization"),
        "palantir": make_entity("Palantir Technologies", identifiers={"uei": "abc123def456"}),
    }


def test_exact_name_wins_over_partial_matches(names):
    assert queries.resolve_entity("amazon") == names["amazon"]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("AWS", "aws"),
        ("AMZN", "amazon"),
        ("ABC123DEF456", "palantir"),
        ("palantir-technologies", "palantir"),
        ("Palantir", "palantir"),
    ],
)
def test_names_resolve_by_alias_identifier_slug_or_partial_name(names, query, key):
    assert queries.resolve_entity(query) == names[key]


def test_ambiguous_partial_name_lists_candidates(names):
    with pytest.raises(queries.NameAmbiguous) as info:
        queries.resolve_entity("Ama")
    assert "Amazon Web Services" in str(info.value)
    assert "Amazon Employees for Climate Justice" in str(info.value)


def test_unknown_name_is_reported(names):
    with pytest.raises(queries.NameNotFound):
        queries.resolve_entity("Initech")


def test_search_puts_exact_matches_first(names):
    results = queries.search_entities("amazon")
    assert results[0] == names["amazon"]
    assert set(results[1:]) == {names["aws"], names["aecj"]}


def test_search_by_identifier(names):
    assert queries.search_entities("amzn") == [names["amazon"]]


def test_search_sees_past_punctuation_and_lost_leading_zeros():
    whitaker = make_entity("WHITAKER & LINDQVIST NETWORKS LTD", identifiers={"duns": "054885111"})
    make_entity("Lindqvist Holdings")
    assert queries.search_entities("whitaker lindqvist") == [whitaker]
    assert queries.search_entities("Whitaker-Lindqvist") == [whitaker]
    # A DUNS number as a spreadsheet leaves it, without its leading zero.
    assert queries.search_entities("54885111") == [whitaker]
    assert queries.resolve_entity("54885111") == whitaker
