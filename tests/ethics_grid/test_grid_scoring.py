"""Scoring against hand-computed values (ethics_grid.md section 4).

The tiny grid (conftest) has five criteria:
T-1 FRAMING/S1 BEN, T-2 FRAMING/S1 NMAL blocking, T-3 DATA/S2 BEN,
T-4 DATA/S2 NMAL blocking, T-5 MONITORING/S7 ECO.
"""

import pytest

from ethics_grid import (
    Answer,
    AssessmentError,
    EvidenceRef,
    Review,
    blocking_below,
    missing_for_stage,
    score_assessment,
    score_criterion,
)

EXACT = {"abs": 1e-15}
DOC = EvidenceRef("artifact", "9f86d081884c7d65")


@pytest.fixture
def answers():
    # T-1 full with evidence, T-2 initiated, T-3 not applicable, T-4 partial with no
    # evidence, T-5 not answered.
    return {
        "T-1": Answer(3, "done everywhere", [DOC]),
        "T-2": Answer(1, "committee planned"),
        "T-3": Answer(not_applicable=True, justification="no personal data"),
        "T-4": Answer(2, "two sites of four"),
    }


def test_score_criterion_is_maturity_over_three(tiny_grid):
    criterion = tiny_grid.criterion("T-1")
    assert [score_criterion(criterion, Answer(m)).pct for m in range(4)] == [0, 1 / 3, 2 / 3, 1]


def test_score_criterion_without_maturity_says_why(tiny_grid):
    criterion = tiny_grid.criterion("T-1")
    unanswered = score_criterion(criterion, None)
    assert (unanswered.pct, unanswered.answered, unanswered.note) == (None, False, "not answered")
    na = score_criterion(criterion, Answer(not_applicable=True, justification="n/a here"))
    assert (na.pct, na.answered, na.not_applicable, na.note) == (None, True, True, "not applicable")


def test_score_assessment_per_principle_by_hand(tiny_grid, answers):
    score = score_assessment(tiny_grid, answers)
    ben, nmal, eco = score.by_principle
    # BEN: T-1 = 3, T-3 not applicable -> 3 / (3 * 1)
    assert (ben.key, ben.n_applicable, ben.maturity_sum) == ("BEN", 1, 3)
    assert ben.pct == pytest.approx(1.0, **EXACT)
    assert ben.share_answered == pytest.approx(1.0, **EXACT)
    # NMAL: T-2 = 1, T-4 = 2 -> 3 / 6
    assert nmal.pct == pytest.approx(0.5, **EXACT)
    assert nmal.mean_maturity == pytest.approx(1.5, **EXACT)
    assert (nmal.share_at_least_1, nmal.share_at_least_2, nmal.share_at_least_3) == (1.0, 0.5, 0.0)
    # ECO: T-5 unanswered counts as 0 -> 0 / 3, and no mean
    assert eco.pct == 0.0
    assert eco.mean_maturity is None
    assert eco.share_answered == 0.0
    assert eco.undefined_reason == "no criterion answered yet (mean_maturity undefined)"


def test_score_assessment_overall_by_hand(tiny_grid, answers):
    overall = score_assessment(tiny_grid, answers).overall
    # applicable: T-1, T-2, T-4, T-5 (T-3 excluded); sum 3 + 1 + 2 + 0 = 6
    assert (overall.n_criteria, overall.n_not_applicable, overall.n_applicable) == (5, 1, 4)
    assert (overall.n_answered, overall.n_unanswered, overall.maturity_sum) == (3, 1, 6)
    assert overall.pct == pytest.approx(6 / 12, **EXACT)
    assert overall.mean_maturity == pytest.approx(2.0, **EXACT)
    assert overall.share_answered == pytest.approx(4 / 5, **EXACT)
    assert overall.share_at_least_1 == pytest.approx(3 / 4, **EXACT)
    assert overall.share_at_least_2 == pytest.approx(2 / 4, **EXACT)
    assert overall.share_at_least_3 == pytest.approx(1 / 4, **EXACT)
    assert overall.undefined_reason == ""


