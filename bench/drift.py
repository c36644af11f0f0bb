"""Time ``monitoring.drift.detect_drift`` against Evidently's ``DataDriftPreset`` on the same data.

Run from the repository root::

    .venv/bin/python bench/drift.py [--rows 100000] [--numeric 8] [--categorical 2] [--repeat 1]

Both run in the same process on the same frames, after Evidently has been imported once (the
import, 6-14 s, is reported apart). Above 1,000 reference rows both use the same statistics
(normed Wasserstein for numerical columns, Jensen-Shannon for categorical ones), so the per-column
scores are compared too. Timings are wall-clock on whatever machine runs this; the ratio is what
carries over.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.drift import _import_evidently, detect_drift  # noqa: E402


def make_frames(rows: int, numeric: int, categorical: int, seed: int = 0):
    """Reference and current frames; half the numeric columns and one categorical shift."""
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i in range(numeric):
        ref[f"num_{i}"] = rng.normal(0, 1, rows)
        cur[f"num_{i}"] = rng.normal(0.3 if i % 2 else 0.0, 1, rows)
    categories = np.array(["a", "b", "c", "d", "e"])
    for j in range(categorical):
        ref[f"cat_{j}"] = rng.choice(categories, rows, p=[0.4, 0.3, 0.15, 0.1, 0.05])
        p_cur = [0.2, 0.3, 0.25, 0.15, 0.1] if j == 0 else [0.4, 0.3, 0.15, 0.1, 0.05]
        cur[f"cat_{j}"] = rng.choice(categories, rows, p=p_cur)
    return pd.DataFrame(ref), pd.DataFrame(cur)


def run_preset(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, float]:
    """Run Evidently's DataDriftPreset and return its per-column scores."""
    _, Report, Dataset, DataDefinition, _ = _import_evidently()
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c for c in ref.columns if c.startswith("num_")],
        categorical_columns=[c for c in ref.columns if c.startswith("cat_")],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
    data = json.loads(snapshot.json())
    return {
        m["config"]["column"]: float(m["value"])
        for m in data["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--numeric", type=int, default=8)
    parser.add_argument("--categorical", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    _import_evidently()
    import_s = time.perf_counter() - start
    ref, cur = make_frames(args.rows, args.numeric, args.categorical)
    # One small warm-up of each path so first-call costs (registry, caches) are not timed.
    detect_drift(ref.head(2000), cur.head(2000))
    run_preset(ref.head(2000), cur.head(2000))

    ours_s, preset_s = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours = detect_drift(ref, cur)
        ours_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        preset = run_preset(ref, cur)
        preset_s.append(time.perf_counter() - start)

    diffs = [abs(ours.column(c).score - preset[c]) for c in preset if c in ref.columns]

    def crosses(entry) -> bool:
        # Evidently: p-values drift when small (ks uses <=), distances when >= threshold.
        if entry.score_kind == "p_value":
            return entry.score <= entry.threshold
        return entry.score >= entry.threshold

    verdicts_agree = all(
        crosses(ours.column(c)) == bool(ours.column(c).drifted) for c in ref.columns
    )
    print(f"data: {args.rows} rows x {ref.shape[1]} columns "
          f"({args.numeric} numerical, {args.categorical} categorical)")  # fmt: skip
    print(f"import evidently (once, not timed below): {import_s:.2f} s")
    print(f"monitoring.drift.detect_drift:      best {min(ours_s):.3f} s of {args.repeat}")
    print(f"evidently DataDriftPreset:          best {min(preset_s):.3f} s of {args.repeat}")
    print(f"ratio preset / ours:                {min(preset_s) / min(ours_s):.2f}x")
    print(f"max |score difference| over {len(diffs)} columns: {max(diffs):.3g}")
    print(f"drifted (ours): {', '.join(ours.drifted_features) or 'none'}; "
          f"verdicts consistent with scores: {verdicts_agree}")  # fmt: skip


if __name__ == "__main__":
    main()
