"""Per-site estimates pooled by inverse variance (fixed and DerSimonian-Laird random effects)
with Cochran's Q and I-squared, so a reviewer sees whether one site carries the result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from evaluation.results import Interval, MetricResult, PlainData


@dataclass(frozen=True)
class PooledEstimate(PlainData):
    """Meta-analysis of one metric across sites.

    Attributes
    ----------
    metric : str
    scale : str
        ``"identity"`` or ``"logit"``: the scale the pooling was done on; the intervals are
        back-transformed to the metric's scale.
    sites : tuple of str
        Sites that entered the pooling (a site with an undefined metric is left out).
    fixed : Interval
        Inverse-variance fixed-effect estimate.
    random : Interval
        DerSimonian-Laird random-effects estimate.
    q : float
        Cochran's Q.
    q_p_value : float
        p-value of Q against chi-square with ``k - 1`` degrees of freedom.
    i_squared : float
        ``max(0, (Q - (k - 1)) / Q)``: share of variability due to heterogeneity.
    tau_squared : float
        DerSimonian-Laird between-site variance (on the pooling scale).
    """

    metric: str
    scale: str
    sites: tuple[str, ...]
    fixed: Interval
    random: Interval
    q: float
    q_p_value: float
    i_squared: float
    tau_squared: float


def pool_estimates(
    estimates: Sequence[float],
    variances: Sequence[float],
    *,
    metric: str,
    sites: Sequence[str],
    level: float = 0.95,
    scale: str = "identity",
) -> PooledEstimate:
    """Pool per-site estimates by inverse variance.

    Parameters
    ----------
    estimates, variances : sequence of float
        Per-site estimates and their variances, on the pooling scale (for ``scale="logit"``,
        logits and logit variances). Variances must be positive.
    metric : str
        Metric name recorded in the result.
    sites : sequence of str
        Site labels, in the order of ``estimates``.
    level : float, default 0.95
    scale : {"identity", "logit"}
        Scale of the inputs; ``"logit"`` intervals are back-transformed with ``expit``.

    Returns
    -------
    PooledEstimate

    Raises
    ------
    ValueError
        With fewer than two sites or a non-positive variance.

    References
    ----------
    DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials
    1986;7:177-188. Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis.
    Stat Med 2002;21:1539-1558.

    Examples
    --------
    >>> r = pool_estimates([0.80, 0.90], [0.001, 0.001], metric="mae", sites=["A", "B"])
    >>> round(r.fixed.estimate, 4), round(r.q, 4), round(r.i_squared, 4)
    (0.85, 5.0, 0.8)
    """
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    k = y.size
    if k < 2:
        raise ValueError(f"pooling needs at least two sites. Got {k} instead.")
    if np.any(v <= 0) or not np.all(np.isfinite(v)):
        raise ValueError("every site variance must be positive and finite")
    w = 1.0 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    df = k - 1
    tau2 = max(0.0, (q - df) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    w_random = 1.0 / (v + tau2)
    random = float(np.sum(w_random * y) / np.sum(w_random))
    z = float(special.ndtri(0.5 + level / 2))
    back = special.expit if scale == "logit" else (lambda x: x)

    def interval(estimate: float, total_weight: float, method: str) -> Interval:
        half = z / np.sqrt(total_weight)
        return Interval(
            float(back(estimate)),
            float(back(estimate - half)),
            float(back(estimate + half)),
            level,
            method,
        )

    return PooledEstimate(
        metric=metric,
        scale=scale,
        sites=tuple(sites),
        fixed=interval(fixed, float(np.sum(w)), "inverse-variance fixed effect"),
        random=interval(random, float(np.sum(w_random)), "dersimonian-laird random effects"),
        q=q,
        q_p_value=float(stats.chi2.sf(q, df)),
        i_squared=0.0 if q <= 0 else max(0.0, (q - df) / q),
        tau_squared=float(tau2),
    )


def logit_auc(auc: float, variance: float) -> tuple[float, float] | str:
    """Logit of an AUC and its delta-method variance ``variance / (auc (1 - auc))**2``.

    The scale of the DeLong-logit interval of a single AUC
    (:func:`evaluation.intervals.delong_interval`): pooled there, the AUCs are skewed and
    bounded no more, and the pooled interval stays inside (0, 1).

    Returns
    -------
    tuple of float, or str
        ``(logit, variance)``; at an AUC of 0 or 1 the logit is infinite and the site cannot
        enter the pooling: the reason, as a sentence.

    Examples
    --------
    >>> [round(x, 4) for x in logit_auc(0.8, 0.0016)]
    [1.3863, 0.0625]
    >>> logit_auc(1.0, 0.0)
    'AUC 1 (perfect separation) has no logit'
    """
    if auc in (0.0, 1.0):
        return f"AUC {auc:g} (perfect separation) has no logit"
    return float(special.logit(auc)), float(variance / (auc * (1.0 - auc)) ** 2)


def logit_proportion(successes: int, trials: int) -> tuple[float, float]:
    """Logit of a proportion and its variance ``1/x + 1/(n - x)``.

    A 0.5 continuity correction is added to both counts when either is zero, so sites with
    perfect sensitivity still enter the pooling (the usual practice in diagnostic
    meta-analysis).

    Examples
    --------
    >>> logit_proportion(10, 10)
    (3.044522437723423, 2.0952380952380953)
    """
    x, f = float(successes), float(trials - successes)
    if x == 0 or f == 0:
        x, f = x + 0.5, f + 0.5
    return float(np.log(x / f)), 1.0 / x + 1.0 / f


@dataclass(frozen=True)
class SiteAnalysis(PlainData):
    """Per-site metrics and their pooled estimates.

    Attributes
    ----------
    per_site : dict of str to dict of str to MetricResult
        Site to metric name to result.
    pooled : dict of str to PooledEstimate
        Metric name to its meta-analysis across sites.
    notes : tuple of str
        Metrics that could not be pooled, and why.
    """

    per_site: dict[str, dict[str, MetricResult]]
    pooled: dict[str, PooledEstimate]
    notes: tuple[str, ...]


def analyse_sites(
    site: np.ndarray,
    compute: Callable[[np.ndarray], dict[str, MetricResult]],
    pooling_inputs: Callable[[np.ndarray], dict[str, tuple[float, float, str] | None]],
    *,
    level: float = 0.95,
) -> SiteAnalysis:
    """Metrics per site and pooled across sites.

    Parameters
    ----------
    site : numpy.ndarray of str, shape (n,)
        Site of each row.
    compute : callable
        ``compute(mask) -> {metric: MetricResult}`` for one site's rows.
    pooling_inputs : callable
        ``pooling_inputs(mask) -> {metric: (estimate, variance, scale), str or None}`` on the
        pooling scale (``"identity"`` or ``"logit"``); a site that cannot enter gives why (a
        sentence) or ``None`` when its metric is undefined.
    level : float, default 0.95

    Returns
    -------
    SiteAnalysis

    Examples
    --------
    >>> site = np.array(["A", "A", "B", "B"])
    >>> r = analyse_sites(site, lambda m: {},
    ...                   lambda m: {"bias": (float(m[0]), 0.1, "identity")})
    >>> r.pooled["bias"].sites, round(r.pooled["bias"].fixed.estimate, 2)
    (('A', 'B'), 0.5)
    """
    per_site, inputs = {}, {}
    for label in sorted(np.unique(site).tolist()):
        mask = site == label
        per_site[str(label)] = compute(mask)
        inputs[str(label)] = pooling_inputs(mask)
    pooled, notes = {}, []
    names = sorted({name for values in inputs.values() for name in values})
    for name in names:
        usable = {
            s: v[name]
            for s, v in inputs.items()
            if isinstance(v.get(name), tuple) and v[name][1] > 0 and np.isfinite(v[name][1])
        }
        reasons = {s: v[name] for s, v in inputs.items() if isinstance(v.get(name), str)}
        left_out = sorted(set(inputs) - set(usable) - set(reasons))
        if left_out:
            notes.append(f"{name}: sites {left_out} left out (undefined or zero variance)")
        notes.extend(f"{name}: site {s!r} left out: {why}" for s, why in sorted(reasons.items()))
        if len(usable) < 2:
            notes.append(
                f"{name}: not pooled; {len(usable)} site(s) with a defined estimate and "
                "positive variance, at least 2 needed"
            )
            continue
        labels = list(usable)
        pooled[name] = pool_estimates(
            [usable[s][0] for s in labels],
            [usable[s][1] for s in labels],
            metric=name,
            sites=labels,
            level=level,
            scale=usable[labels[0]][2],
        )
    return SiteAnalysis(per_site, pooled, tuple(notes))
