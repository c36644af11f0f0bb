"""Services: Ethics-grid self-assessments and their reviews (issue #6).

The grid and every number come from the pure ``ethics_grid`` library; this module persists,
checks access and audits. A device's assessments are numbered 1, 2, ...; the newest may be a
draft. The first answer after a submission opens a new draft that starts from the submitted
answers (carried over with ``ethics_grid.carry_over`` when the grid version changed), so a
submitted assessment is never edited.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

import ethics_grid
from ethics_grid import Answer, AssessmentError, EvidenceRef, Grid, Review
from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, PermissionDeniedError
from registry.models import AccessGrant, Artifact, Device, ModelVersion, Stage, utcnow
from registry.models.ethics import (
    EthicsAnswer,
    EthicsAssessment,
    EthicsReview,
    EthicsStatus,
    EthicsVerdict,
)
from registry.schemas.ethics import AnswerIn, ReviewIn
from registry.services.common import snapshot as row_snapshot
from registry.services.devices import by_device, get_device

CURRENT_GRID_VERSION = "3"
"""The grid version new assessments use; assessments keep the version they started on."""

# The framing criterion that names the scientific and ethics committee: lifecycle.md G1.8 asks
# for the committee to be named, so it must be at least "initiated" (maturity 1) to leave S1.
COMMITTEE_CRITERION = "ETH-02"


@functools.cache
def get_grid(version: str = CURRENT_GRID_VERSION) -> Grid:
    """The grid version (validated and checked against its published fingerprint, once)."""
    try:
        return ethics_grid.load_grid(version)
    except ethics_grid.GridError as exc:
        raise InvalidInputError(str(exc)) from None


# --- reading ----------------------------------------------------------------------------------


def assessments_of(session: Session, device: Device) -> list[EthicsAssessment]:
    return by_device(session, EthicsAssessment, [device], EthicsAssessment.number)[device.id]


def newest_of(session: Session, device: Device) -> EthicsAssessment | None:
    rows = assessments_of(session, device)
    return rows[-1] if rows else None


def draft_of(session: Session, device: Device) -> EthicsAssessment | None:
    newest = newest_of(session, device)
    return newest if newest is not None and newest.status == EthicsStatus.draft else None


def submitted_of(session: Session, device: Device) -> EthicsAssessment | None:
    """The latest submitted assessment (the one reviewers review and gate G5.8 reads)."""
    submitted = [a for a in assessments_of(session, device) if a.status == EthicsStatus.submitted]
    return submitted[-1] if submitted else None


def answer_rows(session: Session, assessment: EthicsAssessment) -> list[EthicsAnswer]:
    return list(session.exec(select(EthicsAnswer).where(
        EthicsAnswer.assessment_id == assessment.id).order_by(EthicsAnswer.criterion_id)))


def review_rows(session: Session, assessment: EthicsAssessment) -> list[EthicsReview]:
    return list(session.exec(select(EthicsReview).where(
        EthicsReview.assessment_id == assessment.id).order_by(EthicsReview.criterion_id)))


def _answer_fields(row: EthicsAnswer | dict) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {"maturity": get("maturity"), "not_applicable": bool(get("not_applicable")),
            "justification": get("justification") or "", "explanation": get("explanation") or "",
            "evidence": [dict(e) for e in get("evidence") or []]}


def answers_of(session: Session, assessment: EthicsAssessment) -> dict[str, Answer]:
    """Criterion id -> library Answer; a submitted assessment is read from its frozen snapshot."""
    submitted = assessment.status == EthicsStatus.submitted
    return _answers(assessment, [] if submitted else answer_rows(session, assessment))


def _answers(assessment: EthicsAssessment, rows: list[EthicsAnswer]) -> dict[str, Answer]:
    """``answers_of`` given the answer rows of a draft (read for many drafts at once)."""
    if assessment.status == EthicsStatus.submitted:
        stored = assessment.snapshot["answers"]
    else:
        stored = {row.criterion_id: _answer_fields(row) for row in rows}
    return {cid: _to_answer(fields) for cid, fields in stored.items()}


def reviews_of(session: Session, assessment: EthicsAssessment) -> dict[str, Review]:
    return _reviews(review_rows(session, assessment))


def _reviews(rows: list[EthicsReview]) -> dict[str, Review]:
    return {r.criterion_id: Review(r.verdict.value if hasattr(r.verdict, "value") else r.verdict,
                                   r.comment, r.maturity)
            for r in rows}


def _to_answer(fields: dict[str, Any]) -> Answer:
    return Answer(maturity=fields["maturity"], explanation=fields["explanation"],
                  evidence=tuple(EvidenceRef(e["kind"], e["ref"]) for e in fields["evidence"]),
                  not_applicable=fields["not_applicable"], justification=fields["justification"])


def check_snapshot(assessment: EthicsAssessment) -> bool:
    """Whether a submitted assessment's snapshot still hashes to what was recorded."""
    return assessment.snapshot is not None and _sha256(assessment.snapshot) == \
        assessment.snapshot_sha256


