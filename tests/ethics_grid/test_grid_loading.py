"""The shipped grid v3 loads, validates and matches ethics_grid.md section 3."""

import datetime as dt
from collections import Counter

import pytest

from ethics_grid import (
    GRID_STAGES,
    LIFECYCLE_STAGES,
    PRINCIPLES,
    GridError,
    available_versions,
    grid_json_schema,
    load_grid,
)

# Hand-copied from ethics_grid.md section 3 ("Coverage check" and the B marks);
# never derived from the YAML, so a wrong edit of the data fails here.
EXPECTED_PER_STAGE = {
    "FRAMING": 7,
    "DATA": 6,
    "DESIGN": 7,
    "INTERFACE": 6,
    "EVALUATION": 6,
    "DEPLOYMENT": 6,
    "MONITORING": 6,
}
EXPECTED_PER_PRINCIPLE = {"BEN": 8, "NMAL": 13, "AUT": 9, "JUS": 7, "ECO": 7}
EXPECTED_BLOCKING = (
    "ETH-02",
    "ETH-08",
    "ETH-11",
    "ETH-12",
    "ETH-21",
    "ETH-22",
    "ETH-28",
    "ETH-33",
    "ETH-39",
)
# Principle of every criterion, from the reference tables, in id order.
EXPECTED_PRINCIPLES = (
    "BEN NMAL AUT NMAL JUS ECO AUT "  # FRAMING 01-07
    "NMAL AUT NMAL JUS NMAL ECO "  # DATA 08-13
    "BEN NMAL JUS AUT NMAL ECO BEN "  # DESIGN 14-20
    "AUT AUT NMAL JUS BEN ECO "  # INTERFACE 21-26
    "BEN JUS NMAL BEN AUT ECO "  # EVALUATION 27-32
    "BEN AUT NMAL JUS NMAL ECO "  # DEPLOYMENT 33-38
    "NMAL JUS BEN AUT NMAL ECO"  # MONITORING 39-44
).split()
# lifecycle.md section 1: framing = S1, data = S2, algorithm = S3, evaluation = S4,
# interfaces and deployment = S6, follow-up = S7.
EXPECTED_LIFECYCLE = {
    "FRAMING": "S1_NEEDS",
    "DATA": "S2_DATA",
    "DESIGN": "S3_MODEL",
    "INTERFACE": "S6_DEPLOYMENT",
    "EVALUATION": "S4_VALIDATION",
    "DEPLOYMENT": "S6_DEPLOYMENT",
    "MONITORING": "S7_POSTMARKET",
}


def test_load_grid_gives_44_criteria_numbered_in_order(grid):
    assert len(grid.criteria) == 44
    assert grid.ids == tuple(f"ETH-{n:02d}" for n in range(1, 45))


def test_load_grid_counts_per_stage_match_the_reference(grid):
    assert Counter(c.stage for c in grid.criteria) == EXPECTED_PER_STAGE


def test_load_grid_counts_per_principle_match_the_reference(grid):
    assert Counter(c.principle for c in grid.criteria) == EXPECTED_PER_PRINCIPLE


def test_load_grid_principle_of_each_criterion_matches_the_reference(grid):
    assert tuple(c.principle for c in grid.criteria) == tuple(EXPECTED_PRINCIPLES)


def test_load_grid_blocking_criteria_match_the_reference(grid):
    assert tuple(c.id for c in grid.blocking) == EXPECTED_BLOCKING


def test_load_grid_maps_each_stage_to_its_lifecycle_stage(grid):
    for criterion in grid.criteria:
        assert criterion.lifecycle_stage == EXPECTED_LIFECYCLE[criterion.stage], criterion.id


def test_load_grid_header_says_what_the_grid_is(grid):
    assert grid.id == "dmd-registry-ethics"
    assert grid.version == "3"
    assert grid.label == "3.0-registry"
    assert grid.source == "registry_operationalisation"
    assert grid.published is True
    assert isinstance(grid.published_on, dt.date)
    assert grid.principles == PRINCIPLES == ("BEN", "NMAL", "AUT", "JUS", "ECO")
    assert grid.stages == GRID_STAGES


