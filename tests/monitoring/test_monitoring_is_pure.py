"""monitoring/ and evaluation/ stay pure libraries: no web, database or registry imports, nothing
heavy. monitoring may use evaluation (one way to compute metrics, intervals and KPI verdicts);
evaluation never uses monitoring."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BANNED = ("flask", "sqlmodel", "sqlalchemy", "registry", "celery")

CHECK_MONITORING = f"""
import sys
import monitoring
light = [m for m in ("evidently", "codecarbon") if m in sys.modules]
import monitoring.alerts, monitoring.batch, monitoring.drift, monitoring.energy
import monitoring.estimation, monitoring.performance, monitoring.segments, monitoring.vigilance
import monitoring.drift_stats
import pandas as pd
# The default drift path computes Evidently's statistics itself: no Evidently import.
monitoring.drift.detect_drift(pd.DataFrame({{"a": [1.0, 2.0, 3.0]}}), pd.DataFrame({{"a": [2.0]}}))
monitoring.performance.binary_performance([0, 1, 1], [0.2, 0.7, 0.4], threshold=0.5)
heavy = [m for m in ("evidently", "codecarbon") if m in sys.modules]
banned = [m for m in {BANNED!r} if m in sys.modules]
print(light, heavy, banned, "evaluation" in sys.modules)
"""

CHECK_EVALUATION = f"""
import pkgutil, importlib, sys
import evaluation
for module in pkgutil.iter_modules(evaluation.__path__):
    importlib.import_module("evaluation." + module.name)
banned = [m for m in ({BANNED!r} + ("monitoring",)) if m in sys.modules]
print(banned)
"""


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return out.stdout.strip()


def test_importing_monitoring_pulls_in_no_web_db_registry_or_heavy_library():
    # The last value shows the check is live: measuring performance does load evaluation.
    assert _run(CHECK_MONITORING) == "[] [] [] True"


def test_evaluation_never_imports_monitoring_web_db_or_registry():
    assert _run(CHECK_EVALUATION) == "[]"