def _sha256(value: Any) -> str:
    return hashlib.sha256(audit.canonical_json(value).encode()).hexdigest()


def may_answer(session: Session, actor: Actor, device: Device) -> bool:
    return auth.allows(actor, Permission.ETHICS_ANSWER) and \
        device.manufacturer_id == actor.organisation_id


def may_review(session: Session, actor: Actor, device: Device) -> bool:
    return auth.allows(actor, Permission.ETHICS_REVIEW) and _has_review_grant(
        session, actor, device)


def _has_review_grant(session: Session, actor: Actor, device: Device) -> bool:
    return session.exec(select(AccessGrant.id).where(
        AccessGrant.device_id == device.id, AccessGrant.organisation_id == actor.organisation_id,
        AccessGrant.purpose == "review")).first() is not None


def score_dict(grid: Grid, answers: dict[str, Answer],
               reviews: dict[str, Review] | None = None) -> dict[str, Any]:
    """The library's scores as plain data (per criterion, principle, stage, overall, missing)."""
    return dataclasses.asdict(ethics_grid.score_assessment(grid, answers, reviews))


def missing_by_stage(grid: Grid, answers: dict[str, Answer],
                     reviews: dict[str, Review] | None = None) -> dict[str, list[str]]:
    """Lifecycle stage -> ids of its criteria not answered yet (every stage listed)."""
    return {stage.value: list(ethics_grid.missing_for_stage(grid, answers, stage.value,
                                                            reviews=reviews))
            for stage in Stage}


