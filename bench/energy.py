"""What measuring costs: CodeCarbon around a job, against the same work unmeasured.

    .venv/bin/python -m bench.energy

Prints ``name: value baseline ratio target`` lines. Every job of the registry runs inside
``measure_energy``; the target is that measuring adds at most 5% to a one-second job, and that
twice the work reads as about twice the energy (between 1.5x and 2.5x: CPU power is estimated
from load, so the figure is proportional to time, not exact). Exits 1 when a target is missed.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from monitoring.energy import measure_energy


def work(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    a = np.random.default_rng(0).random((300, 300))
    while time.perf_counter() < deadline:
        a = np.tanh(a @ a / 300)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    with measure_energy():  # the first tracker of a process detects the hardware: not counted
        pass
    missed = []

    def line(name, value, baseline, target):
        ratio = value / baseline
        ok = target(ratio)
        print(f"{name}: {value:.4g} {baseline:.4g} {ratio:.3f} {'ok' if ok else 'MISSED'}")
        if not ok:
            missed.append(name)

    bare = min(timed(lambda: work(1.0)) for _ in range(3))

    def measured_once():
        with measure_energy():
            work(1.0)

    measured = min(timed(measured_once) for _ in range(3))
    line("job_1s_measured_seconds (target ratio <= 1.05)", measured, bare, lambda r: r <= 1.05)

    records = {}
    for seconds in (1.0, 2.0):
        readings = []
        for _ in range(3):  # the median: other processes' load moves the estimate
            with measure_energy() as m:
                work(seconds)
            readings.append(m.record.energy_kwh)
        records[seconds] = float(np.median(readings))
    line("energy_2x_work_kwh (target ratio 1.5..2.5)", records[2.0], records[1.0],
         lambda r: 1.5 <= r <= 2.5)
    print(f"method: {m.record.method}; caveats: {'; '.join(m.record.caveats)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
