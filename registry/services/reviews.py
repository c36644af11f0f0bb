"""Reviews (#5): submissions to an HTA agency or a notified body, the reviewer's assessment
(domain scores on the anchored scale of hta.md 6.2, reporting-guideline checklists), the question
thread, and signed opinions.

Rules: a manufacturer submits its own device's versions; a reviewer sees and assesses only what
was submitted to its organisation, on a device granted to it, and never its own organisation's
device; a signed opinion never changes (an amendment is a new signed record). Reviewers' in-progress
scores are not shown to the manufacturer; its signed opinions are, with their scores.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlmodel import Session, select

from evaluation import hta
from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from registry.models import (
    AccessGrant,
    Adaptivity,
    Artifact,
    Device,
    Evidence,
    ModelVersion,
    Organisation,
    OrganisationKind,
    Role,
    Task,
    User,
    utcnow,
)
from registry.models.reviews import (
    DomainScore,
    GuidelineChecklist,
    MessageKind,
    Opinion,
    OpinionKind,
    ReviewMessage,
    Submission,
    SubmissionStatus,
)
from registry.schemas import GrantIn
from registry.schemas.reviews import (
    AnswerIn,
    ChecklistIn,
    OpinionIn,
    QuestionIn,
    ScoreIn,
    SubmissionIn,
)
from registry.services import devices, review_prefill, signatures
from registry.services.common import snapshot

KIND_FOR_ORGANISATION = {
    OrganisationKind.hta_agency: OpinionKind.hta_opinion,
    OrganisationKind.notified_body: OpinionKind.nb_decision,
}
KIND_LABELS = {OpinionKind.hta_opinion: "HTA opinion",
               OpinionKind.nb_decision: "notified-body decision"}
FAVOURABLE_DECISIONS = {"granted", "granted_with_conditions"}


# --- what applies -----------------------------------------------------------------------------


def domain_applies(device: Device, code: str) -> bool:
    """D9 (follow-up of adaptive or generative AI) applies only to adaptive devices or generative
    tasks (issue #5); every other domain always applies."""
    if code != "D9":
        return True
    return device.adaptivity == Adaptivity.adaptive or device.task == Task.generative


def applicable_domains(device: Device) -> list[hta.Domain]:
    return [d for d in hta.DOMAINS if domain_applies(device, d.code)]


# --- reading ----------------------------------------------------------------------------------


def _granted(session: Session, organisation_id: int | None, device_id: int) -> bool:
    return session.exec(select(AccessGrant.id).where(
        AccessGrant.device_id == device_id, AccessGrant.organisation_id == organisation_id)
    ).first() is not None


def _may_read(session: Session, actor: Actor, submission: Submission, device: Device) -> bool:
    if actor.role in auth.SEES_ALL:
        return True
    if actor.role is Role.manufacturer:
        return device.manufacturer_id == actor.organisation_id
    if actor.role is Role.reviewer:
        return (submission.reviewer_organisation_id == actor.organisation_id
                and _granted(session, actor.organisation_id, device.id))
    if actor.role is Role.auditor:
        return _granted(session, actor.organisation_id, device.id)
    return False


def get_submission(session: Session, actor: Actor, submission_id: int,
                   *, for_update: bool = False) -> tuple[Submission, Device]:
    """The submission and its device; NotFoundError when the actor may not read it."""
    auth.require(actor, Permission.REVIEW_READ)
    query = select(Submission).where(Submission.id == submission_id)
    if for_update:
        query = query.with_for_update()
    submission = session.exec(query).first()
    device = session.get(Device, submission.device_id) if submission else None
    if submission is None or not _may_read(session, actor, submission, device):
        raise NotFoundError(f"submission {submission_id} not found (or not visible to you)")
    return submission, device


def list_submissions(session: Session, actor: Actor,
                     status: SubmissionStatus | None = None) -> list[Submission]:
    """Submissions the actor may read: a reviewer's queue, a manufacturer's own submissions."""
    auth.require(actor, Permission.REVIEW_READ)
    query = select(Submission, Device).join(Device, Device.id == Submission.device_id)
    if actor.role is Role.reviewer:
        query = query.where(Submission.reviewer_organisation_id == actor.organisation_id)
    elif actor.role is Role.manufacturer:
        query = query.where(Device.manufacturer_id == actor.organisation_id)
    if status is not None:
        query = query.where(Submission.status == status)
    rows = session.exec(query.order_by(Submission.submitted_at.desc(), Submission.id.desc()))
    return [s for s, device in rows if _may_read(session, actor, s, device)]


def submissions_of_device(session: Session, actor: Actor, device: Device) -> list[Submission]:
    if not auth.allows(actor, Permission.REVIEW_READ):
        return []
    rows = session.exec(select(Submission).where(Submission.device_id == device.id)
                        .order_by(Submission.id.desc()))
    return [s for s in rows if _may_read(session, actor, s, device)]


def get_document(session: Session, actor: Actor, submission_id: int,
                 artifact_id: int) -> Artifact:
    """A document of a submission, for whoever may read the submission (documents joined by an
    answer are not gate evidence, so the artifact rules alone would hide them from the
    reviewer). Raises NotFoundError otherwise."""
    submission, _ = get_submission(session, actor, submission_id)
    artifact = session.get(Artifact, artifact_id)
    if artifact is None or artifact_id not in submission.artifact_ids:
        raise NotFoundError(f"document {artifact_id} is not part of submission {submission_id}")
    return artifact


def scores_of(session: Session, submission: Submission) -> list[DomainScore]:
    return list(session.exec(select(DomainScore).where(DomainScore.submission_id == submission.id)
                             .order_by(DomainScore.domain)))


def checklists_of(session: Session, submission: Submission) -> list[GuidelineChecklist]:
    return list(session.exec(
        select(GuidelineChecklist).where(GuidelineChecklist.submission_id == submission.id)
        .order_by(GuidelineChecklist.guideline)))


def messages_of(session: Session, submission: Submission) -> list[ReviewMessage]:
    return list(session.exec(select(ReviewMessage).where(
        ReviewMessage.submission_id == submission.id).order_by(ReviewMessage.id)))


def opinions_of(session: Session, submission: Submission) -> list[Opinion]:
    return list(session.exec(select(Opinion).where(Opinion.submission_id == submission.id)
                             .order_by(Opinion.id)))


def device_opinions(session: Session, actor: Actor, device: Device) -> list[Opinion]:
    """Signed opinions on a device the actor can see: they are part of the device's record."""
    auth.require(actor, Permission.DEVICE_READ)
    auth.visible(session, actor, device, device.code)
    return list(session.exec(select(Opinion).where(Opinion.device_id == device.id)
                             .order_by(Opinion.id)))


def user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """Names of the reviewers who scored (shown beside their scores)."""
    if not user_ids:
        return {}
    return dict(session.exec(select(User.id, User.name).where(User.id.in_(user_ids))).all())


def may_see_scores(actor: Actor) -> bool:
    """Reviewers' working scores stay with the reviewing side until an opinion is signed."""
    return actor.role is not Role.manufacturer


def compliance(items: list[dict[str, Any]]) -> float | None:
    """Reported / applicable items (hta.md section 7); None when no item applies."""
    applicable = [i for i in items if i.get("status") != "NA"]
    if not applicable:
        return None
    return sum(1 for i in applicable if i.get("status") == "reported") / len(applicable)


def open_questions(messages: list[ReviewMessage]) -> list[ReviewMessage]:
    answered = {m.in_reply_to for m in messages if m.kind == MessageKind.answer}
    return [m for m in messages if m.kind == MessageKind.question and m.id not in answered]


def current_scores(session: Session, device: Device, submission: Submission) -> dict[str, Any]:
    """{domain: score} for hta.derive_opinion: 0-4 as int, NA/ND as text, D9 'NA' when it does
    not apply; domains not yet scored are left out."""
    scores: dict[str, Any] = {d.code: hta.NOT_APPLICABLE for d in hta.DOMAINS
                              if not domain_applies(device, d.code)}
    for row in scores_of(session, submission):
        scores[row.domain] = int(row.score) if row.score.isdigit() else row.score
    return scores


def derived_opinion(session: Session, device: Device, submission: Submission,
                    major_mortality_effect: bool = False) -> dict[str, Any] | None:
    scores = current_scores(session, device, submission)
    if len(scores) < len(hta.DOMAINS):
        return None
    return hta.derive_opinion(scores, major_mortality_effect=major_mortality_effect).to_dict()


# --- submitting (manufacturer) ----------------------------------------------------------------


def _reviewing_organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None or org.kind not in KIND_FOR_ORGANISATION:
        raise InvalidInputError(
            f"reviewer_organisation_id {organisation_id} is not an HTA agency or a notified body",
            errors=[{"pointer": "#/reviewer_organisation_id",
                     "detail": "choose an HTA agency or a notified body"}])
    return org


def device_documents(session: Session, device: Device) -> list[int]:
    """Documents attached as evidence to the device, oldest first, without repeats."""
    ids = session.exec(select(Evidence.artifact_id).where(
        Evidence.device_id == device.id, Evidence.artifact_id.is_not(None)).order_by(Evidence.id))
    return list(dict.fromkeys(ids))


def _check_ids(name: str, given: list[int], allowed: set[int], what: str) -> None:
    bad = [i for i in given if i not in allowed]
    if bad:
        raise InvalidInputError(f"{name} {bad} are not {what}",
                                errors=[{"pointer": f"#/{name}", "detail": f"not {what}"}])


def submit(session: Session, actor: Actor, code: str, data: SubmissionIn) -> Submission:
    """Submit a model version with its evaluations, ethics self-assessment and documents.

    Grants the reviewing organisation access to the device (audited) if it had none. Raises
    InvalidInputError for a non-reviewing organisation, unknown version, or ids not of the device.
    """
    device = devices.get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.REVIEW_SUBMIT, device)
    org = _reviewing_organisation(session, data.reviewer_organisation_id)
    if data.model_version_id is not None:
        version = devices.get_version(session, device, data.model_version_id)
    else:
        version = devices.candidate_version(session, device)
        if version is None:
            raise InvalidInputError(f"register a model version of {code} before submitting it")
    evaluations = review_prefill.finished_evaluations(session, actor, {version.id})
    if data.evaluation_ids is not None:
        of_device = {e.id: e for e in review_prefill.finished_evaluations(
            session, actor, {v.id for v in devices.versions_of(session, device)})}
        _check_ids("evaluation_ids", data.evaluation_ids, set(of_device),
                   f"finished evaluations of {code}")
        evaluations = [of_device[i] for i in data.evaluation_ids]
    artifact_ids = device_documents(session, device)
    if data.artifact_ids is not None:
        owned = set(session.exec(select(Artifact.id).where(
            Artifact.id.in_(data.artifact_ids),
            Artifact.organisation_id == device.manufacturer_id)))
        _check_ids("artifact_ids", data.artifact_ids, owned,
                   f"documents uploaded by the manufacturer of {code}")
        artifact_ids = list(dict.fromkeys(data.artifact_ids))
    ethics = review_prefill.latest_ethics_assessment(session, device)
    previous = session.exec(select(Submission).where(
        Submission.device_id == device.id, Submission.reviewer_organisation_id == org.id)
        .order_by(Submission.id.desc()).limit(1)).first()
    devices.grant_access(session, actor, code, GrantIn(organisation_id=org.id, purpose="review"))
    submission = Submission(
        device_id=device.id, model_version_id=version.id, reviewer_organisation_id=org.id,
        kind=KIND_FOR_ORGANISATION[org.kind], cover_note=data.cover_note,
        evaluation_ids=[e.id for e in evaluations],
        ethics_assessment_id=ethics["id"] if ethics else None, artifact_ids=artifact_ids,
        previous_id=previous.id if previous else None,
        changes=_changes(session, previous, version, [e.id for e in evaluations], artifact_ids),
        prefill=review_prefill.prefill(session, device, evaluations, ethics),
        submitted_by=actor.user_id)
    session.add(submission)
    audit.record(session, actor, "review.submit", submission, {"after": {
        k: v for k, v in snapshot(submission).items() if k != "prefill"}})
    return submission


