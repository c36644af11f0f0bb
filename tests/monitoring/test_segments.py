"""Per-subgroup and per-site analyses: a local shift is found, small segments are flagged."""

import numpy as np
import pandas as pd
import pytest

from monitoring.errors import MonitoringInputError
from monitoring.performance import binary_performance
from monitoring.segments import drift_by_segment, performance_by_segment


def _population(n, seed, *, shift_women=0.0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.15, 0.85])
    lactate = rng.normal(2.0, 0.5, n) + np.where(sex == "F", shift_women, 0.0)
    return pd.DataFrame({"sex": sex, "lactate": lactate, "site": rng.choice(["lyon", "nice"], n)})


def test_shift_confined_to_one_subgroup_is_found_in_that_segment_only():
    ref = _population(900, seed=0)
    cur = _population(900, seed=1, shift_women=0.6)
    segmented = drift_by_segment(ref, cur, subgroup_columns=["sex"])
    by_value = {s.segment: s for s in segmented.segments}
    assert by_value["F"].drift.column("lactate").drifted is True
    assert by_value["M"].drift.column("lactate").drifted is False
    assert segmented.drifted_segments == ("sex=F",)
    assert by_value["F"].reference_scope == "segment"
    # The segment column itself is not a feature inside its own segments.
    assert [c.column for c in by_value["F"].drift.columns] == ["lactate", "site"]


def test_small_segments_are_flagged_not_tested():
    ref = _population(400, seed=2)
    cur = _population(400, seed=3)
    cur.loc[:4, "site"] = "brest"
    cur.loc[5:6, "site"] = None
    segmented = drift_by_segment(
        ref.drop(columns="site"), cur, site_column="site", min_segment_size=30
    )
    by_value = {s.segment: s for s in segmented.segments}
    assert list(by_value) == ["brest", "lyon", "nice", "(missing)"]
    assert by_value["brest"].small and by_value["brest"].drift is None
    assert by_value["brest"].skipped_reason == (
        "segment site=brest has 400 reference and 5 current rows; at least 30 are needed on "
        "each side to test it"
    )
    assert by_value["lyon"].reference_scope == "whole reference"
    assert segmented.small_segments == ("site=brest", "site=(missing)")


def test_performance_by_segment_recomputes_each_group_from_masks():
    rng = np.random.default_rng(4)
    n = 600
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "site": rng.choice(["lyon", "nice", "brest"], n, p=[0.5, 0.45, 0.05]),
        }
    )
    frame["score"] = np.clip(frame["y"] * 0.3 + rng.uniform(size=n) * 0.7, 0, 1)
    result = performance_by_segment(
        frame, label_column="y", score_column="score", threshold=0.5, site_column="site",
        min_segment_size=50,
    )  # fmt: skip
    by_value = {s.segment: s for s in result.segments}
    assert by_value["brest"].small and by_value["brest"].performance is None
    for site in ("lyon", "nice"):
        part = frame[frame["site"] == site]
        expected = binary_performance(part["y"], part["score"], threshold=0.5)
        assert by_value[site].performance.metric("sensitivity").value == pytest.approx(
            expected.metric("sensitivity").value, abs=1e-12
        )
        assert by_value[site].n == len(part)


def test_unknown_segment_column_is_reported():
    with pytest.raises(MonitoringInputError) as caught:
        drift_by_segment(_population(10, 0), _population(10, 1), subgroup_columns=["age_band"],
                         min_segment_size=0)  # fmt: skip
    assert caught.value.problems == (
        "subgroup column 'age_band' is missing from the batch",
        "min_segment_size must be a positive integer. Got 0 instead",
    )
