"""Subgroup analysis: each level recomputed from its mask, degenerate levels, flags, spread."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from evaluation import KpiSpec, binary, evaluate

from .helpers import assert_plain_close


@pytest.fixture
def frame():
    rng = np.random.default_rng(51)
    n = 900
    y = rng.random(n) < 0.4
    score = np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1)
    vendor = rng.choice(["GE", "Philips", "Siemens"], n)
    # A vendor where the model is useless, to trigger a KPI flag.
    weak = vendor == "Siemens"
    score[weak] = rng.uniform(0, 1, weak.sum())
    age = np.where(rng.random(n) < 0.05, ">=80", "<80")
    age[:3] = "90+"
    y[:3] = False  # the "90+" level has no positive case
    return pd.DataFrame({"y": y.astype(int), "p": score, "vendor": vendor, "age": age})


def run(frame, **kwargs):
    return evaluate(
        frame,
        task="binary",
        columns={"y_true": "y", "y_score": "p"},
        n_resamples=100,
        subgroup_columns=["vendor", "age"],
        **kwargs,
    )


def level(report, column, name):
    col = next(c for c in report.subgroups if c.column == column)
    return next(lv for lv in col.levels if lv.level == name)


def test_each_level_is_recomputed_from_its_mask(frame):
    report = run(frame)
    for vendor in ("GE", "Philips", "Siemens"):
        mask = (frame["vendor"] == vendor).to_numpy()
        y, p = frame["y"].to_numpy()[mask] == 1, frame["p"].to_numpy()[mask]
        lv = level(report, "vendor", vendor)
        assert lv.metrics["auc"].value == pytest.approx(roc_auc_score(y, p), abs=1e-14)
        assert (
            lv.metrics["sensitivity"]
            == binary.threshold_metrics(y, p, threshold=0.5)["sensitivity"]
        )
        assert lv.gaps["auc"] == pytest.approx(
            lv.metrics["auc"].value - report.metrics["auc"].value, abs=1e-15
        )
        assert lv.calibration is not None
        assert (lv.n, lv.n_positive) == (mask.sum(), y.sum())


def test_level_without_positive_cases_is_undefined_not_zero(frame):
    lv = level(run(frame), "age", "90+")
    assert lv.metrics["auc"].value is None
    assert lv.metrics["auc"].undefined_reason == "no positive cases"
    assert lv.metrics["sensitivity"].undefined_reason == "no positive cases"
    assert lv.metrics["calibration_slope"].undefined_reason == "no positive cases"
    assert lv.gaps["auc"] is None
    assert lv.insufficient_data
    assert lv.insufficient_reason == (
        "0 positive and 3 negative cases; at least 30 of each are needed to conclude"
    )


def test_minimum_size_rule_is_stated_and_applied(frame):
    report = run(frame, min_subgroup_n=100)
    col = next(c for c in report.subgroups if c.column == "vendor")
    assert col.minimum_rule == (
        "insufficient data when fewer than 100 positive or fewer than 100 negative cases"
    )
    for lv in col.levels:
        assert lv.insufficient_data == (lv.n_positive < 100 or lv.n_negative < 100)


def test_kpi_flag_when_subgroup_interval_is_wholly_on_the_wrong_side(frame):
    report = run(frame, kpis=[KpiSpec("auc", ">=", threshold=0.75)])
    assert (
        level(report, "vendor", "Siemens")
        .kpi_flags[0]
        .startswith("not_met: auc >= 0.75 requires the lower bound")
    )
    assert level(report, "vendor", "GE").kpi_flags == ()


def test_spread_names_worst_and_best_levels(frame):
    col = next(c for c in run(frame).subgroups if c.column == "vendor")
    spread = col.spread["auc"]
    values = {lv.level: lv.metrics["auc"].value for lv in col.levels}
    assert spread.worst_level == min(values, key=values.get) == "Siemens"
    assert spread.ratio == pytest.approx(min(values.values()) / max(values.values()))
    assert "calibration_slope" not in col.spread
    brier = col.spread["brier"]
    brier_values = {lv.level: lv.metrics["brier"].value for lv in col.levels}
    assert brier.worst_level == max(brier_values, key=brier_values.get)


def test_subgroups_do_not_depend_on_row_order(frame):
    shuffled = frame.sample(frac=1.0, random_state=3)
    assert_plain_close(
        [c.to_dict() for c in run(frame).subgroups], [c.to_dict() for c in run(shuffled).subgroups]
    )


def test_level_below_the_minimum_keeps_the_shortfall_its_interval_shows(frame):
    # Siemens fails the KPI with 100+ of each class; at a minimum above its size it is
    # insufficient data, which cannot hide a shortfall (nor, elsewhere, make a KPI met).
    kpi = KpiSpec("auc", ">=", threshold=0.75)
    siemens = level(run(frame, kpis=[kpi]), "vendor", "Siemens")
    assert siemens.kpi_flags and not siemens.insufficient_data
    minimum = max(siemens.n_positive, siemens.n_negative) + 1
    small = level(run(frame, kpis=[kpi], min_subgroup_n=minimum), "vendor", "Siemens")
    assert small.insufficient_data and len(small.kpi_flags) == len(siemens.kpi_flags)
    assert all("even on insufficient data" in flag for flag in small.kpi_flags)