def device_ethics(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """What the actor may see of the device's ethics: the draft only for its manufacturer."""
    device = get_device(session, actor, code)
    auth.require(actor, Permission.ETHICS_READ, device)
    draft = draft_of(session, device) if may_answer(session, actor, device) else None
    submitted = submitted_of(session, device)
    shown = draft or submitted
    grid = get_grid(shown.grid_version if shown else CURRENT_GRID_VERSION)
    answers = answers_of(session, shown) if shown else {}
    reviews = reviews_of(session, shown) if shown and shown is submitted else {}
    scores = None
    if submitted is not None:
        sub_grid = get_grid(submitted.grid_version)
        scores = score_dict(sub_grid, answers_of(session, submitted),
                            reviews_of(session, submitted))
    return {
        "device": device.code,
        "grid_version": grid.version,
        "draft": assessment_data(session, draft) if draft else None,
        "submitted": assessment_data(session, submitted) if submitted else None,
        "scores": scores,
        "missing_by_stage": missing_by_stage(grid, answers, reviews),
    }


def assessment_data(session: Session, assessment: EthicsAssessment) -> dict[str, Any]:
    previous = session.get(EthicsAssessment, assessment.previous_id) \
        if assessment.previous_id else None
    answers = answers_of(session, assessment)
    rows = {r.criterion_id: r for r in answer_rows(session, assessment)}
    return {
        "number": assessment.number, "grid_version": assessment.grid_version,
        "grid_fingerprint": assessment.grid_fingerprint, "status": assessment.status.value,
        "previous_number": previous.number if previous else None,
        "to_reanswer": assessment.to_reanswer, "created_at": assessment.created_at,
        "submitted_at": assessment.submitted_at, "snapshot_sha256": assessment.snapshot_sha256,
        "answers": [
            {"criterion_id": cid, "maturity": a.maturity, "not_applicable": a.not_applicable,
             "justification": a.justification, "explanation": a.explanation,
             "evidence": [{"kind": e.kind, "ref": e.ref} for e in a.evidence],
             "updated_by": rows[cid].updated_by if cid in rows else None,
             "updated_at": rows[cid].updated_at if cid in rows else None,
             "lock_version": rows[cid].lock_version if cid in rows else 0}
            for cid, a in sorted(answers.items())
        ],
        "reviews": [row_snapshot(r) for r in review_rows(session, assessment)],
    }


# --- the manufacturer's self-assessment --------------------------------------------------------


def _open_draft(session: Session, actor: Actor, device: Device) -> EthicsAssessment:
    """The device's draft, created on first use from the newest assessment (carried over to
    the current grid version when it changed)."""
    newest = newest_of(session, device)
    if newest is not None and newest.status == EthicsStatus.draft:
        return newest
    grid = get_grid(CURRENT_GRID_VERSION)
    draft = EthicsAssessment(
        device_id=device.id, number=(newest.number + 1) if newest else 1,
        grid_version=grid.version, grid_fingerprint=grid.fingerprint,
        previous_id=newest.id if newest else None, created_by=actor.user_id)
    start: dict[str, Answer] = {}
    versions: dict[str, int] = {}
    details: dict[str, Any] = {"grid_version": grid.version}
    if newest is not None:
        # A writer who read the newest assessment holds these versions: keep them.
        versions = {r.criterion_id: r.lock_version for r in answer_rows(session, newest)}
        old_answers = answers_of(session, newest)
        if newest.grid_version == grid.version:
            start = old_answers
        else:
            carried = ethics_grid.carry_over(old_answers, get_grid(newest.grid_version), grid)
            start = dict(carried.answers)
            draft.to_reanswer = [dataclasses.asdict(r) for r in carried.to_answer]
            details.update(carried_from=newest.grid_version,
                           to_reanswer=[r.criterion_id for r in carried.to_answer],
                           dropped=[d.criterion_id for d in carried.dropped])
        details["started_from"] = newest.number
    session.add(draft)
    session.flush()
    for cid, answer in start.items():
        session.add(EthicsAnswer(
            assessment_id=draft.id, device_id=device.id, criterion_id=cid,
            maturity=answer.maturity, not_applicable=answer.not_applicable,
            justification=answer.justification, explanation=answer.explanation,
            evidence=[{"kind": e.kind, "ref": e.ref} for e in answer.evidence],
            updated_by=actor.user_id, lock_version=versions.get(cid, 0)))
    details["answers_copied"] = len(start)
    audit.record(session, actor, "ethics.draft.open", draft, details)
    return draft


def _check_lock(what: str, lock_version: int | None, row: EthicsAnswer | EthicsReview | None
                ) -> int:
    """The row's lock_version (0 when there is no row yet); ConflictError when the writer read
    another one: someone saved since (the device row lock orders the writers)."""
    current = row.lock_version if row is not None else 0
    if lock_version is not None and lock_version != current:
        saved = f", saved {row.updated_at:%Y-%m-%d %H:%M:%S} UTC" if row is not None else ""
        raise ConflictError(
            f"{what} changed since you read it (your version {lock_version}, current "
            f"{current}{saved}); reload and apply your change again",
            errors=[{"pointer": "#/lock_version",
                     "detail": f"is {lock_version}; the current one is {current}"}])
    return current


def save_answer(session: Session, actor: Actor, code: str, criterion_id: str,
                data: AnswerIn) -> EthicsAnswer:
    """Save the manufacturer's answer to one criterion in the device's draft (audited).

    Raises ConflictError when ``data.lock_version`` is not the answer's current one.
    """
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.ETHICS_ANSWER, device)
    if device.withdrawn_at is not None:
        raise ConflictError(f"device {code} is withdrawn")
    draft = _open_draft(session, actor, device)
    grid = get_grid(draft.grid_version)
    if not grid.has(criterion_id):
        raise InvalidInputError(
            f"criterion '{criterion_id}' is not in ethics grid version {grid.version}; "
            f"use one of {grid.ids[0]} .. {grid.ids[-1]}")
    row = session.exec(select(EthicsAnswer).where(
        EthicsAnswer.assessment_id == draft.id,
        EthicsAnswer.criterion_id == criterion_id)).first()
    version = _check_lock(f"the answer to {criterion_id} on device {code}", data.lock_version,
                          row)
    evidence = [{"kind": e.kind, "ref": e.ref} for e in data.evidence]
    _check_evidence(session, actor, device, evidence)
    fields = {**data.model_dump(exclude={"evidence", "lock_version"}), "evidence": evidence}
    try:
        _to_answer(fields)
    except AssessmentError as exc:
        raise InvalidInputError("; ".join(exc.problems)) from None
    before = _answer_fields(row) if row else None
    if before == _answer_fields(fields):
        return row  # the same answer again (the form sends every answer of a stage): no write
    if row is None:
        row = EthicsAnswer(assessment_id=draft.id, device_id=device.id, criterion_id=criterion_id)
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_by, row.updated_at, row.lock_version = actor.user_id, utcnow(), version + 1
    draft.updated_at = row.updated_at
    session.add_all([row, draft])
    audit.record(session, actor, "ethics.answer", row, {
        "assessment": draft.number, "criterion_id": criterion_id,
        "before": before, "after": _answer_fields(row)})
    return row


