"""The package states its purity rule, and every docstring example runs.

The import check itself (no Flask, database or registry modules) is tests/test_pure_libraries.py.
"""

import doctest
import importlib
import pkgutil

import pytest

import evaluation

MODULES = sorted(m.name for m in pkgutil.iter_modules(evaluation.__path__, "evaluation."))


def test_package_docstring_states_the_purity_rule():
    assert evaluation.__doc__.startswith(
        "Pure: arrays in, typed results out; no Flask, no database, no registry."
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
