"""ethics_grid stays pure: importing and using it pulls in no web, database or registry code."""

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlmodel", "sqlalchemy", "registry", "celery")

MODULES = (
    "ethics_grid.assessment",
    "ethics_grid.charts",
    "ethics_grid.codes",
    "ethics_grid.errors",
    "ethics_grid.export",
    "ethics_grid.grid",
    "ethics_grid.review",
    "ethics_grid.schema",
    "ethics_grid.scoring",
    "ethics_grid.versioning",
)


def test_ethics_grid_imports_no_web_database_or_registry_module():
    # A fresh interpreter: this test process may already hold Flask from other tests.
    code = (
        "import sys, ethics_grid\n"
        "grid = ethics_grid.load_grid()\n"
        "ethics_grid.score_assessment(grid, {})\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    # pytest runs only tests/ (testpaths), so the examples are checked here.
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