def test_score_assessment_per_stage_by_hand(tiny_grid, answers):
    score = score_assessment(tiny_grid, answers)
    assert [g.key for g in score.by_stage] == ["FRAMING", "DATA", "MONITORING"]
    assert score.group("FRAMING").pct == pytest.approx(4 / 6, **EXACT)
    assert score.group("DATA").pct == pytest.approx(2 / 3, **EXACT)
    assert score.group("MONITORING").pct == 0.0
    assert score.group("S1_NEEDS").pct == pytest.approx(4 / 6, **EXACT)
    empty = score.group("S3_MODEL")
    assert (empty.n_criteria, empty.pct, empty.share_answered) == (0, None, None)
    assert empty.undefined_reason == "no criteria in this group"


def test_score_assessment_lists_what_is_missing(tiny_grid, answers):
    missing = score_assessment(tiny_grid, answers).missing
    assert missing.unanswered == ("T-5",)
    assert missing.without_evidence == ("T-4",)  # maturity 2 with nothing attached
    assert missing.blocking_below == ("T-2",)  # blocking at maturity 1
    assert missing.not_reviewed == ("T-1", "T-2", "T-3", "T-4")


def test_score_assessment_uses_the_reviewer_value(tiny_grid, answers):
    reviews = {
        "T-1": Review("agree"),
        "T-2": Review("disagree", "no minutes at all", maturity=0),
        "T-3": Review("disagree", "the data are pseudonymised, not anonymous"),
        "T-4": Review("disagree", "evidence link is broken"),
    }
    score = score_assessment(tiny_grid, answers, reviews)
    assert [s.maturity for s in score.criteria] == [3, 0, None, 2, None]
    assert [s.source for s in score.criteria] == ["reviewer", "reviewer", None, "self", None]
    assert score.criterion("T-3").note == "not-applicable justification rejected by the reviewer"
    assert score.criterion("T-4").note == "disputed by the reviewer"
    # T-3 is applicable again and unanswered: (3 + 0 + 0 + 2 + 0) / (3 * 5)
    assert score.overall.pct == pytest.approx(5 / 15, **EXACT)
    assert score.missing.unanswered == ("T-3", "T-5")
    assert score.missing.blocking_below == ("T-2",)
    assert score.missing.not_reviewed == ()


def test_group_of_only_not_applicable_criteria_has_no_pct(tiny_grid):
    answers = {"T-5": Answer(not_applicable=True, justification="no inference on site")}
    eco = score_assessment(tiny_grid, answers).group("ECO")
    assert (eco.pct, eco.share_at_least_1, eco.share_answered) == (None, None, 1.0)
    assert eco.undefined_reason == "every criterion is not applicable"


def test_empty_assessment_scores_zero_with_nothing_answered(grid):
    score = score_assessment(grid, {})
    assert score.overall.pct == 0.0
    assert score.overall.share_answered == 0.0
    assert len(score.missing.unanswered) == 44
    assert len(score.missing.blocking_below) == 9
    assert score.method.startswith("ethics_grid.md section 4")


def test_score_assessment_refuses_ids_of_another_grid(tiny_grid):
    with pytest.raises(AssessmentError) as info:
        score_assessment(tiny_grid, {"ETH-01": Answer(1)}, {"T-9": Review("agree")})
    assert str(info.value) == (
        "assessment does not fit grid version 1: 2 problems\n"
        "- answer ETH-01: not a criterion of grid version 1\n"
        "- review T-9: not a criterion of grid version 1"
    )


def test_missing_for_stage_lists_unanswered_ids_of_that_stage(grid):
    answers = {
        "ETH-01": Answer(0),
        "ETH-03": Answer(not_applicable=True, justification="no patient-facing use"),
        "ETH-07": Answer(2),
        "ETH-08": Answer(3),
        "ETH-02": Answer(None, "draft, not decided yet"),
    }
    assert missing_for_stage(grid, answers, "S1_NEEDS") == ("ETH-02", "ETH-04", "ETH-05", "ETH-06")
    assert missing_for_stage(grid, answers, "FRAMING") == ("ETH-02", "ETH-04", "ETH-05", "ETH-06")
    assert missing_for_stage(grid, answers, "S2_DATA") == (
        "ETH-09",
        "ETH-10",
        "ETH-11",
        "ETH-12",
        "ETH-13",
    )
    assert missing_for_stage(grid, answers, "S5_REGULATORY") == ()


