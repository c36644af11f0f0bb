"""A malformed grid raises GridError listing every problem with its id and field."""

import pytest

from ethics_grid import GridError, parse_grid, parse_grid_yaml


def _problems(document):
    with pytest.raises(GridError) as info:
        parse_grid(document)
    return list(info.value.problems)


def test_the_shipped_document_passes_as_is(v3_document):
    assert len(parse_grid(v3_document).criteria) == 44


def test_duplicate_id_is_reported_against_the_first_entry(v3_document):
    v3_document["criteria"][2]["id"] = "ETH-02"
    assert _problems(v3_document) == ["criterion ETH-02 (entry 3): field 'id' duplicates entry 2"]


def test_missing_field_is_named(v3_document):
    del v3_document["criteria"][3]["principle"]
    assert _problems(v3_document) == ["criterion ETH-04 (entry 4): field 'principle' is missing"]


def test_unknown_principle_lists_the_allowed_codes(v3_document):
    v3_document["criteria"][4]["principle"] = "FAIR"
    assert _problems(v3_document) == [
        "criterion ETH-05 (entry 5): field 'principle' must be one of "
        "BEN, NMAL, AUT, JUS, ECO; got string 'FAIR'"
    ]


def test_unknown_lifecycle_stage_lists_the_allowed_codes(v3_document):
    v3_document["criteria"][0]["lifecycle_stage"] = "S1_needs"
    assert _problems(v3_document) == [
        "criterion ETH-01 (entry 1): field 'lifecycle_stage' must be one of S1_NEEDS, "
        "S2_DATA, S3_MODEL, S4_VALIDATION, S5_REGULATORY, S6_DEPLOYMENT, S7_POSTMARKET; "
        "got string 'S1_needs'"
    ]


def test_every_problem_is_listed_at_once_in_document_order(v3_document):
    v3_document["criteria"][2]["id"] = "ETH-02"
    del v3_document["criteria"][3]["principle"]
    v3_document["criteria"][4]["principle"] = "FAIR"
    v3_document["criteria"][5]["blocking"] = "yes"
    v3_document["criteria"][6]["requirement"] = "   "
    v3_document["criteria"][7]["weight"] = 2
    v3_document["criteria"][8]["evidence"] = []
    del v3_document["criteria"][9]["id"]
    v3_document["criteria"].pop()
    with pytest.raises(GridError) as info:
        parse_grid(v3_document)
    assert str(info.value) == "\n".join(
        [
            "invalid ethics grid (version '3'): 9 problems",
            "- grid: field 'criteria_count' declares 44 criteria; the file lists 43",
            "- criterion ETH-02 (entry 3): field 'id' duplicates entry 2",
            "- criterion ETH-04 (entry 4): field 'principle' is missing",
            "- criterion ETH-05 (entry 5): field 'principle' must be one of "
            "BEN, NMAL, AUT, JUS, ECO; got string 'FAIR'",
            "- criterion ETH-06 (entry 6): field 'blocking' must be a boolean (true or false); "
            "got string 'yes'",
            "- criterion ETH-07 (entry 7): field 'requirement' must not be empty",
            "- criterion ETH-08 (entry 8): field 'weight' is not a known field",
            "- criterion ETH-09 (entry 9): field 'evidence' must list at least 1 item",
            "- criterion entry 10: field 'id' is missing",
        ]
    )


def test_declared_count_must_match(v3_document):
    v3_document["grid"]["criteria_count"] = 43
    assert _problems(v3_document) == [
        "grid: field 'criteria_count' declares 43 criteria; the file lists 44"
    ]


def test_missing_header_fields_are_each_named():
    problems = _problems({"grid": {}, "criteria": []})
    assert problems == [
        "grid: field 'id' is missing",
        "grid: field 'version' is missing",
        "grid: field 'source' is missing",
        "grid: field 'published' is missing",
        "grid: field 'criteria_count' is missing",
        "grid: field 'principles' is missing",
        "grid: field 'stages' is missing",
    ]


def test_a_document_that_is_not_a_mapping_is_refused():
    assert _problems(["ETH-01"]) == [
        "document: must be a mapping with 'grid' and 'criteria'; got a list"
    ]


def test_published_grid_needs_a_valid_date(v3_document):
    v3_document["grid"]["published_on"] = None
    assert _problems(v3_document) == [
        "grid: field 'published_on' is required when 'published' is true"
    ]
    v3_document["grid"]["published_on"] = "2026-13-01"
    assert _problems(v3_document) == [
        "grid: field 'published_on' must be a date YYYY-MM-DD; got '2026-13-01'"
    ]


def test_maturity_scale_must_have_levels_0_to_3(v3_document):
    del v3_document["grid"]["maturity_scale"][2]
    assert _problems(v3_document) == [
        "grid: field 'maturity_scale' must list levels 0, 1, 2, 3 in order; got 0, 1, 3"
    ]


def test_every_criterion_needs_a_scale_when_the_grid_has_none(tiny_document):
    scale = tiny_document["grid"].pop("maturity_scale")
    for entry in tiny_document["criteria"][1:]:
        entry["maturity_scale"] = scale
    assert _problems(tiny_document) == [
        "criterion T-1 (entry 1): field 'maturity_scale' is missing "
        "and the grid declares no default scale"
    ]


def test_a_criterion_scale_overrides_the_grid_scale(tiny_document):
    own = [
        dict(level, meaning=f"T-1 level {level['level']}")
        for level in tiny_document["grid"]["maturity_scale"]
    ]
    tiny_document["criteria"][0]["maturity_scale"] = own
    grid = parse_grid(tiny_document)
    assert grid.criterion("T-1").maturity_scale[3].meaning == "T-1 level 3"
    assert grid.criterion("T-2").maturity_scale == grid.maturity_scale


def test_principle_outside_the_declared_list_is_refused(tiny_document):
    tiny_document["criteria"][0]["principle"] = "JUS"
    assert _problems(tiny_document) == [
        "criterion T-1 (entry 1): field 'principle' 'JUS' is not declared in grid.principles"
    ]


def test_mapping_must_point_at_criteria_of_the_grid(v4_document):
    v4_document["mapping_from"]["ids"]["ETH-04"] = "E4-99"
    assert _problems(v4_document) == [
        "mapping_from: field 'ids.ETH-04' maps to 'E4-99', which is not a criterion of this grid"
    ]


def test_yaml_with_a_repeated_key_is_refused():
    text = "grid:\n  id: a\n  id: b\ncriteria: []\n"
    with pytest.raises(GridError) as info:
        parse_grid_yaml(text)
    assert info.value.summary == "unreadable ethics grid YAML"
    assert "key 'id' is repeated" in info.value.problems[0]
    assert "line 3" in info.value.problems[0]


def test_yaml_that_does_not_parse_is_refused():
    with pytest.raises(GridError, match="unreadable ethics grid YAML: 1 problem"):
        parse_grid_yaml("grid: [unclosed\n")


def test_unquoted_yaml_date_is_accepted(v3_document):
    import datetime as dt

    v3_document["grid"]["published_on"] = dt.date(2026, 11, 24)
    assert parse_grid(v3_document).published_on == dt.date(2026, 11, 24)