# Registry records that can be linked as evidence: kind -> (models module, class). A link is
# checked only when its table exists (the areas land at different times), and must belong to
# the same device. Subgroup analyses and calibration results are parts of an evaluation, so
# their ``ref`` is the evaluation's id.
_COMPUTED = {
    "evaluation": ("evaluations", "Evaluation"),
    "subgroup_analysis": ("evaluations", "Evaluation"),
    "calibration": ("evaluations", "Evaluation"),
    "energy_record": ("energy", "EnergyRecord"),
    "monitoring_batch": ("monitoring", "MonitoringBatch"),
    "alert": ("monitoring", "MonitoringAlert"),
    "incident": ("monitoring", "Incident"),
    "model_version": ("core", "ModelVersion"),
    "deployment": ("core", "Deployment"),
    "kpi": ("core", "Kpi"),
}


# The part of an evaluation's results (registry/models/evaluations.py) a link points at.
_EVALUATION_PARTS = {"subgroup_analysis": "subgroups", "calibration": "calibration"}


def _check_evidence(session: Session, actor: Actor, device: Device,
                    evidence: list[dict[str, str]]) -> None:
    import importlib

    problems = []
    inspector = sa.inspect(session.connection())
    for item in evidence:
        kind, ref = item["kind"], item["ref"]
        where = f"evidence {kind}:{ref}"
        if kind == "link":
            if not ref.startswith(("https://", "http://")):
                problems.append(f"{where}: a link must be an http(s) URL")
            continue
        if not ref.isdigit():
            problems.append(f"{where}: give the record's numeric id")
            continue
        if kind == "artifact":
            artifact = session.get(Artifact, int(ref))
            if artifact is None or artifact.organisation_id != actor.organisation_id:
                problems.append(f"{where}: not one of your organisation's uploads")
            continue
        module_name, class_name = _COMPUTED[kind]
        model = getattr(importlib.import_module(f"registry.models.{module_name}"), class_name,
                        None)
        if model is None or not inspector.has_table(model.__tablename__):
            continue  # that area has not landed yet: keep the reference unchecked
        record = session.get(model, int(ref))
        if record is None or getattr(record, "device_id", device.id) != device.id:
            problems.append(f"{where}: no {kind.replace('_', ' ')} {ref} on device {device.code}")
        elif kind in _EVALUATION_PARTS and not (record.results or {}).get(_EVALUATION_PARTS[kind]):
            problems.append(f"{where}: evaluation {ref} has no {_EVALUATION_PARTS[kind]} result "
                            "(it may not be done yet, or had no such analysis)")
    if problems:
        raise InvalidInputError("fix the evidence: " + "; ".join(problems))


