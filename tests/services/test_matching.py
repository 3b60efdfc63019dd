"""Name matching for mapping suggestions (gateway.services.matching): pure, no database.

The service and its API (loading, paging, applying) are tested in tests/api/test_suggestions.py;
here the rules the module docstring states are checked on names alone.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.services.matching import (
    MAX_CANDIDATES,
    MAX_SCORE,
    MIN_SCORE_FLOOR,
    REASON_EXACT,
    distinctive_words,
    match_names,
    normalize,
    score,
)


def score_of(a: str, b: str) -> tuple[int, str]:
    na, nb = normalize(a), normalize(b)
    words = distinctive_words([na, nb])
    return score(na, nb, words[0], words[1])


@pytest.mark.parametrize(
    ("name", "core", "legal"),
    [
        ("Café Müller GmbH", ("cafe", "muller"), ("gmbh",)),
        ("The Smith & Co", ("smith",), ("co",)),
        ("O'Brien L.L.C.", ("obrien",), ("llc",)),
        ("Acme-Tech Limited", ("acme", "tech"), ("ltd",)),
        # Written one way wherever it stands; set apart only at the end.
        ("ACME Incorporated (UK)", ("acme", "inc", "uk"), ()),
        ("The", ("the",), ()),
    ],
)
def test_names_are_normalised_as_documented(name: str, core: tuple, legal: tuple) -> None:
    normalised = normalize(name)
    assert (normalised.core, normalised.legal) == (core, legal)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("ACME Limited", "Acme Ltd", (100, REASON_EXACT)),
        ("The Smith & Co", "Smith and Company", (100, REASON_EXACT)),
        ("Acme", "Acme Ltd", (95, "same name, legal form only on one side")),
        ("Acme Ltd", "Acme Inc", (85, "same name, different legal form")),
        ("Tech Acme", "Acme Tech", (99, "same words in another order")),
        ("Pied Piper Solutions", "Pied Pipr Solutions", (97, "similar name")),
        ("Unit 4 Ltd", "Unit 5 Ltd", (50, "similar name, different numbers")),
        (
            "Brown Consulting Group",
            "Green Consulting Group",
            (51, "similar name, different distinctive word"),
        ),
    ],
)
def test_scores_and_reasons_follow_the_documented_rules(
    a: str, b: str, expected: tuple[int, str]
) -> None:
    assert score_of(a, b) == expected
    assert score_of(b, a) == expected


def test_only_identical_normalised_names_score_100() -> None:
    assert score_of("Acme Group", "Acme Group 57")[0] < MAX_SCORE
    assert score_of("Initech", "Initech LLC")[0] < MAX_SCORE
    assert score_of("Initech", "initech")[0] == MAX_SCORE


def test_the_most_distinctive_word_is_the_rarest_not_the_generic_one() -> None:
    names = [normalize(n) for n in ("Genco Holdings 623", "Acme Holdings", "Hooli Holdings")]
    assert distinctive_words(names) == ["genco", "acme", "hooli"]


def test_exact_names_pair_first_and_the_closest_spelling_wins_inside_a_group() -> None:
    platform = ["Acme Ltd", "ACME LIMITED", "Globex"]
    psa = ["ACME LIMITED", "Globex Corporation", "Umbrella"]

    matches = match_names(platform, psa, 80)

    assert {(m.platform, m.psa, m.score) for m in matches} == {(1, 0, 100), (2, 1, 95)}


def test_a_name_with_one_typo_is_found_by_the_candidate_search() -> None:
    platform = ["Initech Software", "Umbrella Holdings"]
    psa = ["Umbrela Holdings", "Intiech Software", "Globex"]

    found = {(m.platform, m.psa) for m in match_names(platform, psa, 80)}

    assert found == {(0, 1), (1, 0)}


def test_a_name_made_only_of_common_words_still_finds_its_partner() -> None:
    # Every HaloPSA name has "group" and "services": common words, not used for candidates.
    filler = [f"Group Services {chr(97 + i % 26)}{i}x" for i in range(MAX_CANDIDATES)]
    platform = ["Group Services"]
    psa = [*filler, "Group Services Ltd"]

    (match,) = match_names(platform, psa, 80)

    assert (match.psa, match.score) == (len(filler), 95)


def test_unrelated_names_are_not_forced_together() -> None:
    assert match_names(["Initech"], ["Globex"], MIN_SCORE_FLOOR) == []


def test_each_side_is_proposed_at_most_once_best_score_first() -> None:
    # Both platform names like "Acme Ltd" (HaloPSA); the exact one gets it, the other nothing.
    matches = match_names(["Acme Inc", "Acme Ltd"], ["Acme Ltd"], 80)
    assert [(m.platform, m.psa, m.score) for m in matches] == [(1, 0, 100)]


company_word = st.sampled_from(
    ["acme", "globex", "initech", "hooli", "umbrella", "group", "services", "tech", "north"]
)
company_name = st.builds(
    lambda words, legal: " ".join([*words, *legal]),
    st.lists(company_word, min_size=1, max_size=3),
    st.lists(st.sampled_from(["Ltd", "Inc", "Limited", "GmbH"]), max_size=1),
)


@settings(max_examples=60, deadline=None)
@given(
    platform=st.lists(company_name, max_size=12),
    psa=st.lists(company_name, max_size=12),
    low=st.integers(MIN_SCORE_FLOOR, MAX_SCORE),
    high=st.integers(MIN_SCORE_FLOOR, MAX_SCORE),
)
def test_proposals_are_one_to_one_and_a_higher_threshold_keeps_a_prefix(
    platform: list[str], psa: list[str], low: int, high: int
) -> None:
    low, high = sorted((low, high))
    at_low = match_names(platform, psa, low)
    at_high = match_names(platform, psa, high)

    for matches, threshold in ((at_low, low), (at_high, high)):
        assert len({m.platform for m in matches}) == len(matches)
        assert len({m.psa for m in matches}) == len(matches)
        assert all(threshold <= m.score <= MAX_SCORE for m in matches)
    # Greedy, best first: what a stricter threshold proposes, a looser one proposes too.
    assert set(at_high) <= set(at_low)
