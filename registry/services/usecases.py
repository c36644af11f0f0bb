"""Use-case prioritisation: the strategy's six criteria, scored 1, 3 or 5 by authority assessors.

Aggregation (use_cases.md section 2): an assessor's total is the sum of the six scores (6-30),
each multiplied by its weight when weights are given; a use case's total is the mean of its
assessors' totals; ties are broken by the mean NEED score, then the mean MATURITY score.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from sqlmodel import Session, select

from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, NotFoundError
from registry.models import Device, Organisation, User, utcnow
from registry.models.catalogue import Criterion, UseCase, UseCaseAssessment
from registry.schemas.catalogue import AssessmentIn, UseCaseIn
from registry.services.common import snapshot

# The anchored descriptions of the strategy's Annex 3 (use_cases.md section 2), in our words.
CRITERIA: list[dict[str, Any]] = [
    {"code": Criterion.NEED.value, "name": "Public-health need and interest",
     "question": "Prevalence, severity, expected gain in prevention, diagnosis, treatment or "
                 "follow-up; equity and access.",
     "anchors": {1: "Little need or limited impact: rare problem, low severity, marginal "
                    "benefit.",
                 3: "Moderate impact: a widespread problem for which alternatives already exist.",
                 5: "Major impact: a priority public-health issue or an unmet medical need."}},
    {"code": Criterion.MATURITY.value, "name": "Technological maturity",
     "question": "Level of scientific evidence and clinical validation (CE marking, agency "
                 "validation).",
     "anchors": {1: "Experimental or proof of concept; little or no clinical validation, "
                    "limited data.",
                 3: "Advanced development still to be validated: trials under way, CE marking "
                    "started.",
                 5: "Mature and validated: widely used, robust data, regulatory compliance "
                    "established."}},
    {"code": Criterion.DATA.value, "name": "Health data",
     "question": "Availability, quality and representativeness of data for training and "
                 "evaluation; robustness, access, compliance, interoperability.",
     "anchors": {1: "Data missing, very limited or not representative; quality, reliability or "
                    "access problems (no suitable database, standards or legal framework).",
                 3: "Data available but needing exploitation and standardisation work (partial "
                    "databases, anonymisation, limited interoperability).",
                 5: "Robust, representative, easily usable data in standardised, high-quality "
                    "databases that meet regulatory requirements."}},
    {"code": Criterion.FEASIBILITY.value, "name": "Operational (human resources) feasibility",
     "question": "Training needed, workflow changes, acceptability to patients and "
                 "professionals.",
     "anchors": {1: "Very complex: long training, resistance, incompatible with current "
                    "practice.",
                 3: "Feasible with adaptations: specific training, adjusted clinical processes.",
                 5: "Easy and immediate: minimal training, fits existing workflows, high "
                    "acceptability."}},
    {"code": Criterion.FRAMEWORK_COST.value, "name": "Constraints and costs",
     "question": "Financial and material resources and regulatory compliance, with scale-up in "
                 "view.",
     "anchors": {1: "High costs and constraints: major investment, complex maintenance, many "
                    "regulatory obstacles.",
                 3: "Moderate costs, manageable constraints: a significant but sustainable "
                    "budget, regulatory adjustments needed.",
                 5: "Low costs and few constraints: cheap, easy to maintain, compliant."}},
    {"code": Criterion.DELAY.value, "name": "Time to deliver",
     "question": "Time for development, regulatory validation, training, integration in the "
                 "hospital information system and adoption.",
     "anchors": {1: "Long term: more than 5 years.",
                 3: "Medium term: 2 to 5 years.",
                 5: "Short term: less than 2 years."}},
]


def weighted_total(scores: dict[str, int], weights: dict[str, float]) -> float:
    return float(sum(score * weights.get(code, 1.0) for code, score in scores.items()))


# --- use cases --------------------------------------------------------------------------------


def create_use_case(session: Session, actor: Actor, data: UseCaseIn) -> UseCase:
    """Register a use case to prioritise (authority). ConflictError for a taken code."""
    auth.require(actor, Permission.USE_CASE_WRITE)
    if session.exec(select(UseCase.id).where(UseCase.code == data.code)).first():
        raise ConflictError(f"use case code '{data.code}' is already taken; choose another")
    device_id = None
    if data.device_code is not None:
        device = session.exec(select(Device).where(Device.code == data.device_code)).first()
        if device is None or not auth.can_see(session, actor, device):
            raise InvalidInputError(f"device_code '{data.device_code}' is not a registered "
                                    "device; leave it blank or give an existing code")
        device_id = device.id
    use_case = UseCase(code=data.code, title=data.title, theme=data.theme,
                       description=data.description, device_id=device_id,
                       created_by=actor.user_id)
    session.add(use_case)
    audit.record(session, actor, "use_case.create", use_case, {"after": snapshot(use_case)})
    return use_case


def list_use_cases(session: Session, actor: Actor) -> list[UseCase]:
    auth.require(actor, Permission.NATIONAL_READ)
    return list(session.exec(select(UseCase).order_by(UseCase.code)).all())


def get_use_case(session: Session, actor: Actor, code: str) -> UseCase:
    auth.require(actor, Permission.NATIONAL_READ)
    use_case = session.exec(select(UseCase).where(UseCase.code == code)).first()
    if use_case is None:
        raise NotFoundError(f"use case {code} not found")
    return use_case


def device_codes(session: Session, use_cases: list[UseCase]) -> dict[int, str]:
    ids = {u.device_id for u in use_cases if u.device_id}
    if not ids:
        return {}
    return {d.id: d.code for d in session.exec(select(Device).where(Device.id.in_(ids)))}


def use_case_out(use_case: UseCase, codes: dict[int, str]) -> dict[str, Any]:
    return {**use_case.model_dump(), "device_code": codes.get(use_case.device_id)}


# --- assessments ------------------------------------------------------------------------------


def score_use_case(session: Session, actor: Actor, code: str,
                   data: AssessmentIn) -> UseCaseAssessment:
    """Record (or revise) the actor's own scores of a use case; audited with before/after."""
    auth.require(actor, Permission.USE_CASE_WRITE)
    use_case = get_use_case(session, actor, code)
    scores = {c.value: int(data.scores[c]) for c in Criterion}
    justifications = {c.value: data.justifications[c].strip() for c in Criterion}
    weights = {c.value: float(w) for c, w in data.weights.items()}
    row = session.exec(select(UseCaseAssessment).where(
        UseCaseAssessment.use_case_id == use_case.id,
        UseCaseAssessment.assessor_id == actor.user_id)).first()
    before = snapshot(row, ["scores", "justifications", "weights", "total"]) if row else None
    if row is None:
        row = UseCaseAssessment(use_case_id=use_case.id, assessor_id=actor.user_id,
                                organisation_id=actor.organisation_id, total=0)
    row.scores, row.justifications, row.weights = scores, justifications, weights
    row.total = weighted_total(scores, weights)
    row.updated_at = utcnow()
    session.add(row)
    audit.record(session, actor, "use_case.score", row, {
        "use_case": use_case.code, "before": before,
        "after": snapshot(row, ["scores", "justifications", "weights", "total"])})
    return row


