"""HTA opinion rules (hta.md 6.3), checked case by case from the written rules."""

import pytest

from evaluation.errors import EvaluationInputError
from evaluation.hta import derive_opinion, evidence_level

GOOD = {"D1": 3, "D2": 3, "D3": 3, "D4": 2, "D5": 2, "D6": 2, "D7": 3, "D8": 2, "D9": 2}


def scores(**changes):
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    "changes,opinion,rule",
    [
        ({}, "favourable", 3),
        ({"D7": 0}, "unfavourable", 1),
        ({"D2": 1}, "unfavourable", 1),
        ({"D1": 1, "D3": 1}, "unfavourable", 1),
        ({"D1": 1, "D3": "ND"}, "deferred", 2),  # ND ignored by rule 1, counts in rule 2
        ({"D3": 1}, "deferred", 2),
        ({"D7": "ND"}, "deferred", 2),
        ({"D2": "ND"}, "deferred", 2),
        ({"D4": 1}, "favourable_with_conditions", 4),
        ({"D5": "ND"}, "favourable_with_conditions", 4),
        ({"D5": "NA"}, "favourable", 3),
        ({"D1": 2}, "favourable_with_conditions", 4),
        ({"D4": 0}, "favourable_with_conditions", 4),
    ],
)
def test_first_matching_rule_wins(changes, opinion, rule):
    result = derive_opinion(scores(**changes))
    assert (result.opinion, result.rule) == (opinion, rule)


@pytest.mark.parametrize(
    "d1,d3,flag,asa",
    [
        (2, 2, False, "V"),
        (3, 2, False, "IV"),
        (3, 3, False, "III"),
        (4, 2, False, "III"),
        (4, 3, False, "II"),
        (4, 4, False, "II"),
        (4, 4, True, "I"),
    ],
)
def test_asa_suggestion(d1, d3, flag, asa):
    result = derive_opinion(scores(D1=d1, D3=d3), major_mortality_effect=flag)
    assert (result.sa_suggestion, result.asa_suggestion) == ("sufficient", asa)


def test_insufficient_sa_gives_no_asa():
    result = derive_opinion(scores(D3=1))
    assert (result.sa_suggestion, result.asa_suggestion) == ("insufficient", None)


def test_summary_score_uses_default_weights_over_scored_domains():
    result = derive_opinion(scores(D5="NA", D9="ND"))
    # weights D1 3, D2 3, D3 2, D7 2, others 1; D5 and D9 left out
    total = 3 * 3 + 3 * 3 + 2 * 3 + 2 * 3 + 2 + 2 + 2
    assert result.summary_score == pytest.approx(100 * total / (4 * (3 + 3 + 2 + 2 + 1 + 1 + 1)))


def test_invalid_scores_are_all_reported():
    bad = {**GOOD, "D1": 5, "D7": "NA", "D10": 1}
    del bad["D9"]
    with pytest.raises(EvaluationInputError) as info:
        derive_opinion(bad)
    assert info.value.problems == (
        "scores: domains ['D9'] missing; score every domain 0-4, NA or ND",
        "scores: unknown domains ['D10']; domains are D1 to D9",
        "scores: D1 must be 0-4, 'NA' or 'ND'. Got 5 instead",
        "scores: D7 is a critical domain and cannot be 'NA'; score it 0-4 or 'ND'",
    )


@pytest.mark.parametrize(
    "kind,level",
    [(None, "L0"), ("internal", "L1"), ("external", "L2"), ("prospective", "L3"), ("rct", "L4")],
)
def test_evidence_level_from_dataset_kind(kind, level):
    assert evidence_level(kind).level == level


def test_unknown_dataset_kind_is_refused():
    with pytest.raises(EvaluationInputError, match="Got 'synthetic' instead"):
        evidence_level("synthetic")
