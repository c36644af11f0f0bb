"""Side-by-side comparison of a self-assessment and its review."""

import pytest

from ethics_grid import Answer, AssessmentError, EvidenceRef, Review, compare_review


@pytest.fixture
def answers():
    return {
        "T-1": Answer(3, "all sites", [EvidenceRef("subgroup_analysis", "42")]),
        "T-2": Answer(2, "partly"),
        "T-3": Answer(not_applicable=True, justification="no personal data"),
        "T-4": Answer(1, "plan only"),
    }


@pytest.fixture
def reviews():
    return {
        "T-1": Review("agree", "checked the table"),
        "T-2": Review("disagree", "no minutes", maturity=1),
        "T-3": Review("disagree", "data are only pseudonymised"),
    }


def test_compare_review_rows_put_both_views_side_by_side(tiny_grid, answers, reviews):
    rows = compare_review(tiny_grid, answers, reviews).rows
    assert [r.status for r in rows] == [
        "agreed",
        "disagreed",
        "disagreed",
        "not_reviewed",
        "not_answered",
    ]
    first, second, third = rows[:3]
    assert first.self_evidence == ("subgroup_analysis:42",)
    assert (first.self_maturity, first.effective_maturity, first.maturity_change) == (3, 3, 0)
    assert (second.self_maturity, second.reviewer_maturity, second.effective_maturity) == (2, 1, 1)
    assert second.maturity_change == -1
    assert second.reviewer_comment == "no minutes"
    assert third.self_not_applicable and not third.effective_not_applicable
    assert third.effective_maturity is None and third.maturity_change is None
    assert rows[3].verdict is None and rows[4].self_maturity is None


def test_compare_review_statistics_per_principle(tiny_grid, answers, reviews):
    result = compare_review(tiny_grid, answers, reviews)
    ben, nmal, eco = result.by_principle
    # BEN: T-1 agreed, T-3 disagreed -> 1 / 2
    assert (ben.n_answered, ben.n_reviewed, ben.n_agree, ben.n_disagree) == (2, 2, 1, 1)
    assert ben.agreement_rate == 0.5 and ben.review_coverage == 1.0
    # NMAL: T-2 lowered from 2 to 1, T-4 not reviewed
    assert (nmal.n_reviewed, nmal.n_lowered, nmal.n_raised) == (1, 1, 0)
    assert nmal.agreement_rate == 0.0 and nmal.review_coverage == 0.5
    # ECO: nothing answered, so nothing to compare
    assert (eco.agreement_rate, eco.review_coverage) == (None, None)
    assert eco.undefined_reason == "no criterion answered"
    assert result.overall.agreement_rate == pytest.approx(1 / 3, abs=1e-15)
    assert result.overall.review_coverage == pytest.approx(3 / 4, abs=1e-15)


def test_compare_review_with_no_review_yet(tiny_grid, answers):
    overall = compare_review(tiny_grid, answers, {}).overall
    assert (overall.n_reviewed, overall.agreement_rate, overall.review_coverage) == (0, None, 0.0)
    assert overall.undefined_reason == "no criterion reviewed"


def test_compare_review_counts_a_raised_maturity(tiny_grid):
    result = compare_review(
        tiny_grid, {"T-4": Answer(1)}, {"T-4": Review("disagree", "logs exist", maturity=3)}
    )
    assert (result.overall.n_raised, result.overall.n_lowered) == (1, 0)


def test_compare_review_refuses_an_agree_that_changes_the_maturity(tiny_grid, answers):
    with pytest.raises(AssessmentError) as info:
        compare_review(
            tiny_grid,
            answers,
            {"T-1": Review("agree", maturity=2), "T-5": Review("disagree", "please answer")},
        )
    assert info.value.problems == (
        "review T-1: an 'agree' verdict keeps the self-assessed maturity (3); got 2 "
        "(use 'disagree' to change it)",
        "review T-5: the criterion has no self-assessment answer to review",
    )