def _changes(session: Session, previous: Submission | None, version: ModelVersion,
             evaluation_ids: list[int], artifact_ids: list[int]) -> dict[str, Any]:
    """What the reviewer sees first: what is new since the device's previous submission to the
    same organisation (a new version and its change type, new evaluations, new documents)."""
    if previous is None:
        return {"first_submission": True, "version": version.version,
                "change_type": version.change_type.value,
                "change_description": version.change_description,
                "new_evaluation_ids": evaluation_ids, "new_artifact_ids": artifact_ids}
    before = session.get(ModelVersion, previous.model_version_id)
    return {
        "first_submission": False, "previous_submission_id": previous.id,
        "previous_version": before.version if before else None, "version": version.version,
        "new_version": previous.model_version_id != version.id,
        "change_type": version.change_type.value,
        "change_description": version.change_description,
        "new_evaluation_ids": [i for i in evaluation_ids if i not in previous.evaluation_ids],
        "new_artifact_ids": [i for i in artifact_ids if i not in previous.artifact_ids],
    }


# --- assessing (reviewer) ---------------------------------------------------------------------


def _assessable(session: Session, actor: Actor, submission_id: int) -> tuple[Submission, Device]:
    auth.require(actor, Permission.REVIEW_ASSESS)
    submission, device = get_submission(session, actor, submission_id, for_update=True)
    if device.manufacturer_id == actor.organisation_id:
        # Unreachable with today's role/organisation kinds, kept as the conflict-of-interest rule.
        raise PermissionDeniedError("a reviewer never reviews its own organisation's device")
    return submission, device


