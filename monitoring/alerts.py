"""Alert rules as data, evaluated against the summary of one monitoring batch.

A deployment's rules are stored as plain dicts (JSON or YAML), loaded with :func:`load_rules`
and evaluated with :func:`evaluate_rules`. Each finding carries a stable ``dedup_key``
(``"<rule id>:<subject>"``) so the registry raises one alert per rule and subject, and updates it
on later batches instead of piling up duplicates.

Rule kinds
----------
``drift_share_above``  share of drifted features above ``level``
``feature_drifted``    one of the key ``columns`` (features or the score column) drifted
``kpi_not_met``        a declared KPI not met (optionally also when inconclusive)
``volume_outside``     batch rows below ``min_rows`` or above ``max_rows``
``missing_rate_above`` missing-value rate of a column above ``level``
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError


class Severity(StrEnum):
    """How urgently a finding needs attention, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical."""
        return list(Severity).index(self)


@dataclass(frozen=True)
class DriftShareRule(PlainData):
    """Alert when the share of drifted features exceeds ``level`` (0-1)."""

    id: str
    severity: Severity
    level: float
    kind: str = "drift_share_above"


@dataclass(frozen=True)
class FeatureDriftedRule(PlainData):
    """Alert when any of the key ``columns`` drifted (one finding per column)."""

    id: str
    severity: Severity
    columns: tuple[str, ...]
    kind: str = "feature_drifted"


@dataclass(frozen=True)
class KpiNotMetRule(PlainData):
    """Alert when a KPI is not met; ``metrics`` empty means every declared KPI."""

    id: str
    severity: Severity
    metrics: tuple[str, ...] = ()
    include_inconclusive: bool = False
    kind: str = "kpi_not_met"


@dataclass(frozen=True)
class VolumeRule(PlainData):
    """Alert when the batch has fewer than ``min_rows`` or more than ``max_rows`` rows."""

    id: str
    severity: Severity
    min_rows: int | None = None
    max_rows: int | None = None
    kind: str = "volume_outside"


@dataclass(frozen=True)
class MissingRateRule(PlainData):
    """Alert when a column's missing rate exceeds ``level``; ``columns`` empty means all."""

    id: str
    severity: Severity
    level: float
    columns: tuple[str, ...] = ()
    kind: str = "missing_rate_above"


AlertRule = DriftShareRule | FeatureDriftedRule | KpiNotMetRule | VolumeRule | MissingRateRule

RULE_KINDS: Mapping[str, type] = MappingProxyType(
    {
        "drift_share_above": DriftShareRule,
        "feature_drifted": FeatureDriftedRule,
        "kpi_not_met": KpiNotMetRule,
        "volume_outside": VolumeRule,
        "missing_rate_above": MissingRateRule,
    }
)


@dataclass(frozen=True)
class KpiOutcome(PlainData):
    """A KPI verdict as the alert rules need it.

    Attributes
    ----------
    metric : str
    status : {"met", "not_met", "inconclusive", "undefined"}
    message : str
        What crossed what, reused in the alert.
    """

    metric: str
    status: str
    message: str


