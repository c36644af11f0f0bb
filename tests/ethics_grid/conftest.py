"""Fixtures for the ethics grid tests: the real grid, its raw document, a tiny grid."""

import copy
from importlib import resources
from pathlib import Path

import pytest
import yaml

from ethics_grid import load_grid, parse_grid, parse_grid_yaml

DATA = Path(__file__).parent / "data"

_SCALE = [
    {"level": 0, "code": "not_addressed", "label": "not addressed", "meaning": "Nothing."},
    {"level": 1, "code": "initiated", "label": "initiated", "meaning": "A plan."},
    {"level": 2, "code": "partial", "label": "partially", "meaning": "Part of the scope."},
    {"level": 3, "code": "full_with_evidence", "label": "fully", "meaning": "All, evidenced."},
]


def _criterion(ident, stage, lifecycle_stage, principle, blocking):
    return {
        "id": ident,
        "stage": stage,
        "lifecycle_stage": lifecycle_stage,
        "principle": principle,
        "blocking": blocking,
        "requirement": f"Requirement of {ident}.",
        "evidence": [f"evidence for {ident}"],
    }


@pytest.fixture
def tiny_document():
    """A five-criterion grid whose scores are easy to compute by hand."""
    return {
        "grid": {
            "id": "tiny",
            "version": "1",
            "source": "tests",
            "published": False,
            "criteria_count": 5,
            "principles": ["BEN", "NMAL", "ECO"],
            "stages": ["FRAMING", "DATA", "MONITORING"],
            "maturity_scale": copy.deepcopy(_SCALE),
        },
        "criteria": [
            _criterion("T-1", "FRAMING", "S1_NEEDS", "BEN", False),
            _criterion("T-2", "FRAMING", "S1_NEEDS", "NMAL", True),
            _criterion("T-3", "DATA", "S2_DATA", "BEN", False),
            _criterion("T-4", "DATA", "S2_DATA", "NMAL", True),
            _criterion("T-5", "MONITORING", "S7_POSTMARKET", "ECO", False),
        ],
    }


@pytest.fixture
def grid():
    return load_grid("3")


@pytest.fixture
def v3_document():
    """The shipped v3 file as parsed YAML; a fresh copy per test, free to break."""
    text = resources.files("ethics_grid").joinpath("grid_v3.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@pytest.fixture
def tiny_grid(tiny_document):
    return parse_grid(tiny_document)


@pytest.fixture
def v4_grid():
    return parse_grid_yaml((DATA / "grid_v4_example.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def v4_document():
    return yaml.safe_load((DATA / "grid_v4_example.yaml").read_text(encoding="utf-8"))
