"""monitoring/ stays a pure library: no web, database or registry imports, nothing heavy."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import monitoring
light = [m for m in ("evidently", "codecarbon") if m in sys.modules]
import monitoring.alerts, monitoring.batch, monitoring.drift, monitoring.energy
import monitoring.estimation, monitoring.performance, monitoring.segments, monitoring.vigilance
import monitoring.drift_stats
import pandas as pd
# The default drift path computes Evidently's statistics itself: no Evidently import.
monitoring.drift.detect_drift(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), pd.DataFrame({"a": [2.0]}))
heavy = [m for m in ("evidently", "codecarbon") if m in sys.modules]
banned = [m for m in ("flask", "sqlmodel", "sqlalchemy", "registry", "celery", "evaluation")
          if m in sys.modules]
print(light, heavy, banned)
"""


def test_importing_monitoring_pulls_in_no_web_db_registry_or_heavy_library():
    out = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.stdout.strip() == "[] [] []"
