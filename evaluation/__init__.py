"""Pure: arrays in, typed results out; no Flask, no database, no registry.

Performance evaluation of AI-enabled medical devices: metrics with confidence intervals,
calibration, subgroups, sites, paired comparisons, KPI verdicts and the HTA scoring rules.
The registry calls :func:`evaluate` from a job and stores ``EvaluationReport.to_dict()``.
"""

from evaluation.errors import EvaluationInputError
from evaluation.evaluate import LIBRARY_VERSION, EvaluationReport, evaluate
from evaluation.kpi import KpiSpec, KpiVerdict, judge_kpi
from evaluation.results import Interval, MetricResult
from evaluation.validation import Columns, check_frame, validate_frame

__version__ = LIBRARY_VERSION

__all__ = [
    "Columns",
    "EvaluationInputError",
    "EvaluationReport",
    "Interval",
    "KpiSpec",
    "KpiVerdict",
    "MetricResult",
    "check_frame",
    "evaluate",
    "judge_kpi",
    "validate_frame",
]
