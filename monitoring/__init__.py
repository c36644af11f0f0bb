"""Pure: data frames in, typed results out; no Flask, no database, no registry.

Post-market monitoring of AI-enabled medical devices: drift between the validation data of a
deployed model version and a production batch (:mod:`monitoring.drift`), performance measured once
labels arrive (:mod:`monitoring.performance`) or estimated from calibrated scores before they do
(:mod:`monitoring.estimation`), the same per subgroup and site (:mod:`monitoring.segments`), alert
rules as data (:mod:`monitoring.alerts`), vigilance deadlines and periodic report cadence
(:mod:`monitoring.vigilance`), energy and carbon records (:mod:`monitoring.energy`) and batch
validation (:mod:`monitoring.batch`).

Metrics, their intervals and KPI verdicts are those of :mod:`evaluation` (one way to compute
them, before and after deployment): monitoring depends on evaluation, never the reverse.

Importing this package imports nothing heavy: Evidently (8-14 s to import) and CodeCarbon are
imported inside the functions that need them. Drift scores are Evidently's statistics computed
directly (:mod:`monitoring.drift_stats`, about 100x faster than its preset on large batches);
Evidently itself is imported only as the reference engine and for its HTML report.
"""

from monitoring.errors import MonitoringInputError

__all__ = ["MonitoringInputError"]