def test_missing_for_stage_counts_a_rejected_not_applicable_as_missing(grid):
    answers = {c.id: Answer(1) for c in grid.by_stage("S1_NEEDS")}
    answers["ETH-03"] = Answer(not_applicable=True, justification="no patients involved")
    assert missing_for_stage(grid, answers, "S1_NEEDS") == ()
    reviews = {"ETH-03": Review("disagree", "patients use the output")}
    assert missing_for_stage(grid, answers, "S1_NEEDS", reviews=reviews) == ("ETH-03",)


def test_missing_for_stage_refuses_an_unknown_stage(grid):
    with pytest.raises(ValueError, match=r"stage must be one of .*; got 'S8'"):
        missing_for_stage(grid, {}, "S8")


def test_blocking_below_at_gate_g5_checks_reached_stages_only(grid):
    answers = {
        "ETH-02": Answer(2, evidence=[DOC]),
        "ETH-08": Answer(1),
        "ETH-11": Answer(3, evidence=[DOC]),
        "ETH-12": Answer(not_applicable=True, justification="no data hosted: on-device only"),
    }
    # ETH-28 is unanswered; S6/S7 blocking criteria are not reached at G5.
    assert blocking_below(grid, answers, up_to_stage="S5_REGULATORY") == ("ETH-08", "ETH-28")
    assert blocking_below(grid, answers) == (
        "ETH-08",
        "ETH-21",
        "ETH-22",
        "ETH-28",
        "ETH-33",
        "ETH-39",
    )
    assert blocking_below(grid, answers, 3, up_to_stage="S2_DATA") == ("ETH-02", "ETH-08")


def test_blocking_below_uses_the_reviewer_maturity(grid):
    answers = {"ETH-02": Answer(3, evidence=[DOC])}
    reviews = {"ETH-02": Review("disagree", "minutes missing for S1", maturity=1)}
    assert blocking_below(grid, answers, up_to_stage="S1_NEEDS") == ()
    assert blocking_below(grid, answers, reviews=reviews, up_to_stage="S1_NEEDS") == ("ETH-02",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": 4}, "level must be one of 0, 1, 2, 3; got 4"),
        ({"level": True}, "level must be one of 0, 1, 2, 3; got True"),
        (
            {"up_to_stage": "G5"},
            "up_to_stage must be one of S1_NEEDS, S2_DATA, S3_MODEL, "
            "S4_VALIDATION, S5_REGULATORY, S6_DEPLOYMENT, S7_POSTMARKET or None; got 'G5'",
        ),
    ],
    ids=["level-too-high", "level-bool", "unknown-stage"],
)
def test_blocking_below_refuses_bad_arguments(grid, kwargs, message):
    with pytest.raises(ValueError) as info:
        blocking_below(grid, {}, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"maturity": 4}, "maturity must be one of 0, 1, 2, 3 or None; got 4"),
        ({"maturity": True}, "maturity must be one of 0, 1, 2, 3 or None; got True"),
        ({"maturity": 2.0}, "maturity must be one of 0, 1, 2, 3 or None; got 2.0"),
        (
            {"maturity": 1, "not_applicable": True, "justification": "x"},
            "a not-applicable answer must not carry a maturity",
        ),
        (
            {"not_applicable": True, "justification": "  "},
            "a not-applicable answer needs a justification",
        ),
        ({"evidence": ["report.pdf"]}, "evidence must hold EvidenceRef items"),
    ],
    ids=[
        "maturity-4",
        "maturity-bool",
        "maturity-float",
        "na-with-maturity",
        "na-no-reason",
        "evidence-str",
    ],
)
def test_answer_refuses_contradictions(kwargs, problem):
    with pytest.raises(AssessmentError) as info:
        Answer(**kwargs)
    assert info.value.problems == (problem,)


def test_evidence_ref_refuses_unknown_kind_and_empty_ref():
    with pytest.raises(AssessmentError) as info:
        EvidenceRef("pdf", " ")
    assert info.value.problems == (
        "kind must be one of artifact, link, alert, calibration, deployment, energy_record, "
        "evaluation, incident, kpi, model_version, monitoring_batch, subgroup_analysis; got 'pdf'",
        "ref must be a non-empty string; got ' '",
    )


def test_review_needs_a_comment_to_disagree():
    with pytest.raises(AssessmentError) as info:
        Review("reject", maturity=5)
    assert info.value.problems == (
        "verdict must be one of agree, disagree; got 'reject'",
        "maturity must be one of 0, 1, 2, 3 or None; got 5",
    )
    with pytest.raises(AssessmentError, match="a disagreement needs a comment"):
        Review("disagree")
