"""What the registry measures for a reviewer before they score (hta.md 6.2-6.4): the evidence
level of each evaluation, the KPI verdicts, the subgroup flags, and the ethics self-assessment.

The result is plain data frozen into the submission; the suggested scores are only suggestions
(the reviewer scores and justifies every domain).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from evaluation import hta
from registry.auth import Actor
from registry.models import Device, SubgroupVariable
from registry.models.evaluations import EvaluationStatus
from registry.services import ethics, evaluations


def finished_evaluations(session: Session, actor: Actor, version_ids: set[int]) -> list:
    """Finished evaluations of the given model versions, oldest first."""
    found = [e for version_id in version_ids
             for e in evaluations.evaluations_of_version(session, actor, version_id)
             if e.status == EvaluationStatus.done]
    return sorted(found, key=lambda e: e.id)


def latest_ethics_assessment(session: Session, device: Device) -> dict[str, Any] | None:
    """The device's ethics self-assessment the reviewer should read (the latest submitted one,
    else the draft) with its grid score, as plain data; None when there is none."""
    submitted = ethics.submitted_of(session, device)
    shown = submitted or ethics.newest_of(session, device)
    if shown is None:
        return None
    reviews = ethics.reviews_of(session, shown) if shown is submitted else {}
    scores = ethics.score_dict(ethics.get_grid(shown.grid_version),
                               ethics.answers_of(session, shown), reviews)
    pending = (ethics.gate_facts(session, device, None, set())["submitted"] or {}) \
        if shown is submitted else {}
    return {"id": shown.id, "number": shown.number, "status": shown.status.value,
            "grid_version": shown.grid_version, "score_percent": scores["overall"]["pct"],
            "blocking_below": pending.get("blocking_below", []),
            "not_reviewed": pending.get("not_reviewed", []),
            "unanswered": pending.get("unanswered", [])}


def prefill(session: Session, device: Device, found: list,
            ethics_assessment: dict[str, Any] | None) -> dict[str, Any]:
    """Evidence levels, KPI verdicts, subgroup flags and suggested D3/D6/D7 scores of the
    evaluations ``found``."""
    evidence = []
    for ev in found:
        rung = hta.evidence_level(_kind(ev.dataset_kind))
        evidence.append({"evaluation_id": ev.id, "dataset_kind": _kind(ev.dataset_kind),
                         "site": ev.site, "level": rung.level, "level_name": rung.name,
                         "guidelines": list(rung.reporting_guidelines)})
    kpis = [{"evaluation_id": ev.id, "dataset_kind": _kind(ev.dataset_kind),
             **{k: v.get(k) for k in ("metric", "is_primary", "verdict", "estimate", "ci_low",
                                      "ci_high")}}
            for ev in found for v in (ev.kpi_verdicts or [])]
    declared = {s.variable: s for s in session.exec(
        select(SubgroupVariable).where(SubgroupVariable.device_id == device.id))}
    # The evaluations area computes each declared variable's gap (best - worst level).
    facts = evaluations.gate_facts(session, device, None, {e.model_version_id for e in found})
    gaps = {e["id"]: e["subgroup_gaps"] for e in facts["evaluations"]}
    flags = [flag for ev in found for flag in subgroup_flags(ev, declared, gaps.get(ev.id, {}))]
    suggestions = {"D3": _suggest_d3(evidence), "D7": _suggest_d7(kpis, flags)}
    if ethics_assessment is not None:
        suggestions["D6"] = _suggest_d6(ethics_assessment, flags)
    return {"evidence": evidence, "kpis": kpis, "subgroup_flags": flags,
            "ethics": ethics_assessment, "suggestions": suggestions,
            "notes": _notes(found, ethics_assessment)}


def _kind(value: Any) -> str:
    return getattr(value, "value", value)


def subgroup_flags(ev, declared: dict[str, SubgroupVariable],
                   gaps: dict[str, dict[str, float | None]]) -> list[dict[str, Any]]:
    """Gaps beyond the declared tolerance, levels too small to conclude, KPI flags."""
    flags = []
    for name, variable in declared.items():
        gap = gaps.get(name, {}).get(variable.gap_metric)
        if variable.max_gap is not None and gap is not None and gap > variable.max_gap:
            flags.append(_flag(ev, name, "gap", (
                f"{variable.gap_metric} gap {gap:.3f} between levels of {name} exceeds the "
                f"declared {variable.max_gap}")))
    for column in (ev.results or {}).get("subgroups") or []:
        name = column.get("column", "")
        for level in column.get("levels") or []:
            label = f"{name}={level.get('level')}"
            if level.get("insufficient_data"):
                flags.append(_flag(ev, name, "insufficient_data", (
                    f"{label}: insufficient data ({level.get('insufficient_reason') or 'small'})")))
            for sentence in level.get("kpi_flags") or []:
                flags.append(_flag(ev, name, "kpi", f"{label}: {sentence}"))
    return flags


def _flag(ev, variable: str, kind: str, text: str) -> dict[str, Any]:
    return {"evaluation_id": ev.id, "variable": variable, "kind": kind, "text": text}


def _suggest_d3(evidence: list[dict[str, Any]]) -> dict[str, Any]:
    # hta.md 6.2 D3 anchors follow the evidence ladder: L1 -> 1, L2 -> 2, L3 -> 3, L4 -> 4.
    if not evidence:
        return {"score": "0", "reason": "no evaluation on clinical data in the registry"}
    best = max(evidence, key=lambda e: e["level"])
    score = str(int(best["level"][1]))
    return {"score": score, "reason": f"highest evidence level {best['level']} "
                                      f"({best['level_name']}, evaluation {best['evaluation_id']})"}


def _suggest_d7(kpis: list[dict[str, Any]], flags: list[dict[str, Any]]) -> dict[str, Any]:
    """hta.md 6.2 D7 anchors 0-3 from the KPI verdicts (4 needs stability the registry cannot
    judge from one submission)."""
    primary = [k for k in kpis if k.get("is_primary")]
    independent = [k for k in kpis if k["dataset_kind"] != "internal"]
    if any(k["verdict"] == "not_met" for k in primary):
        return {"score": "0", "reason": "a primary KPI was not met"}
    if not primary:
        return {"score": "ND", "reason": "no primary KPI verdict in the submitted evaluations"}
    met_outside = [k for k in primary if k in independent and k["verdict"] == "met"]
    if not met_outside:
        return {"score": "1", "reason": "primary KPI met only on internal data (or inconclusive)"}
    all_met = independent and all(k["verdict"] == "met" for k in independent)
    if all_met and not flags:
        return {"score": "3", "reason": "all KPIs met on independent data, no subgroup flag"}
    short = [f"{k['metric']} {k['verdict']}" for k in independent if k["verdict"] != "met"]
    gaps = ([f"{len(flags)} subgroup flag(s)"] if flags else []) + (
        [f"not met with confidence on independent data: {', '.join(short)}"] if short else [])
    return {"score": "2", "reason": "primary KPI met on independent data (CI bound), but "
                                    + "; ".join(gaps)}


def _suggest_d6(assessment: dict[str, Any], flags: list[dict[str, Any]]) -> dict[str, Any]:
    """hta.md 6.2 D6 anchors on the ethics grid score; subgroup flags are equity questions the
    reviewer weighs there too."""
    percent = assessment.get("score_percent")
    equity = f"; {len(flags)} subgroup flag(s) to weigh for equity" if flags else ""
    if assessment["status"] != "submitted" or percent is None:
        return {"score": "ND", "reason": "the ethics self-assessment is not submitted" + equity}
    percent *= 100
    if assessment["blocking_below"]:
        # Anchor 2 needs every blocking criterion at maturity >= 2.
        return {"score": "1", "reason": f"grid {percent:.0f}%, blocking criteria below "
                f"maturity 2: {', '.join(assessment['blocking_below'])}" + equity}
    score = 1 if percent < 40 else 2 if percent < 70 else 3 if percent < 90 else 4
    if score == 4 and (assessment["not_reviewed"] or assessment["unanswered"]):
        score = 3  # anchor 4 also needs every criterion reviewed
    return {"score": str(score), "reason": f"ethics grid score {percent:.0f}%" + equity}


def _notes(found: list, ethics_assessment: dict[str, Any] | None) -> list[str]:
    notes = []
    if not found:
        notes.append("no finished evaluation was submitted: D3 and D7 rest on documents only")
    if ethics_assessment is None:
        notes.append("no ethics self-assessment recorded in the registry for this device")
    return notes
