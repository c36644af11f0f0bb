"""The direct (numpy/scipy) drift path gives Evidently's own scores and verdicts.

Evidently 0.7.23 is the reference: each column through its ``ValueDrift`` (``engine="evidently"``)
and whole frames through its ``DataDriftPreset``. Scores must agree to 1e-9 and verdicts exactly,
on small samples (K-S, chi-square, z, two-sample chi-square), large ones (normed Wasserstein,
Jensen-Shannon on categories, on few-valued numbers and on Sturges bins), with missing values,
infinities, new categories, empty and absent columns, and unequal sizes.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from monitoring import drift_stats
from monitoring.drift import _import_evidently, detect_drift, drift_report_html
from monitoring.errors import MonitoringInputError

TOLERANCE = 1e-9

TYPES = {
    "age": "numerical",
    "dose": "numerical",
    "likert": "numerical",
    "lab": "numerical",
    "flag": "categorical",
    "ward": "categorical",
    "sex": "categorical",
    "site": "categorical",
}


def _frames(n_ref, n_cur, *, seed, shifted):
    """Mixed columns; with ``shifted`` some of them move (mean, spread, new category, share)."""
    rng = np.random.default_rng(seed)

    def frame(n, moved):
        dose = rng.lognormal(1.0, 0.5 * (1.6 if moved else 1.0), n)
        dose[rng.random(n) < 0.05] = np.nan
        dose[rng.random(n) < 0.01] = np.inf
        lab = rng.normal(5, 1, n)
        lab[rng.random(n) < 0.5] = np.nan
        wards = ["icu", "er", "med", "surg"] + (["paeds"] if moved else [])
        p_ward = [0.1, 0.3, 0.4, 0.2] if not moved else [0.08, 0.25, 0.35, 0.17, 0.15]
        ward = rng.choice(wards, n, p=p_ward).astype(object)
        ward[rng.random(n) < 0.03] = None
        return pd.DataFrame(
            {
                "age": rng.normal(60 + (4 if moved else 0), 10, n),
                "dose": dose,
                "likert": rng.integers(1, 5, n),
                "lab": lab,
                "flag": (rng.random(n) < (0.4 if moved else 0.2)).astype(int),
                "ward": ward,
                "sex": rng.choice(["F", "M"], n),
                "site": rng.choice(["lyon", "paris", "nice"] + (["brest"] if moved else []), n),
            }
        )

    return frame(n_ref, False), frame(n_cur, shifted)


CASES = [
    pytest.param(200, 150, False, id="small-same"),
    pytest.param(300, 500, True, id="small-shifted"),
    pytest.param(1000, 40, True, id="switch-point"),
    pytest.param(1500, 900, False, id="large-same"),
    pytest.param(3000, 2000, True, id="large-shifted"),
    pytest.param(4000, 4000, True, id="large-equal-sizes"),
]


def _assert_same(result, scores, verdicts, labels=None):
    for entry in (*result.columns, *((result.prediction,) if result.prediction else ())):
        if not entry.tested:
            continue
        assert entry.score == pytest.approx(scores[entry.column], rel=0, abs=TOLERANCE), entry
        assert entry.drifted == verdicts[entry.column], entry
        if labels is not None:
            assert entry.method_label == labels[entry.column], entry


@pytest.mark.parametrize("defaults", ["registry", "evidently"])
@pytest.mark.parametrize(("n_ref", "n_cur", "shifted"), CASES)
def test_direct_scores_equal_evidently_value_drift(n_ref, n_cur, shifted, defaults):
    ref, cur = _frames(n_ref, n_cur, seed=n_ref + n_cur, shifted=shifted)
    ref["empty"], cur["empty"] = 1.0, np.nan
    options = dict(column_types=TYPES, score_column="dose", defaults=defaults)
    direct = detect_drift(ref, cur, **options)
    through = detect_drift(ref, cur, engine="evidently", **options)
    assert direct.engine.startswith("numpy") and through.engine.startswith("evidently 0.7")
    assert direct.n_features_tested == through.n_features_tested == len(TYPES) - 1
    scores = {e.column: e.score for e in (*through.columns, through.prediction)}
    verdicts = {e.column: e.drifted for e in (*through.columns, through.prediction)}
    _assert_same(direct, scores, verdicts)
    assert (
        direct.column("empty").skipped_reason
        == "column 'empty' is entirely missing in the current batch"
    )
    assert direct.drift_share == through.drift_share


@pytest.mark.parametrize("method", ["psi", "kl_div", "jensenshannon", "ks", "wasserstein"])
def test_direct_override_methods_equal_evidently(method):
    ref, cur = _frames(2500, 1800, seed=5, shifted=True)
    numeric = ["age", "dose", "likert", "lab"]
    categorical = [c for c in TYPES if c not in numeric]
    targets = numeric + (categorical if method in {"psi", "kl_div", "jensenshannon"} else [])
    options = dict(column_types=TYPES, methods=dict.fromkeys(targets, method))
    direct = detect_drift(ref, cur, **options)
    through = detect_drift(ref, cur, engine="evidently", **options)
    _assert_same(
        direct,
        {e.column: e.score for e in through.columns},
        {e.column: e.drifted for e in through.columns},
    )
    assert all(direct.column(c).method == method for c in targets)


def _run_preset(ref, cur):
    """Evidently's DataDriftPreset on the raw frames: per-column scores, verdicts, test names."""
    _, Report, Dataset, DataDefinition, _ = _import_evidently()
    from evidently.presets import DataDriftPreset

    columns = [c for c in TYPES if c in ref.columns]
    definition = DataDefinition(
        numerical_columns=[c for c in columns if TYPES[c] == "numerical"],
        categorical_columns=[c for c in columns if TYPES[c] == "categorical"],
    )
    with warnings.catch_warnings():
        # Evidently's goodness-of-fit chi-square divides by zero on a new category and lets
        # numpy warn (pytest would make that an error); the warning is not under test here.
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([DataDriftPreset()], include_tests=True).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
    data = json.loads(snapshot.json())
    drifts = [m for m in data["metrics"] if m["config"]["type"].endswith("ValueDrift")]
    count = next(m for m in data["metrics"] if m["config"]["type"].endswith("DriftedColumnsCount"))
    scores = {m["config"]["column"]: m["value"] for m in drifts}
    labels = {m["config"]["column"]: m["config"]["method"] for m in drifts}
    verdicts = {
        t["metric_config"]["params"]["column"]: t["status"] == "FAIL"
        for t in data["tests"]
        if "column" in t["metric_config"]["params"]
    }
    return scores, verdicts, labels, count["value"]["share"]


