"""Timing of the evaluation library against baselines measured in the same run.

Run from the repository root: ``.venv/bin/python -m bench.evaluation`` (as a module: run as a
file, this script would shadow the ``evaluation`` package it measures). Each line prints
``name: value baseline ratio target``; ratios carry over between machines, seconds do not.
The script exits non-zero when a target is missed. Timings are the best of a few repeats.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pa_csv
from sklearn.metrics import roc_auc_score

from evaluation import binary
from evaluation.bootstrap import (
    _canonical_order,
    auc_statistic,
    bootstrap_distribution,
    resample_counts,
)
from evaluation.calibration import calibration
from evaluation.evaluate import MAX_CURVE_POINTS
from evaluation.intervals import delong_interval


def best_of(function: Callable[..., object], *args: object, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def best_of_interleaved(
    measured: Callable[[], object],
    baseline: Callable[[], object],
    repeats: int = 5,
    reset: Callable[[], object] = lambda: None,
) -> tuple[float, float]:
    """Best times of ``measured`` and ``baseline`` run in turn (after one untimed run of each):
    a burst of load from another process then slows both sides, not one of them. ``reset``
    runs untimed after each run of ``measured``, so that every run starts from the same state."""
    ours, theirs = [], []
    for run in range(repeats + 1):
        for function, times in ((baseline, theirs), (measured, ours)):
            start = time.perf_counter()
            function()
            if run:
                times.append(time.perf_counter() - start)
        reset()
    return min(ours), min(theirs)


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    return y, np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1)


MISSED: list[str] = []


def report(name: str, value: float, baseline: float, target: str, ok: bool) -> bool:
    print(f"{name}: {value:.4f}s {baseline:.4f}s {value / baseline:.3f}x {target}", flush=True)
    if not ok:
        MISSED.append(name)
    return ok


def full_binary_report(y: np.ndarray, p: np.ndarray) -> None:
    delong_interval(y, p)
    binary.threshold_metrics(y, p, threshold=0.5)
    binary.brier_score_loss(y, p)
    calibration(y, p)
    binary.precision_recall_curve(y, p, max_points=MAX_CURVE_POINTS)
    binary.average_precision_score(y, p)


def store_upload(path: Path, root: Path) -> str:
    """The registry's upload path without the database (the calls, in the order, of
    ``registry.services.evaluations.submit_evaluation``): read the stream under the size limit,
    parse and refuse direct identifiers (``registry.uploads.load_table``), derive the labels
    from the mapping and the data and check the mapping with the evaluation library
    (``evaluation_arguments``, ``_check_mapping``), then store the bytes content-addressed
    (atomic, fsynced) in a fresh ``ArtifactStore``."""
    from registry.services.evaluations import _check_mapping, evaluation_arguments
    from registry.storage import ArtifactStore
    from registry.uploads import load_table, read_limited

    limit = 1 << 30
    with path.open("rb") as stream:
        content = read_limited(stream, limit)
    frame = load_table(content, path.name)
    # The keys that EvaluationIn.column_mapping() fills for this upload.
    mapping = {"label": "label", "score": "score", "id": "case_id", "groups": ["sex"],
               "site": "site"}
    _check_mapping(frame, "binary", evaluation_arguments("binary", mapping, frame, []))
    store = ArtifactStore(Path(tempfile.mkdtemp(dir=root)), limit)
    return store.put(io.BytesIO(content)).sha256


def upload(n: int) -> bool:
    y, p = data(n, seed=4)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "case_id": np.arange(n),
            "label": y.astype(int),
            "score": p.round(6),
            "sex": rng.choice(["F", "M"], n),
            "site": rng.choice(["lyon", "paris", "lille", "nantes"], n),
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.csv"
        frame.to_csv(path, index=False)
        store = Path(folder) / "stores"
        store.mkdir()
        # The baseline parses the same file, warm in the page cache, with Arrow's default
        # thread pool, as the upload does. Each stored copy goes before the next run: kept,
        # every run would write into page cache never used before, which a virtual machine
        # backs with memory on first touch (a 25 MB write took 90-200 ms instead of 7-15).
        ours, baseline = best_of_interleaved(
            lambda: store_upload(path, store),
            lambda: pa_csv.read_csv(path),
            reset=lambda: (shutil.rmtree(store), store.mkdir()),
        )
    return report(
        f"validate and store csv upload n={n:.0e} (vs pyarrow.csv.read_csv)",
        ours,
        baseline,
        "<= 2x",
        ours <= 2 * baseline,
    )


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

    # Bootstrap: 1000 vectorised resamples against one loop of 1000 sklearn calls (too slow
    # to repeat) on the same resamples; every value must agree.
    y, p = data(100_000, seed=1)
    values = bootstrap_distribution(auc_statistic, y, p, n_resamples=1000, seed=0)
    ours = best_of(
        lambda: bootstrap_distribution(auc_statistic, y, p, n_resamples=1000, seed=0), repeats=2
    )
    order = _canonical_order(y, p)
    yo, po = y[order], p[order]
    counts = np.concatenate(list(resample_counts(yo, n_resamples=1000, seed=0)))
    start = time.perf_counter()
    slow = [
        roc_auc_score(yo[index], po[index])
        for index in (np.repeat(np.arange(yo.size), row) for row in counts)
    ]
    loop = time.perf_counter() - start
    same = values.size == 1000 and np.allclose(values, slow, rtol=0, atol=1e-12)
    results.append(
        report(
            "bootstrap 1000 resamples n=1e5 (vs sklearn loop, same values)",
            ours,
            loop,
            "<= 0.05x" if same else "<= 0.05x (VALUES DIFFER)",
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
    results.append(upload(1_000_000))
    for name in MISSED:
        print(f"target missed: {name}", file=sys.stderr)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