@dataclass(frozen=True)
class BatchSummary(PlainData):
    """What the alert rules look at for one batch.

    Attributes
    ----------
    n_rows : int
        Rows in the batch.
    drift_share : float or None
        Share of drifted features (None when no drift analysis ran).
    n_features_tested, n_features_drifted : int
    drifted_columns : tuple of str
        Drifted features and, when it drifted, the score column.
    drift_details : dict of str to str
        Per drifted column, the test, score and threshold as text.
    missing_rates : dict of str to float
        Missing-value rate per column.
    kpis : tuple of KpiOutcome
    """

    n_rows: int
    drift_share: float | None = None
    n_features_tested: int = 0
    n_features_drifted: int = 0
    drifted_columns: tuple[str, ...] = ()
    drift_details: Mapping[str, str] = field(default_factory=dict)
    missing_rates: Mapping[str, float] = field(default_factory=dict)
    kpis: tuple[KpiOutcome, ...] = ()

    @classmethod
    def from_results(
        cls,
        *,
        n_rows: int,
        drift: Any = None,
        comparison: Any = None,
        missing_rates: Mapping[str, float] | None = None,
    ) -> BatchSummary:
        """Summarise a :class:`~monitoring.drift.DriftResult` and a
        :class:`~monitoring.performance.PerformanceComparison` for the rules.

        Missing rates default to the current-batch rates found by the drift analysis.
        """
        drifted: list[str] = []
        details: dict[str, str] = {}
        rates: dict[str, float] = {}
        share, tested, n_drifted = None, 0, 0
        if drift is not None:
            share, tested, n_drifted = (
                drift.drift_share,
                drift.n_features_tested,
                drift.n_features_drifted,
            )
            entries = [*drift.columns, *([drift.prediction] if drift.prediction else [])]
            for entry in entries:
                if entry.missing_rate_current is not None:
                    rates[entry.column] = entry.missing_rate_current
                if entry.drifted:
                    drifted.append(entry.column)
                    relation = "<=" if entry.score_kind == "p_value" else ">="
                    details[entry.column] = (
                        f"{entry.method_label} {entry.score:.4g} {relation} threshold "
                        f"{entry.threshold:g}"
                    )
        kpis = ()
        if comparison is not None:
            kpis = tuple(KpiOutcome(k.metric, k.status, k.message) for k in comparison.kpis)
        return cls(
            n_rows=n_rows,
            drift_share=share,
            n_features_tested=tested,
            n_features_drifted=n_drifted,
            drifted_columns=tuple(drifted),
            drift_details=details,
            missing_rates=dict(missing_rates) if missing_rates is not None else rates,
            kpis=kpis,
        )


@dataclass(frozen=True)
class AlertFinding(PlainData):
    """One rule crossed by one subject in a batch.

    Attributes
    ----------
    rule_id : str
    kind : str
    severity : Severity
    subject : str
        What crossed the rule: ``"batch"``, a column name or a KPI metric.
    dedup_key : str
        ``"<rule_id>:<subject>"``; stable across batches.
    message : str
        What crossed what, for people.
    observed : float or str or None
        The value that crossed.
    limit : float or str or None
        The limit it crossed.
    """

    rule_id: str
    kind: str
    severity: Severity
    subject: str
    dedup_key: str
    message: str
    observed: float | str | None
    limit: float | str | None


