"""The registry's HTA reviewer scheme (hta.md section 6) as data, and the pure rules on it.

Domains D1-D9 are scored 0-4 (or ``"NA"``, not applicable, or ``"ND"``, cannot be judged);
:func:`derive_opinion` applies the non-compensatory opinion rules, first match wins, and
:func:`evidence_level` maps a dataset kind to the evidence ladder of section 6.4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evaluation.errors import EvaluationInputError
from evaluation.results import PlainData


@dataclass(frozen=True)
class Domain(PlainData):
    """One assessment domain with its 0-4 anchors (hta.md 6.1, 6.2)."""

    code: str
    name: str
    critical: bool
    weight: int
    anchors: tuple[str, str, str, str, str]


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "D1",
        "clinical effectiveness",
        True,
        3,
        (
            "no benefit or worse than current practice",
            "benefit shown only on technical metrics",
            "accuracy non-inferior to current practice on external data",
            "better clinically relevant intermediate outcome in prospective data",
            "better patient outcomes in a comparative study / RCT",
        ),
    ),
    Domain(
        "D2",
        "safety",
        True,
        3,
        (
            "unmitigated serious hazard or attributable serious incidents",
            "risk analysis incomplete, failure modes unknown",
            "complete risk file, residual risks acceptable, little field data",
            "plus FN/FP harm analysis and verified mitigations, effective human oversight",
            "plus >= 1 year of real-world safety data without open signals",
        ),
    ),
    Domain(
        "D3",
        "quality of evidence",
        True,
        2,
        (
            "no clinical data",
            "internal validation only (L1)",
            "external retrospective, multi-site (L2), guideline-compliant reporting",
            "prospective study (L3) at low risk of bias",
            "RCT or several concordant prospective studies (L4)",
        ),
    ),
    Domain(
        "D4",
        "organisational impact",
        False,
        1,
        (
            "unsafe or disruptive to care organisation",
            "not assessed",
            "described and plausible (simulation, expert estimate)",
            "measured in a pilot (time, workload, pathway)",
            "measured in multi-site use with sustained effect",
        ),
    ),
    Domain(
        "D5",
        "economic impact",
        False,
        1,
        (
            "net cost with no benefit",
            "not assessed",
            "budget-impact estimate",
            "cost-consequence or model-based cost-effectiveness on real data",
            "robust cost-effectiveness / cost-utility showing efficiency",
        ),
    ),
    Domain(
        "D6",
        "ethics",
        False,
        1,
        (
            "a blocking ethics criterion at maturity 0",
            "grid score < 40%",
            "40-69% and all blocking criteria >= 2",
            "70-89%",
            ">= 90%, every criterion reviewed",
        ),
    ),
    Domain(
        "D7",
        "AI performance and robustness",
        True,
        2,
        (
            "primary KPI failed",
            "KPIs met only on internal data",
            "primary KPI met on external data (CI lower bound), but unexplained subgroup gaps or "
            "poor calibration",
            "all KPIs met externally, subgroups within tolerance, calibration good",
            "plus stable across sites, vendors and time; adaptive: change protocol validated; "
            "generative: omission / hallucination rates measured and within limits",
        ),
    ),
    Domain(
        "D8",
        "explainability and human oversight",
        False,
        1,
        (
            "opaque output, no override",
            "limits undocumented, minimal information",
            "IFU states limits and per-group performance; confidence shown; override possible",
            "explanations suited to users and tested with them; automation-bias mitigations",
            "explanation usefulness shown in a reader study; overrides logged and reviewed",
        ),
    ),
    Domain(
        "D9",
        "post-market follow-up",
        False,
        1,
        (
            "no PMS plan",
            "generic plan",
            "plan with indicators and thresholds",
            "plus automated drift / performance monitoring, feedback loop, tested incident process",
            "plus proof of operation (reports produced, alerts acted on, periodic audits)",
        ),
    ),
)
CRITICAL = tuple(d.code for d in DOMAINS if d.critical)
SCALE = {
    0: "unacceptable",
    1: "insufficient",
    2: "acceptable with reservations",
    3: "good",
    4: "excellent",
}
NOT_APPLICABLE, NOT_DETERMINED = "NA", "ND"
OPINIONS = ("unfavourable", "deferred", "favourable", "favourable_with_conditions")


@dataclass(frozen=True)
class EvidenceLevel(PlainData):
    """One rung of the evidence ladder (hta.md 6.4)."""

    level: str
    name: str
    typical_design: str
    dataset_kind: str | None
    reporting_guidelines: tuple[str, ...]


EVIDENCE_LEVELS: tuple[EvidenceLevel, ...] = (
    EvidenceLevel("L0", "technical verification", "bench tests, synthetic data", None, ()),
    EvidenceLevel(
        "L1",
        "internal validation",
        "cross-validation / random split from the development source",
        "internal",
        ("TRIPOD+AI", "STARD-AI"),
    ),
    EvidenceLevel(
        "L2",
        "external retrospective validation",
        "other sites, periods or device vendors; temporal validation",
        "external",
        ("TRIPOD+AI", "STARD-AI"),
    ),
    EvidenceLevel(
        "L3",
        "prospective evaluation",
        "silent-mode / shadow run, reader study in workflow, early live use",
        "prospective",
        ("DECIDE-AI", "STARD-AI"),
    ),
    EvidenceLevel(
        "L4",
        "randomised controlled trial",
        "individual, cluster or stepped-wedge RCT with clinical endpoints",
        "rct",
        ("SPIRIT-AI", "CONSORT-AI"),
    ),
)


def evidence_level(dataset_kind: str | None) -> EvidenceLevel:
    """Evidence level of an evaluation from its dataset kind (``None``: technical, L0).

    Raises
    ------
    EvaluationInputError
        For an unknown dataset kind.

    Examples
    --------
    >>> evidence_level("external").level
    'L2'
    """
    for rung in EVIDENCE_LEVELS:
        if rung.dataset_kind == dataset_kind:
            return rung
    kinds = [r.dataset_kind for r in EVIDENCE_LEVELS if r.dataset_kind]
    raise EvaluationInputError(
        [f"parameter dataset_kind: must be one of {kinds} or None. Got {dataset_kind!r} instead"]
    )


@dataclass(frozen=True)
class HtaOpinion(PlainData):
    """The opinion derived from domain scores.

    Attributes
    ----------
    opinion : {"unfavourable", "deferred", "favourable", "favourable_with_conditions"}
    rule : int
        Number of the rule that matched (1-4, hta.md 6.3).
    reason : str
        Why that rule matched, naming the domains.
    summary_score : float or None
        Display-only weighted score 0-100 over domains scored 0-4 (NA and ND left out).
    sa_suggestion : {"sufficient", "insufficient"}
        HAS-style "service attendu" suggestion for the reviewer.
    asa_suggestion : str or None
        Suggested ASA level (I-V) when SA is sufficient and a rule gives one.
    """

    opinion: str
    rule: int
    reason: str
    summary_score: float | None
    sa_suggestion: str
    asa_suggestion: str | None


def _check_scores(scores: Mapping[str, int | str]) -> None:
    problems = []
    codes = [d.code for d in DOMAINS]
    missing = [c for c in codes if c not in scores]
    if missing:
        problems.append(f"scores: domains {missing} missing; score every domain 0-4, NA or ND")
    unknown = sorted(set(scores) - set(codes))
    if unknown:
        problems.append(f"scores: unknown domains {unknown}; domains are D1 to D9")
    for code, value in scores.items():
        if code not in codes:
            continue
        allowed = value in (NOT_APPLICABLE, NOT_DETERMINED) or (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4
        )
        if not allowed:
            problems.append(f"scores: {code} must be 0-4, 'NA' or 'ND'. Got {value!r} instead")
        elif code in CRITICAL and value == NOT_APPLICABLE:
            problems.append(
                f"scores: {code} is a critical domain and cannot be 'NA'; score it 0-4 or 'ND'"
            )
    if problems:
        raise EvaluationInputError(problems)


def derive_opinion(
    scores: Mapping[str, int | str], *, major_mortality_effect: bool = False
) -> HtaOpinion:
    """Apply the opinion rules of hta.md 6.3 (first match wins).

    1. Unfavourable if, among scored values (ND ignored), a critical domain is 0, or D2 <= 1,
       or two or more critical domains are <= 1.
    2. Deferred if a critical domain is 1 or ND.
    3. Favourable if every critical domain is >= 3 and every other scored domain >= 2 (ND
       counts as 1).
    4. Favourable with conditions otherwise.

    Parameters
    ----------
    scores : mapping of str to int or str
        ``{"D1": 3, ..., "D9": "NA"}``, every domain present.
    major_mortality_effect : bool, default False
        Reviewer's flag: turns a suggested ASA II into I when D3 = 4.

    Returns
    -------
    HtaOpinion

    Raises
    ------
    EvaluationInputError
        Missing or unknown domains, values outside 0-4/NA/ND, NA on a critical domain.

    Examples
    --------
    >>> s = {"D1": 3, "D2": 3, "D3": 3, "D4": 2, "D5": "NA", "D6": 3, "D7": 3, "D8": 2,
    ...      "D9": 2}
    >>> o = derive_opinion(s)
    >>> o.opinion, o.rule, o.sa_suggestion, o.asa_suggestion
    ('favourable', 3, 'sufficient', 'III')
    """
    _check_scores(scores)
    scored = {c: v for c, v in scores.items() if isinstance(v, int)}
    # ND is "treated as 1 in decision rules" (hta.md 6.2), except in rule 1 where it is ignored.
    as_rule = {
        c: (1 if v == NOT_DETERMINED else v) for c, v in scores.items() if v != NOT_APPLICABLE
    }
    critical_scored = {c: scored[c] for c in CRITICAL if c in scored}
    low = [c for c, v in critical_scored.items() if v <= 1]
    zero = [c for c, v in critical_scored.items() if v == 0]
    if zero or scored.get("D2", 4) <= 1 or len(low) >= 2:
        if zero:
            reason = f"critical domain(s) {zero} scored 0"
        elif scored.get("D2", 4) <= 1:
            reason = f"D2 (safety) scored {scored['D2']} (<= 1)"
        else:
            reason = f"critical domains {low} scored <= 1"
        opinion, rule = "unfavourable", 1
    elif any(as_rule[c] == 1 for c in CRITICAL):
        weak = [c for c in CRITICAL if as_rule[c] == 1]
        reason = f"critical domain(s) {weak} scored 1 or ND: evidence insufficient"
        opinion, rule = "deferred", 2
    elif all(as_rule[c] >= 3 for c in CRITICAL) and all(
        v >= 2 for c, v in as_rule.items() if c not in CRITICAL
    ):
        reason = "every critical domain >= 3 and every other scored domain >= 2"
        opinion, rule = "favourable", 3
    else:
        short = [c for c, v in as_rule.items() if v < (3 if c in CRITICAL else 2)]
        reason = f"critical domains >= 2 but {short} below the favourable bar"
        opinion, rule = "favourable_with_conditions", 4
    weights = {d.code: d.weight for d in DOMAINS}
    total = sum(weights[c] for c in scored)
    summary = (
        None if total == 0 else 100 * sum(weights[c] * v for c, v in scored.items()) / (4 * total)
    )
    d1, d2, d3 = (as_rule["D1"], as_rule["D2"], as_rule["D3"])
    sufficient = d1 >= 2 and d2 >= 2 and d3 >= 2
    asa = None
    if sufficient:
        if d1 == 2:
            asa = "V"
        elif d1 == 3:
            asa = "IV" if d3 == 2 else "III"
        else:
            asa = "III" if d3 == 2 else ("I" if d3 == 4 and major_mortality_effect else "II")
    return HtaOpinion(
        opinion, rule, reason, summary, "sufficient" if sufficient else "insufficient", asa
    )