def test_load_grid_every_criterion_has_the_four_level_scale(grid):
    for criterion in grid.criteria:
        assert [level.level for level in criterion.maturity_scale] == [0, 1, 2, 3]
        assert criterion.requirement and criterion.evidence
    assert [level.code for level in grid.maturity_scale] == [
        "not_addressed",
        "initiated",
        "partial",
        "full_with_evidence",
    ]


def test_load_grid_keeps_evidence_and_references_of_a_criterion(grid):
    criterion = grid.criterion("ETH-28")
    assert criterion.stage == "EVALUATION"
    assert criterion.evidence == ("subgroup table with CIs", "gap analysis")
    assert criterion.computed_evidence == ("subgroup_analysis",)
    assert criterion.altai == ("A5",)
    assert grid.criterion("ETH-44").computed_evidence == ("energy_record",)
    assert "calibration" in grid.criterion("ETH-27").computed_evidence


def test_by_stage_accepts_grid_and_lifecycle_codes(grid):
    assert [c.id for c in grid.by_stage("FRAMING")] == [f"ETH-0{n}" for n in range(1, 8)]
    assert grid.by_stage("S1_NEEDS") == grid.by_stage("FRAMING")
    # S6 gathers the interface and the deployment criteria.
    assert [c.id for c in grid.by_stage("S6_DEPLOYMENT")] == [
        f"ETH-{n}" for n in (*range(21, 27), *range(33, 39))
    ]
    assert grid.by_stage("S5_REGULATORY") == ()


def test_by_stage_refuses_an_unknown_stage(grid):
    allowed = ", ".join((*GRID_STAGES, *LIFECYCLE_STAGES))
    with pytest.raises(ValueError) as info:
        grid.by_stage("S1_needs")
    assert str(info.value) == f"stage must be one of {allowed}; got 'S1_needs'"


def test_by_principle_lists_criteria_in_grid_order(grid):
    assert [c.id for c in grid.by_principle("ECO")] == [
        "ETH-06",
        "ETH-13",
        "ETH-19",
        "ETH-26",
        "ETH-32",
        "ETH-38",
        "ETH-44",
    ]
    with pytest.raises(ValueError, match=r"principle must be one of .*; got 'FAIR'"):
        grid.by_principle("FAIR")


def test_criterion_lookup_of_an_unknown_id_names_the_version(grid):
    with pytest.raises(KeyError) as info:
        grid.criterion("ETH-45")
    assert info.value.args[0] == "criterion 'ETH-45' is not in ethics grid version '3'"
    assert grid.has("ETH-44") and not grid.has("ETH-45")


def test_available_versions_lists_only_the_published_grid():
    # The v4 example lives in tests/ethics_grid/data and must not be shipped.
    assert available_versions() == ("3",)


def test_load_grid_refuses_a_version_that_is_not_shipped():
    with pytest.raises(GridError) as info:
        load_grid("4")
    assert str(info.value) == (
        "unknown ethics grid version: 1 problem\n"
        "- version '4' is not shipped; available versions: 3"
    )


def test_load_grid_refuses_a_path_instead_of_a_version():
    with pytest.raises(GridError, match="version '../x' is not shipped"):
        load_grid("../x")


def test_load_grid_returns_equal_grids_on_each_call():
    assert load_grid() == load_grid("3")


def test_grid_json_schema_is_a_copy_with_the_code_lists():
    schema = grid_json_schema()
    criterion = schema["properties"]["criteria"]["items"]["properties"]
    assert criterion["principle"]["enum"] == list(PRINCIPLES)
    assert criterion["lifecycle_stage"]["enum"] == list(LIFECYCLE_STAGES)
    schema["required"].append("x")
    assert grid_json_schema()["required"] == ["grid", "criteria"]
