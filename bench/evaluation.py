"""Timing of the evaluation library against baselines measured in the same run.

Run from the repository root: ``.venv/bin/python -m bench.evaluation`` (as a module: run as a
file, this script would shadow the ``evaluation`` package it measures). Each line prints
``name: value baseline ratio target``; ratios carry over between machines, seconds do not.
The script exits non-zero when a target is missed. Timings are the best of a few repeats.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from evaluation import binary
from evaluation.bootstrap import (
    _canonical_order,
    auc_statistic,
    bootstrap_distribution,
    resample_counts,
)
from evaluation.calibration import calibration
from evaluation.intervals import delong_interval


def best_of(function: Callable[..., object], *args: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    return y, np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1)


def report(name: str, value: float, baseline: float, target: str, ok: bool) -> bool:
    ratio = value / baseline
    status = "ok" if ok else "MISSED"
    print(f"{name}: {value:.4f}s {baseline:.4f}s {ratio:.3f}x {target} {status}")
    return ok


def full_binary_report(y: np.ndarray, p: np.ndarray) -> None:
    delong_interval(y, p)
    binary.threshold_metrics(y, p, threshold=0.5)
    binary.brier_score_loss(y, p)
    calibration(y, p)
    binary.average_precision_score(y, p)


def main() -> int:
    results = []
    for n in (10_000, 100_000, 1_000_000):
        y, p = data(n)
        sk = best_of(roc_auc_score, y, p)
        ours = best_of(delong_interval, y, p)
        target = "<= 0.5x" if n == 1_000_000 else "(info)"
        results.append(
            report(
                f"delong auc+interval n={n:.0e}",
                ours,
                sk,
                target,
                n < 1_000_000 or ours <= 0.5 * sk,
            )
        )
        full = best_of(full_binary_report, y, p)
        target = "<= 2x" if n == 1_000_000 else "(info)"
        results.append(
            report(
                f"full binary report n={n:.0e}", full, sk, target, n < 1_000_000 or full <= 2 * sk
            )
        )

    # Bootstrap: 1000 vectorised resamples against a loop of sklearn calls on the same
    # resamples (100 of them, timed and scaled per resample), values checked equal.
    y, p = data(100_000, seed=1)
    start = time.perf_counter()
    values = bootstrap_distribution(auc_statistic, y, p, n_resamples=1000, seed=0)
    ours = time.perf_counter() - start
    order = _canonical_order(y, p)
    yo, po = y[order], p[order]
    counts = np.concatenate(list(resample_counts(yo, n_resamples=1000, seed=0)))[:100]
    start = time.perf_counter()
    slow = [
        roc_auc_score(yo[index], po[index])
        for index in (np.repeat(np.arange(yo.size), row) for row in counts)
    ]
    loop = (time.perf_counter() - start) * 10
    same = np.allclose(values[:100], slow, rtol=0, atol=1e-12)
    results.append(
        report(
            "bootstrap 1000 resamples n=1e5 (vs sklearn loop)",
            ours,
            loop,
            "<= 0.05x and same values",
            ours <= 0.05 * loop and same,
        )
    )

    # Subgroup AUCs (with DeLong intervals) for 8 groups against pandas groupby + sklearn.
    y, p = data(1_000_000, seed=2)
    group = np.random.default_rng(3).integers(0, 8, y.size)
    frame = pd.DataFrame({"y": y, "p": p, "g": group})
    baseline = best_of(
        lambda: frame.groupby("g").apply(
            lambda d: roc_auc_score(d["y"], d["p"]), include_groups=False
        )
    )
    ours = best_of(lambda: [delong_interval(y[group == g], p[group == g]) for g in range(8)])
    results.append(report("subgroup auc 8 groups n=1e6", ours, baseline, "<= 1x", ours <= baseline))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