@pytest.mark.parametrize(("n_ref", "n_cur", "shifted"), CASES)
def test_evidently_defaults_reproduce_data_drift_preset(n_ref, n_cur, shifted):
    ref, cur = _frames(n_ref, n_cur, seed=7 * n_ref + n_cur, shifted=shifted)
    scores, verdicts, labels, share = _run_preset(ref, cur)
    result = detect_drift(ref, cur, column_types=TYPES, defaults="evidently")
    _assert_same(result, scores, verdicts, labels)
    assert result.n_features_tested == len(scores) == len(TYPES)
    assert result.drift_share == pytest.approx(share, abs=1e-12)


def test_preset_picks_what_defaults_evidently_picks():
    # The method choice itself, column by column, at both sides of the 1,000-row switch.
    small = detect_drift(*_frames(500, 500, seed=1, shifted=False), column_types=TYPES,
                         defaults="evidently")  # fmt: skip
    large = detect_drift(*_frames(3000, 3000, seed=2, shifted=False), column_types=TYPES,
                         defaults="evidently")  # fmt: skip
    assert {c.column: c.method for c in small.columns} == {
        "age": "ks",
        "dose": "ks",
        "likert": "chisquare",
        "lab": "ks",
        "flag": "z",
        "ward": "chisquare",
        "sex": "z",
        "site": "chisquare",
    }
    assert {c.column: c.method for c in large.columns} == {
        "age": "wasserstein",
        "dose": "wasserstein",
        "likert": "jensenshannon",
        "lab": "wasserstein",
        "flag": "jensenshannon",
        "ward": "jensenshannon",
        "sex": "jensenshannon",
        "site": "jensenshannon",
    }


def test_wasserstein_on_sorted_samples_equals_scipy_for_any_sizes_and_ties():
    rng = np.random.default_rng(3)
    for _ in range(500):
        n, m = rng.integers(1, 80, size=2)
        if rng.random() < 0.5:
            u, v = rng.integers(0, 4, n).astype(float), rng.integers(0, 5, m).astype(float)
        else:
            u, v = rng.normal(0, 1, n), rng.standard_t(3, m)
        expected = wasserstein_distance(u, v)
        got = drift_stats.wasserstein_distance_sorted(np.sort(u), np.sort(v))
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-14)
    u, v = np.sort(rng.normal(0, 1, 200_000)), np.sort(rng.normal(0.2, 1.3, 150_001))
    assert drift_stats.wasserstein_distance_sorted(u, v) == pytest.approx(
        wasserstein_distance(u, v), rel=1e-12
    )


def test_evidently_html_report_for_a_batch():
    ref, cur = _frames(1200, 800, seed=11, shifted=True)
    html = drift_report_html(ref, cur, column_types=TYPES, exclude=["lab"])
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    for column in ("age", "ward", "site"):
        assert column in html
    assert "Jensen-Shannon distance" in html and "Wasserstein distance (normed)" in html
    assert '"lab"' not in html and "<script src=" not in html


def test_evidently_html_report_refuses_when_nothing_can_be_tested():
    ref = pd.DataFrame({"a": [np.nan] * 5})
    with pytest.raises(MonitoringInputError, match="no column can be tested"):
        drift_report_html(ref, ref.copy())


def test_direct_equals_evidently_on_pandas_extension_dtypes():
    # Nullable integers and booleans, pandas categoricals and strings, numbers stored as text:
    # typed, cleaned and scored the same way on both paths.
    rng = np.random.default_rng(13)

    def frame(n, moved):
        ints = pd.array(rng.integers(0, 50 + (10 if moved else 0), n), dtype="Int64")
        ints[rng.random(n) < 0.1] = pd.NA
        flags = pd.array(rng.random(n) < (0.5 if moved else 0.3), dtype="boolean")
        flags[:5] = pd.NA
        texts = rng.choice(["1", "2", "3.0"], n).astype(object)
        texts[:7] = None
        return pd.DataFrame(
            {
                "ints": ints,
                "flags": flags,
                "grade": pd.Categorical(rng.choice(["I", "II", "III"], n)),
                "unit": pd.array(rng.choice(["a", "b"], n), dtype="string"),
                "texts": texts,
            }
        )

    for n_ref, n_cur in ((400, 300), (2400, 1300)):
        ref, cur = frame(n_ref, False), frame(n_cur, True)
        options = dict(column_types={"texts": "numerical"})
        direct = detect_drift(ref, cur, **options)
        through = detect_drift(ref, cur, engine="evidently", **options)
        assert direct.n_features_tested == 5
        assert direct.column("ints").column_type == "numerical"
        assert direct.column("flags").column_type == "categorical"
        assert direct.column("flags").missing_reference == 5
        _assert_same(
            direct,
            {e.column: e.score for e in through.columns},
            {e.column: e.drifted for e in through.columns},
        )
