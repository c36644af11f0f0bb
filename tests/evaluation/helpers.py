"""Comparison of plain result data with a float tolerance (summation order changes the last
bits when rows are shuffled)."""

import math


def assert_plain_close(a, b, *, rel=1e-12, abs_=1e-12, path="$"):
    """Assert two ``to_dict()`` trees are equal, floats within the tolerances."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=rel, abs_tol=abs_), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys differ"
        for key in a:
            assert_plain_close(a[key], b[key], rel=rel, abs_=abs_, path=f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_plain_close(x, y, rel=rel, abs_=abs_, path=f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