def submit_assessment(session: Session, actor: Actor, code: str) -> EthicsAssessment:
    """Freeze the draft: its answers become an immutable, hashed snapshot (audited)."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.ETHICS_SUBMIT, device)
    draft = draft_of(session, device)
    if draft is None:
        raise ConflictError(f"device {code} has no draft ethics self-assessment to submit; "
                            "answer a criterion first")
    grid = get_grid(draft.grid_version)
    if grid.fingerprint != draft.grid_fingerprint:
        raise ConflictError(f"ethics grid version {grid.version} changed since the draft began")
    rows = answer_rows(session, draft)
    if not rows:
        raise InvalidInputError("the draft has no answer yet; answer at least one criterion")
    frozen = {"grid_version": grid.version, "grid_fingerprint": grid.fingerprint,
              "answers": {r.criterion_id: _answer_fields(r) for r in rows}}
    draft.snapshot = frozen
    draft.snapshot_sha256 = _sha256(frozen)
    draft.status = EthicsStatus.submitted
    draft.submitted_by, draft.submitted_at = actor.user_id, utcnow()
    session.add(draft)
    unanswered = ethics_grid.score_assessment(grid, answers_of(session, draft)).missing.unanswered
    audit.record(session, actor, "ethics.submit", draft, {
        "device_id": device.id, "number": draft.number, "grid_version": grid.version,
        "snapshot_sha256": draft.snapshot_sha256, "answered": len(rows),
        "unanswered": list(unanswered)})
    return draft


# --- the reviewer ------------------------------------------------------------------------------


def review_criterion(session: Session, actor: Actor, code: str, criterion_id: str,
                     data: ReviewIn) -> EthicsReview:
    """A reviewer of a granted organisation agrees or disagrees with one answer (audited).

    Raises ConflictError when ``data.lock_version`` is not the review's current one.
    """
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.ETHICS_REVIEW, device)
    if not _has_review_grant(session, actor, device):
        raise PermissionDeniedError(
            f"your organisation has no review grant for device {code}; its manufacturer "
            "grants access to reviewing organisations")
    assessment = submitted_of(session, device)
    if assessment is None:
        raise ConflictError(f"device {code} has no submitted ethics self-assessment to review")
    grid = get_grid(assessment.grid_version)
    if not grid.has(criterion_id):
        raise InvalidInputError(
            f"criterion '{criterion_id}' is not in ethics grid version {grid.version}")
    row = session.exec(select(EthicsReview).where(
        EthicsReview.assessment_id == assessment.id,
        EthicsReview.criterion_id == criterion_id)).first()
    version = _check_lock(f"the review of {criterion_id} in self-assessment "
                          f"{assessment.number} of device {code}", data.lock_version, row)
    try:
        review = Review(data.verdict, data.comment, data.maturity)
        ethics_grid.assessment.check_assessment(
            grid, answers_of(session, assessment), {criterion_id: review})
    except AssessmentError as exc:
        raise InvalidInputError("; ".join(exc.problems)) from None
    kept = ["verdict", "comment", "maturity", "reviewer_id"]
    before = row_snapshot(row, kept) if row else None
    if before == {"verdict": data.verdict, "comment": data.comment, "maturity": data.maturity,
                  "reviewer_id": actor.user_id}:
        return row  # the same verdict again (the form sends every verdict): no write
    if row is None:
        row = EthicsReview(assessment_id=assessment.id, device_id=device.id,
                           criterion_id=criterion_id, verdict=EthicsVerdict(data.verdict))
    row.verdict, row.comment, row.maturity = EthicsVerdict(data.verdict), data.comment, \
        data.maturity
    row.reviewer_id, row.organisation_id = actor.user_id, actor.organisation_id
    row.updated_at, row.lock_version = utcnow(), version + 1
    session.add(row)
    audit.record(session, actor, "ethics.review", row, {
        "assessment": assessment.number, "criterion_id": criterion_id, "before": before,
        "after": row_snapshot(row, kept)})
    return row


# --- export and gates ---------------------------------------------------------------------------


def export_rows(session: Session, device: Device) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The newest submitted assessment (else the draft) as (header, one row per criterion)."""
    assessment = submitted_of(session, device) or draft_of(session, device)
    if assessment is None:
        raise InvalidInputError(f"device {device.code} has no ethics self-assessment yet")
    grid = get_grid(assessment.grid_version)
    reviews = reviews_of(session, assessment) if assessment.status == EthicsStatus.submitted \
        else {}
    rows = ethics_grid.to_rows(grid, answers_of(session, assessment), reviews)
    header = {"device": device.code, "assessment": assessment.number,
              "status": assessment.status.value, "grid_version": grid.version,
              "grid_fingerprint": assessment.grid_fingerprint,
              "snapshot_sha256": assessment.snapshot_sha256 or None,
              "submitted_at": assessment.submitted_at.isoformat()
              if assessment.submitted_at else None}
    return header, [dict(r) for r in rows]