def _touch(submission: Submission, status: SubmissionStatus | None = None) -> dict[str, Any]:
    before = submission.status.value
    if status is not None:
        submission.status = status
    submission.updated_at = utcnow()
    return {"before": before, "after": submission.status.value}


def score_domain(session: Session, actor: Actor, submission_id: int, data: ScoreIn) -> DomainScore:
    """Score one domain 0-4 (or NA / ND) with a written justification; re-scoring replaces it."""
    submission, device = _assessable(session, actor, submission_id)
    domain = next(d for d in hta.DOMAINS if d.code == data.domain)
    problems = []
    if not domain_applies(device, domain.code):
        problems.append(f"{domain.code} ({domain.name}) applies only to adaptive devices or "
                        f"generative tasks; {device.code} is {device.adaptivity.value}, "
                        f"task {device.task.value}")
    if domain.critical and data.score == hta.NOT_APPLICABLE:
        problems.append(f"{domain.code} is a critical domain and cannot be 'NA'; score it 0-4 or "
                        "'ND'")
    bad = [i for i in data.evidence_artifact_ids if i not in submission.artifact_ids]
    if bad:
        problems.append(f"evidence_artifact_ids {bad} are not documents of this submission")
    if problems:
        raise InvalidInputError("; ".join(problems))
    row = session.exec(select(DomainScore).where(DomainScore.submission_id == submission.id,
                                                 DomainScore.domain == domain.code)).first()
    before = snapshot(row) if row else None
    if row is None:
        row = DomainScore(submission_id=submission.id, domain=domain.code, score=data.score,
                          justification=data.justification, scored_by=actor.user_id)
    row.score, row.justification = data.score, data.justification
    row.evidence_artifact_ids = data.evidence_artifact_ids
    row.scored_by, row.scored_at = actor.user_id, utcnow()
    session.add(row)
    _touch(submission)
    session.add(submission)
    # Events of the assessment name the submission (so they belong to the device's trail).
    audit.record(session, actor, "review.score", submission,
                 {"domain": domain.code, "before": before, "after": snapshot(row)})
    return row


