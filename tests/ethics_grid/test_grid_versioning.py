"""Carrying an assessment from grid v3 to the test-only v4 example."""

import dataclasses

import pytest

from ethics_grid import Answer, AssessmentError, GridError, carry_over, parse_grid

NA = Answer(not_applicable=True, justification="no personal data processed")


@pytest.fixture
def v3_answers():
    return {
        "ETH-01": Answer(3, "needs analysis done"),
        "ETH-02": Answer(2, "committee named"),
        "ETH-04": Answer(1, "hazard list started"),
        "ETH-05": Answer(1, "rural sites considered"),
        "ETH-08": Answer(2, "DPIA in progress"),
        "ETH-09": NA,
        "ETH-44": Answer(0),
    }


def test_carry_over_keeps_answers_of_unchanged_criteria(grid, v4_grid, v3_answers):
    result = carry_over(v3_answers, grid, v4_grid)
    assert (result.from_version, result.to_version) == ("3", "4")
    assert dict(result.answers) == {"E4-01": v3_answers["ETH-01"], "E4-05": NA}


def test_carry_over_lists_what_must_be_answered_with_reasons(grid, v4_grid, v3_answers):
    result = carry_over(v3_answers, grid, v4_grid)
    assert [(r.criterion_id, r.reason_code, r.reason, r.from_ids) for r in result.to_answer] == [
        ("E4-02", "changed", "changed since version 3 (ETH-02): requirement", ("ETH-02",)),
        ("E4-03", "not_answered", "ETH-03 of version 3 was not answered", ("ETH-03",)),
        (
            "E4-04",
            "merged",
            "merges ETH-05, ETH-11 of version 3; answer it again",
            ("ETH-05", "ETH-11"),
        ),
        ("E4-06", "new", "new in version 4; no criterion of version 3 maps to it", ()),
        # Moving to FRAMING alone would not matter; dropping the blocking flag does.
        ("E4-07", "changed", "changed since version 3 (ETH-08): blocking", ("ETH-08",)),
    ]


def test_carry_over_reports_answers_of_removed_criteria(grid, v4_grid, v3_answers):
    dropped = carry_over(v3_answers, grid, v4_grid).dropped
    assert [(d.criterion_id, d.reason) for d in dropped] == [
        ("ETH-04", "removed in version 4; its answer is not carried"),
        ("ETH-44", "removed in version 4; its answer is not carried"),
    ]


def test_carry_over_result_cannot_be_changed(grid, v4_grid, v3_answers):
    result = carry_over(v3_answers, grid, v4_grid)
    with pytest.raises(TypeError):
        result.answers["E4-06"] = Answer(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.to_answer = ()


def test_carry_over_needs_a_mapping_from_the_old_version(grid, tiny_grid):
    with pytest.raises(GridError) as info:
        carry_over({}, grid, tiny_grid)
    assert str(info.value) == (
        "cannot carry over from version 3 to 1: 1 problem\n"
        "- grid version 1 declares no mapping_from; it needs one from version 3"
    )


def test_carry_over_refuses_a_mapping_that_misses_old_ids(grid, v4_document):
    del v4_document["mapping_from"]["ids"]["ETH-43"]
    del v4_document["mapping_from"]["ids"]["ETH-44"]
    v4_document["mapping_from"]["ids"]["ETH-45"] = None
    with pytest.raises(GridError) as info:
        carry_over({}, grid, parse_grid(v4_document))
    assert info.value.problems == (
        "mapping_from: ids of version 3 not mapped (map them to a new id or to null): "
        "ETH-43, ETH-44",
        "mapping_from: ids not in version 3: ETH-45",
    )


def test_carry_over_refuses_answers_that_do_not_fit_the_old_grid(grid, v4_grid):
    with pytest.raises(AssessmentError, match="answer E4-01: not a criterion of grid version 3"):
        carry_over({"E4-01": Answer(1)}, grid, v4_grid)


def test_v4_example_is_a_draft(v4_grid):
    assert v4_grid.published is False and v4_grid.published_on is None
    assert v4_grid.mapping_from.from_version == "3"
    assert v4_grid.mapping_from.as_dict()["ETH-11"] == "E4-04"
