"""KPIs declared at scoping and their verdicts, decided on the confidence interval.

A verdict is ``met`` only when the whole interval satisfies the KPI, ``not_met`` when the
whole interval violates it, and ``inconclusive`` otherwise (lifecycle gate G4.2). A population
below the minimum sample (:mod:`evaluation.sample_size`, the subgroup rule of G4.3) is
``inconclusive`` whatever its interval says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evaluation.results import MetricResult, PlainData

COMPARATORS = (">=", "<=", "between")
VERDICTS = ("met", "not_met", "inconclusive")

#: KPI metric names (use_cases.md) that are computed under another name, and why.
METRIC_ALIASES: dict[str, tuple[str, str]] = {
    "c_index": ("auc", "for a binary outcome Harrell's C-index equals the ROC AUC"),
    "recall": ("sensitivity", "recall is sensitivity"),
    "precision": ("ppv", "precision is the positive predictive value"),
    "kappa": ("cohen_kappa", "kappa is Cohen's unweighted kappa"),
    "qwk": ("quadratic_weighted_kappa", "qwk is the quadratic weighted kappa"),
}


@dataclass(frozen=True)
class KpiSpec(PlainData):
    """An acceptance criterion declared at scoping.

    Attributes
    ----------
    metric : str
        Metric name: ``auc``, ``sensitivity``, ``specificity``, ``ppv``, ``npv``, ``f1``,
        ``macro_f1``, ``quadratic_weighted_kappa``, ``c_index``, ``calibration_slope``,
        ``oe_ratio``, ``mae``, ... (see :data:`METRIC_ALIASES`).
    comparator : {">=", "<=", "between"}
    threshold : float or None
        Bound for ``>=`` and ``<=``.
    low, high : float or None
        Range for ``between``.
    population : str
        Population the KPI is declared on (a label, e.g. "screening exams of women 50-74").
    dataset_kind : str or None
        Dataset kind where the KPI must be met (internal, external, prospective, rct).
    primary : bool
        The primary KPI must be met with confidence (G4.2).
    class_label : str or None
        Multiclass: the class of a one-vs-rest metric ("AF sensitivity": metric
        ``sensitivity``, class ``"AF"``).
    """

    metric: str
    comparator: str
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    population: str = "overall"
    dataset_kind: str | None = None
    primary: bool = False
    class_label: str | None = None

    def problems(self) -> list[str]:
        """Return what is wrong with the spec (empty when valid).

        Examples
        --------
        >>> KpiSpec("auc", ">").problems()
        ["kpi 'auc': comparator must be one of ['>=', '<=', 'between']. Got '>' instead"]
        """
        where = f"kpi {self.metric!r}"
        if self.comparator not in COMPARATORS:
            return [
                f"{where}: comparator must be one of {list(COMPARATORS)}. "
                f"Got {self.comparator!r} instead"
            ]
        if self.comparator == "between":
            if self.low is None or self.high is None or not self.low <= self.high:
                return [
                    f"{where}: 'between' needs low <= high. Got low={self.low!r}, "
                    f"high={self.high!r} instead"
                ]
        elif self.threshold is None:
            return [f"{where}: comparator {self.comparator!r} needs a threshold"]
        return []

    @property
    def target(self) -> str:
        """The criterion as text, e.g. ``"auc >= 0.9"`` or ``"oe_ratio in [0.9, 1.1]"``."""
        name = self.metric if self.class_label is None else f"{self.metric}[{self.class_label}]"
        if self.comparator == "between":
            return f"{name} in [{self.low:g}, {self.high:g}]"
        return f"{name} {self.comparator} {self.threshold:g}"


@dataclass(frozen=True)
class KpiVerdict(PlainData):
    """The verdict of one KPI.

    Attributes
    ----------
    kpi : KpiSpec
    result : MetricResult or None
        The metric it was judged on (``None`` when the metric was not computed).
    verdict : {"met", "not_met", "inconclusive"}
    rule : str
        The decision rule and the numbers, as a sentence.
    point_estimate_meets : bool or None
        Whether the point estimate alone satisfies the KPI (G4.2 accepts this for secondary
        KPIs); ``None`` when undefined.
    """

    kpi: KpiSpec
    result: MetricResult | None
    verdict: str
    rule: str
    point_estimate_meets: bool | None


def _satisfies(spec: KpiSpec, value: float) -> bool:
    if spec.comparator == ">=":
        return value >= spec.threshold
    if spec.comparator == "<=":
        return value <= spec.threshold
    return spec.low <= value <= spec.high


def judge_kpi(
    spec: KpiSpec, result: MetricResult | None, *, insufficient: str | None = None
) -> KpiVerdict:
    """Decide a KPI from its metric's confidence interval.

    Rules: for ``>=``, met when the lower bound is >= the threshold and not met when the upper
    bound is below it; for ``<=``, met when the upper bound is <= the threshold and not met
    when the lower bound is above it; for ``between``, met when the whole interval lies inside
    [low, high] and not met when it lies wholly outside. Anything else, any undefined metric
    or missing interval, is inconclusive. On a population too small to conclude on, a KPI is
    never met (inconclusive instead), but an interval wholly on the wrong side is still not met.

    Parameters
    ----------
    spec : KpiSpec
    result : MetricResult or None
    insufficient : str or None
        Why the population the metric was computed on is below the minimum sample, from
        :func:`evaluation.sample_size.insufficient_reason`; the verdict is then
        ``inconclusive`` (or ``not_met`` when the interval shows a shortfall), and the rule
        gives the reason and the numbers.

    Returns
    -------
    KpiVerdict

    Examples
    --------
    >>> from evaluation.results import Interval
    >>> r = MetricResult("auc", 0.93, Interval(0.93, 0.91, 0.95, 0.95, "delong"), 500)
    >>> v = judge_kpi(KpiSpec("auc", ">=", threshold=0.90), r)
    >>> v.verdict
    'met'
    >>> print(v.rule)
    met: auc >= 0.9 requires the lower bound of the 95% interval to be >= 0.9; it is 0.91 (estimate 0.93, 95% CI 0.91-0.95, delong).
    >>> print(judge_kpi(KpiSpec("auc", ">=", threshold=0.90), r,
    ...                 insufficient="15 positive and 485 negative cases; at least 30 of each "
    ...                              "are needed to conclude").rule)
    inconclusive: auc >= 0.9 is not judged on insufficient data: 15 positive and 485 negative cases; at least 30 of each are needed to conclude (estimate 0.93, 95% CI 0.91-0.95, delong).
    """  # noqa: E501
    if result is None or result.value is None:
        reason = "it was not computed" if result is None else result.undefined_reason
        return KpiVerdict(
            spec,
            result,
            "inconclusive",
            f"inconclusive: {spec.target} cannot be judged because {reason}.",
            None,
        )
    meets = _satisfies(spec, result.value)
    if result.interval is None and insufficient is None:
        return KpiVerdict(
            spec,
            result,
            "inconclusive",
            f"inconclusive: {spec.target} is judged on a confidence interval and this metric "
            f"has none (estimate {result.value:.4g}).",
            meets,
        )
    iv = result.interval
    if iv is None:  # on insufficient data: nothing to show a shortfall either
        return _insufficient(spec, result, insufficient, meets)
    pct = f"{iv.level * 100:g}%"
    if spec.comparator == ">=":
        verdict = (
            "met"
            if iv.lower >= spec.threshold
            else ("not_met" if iv.upper < spec.threshold else "inconclusive")
        )
        rule = (
            f"{spec.target} requires the lower bound of the {pct} interval to be >= "
            f"{spec.threshold:g}; it is {iv.lower:.4g}"
        )
    elif spec.comparator == "<=":
        verdict = (
            "met"
            if iv.upper <= spec.threshold
            else ("not_met" if iv.lower > spec.threshold else "inconclusive")
        )
        rule = (
            f"{spec.target} requires the upper bound of the {pct} interval to be <= "
            f"{spec.threshold:g}; it is {iv.upper:.4g}"
        )
    else:
        inside = spec.low <= iv.lower and iv.upper <= spec.high
        outside = iv.upper < spec.low or iv.lower > spec.high
        verdict = "met" if inside else ("not_met" if outside else "inconclusive")
        rule = (
            f"{spec.target} requires the whole {pct} interval inside [{spec.low:g}, "
            f"{spec.high:g}]; it is [{iv.lower:.4g}, {iv.upper:.4g}]"
        )
    if insufficient is not None and verdict != "not_met":
        # Too few cases cannot show a KPI is met (intervals undercover there), but a shortfall
        # the interval already shows is a warning that must not be hidden.
        return _insufficient(spec, result, insufficient, meets)
    if insufficient is not None:
        rule += f", even on insufficient data ({insufficient})"
    return KpiVerdict(spec, result, verdict, f"{verdict}: {rule} {_numbers(result)}.", meets)


def _insufficient(spec: KpiSpec, result: MetricResult, reason: str, meets: bool) -> KpiVerdict:
    return KpiVerdict(
        spec,
        result,
        "inconclusive",
        f"inconclusive: {spec.target} is not judged on insufficient data: {reason} "
        f"{_numbers(result)}.",
        meets,
    )


def _numbers(result: MetricResult) -> str:
    iv = result.interval
    if iv is None:
        return f"(estimate {result.value:.4g}, no interval)"
    pct = f"{iv.level * 100:g}%"
    return f"(estimate {iv.estimate:.4g}, {pct} CI {iv.lower:.4g}-{iv.upper:.4g}, {iv.method})"


def resolve_metric(
    spec: KpiSpec,
    metrics: Mapping[str, MetricResult],
    per_class: Mapping[str, Mapping[str, MetricResult]] | None = None,
) -> MetricResult | None:
    """Find the computed result a KPI refers to, following :data:`METRIC_ALIASES`.

    Parameters
    ----------
    spec : KpiSpec
    metrics : mapping of str to MetricResult
        Overall metrics.
    per_class : mapping, optional
        ``{class label: {metric: MetricResult}}`` for multiclass one-vs-rest metrics.

    Returns
    -------
    MetricResult or None
        ``None`` when no such metric was computed. An alias returns the result renamed to the
        KPI's metric, with the equivalence in its note (followed by the source's own note).

    Examples
    --------
    >>> r = MetricResult("auc", 0.8, None, 10)
    >>> resolve_metric(KpiSpec("c_index", ">=", threshold=0.75), {"auc": r}).note
    "computed as 'auc': for a binary outcome Harrell's C-index equals the ROC AUC"
    """
    name, why = METRIC_ALIASES.get(spec.metric, (spec.metric, None))
    source = metrics if spec.class_label is None else (per_class or {}).get(spec.class_label, {})
    result = source.get(name)
    if result is None or why is None:
        return result
    # Keep the source's own caveat (an AUC's insufficient-data note, say) after the alias.
    note = "; ".join(filter(None, [f"computed as {name!r}: {why}", result.note]))
    return MetricResult(
        spec.metric, result.value, result.interval, result.n, result.undefined_reason, note
    )