def record_checklist(session: Session, actor: Actor, submission_id: int,
                     data: ChecklistIn) -> GuidelineChecklist:
    """Record (or replace) a reporting-guideline checklist: items and/or the filled file."""
    submission, device = _assessable(session, actor, submission_id)
    if not data.items and data.artifact_id is None:
        raise InvalidInputError("give the checklist items, the filled checklist file "
                                "(artifact_id), or both")
    if data.artifact_id is not None and data.artifact_id not in submission.artifact_ids:
        raise InvalidInputError(f"artifact_id {data.artifact_id} is not a document of this "
                                "submission", errors=[{"pointer": "#/artifact_id",
                                                       "detail": "not in the submission"}])
    items = [i.model_dump() for i in data.items]
    counts = Counter(i["item"] for i in items)
    duplicates = sorted(item for item, n in counts.items() if n > 1)
    if duplicates:
        raise InvalidInputError(f"checklist items {duplicates} are listed more than once")
    row = session.exec(select(GuidelineChecklist).where(
        GuidelineChecklist.submission_id == submission.id,
        GuidelineChecklist.guideline == data.guideline)).first()
    before = snapshot(row) if row else None
    if row is None:
        row = GuidelineChecklist(submission_id=submission.id, guideline=data.guideline,
                                 created_by=actor.user_id)
    row.items, row.artifact_id, row.updated_at = items, data.artifact_id, utcnow()
    session.add(row)
    _touch(submission)
    session.add(submission)
    audit.record(session, actor, "review.checklist", submission,
                 {"guideline": data.guideline, "before": before, "after": snapshot(row),
                  "compliance": compliance(items)})
    return row