def assessments_of(session: Session, actor: Actor, code: str) -> list[dict[str, Any]]:
    """Every assessor's scores of one use case, with who gave them."""
    use_case = get_use_case(session, actor, code)
    rows = session.exec(select(UseCaseAssessment, User, Organisation)
                        .join(User, User.id == UseCaseAssessment.assessor_id)
                        .join(Organisation, Organisation.id == UseCaseAssessment.organisation_id)
                        .where(UseCaseAssessment.use_case_id == use_case.id)
                        .order_by(UseCaseAssessment.id)).all()
    return [{**a.model_dump(), "use_case_code": use_case.code, "assessor": user.name,
             "assessor_email": user.email, "organisation": org.name} for a, user, org in rows]


def ranking(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Use cases ranked by mean total (ties: mean NEED, then mean MATURITY); unscored last."""
    use_cases = list_use_cases(session, actor)
    codes = device_codes(session, use_cases)
    by_case: dict[int, list[UseCaseAssessment]] = {}
    for a in session.exec(select(UseCaseAssessment)):
        by_case.setdefault(a.use_case_id, []).append(a)
    rows = []
    for u in use_cases:
        assessed = by_case.get(u.id, [])
        means = {c.value: fmean(a.scores[c.value] for a in assessed) for c in Criterion} \
            if assessed else {}
        rows.append({"code": u.code, "title": u.title, "theme": u.theme.value,
                     "device_code": codes.get(u.device_id), "assessors": len(assessed),
                     "mean_scores": means,
                     "total": fmean(a.total for a in assessed) if assessed else None})

    def key(row):
        if row["total"] is None:
            return (1, 0.0, 0.0, 0.0, row["code"])
        means = row["mean_scores"]
        return (0, -row["total"], -means["NEED"], -means["MATURITY"], row["code"])

    rows.sort(key=key)
    rank, previous = 0, None
    for position, row in enumerate(rows, start=1):
        tie = key(row)[:4]
        if row["total"] is not None and tie != previous:
            rank, previous = position, tie
        row["rank"] = rank if row["total"] is not None else 0
    return rows
