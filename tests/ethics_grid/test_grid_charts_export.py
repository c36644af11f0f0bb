"""Chart data and flat export rows."""

import pytest

from ethics_grid import (
    ROW_FIELDS,
    Answer,
    EvidenceRef,
    Review,
    heatmap_data,
    radar_data,
    score_assessment,
    to_rows,
)


@pytest.fixture
def answers():
    return {
        "T-1": Answer(
            3, evidence=[EvidenceRef("artifact", "ab"), EvidenceRef("link", "https://x")]
        ),
        "T-2": Answer(1),
        "T-3": Answer(not_applicable=True, justification="no personal data"),
        "T-4": Answer(2),
    }


def test_radar_gives_one_value_per_principle(tiny_grid, answers):
    points = radar_data(score_assessment(tiny_grid, answers))
    assert [(p.principle, p.label, p.value, p.n_applicable) for p in points] == [
        ("BEN", "beneficence", 1.0, 1),
        ("NMAL", "non-maleficence", 0.5, 2),
        ("ECO", "eco-responsibility", 0.0, 1),
    ]


def test_heatmap_by_grid_stage_has_none_where_no_criteria(tiny_grid, answers):
    cells = heatmap_data(score_assessment(tiny_grid, answers))
    assert cells.stages == ("FRAMING", "DATA", "MONITORING")
    assert cells.principles == ("BEN", "NMAL", "ECO")
    assert cells.values == (
        (1.0, pytest.approx(1 / 3, abs=1e-15), None),
        (None, pytest.approx(2 / 3, abs=1e-15), None),  # DATA/BEN: only T-3, not applicable
        (None, None, 0.0),
    )
    assert cells.counts == ((1, 1, 0), (1, 1, 0), (0, 0, 1))


def test_heatmap_by_lifecycle_stage_keeps_empty_stages(grid):
    cells = heatmap_data(score_assessment(grid, {}), stage_axis="lifecycle")
    assert cells.stages[4] == "S5_REGULATORY"
    assert cells.values[4] == (None, None, None, None, None)
    # S6 holds INTERFACE + DEPLOYMENT: BEN 25, 33; NMAL 23, 35, 37; AUT 21, 22, 34;
    # JUS 24, 36; ECO 26, 38.
    assert cells.counts[5] == (2, 3, 3, 2, 2)
    assert sum(map(sum, cells.counts)) == 44


def test_heatmap_of_the_real_grid_by_stage(grid):
    cells = heatmap_data(score_assessment(grid, {"ETH-02": Answer(3), "ETH-04": Answer(2)}))
    assert cells.value("FRAMING", "NMAL") == pytest.approx(5 / 6, abs=1e-15)
    assert cells.value("DATA", "BEN") is None
    assert cells.value("DATA", "NMAL") == 0.0


def test_heatmap_refuses_an_unknown_axis(tiny_grid):
    with pytest.raises(ValueError, match="stage_axis must be 'grid' or 'lifecycle'; got 'S'"):
        heatmap_data(score_assessment(tiny_grid, {}), stage_axis="S")


def test_to_rows_gives_one_flat_row_per_criterion(tiny_grid, answers):
    reviews = {"T-2": Review("disagree", "no minutes", maturity=0)}
    rows = to_rows(tiny_grid, answers, reviews)
    assert [tuple(row) for row in rows] == [ROW_FIELDS] * 5
    assert rows[0]["evidence"] == "artifact:ab; link:https://x"
    assert rows[1] == {
        "grid_version": "1",
        "criterion_id": "T-2",
        "stage": "FRAMING",
        "lifecycle_stage": "S1_NEEDS",
        "principle": "NMAL",
        "blocking": True,
        "requirement": "Requirement of T-2.",
        "self_maturity": 1,
        "not_applicable": False,
        "justification": "",
        "explanation": "",
        "evidence": "",
        "review_verdict": "disagree",
        "review_comment": "no minutes",
        "review_maturity": 0,
        "effective_maturity": 0,
        "effective_pct": 0.0,
    }
    assert (rows[2]["not_applicable"], rows[2]["effective_pct"]) == (True, None)
    assert rows[4]["self_maturity"] is None


def test_to_rows_values_are_plain_scalars(grid):
    rows = to_rows(grid, {"ETH-01": Answer(2)})
    assert len(rows) == 44
    for row in rows:
        assert all(isinstance(v, str | int | float | bool | type(None)) for v in row.values())