# --- questions and answers --------------------------------------------------------------------


def ask_question(session: Session, actor: Actor, submission_id: int,
                 data: QuestionIn) -> ReviewMessage:
    """The reviewer requests information; the submission waits for the manufacturer."""
    submission, device = _assessable(session, actor, submission_id)
    message = ReviewMessage(submission_id=submission.id, kind=MessageKind.question,
                            body=data.body, author_id=actor.user_id, author_name=actor.name,
                            organisation_id=actor.organisation_id)
    session.add(message)
    status = _touch(submission, SubmissionStatus.information_requested
                    if submission.status != SubmissionStatus.concluded else None)
    session.add(submission)
    session.flush()
    audit.record(session, actor, "review.question", submission,
                 {"message": snapshot(message), "status": status})
    return message


def answer_question(session: Session, actor: Actor, submission_id: int, question_id: int,
                    data: AnswerIn) -> ReviewMessage:
    """The manufacturer answers one open question (optionally with a document, which joins the
    submission's documents)."""
    submission, device = get_submission(session, actor, submission_id, for_update=True)
    auth.require(actor, Permission.REVIEW_SUBMIT, device)
    messages = messages_of(session, submission)
    question = next((m for m in messages if m.id == question_id), None)
    if question is None or question.kind != MessageKind.question:
        raise NotFoundError(f"question {question_id} not found in submission {submission_id}")
    if question not in open_questions(messages):
        raise ConflictError(f"question {question_id} is already answered; the reviewer may ask a "
                            "follow-up question")
    if data.artifact_id is not None:
        artifact = session.get(Artifact, data.artifact_id)
        if artifact is None or artifact.organisation_id != device.manufacturer_id:
            raise InvalidInputError(f"artifact_id {data.artifact_id} is not one of your uploads",
                                    errors=[{"pointer": "#/artifact_id",
                                             "detail": "upload the document first"}])
        if data.artifact_id not in submission.artifact_ids:
            submission.artifact_ids = [*submission.artifact_ids, data.artifact_id]
    answer = ReviewMessage(submission_id=submission.id, kind=MessageKind.answer,
                           in_reply_to=question.id, body=data.body, artifact_id=data.artifact_id,
                           author_id=actor.user_id, author_name=actor.name,
                           organisation_id=actor.organisation_id)
    session.add(answer)
    session.flush()
    still_open = open_questions([*messages, answer])
    status = _touch(submission, SubmissionStatus.open if (
        not still_open and submission.status == SubmissionStatus.information_requested) else None)
    session.add(submission)
    audit.record(session, actor, "review.answer", submission,
                 {"message": snapshot(answer), "status": status})
    return answer


