"""The evaluation package stays pure: importing it pulls in no web, database or registry code."""

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import evaluation

FORBIDDEN = ("flask", "sqlmodel", "sqlalchemy", "registry", "celery")
MODULES = sorted(m.name for m in pkgutil.iter_modules(evaluation.__path__, "evaluation."))


def test_import_evaluation_loads_no_web_database_or_registry_module():
    code = (
        "import sys, evaluation, evaluation.evaluate, evaluation.hta, evaluation.compare; "
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_package_docstring_states_the_purity_rule():
    assert evaluation.__doc__.startswith(
        "Pure: arrays in, typed results out; no Flask, no database, no registry."
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