def rule_from_dict(data: Mapping[str, Any]) -> AlertRule:
    """Build one rule from a plain dict, checking every field.

    Parameters
    ----------
    data : mapping
        ``{"id", "kind", "severity", ...}`` plus the fields of the kind (see module docstring).

    Returns
    -------
    AlertRule

    Raises
    ------
    MonitoringInputError
        Listing every missing, unknown or invalid field.

    Examples
    --------
    >>> rule_from_dict({"id": "r1", "kind": "drift_share_above", "severity": "high", "level": 0.3})
    DriftShareRule(id='r1', severity=<Severity.HIGH: 'high'>, level=0.3, kind='drift_share_above')
    """
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise MonitoringInputError([f"a rule must be a mapping. Got {type(data).__name__} instead"])
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        problems.append(f"id must be a non-empty string. Got {rule_id!r} instead")
    raw_kind = data.get("kind")
    kind = raw_kind if isinstance(raw_kind, str) else None
    if kind not in RULE_KINDS:
        problems.append(f"kind must be one of {sorted(RULE_KINDS)}. Got {raw_kind!r} instead")
    severity = data.get("severity")
    if not isinstance(severity, str) or severity not in {s.value for s in Severity}:
        problems.append(
            f"severity must be one of {[s.value for s in Severity]}. Got {severity!r} instead"
        )
    if kind not in RULE_KINDS:
        raise MonitoringInputError(problems)

    allowed = {"id", "kind", "severity", "description"}
    fields: dict[str, Any] = {}
    if kind in ("drift_share_above", "missing_rate_above"):
        allowed |= {"level"}
        fields["level"] = _fraction(data, "level", problems, required=True)
    if kind in ("feature_drifted", "missing_rate_above"):
        allowed |= {"columns"}
        fields["columns"] = _names(data, "columns", problems, required=kind == "feature_drifted")
    if kind == "kpi_not_met":
        allowed |= {"metrics", "include_inconclusive"}
        fields["metrics"] = _names(data, "metrics", problems, required=False)
        include = data.get("include_inconclusive", False)
        if not isinstance(include, bool):
            problems.append(f"include_inconclusive must be true or false. Got {include!r} instead")
        fields["include_inconclusive"] = include
    if kind == "volume_outside":
        allowed |= {"min_rows", "max_rows"}
        for key in ("min_rows", "max_rows"):
            value = data.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                problems.append(f"{key} must be a non-negative integer. Got {value!r} instead")
                value = None
            fields[key] = value
        low, high = fields["min_rows"], fields["max_rows"]
        if data.get("min_rows") is None and data.get("max_rows") is None:
            problems.append("a volume rule needs min_rows, max_rows or both")
        elif low is not None and high is not None and low > high:
            problems.append(f"min_rows ({low}) must not exceed max_rows ({high})")
    unknown = sorted(set(data) - allowed)
    if unknown:
        problems.append(f"unknown field(s) for kind {kind!r}: {', '.join(unknown)}")
    if problems:
        raise MonitoringInputError(problems)
    return RULE_KINDS[kind](id=rule_id, severity=Severity(severity), **fields)


def load_rules(rules: Iterable[Mapping[str, Any]]) -> tuple[AlertRule, ...]:
    """Load a deployment's rules, reporting every problem in every rule at once.

    Raises
    ------
    MonitoringInputError
        Problems prefixed with the rule's position, e.g. ``"rules[2]: level must be ..."``;
        duplicate ids are a problem too, since they would share dedup keys.

    Examples
    --------
    >>> rules = load_rules([{"id": "vol", "kind": "volume_outside", "severity": "low",
    ...                      "min_rows": 100}])
    >>> rules[0].min_rows
    100
    """
    loaded: list[AlertRule] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, data in enumerate(rules):
        # Duplicates are checked on the raw ids, so a rule with other problems still claims its id.
        rule_id = data.get("id") if isinstance(data, Mapping) else None
        if isinstance(rule_id, str) and rule_id in seen:
            first = seen[rule_id]
            problems.append(f"rules[{index}]: id {rule_id!r} is already used by rules[{first}]")
        elif isinstance(rule_id, str):
            seen[rule_id] = index
        try:
            loaded.append(rule_from_dict(data))
        except MonitoringInputError as err:
            problems.extend(f"rules[{index}]: {p}" for p in err.problems)
    if problems:
        raise MonitoringInputError(problems)
    return tuple(loaded)


def evaluate_rules(
    rules: Sequence[AlertRule | Mapping[str, Any]], batch_summary: BatchSummary
) -> list[AlertFinding]:
    """Evaluate alert rules against one batch.

    Parameters
    ----------
    rules : sequence of AlertRule or mapping
        Rules, or plain dicts loaded with :func:`load_rules`.
    batch_summary : BatchSummary

    Returns
    -------
    list of AlertFinding
        Most severe first, then by dedup key; empty when nothing crossed.

    Examples
    --------
    >>> summary = BatchSummary(n_rows=40)
    >>> findings = evaluate_rules([{"id": "vol", "kind": "volume_outside", "severity": "medium",
    ...                             "min_rows": 100}], summary)
    >>> findings[0].dedup_key, findings[0].message
    ('vol:batch', 'batch volume 40 rows is below the expected minimum of 100 rows')
    """
    if any(isinstance(r, Mapping) for r in rules):
        rules = load_rules(r if isinstance(r, Mapping) else r.to_dict() for r in rules)
    findings: list[AlertFinding] = []
    for rule in rules:
        findings.extend(_EVALUATORS[type(rule)](rule, batch_summary))
    return sorted(findings, key=lambda f: (-f.severity.rank, f.dedup_key))