# --- signed opinions --------------------------------------------------------------------------


def _decision_problems(kind: OpinionKind, data: OpinionIn) -> list[dict[str, str]]:
    problems = []

    def problem(field: str, text: str) -> None:
        problems.append({"pointer": f"#/{field}", "detail": text})

    if kind == OpinionKind.hta_opinion:
        if data.decision is not None or data.certificate_number:
            problem("decision", "an HTA opinion has no certificate decision; give "
                                "service_attendu (and asa)")
        if data.service_attendu is None:
            problem("service_attendu", "give the service attendu: sufficient or insufficient")
        elif data.service_attendu == "sufficient" and data.asa is None:
            problem("asa", "a sufficient service attendu needs an ASA level (I to V)")
        elif data.service_attendu == "insufficient" and data.asa is not None:
            problem("asa", "no ASA level when the service attendu is insufficient (hta.md 2.2)")
    else:
        if data.service_attendu is not None or data.asa is not None:
            problem("service_attendu", "a notified-body decision has no service attendu or ASA")
        if data.decision is None:
            problem("decision", "give the decision: granted, granted_with_conditions or refused")
        elif data.decision in FAVOURABLE_DECISIONS and not data.certificate_number:
            problem("certificate_number", "a granted certificate needs its number")
        if data.decision == "granted_with_conditions" and not data.conditions:
            problem("conditions", "state the conditions of the certificate")
    return problems


def sign_opinion(session: Session, actor: Actor, submission_id: int, data: OpinionIn) -> Opinion:
    """Sign the submission's opinion (or an amendment of a signed one).

    The signer re-enters their password; the record is hashed and signed with the registry key
    and never changes afterwards. Raises InvalidInputError for a wrong password or decision
    fields that do not fit the opinion's kind, ConflictError when domains are unscored or the
    opinion to amend is not the latest one.
    """
    submission, device = _assessable(session, actor, submission_id)
    user = session.get(User, actor.user_id)
    if user is None or not auth.check_password(user.password_hash, data.password):
        raise InvalidInputError("the password you re-entered does not match; nothing was signed",
                                errors=[{"pointer": "#/password",
                                         "detail": "re-enter your own password to sign"}])
    problems = _decision_problems(submission.kind, data)
    if problems:
        raise InvalidInputError("; ".join(p["detail"] for p in problems), errors=problems)
    scores = current_scores(session, device, submission)
    missing = [d.code for d in hta.DOMAINS if d.code not in scores]
    if missing:
        raise ConflictError(f"score domains {', '.join(missing)} before signing the opinion")
    existing = opinions_of(session, submission)
    amended = {o.amends_id for o in existing}
    latest = [o for o in existing if o.id not in amended]
    if data.amends_id is None and existing:
        raise ConflictError(f"submission {submission.id} already has signed opinion "
                            f"#{latest[-1].id}; sign an amendment of it (amends_id)")
    if data.amends_id is not None and data.amends_id not in {o.id for o in latest}:
        raise ConflictError(f"opinion #{data.amends_id} is not the current signed opinion of "
                            f"submission {submission.id}; amend "
                            f"{', '.join('#' + str(o.id) for o in latest) or 'nothing yet'}")
    derived = hta.derive_opinion(scores, major_mortality_effect=data.major_mortality_effect)
    by_domain = {r.domain: r for r in scores_of(session, submission)}
    org = session.get(Organisation, submission.reviewer_organisation_id)
    version = session.get(ModelVersion, submission.model_version_id)
    favourable = (data.service_attendu == "sufficient" if submission.kind == OpinionKind.hta_opinion
                  else data.decision in FAVOURABLE_DECISIONS)
    opinion = Opinion(
        submission_id=submission.id, device_id=device.id, model_version_id=version.id,
        reviewer_organisation_id=org.id, kind=submission.kind,
        service_attendu=data.service_attendu, asa=data.asa, decision=data.decision,
        certificate_number=data.certificate_number, conditions=data.conditions,
        rationale=data.rationale, favourable=favourable,
        scores={code: {"score": str(value), "justification": by_domain[code].justification
                       if code in by_domain else "domain does not apply to this device"}
                for code, value in sorted(scores.items())},
        derived={**derived.to_dict(), "major_mortality_effect": data.major_mortality_effect},
        amends_id=data.amends_id, signer_id=user.id, signer_name=user.name,
        signer_email=user.email, signed_at=utcnow(),
        meaning=signatures.meaning(KIND_LABELS[submission.kind], org.name, data.amends_id),
        signed_content="", content_hash="", key_id="", signature="")
    signatures.seal(opinion, {"device_code": device.code, "model_version": version.version,
                              "organisation": org.name})
    session.add(opinion)
    status = _touch(submission, SubmissionStatus.concluded)
    session.add(submission)
    session.flush()
    audit.record(session, actor, "review.sign", opinion, {
        "submission_id": submission.id, "kind": opinion.kind.value,
        "favourable": favourable, "service_attendu": opinion.service_attendu,
        "asa": opinion.asa, "decision": opinion.decision, "amends_id": opinion.amends_id,
        "signer": opinion.signer_email, "content_hash": opinion.content_hash,
        "key_id": opinion.key_id, "signature": opinion.signature, "status": status})
    return opinion