def gate_facts(session: Session, device: Device, candidate: ModelVersion | None,
               accepted: set[int]) -> dict | None:
    return gate_facts_many(session, [device], {device.id: candidate},
                           {device.id: accepted})[device.id]


def gate_facts_many(session: Session, devices: list[Device],
                    candidates: dict[int, ModelVersion | None],
                    accepted: dict[int, set[int]]) -> dict[int, dict]:
    """What the ethics gate items read (registry/lifecycle.py: G1.8, G<n>.E, G5.8), per device
    id, in three statements however many devices (the dashboard shows them all).

    ``missing``: per lifecycle stage, the criteria of the newest assessment (draft included:
    an answer is an answer) not answered yet. ``committee_maturity``: the maturity given to the
    committee criterion. ``submitted``: for G5.8, what the latest submitted assessment lacks.
    Ethics is about the device, not one model version, so ``candidate`` is not used.
    """
    from registry.services.devices import rows_in

    assessments = by_device(session, EthicsAssessment, devices, EthicsAssessment.number)
    newest = {i: rows[-1] for i, rows in assessments.items() if rows}
    submitted = {i: a for i, rows in assessments.items()
                 if (a := next((a for a in reversed(rows)
                                if a.status == EthicsStatus.submitted), None))}
    # Rows by assessment id: the answers of the newest drafts, the reviews of the submitted.
    answers: dict[int, list[EthicsAnswer]] = {a.id: [] for a in newest.values()}
    query = select(EthicsAnswer).order_by(EthicsAnswer.assessment_id, EthicsAnswer.criterion_id)
    drafts = [a.id for a in newest.values() if a.status != EthicsStatus.submitted]
    for row in rows_in(session, query, EthicsAnswer.assessment_id, drafts):
        answers[row.assessment_id].append(row)
    reviews: dict[int, list[EthicsReview]] = {a.id: [] for a in submitted.values()}
    query = select(EthicsReview).order_by(EthicsReview.assessment_id, EthicsReview.criterion_id)
    for row in rows_in(session, query, EthicsReview.assessment_id, reviews):
        reviews[row.assessment_id].append(row)
    return {d.id: _gate_facts(newest.get(d.id), submitted.get(d.id), answers, reviews)
            for d in devices}


def _gate_facts(newest: EthicsAssessment | None, submitted: EthicsAssessment | None,
                answers_by_id: dict[int, list[EthicsAnswer]],
                reviews_by_id: dict[int, list[EthicsReview]]) -> dict[str, Any]:
    """One device's facts from its newest and latest submitted assessments."""
    grid = get_grid(newest.grid_version if newest else CURRENT_GRID_VERSION)
    answers = _answers(newest, answers_by_id[newest.id]) if newest else {}
    sub_reviews = _reviews(reviews_by_id[submitted.id]) if submitted else {}
    reviews = sub_reviews if newest is not None and newest is submitted else {}
    committee = answers.get(COMMITTEE_CRITERION)
    facts: dict[str, Any] = {
        "grid_version": grid.version,
        "assessment": newest.number if newest else None,
        "missing": missing_by_stage(grid, answers, reviews),
        "committee_criterion": COMMITTEE_CRITERION if grid.has(COMMITTEE_CRITERION) else None,
        "committee_maturity": committee.maturity if committee else None,
        "submitted": None,
    }
    if submitted is not None:
        sub_grid = get_grid(submitted.grid_version)
        sub_answers = _answers(submitted, [])
        missing = ethics_grid.score_assessment(sub_grid, sub_answers, sub_reviews).missing
        facts["submitted"] = {
            "number": submitted.number,
            "unanswered": list(missing.unanswered),
            "not_reviewed": list(missing.not_reviewed),
            "blocking_below": list(ethics_grid.blocking_below(
                sub_grid, sub_answers, reviews=sub_reviews, up_to_stage="S5_REGULATORY")),
        }
    return facts