def _finding(rule: AlertRule, subject: str, message: str, observed, limit) -> AlertFinding:
    return AlertFinding(
        rule_id=rule.id,
        kind=rule.kind,
        severity=rule.severity,
        subject=subject,
        dedup_key=f"{rule.id}:{subject}",
        message=message,
        observed=observed,
        limit=limit,
    )


def _drift_share(rule: DriftShareRule, summary: BatchSummary) -> list[AlertFinding]:
    share = summary.drift_share
    if share is None or share <= rule.level:
        return []
    return [
        _finding(
            rule,
            "batch",
            f"drift share {share:.0%} ({summary.n_features_drifted} of "
            f"{summary.n_features_tested} features drifted) is above the level {rule.level:.0%}",
            share,
            rule.level,
        )
    ]


def _feature_drifted(rule: FeatureDriftedRule, summary: BatchSummary) -> list[AlertFinding]:
    out = []
    for column in rule.columns:
        if column in summary.drifted_columns:
            detail = summary.drift_details.get(column)
            out.append(
                _finding(
                    rule,
                    column,
                    f"key feature {column!r} drifted" + (f": {detail}" if detail else ""),
                    detail,
                    None,
                )
            )
    return out


def _kpi_not_met(rule: KpiNotMetRule, summary: BatchSummary) -> list[AlertFinding]:
    statuses = {"not_met", "inconclusive"} if rule.include_inconclusive else {"not_met"}
    return [
        _finding(rule, kpi.metric, kpi.message, kpi.status, "met")
        for kpi in summary.kpis
        if kpi.status in statuses and (not rule.metrics or kpi.metric in rule.metrics)
    ]


def _volume(rule: VolumeRule, summary: BatchSummary) -> list[AlertFinding]:
    n = summary.n_rows
    if rule.min_rows is not None and n < rule.min_rows:
        message = f"batch volume {n} rows is below the expected minimum of {rule.min_rows} rows"
        return [_finding(rule, "batch", message, n, rule.min_rows)]
    if rule.max_rows is not None and n > rule.max_rows:
        message = f"batch volume {n} rows is above the expected maximum of {rule.max_rows} rows"
        return [_finding(rule, "batch", message, n, rule.max_rows)]
    return []


def _missing_rate(rule: MissingRateRule, summary: BatchSummary) -> list[AlertFinding]:
    columns = rule.columns or tuple(sorted(summary.missing_rates))
    out = []
    for column in columns:
        rate = summary.missing_rates.get(column)
        if rate is not None and rate > rule.level:
            out.append(
                _finding(
                    rule,
                    column,
                    f"column {column!r} missing rate {rate:.1%} is above the level "
                    f"{rule.level:.1%}",
                    rate,
                    rule.level,
                )
            )
    return out


_EVALUATORS = MappingProxyType(
    {
        DriftShareRule: _drift_share,
        FeatureDriftedRule: _feature_drifted,
        KpiNotMetRule: _kpi_not_met,
        VolumeRule: _volume,
        MissingRateRule: _missing_rate,
    }
)


def _fraction(data: Mapping[str, Any], key: str, problems: list[str], *, required: bool):
    value = data.get(key)
    if value is None:
        if required:
            problems.append(f"{key} is required (a number between 0 and 1)")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        problems.append(f"{key} must be a number between 0 and 1. Got {value!r} instead")
        return None
    return float(value)


def _names(data: Mapping[str, Any], key: str, problems: list[str], *, required: bool):
    value = data.get(key)
    if value is None or value == []:
        if required:
            problems.append(f"{key} must list at least one column name")
        return ()
    if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{key} must be a list of names. Got {value!r} instead")
        return ()
    return tuple(value)
