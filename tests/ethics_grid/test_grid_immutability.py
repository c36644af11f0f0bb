"""A published grid and everything built from it cannot be changed in place."""

import dataclasses

import pytest

from ethics_grid import Answer, EvidenceRef, Review, score_assessment


def test_grid_and_criteria_are_frozen(grid):
    with pytest.raises(dataclasses.FrozenInstanceError):
        grid.version = "4"
    with pytest.raises(dataclasses.FrozenInstanceError):
        grid.criteria[0].requirement = "anything"
    with pytest.raises(dataclasses.FrozenInstanceError):
        grid.maturity_scale[0].label = "x"


def test_grid_collections_are_tuples(grid):
    assert isinstance(grid.criteria, tuple)
    criterion = grid.criteria[0]
    for name in ("evidence", "computed_evidence", "altai", "legal_refs", "maturity_scale"):
        assert isinstance(getattr(criterion, name), tuple), name
    assert isinstance(grid.by_stage("DATA"), tuple)
    assert isinstance(grid.by_principle("JUS"), tuple)


def test_grid_index_is_read_only(grid):
    with pytest.raises(TypeError):
        grid._by_id["ETH-99"] = grid.criteria[0]


def test_answer_stores_evidence_as_a_tuple():
    evidence = [EvidenceRef("energy_record", "7")]
    answer = Answer(2, evidence=evidence)
    evidence.append(EvidenceRef("link", "https://example.org"))
    assert answer.evidence == (EvidenceRef("energy_record", "7"),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.maturity = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        Review("agree").verdict = "disagree"


def test_scores_are_frozen(grid):
    score = score_assessment(grid, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.overall.pct = 1.0
    assert isinstance(score.criteria, tuple)


def test_published_version_records_its_fingerprint(grid):
    from ethics_grid.published import PUBLISHED_FINGERPRINTS

    assert grid.published and PUBLISHED_FINGERPRINTS["3"] == grid.fingerprint
    assert len(grid.fingerprint) == 64


def test_editing_a_published_version_is_refused(v3_document):
    from ethics_grid import GridError, check_published, parse_grid

    v3_document["criteria"][0]["requirement"] = "A reworded requirement."
    edited = parse_grid(v3_document)
    with pytest.raises(GridError, match="published versions are immutable") as info:
        check_published(edited)
    assert "revert the edit" in info.value.problems[0]


def test_layout_does_not_change_the_fingerprint(grid, v3_document):
    from ethics_grid import parse_grid

    assert parse_grid(v3_document).fingerprint == grid.fingerprint
    reordered = {"criteria": v3_document["criteria"], "grid": v3_document["grid"]}
    assert parse_grid(reordered).fingerprint == grid.fingerprint


def test_publishing_needs_a_recorded_fingerprint(v3_document):
    from ethics_grid import GridError, check_published, parse_grid

    v3_document["grid"]["version"] = "9"
    with pytest.raises(GridError, match="not recorded"):
        check_published(parse_grid(v3_document))
    v3_document["grid"]["published"] = False
    v3_document["grid"]["published_on"] = None
    check_published(parse_grid(v3_document))  # a draft needs no record
    with pytest.raises(GridError, match="cannot become a draft"):
        check_published(parse_grid(v3_document), {"9": "0" * 64})