def get_opinion(session: Session, actor: Actor, opinion_id: int) -> Opinion:
    """A signed opinion on a device the actor can see; NotFoundError otherwise."""
    auth.require(actor, Permission.DEVICE_READ)
    opinion = session.get(Opinion, opinion_id)
    device = session.get(Device, opinion.device_id) if opinion else None
    if opinion is None or not auth.can_see(session, actor, device):
        raise NotFoundError(f"opinion {opinion_id} not found (or not visible to you)")
    return opinion


def verify_opinion(session: Session, actor: Actor, opinion_id: int) -> list[str]:
    """Problems with the opinion's signature (empty list: intact, signed by the registry key)."""
    return signatures.verify(get_opinion(session, actor, opinion_id))


def gate_facts(session: Session, device: Device, candidate: ModelVersion | None,
               accepted: set[int]) -> dict | None:
    return gate_facts_many(session, [device], {device.id: candidate},
                           {device.id: accepted})[device.id]


def gate_facts_many(session: Session, batch: list[Device],
                    candidates: dict[int, ModelVersion | None],
                    accepted: dict[int, set[int]]) -> dict[int, dict]:
    """What this area's lifecycle gate items read (``GateContext.facts``), per device id;
    ``accepted`` holds, per device id, the ids of the model versions whose evidence counts for
    the candidate version.

    Only the current opinion of each amendment chain counts (an amendment replaces what it
    amends), and only for the candidate version (or versions whose evidence it inherits).
    """
    opinions: dict[int, list[Opinion]] = {d.id: [] for d in batch}
    for o in devices.rows_in(session, select(Opinion), Opinion.model_version_id,
                             set().union(*accepted.values())):
        if o.model_version_id in accepted.get(o.device_id, ()):
            opinions[o.device_id].append(o)
    return {i: _gate_facts(sorted(rows, key=lambda o: o.id)) for i, rows in opinions.items()}


def _gate_facts(opinions: list[Opinion]) -> dict:
    """The facts of one device from its opinions on the accepted versions."""
    amended = {o.amends_id for o in opinions}
    current = [o for o in opinions if o.id not in amended]
    return {
        "opinions": [{"id": o.id, "kind": o.kind.value, "favourable": o.favourable,
                      "decision": o.decision, "service_attendu": o.service_attendu,
                      "asa": o.asa, "organisation_id": o.reviewer_organisation_id,
                      "model_version_id": o.model_version_id} for o in current],
        "favourable_notified_body": any(o.favourable and o.kind == OpinionKind.nb_decision
                                        for o in current),
        "favourable_hta": any(o.favourable and o.kind == OpinionKind.hta_opinion
                              for o in current),
    }
