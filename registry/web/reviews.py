"""Web pages of reviews (#5): the queue, the manufacturer's submission form, the review page
(what changed, pre-fill, scores, checklists, thread, signing form) and the device-page panel of
signed opinions."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from pydantic import ValidationError

from evaluation import hta
from registry import auth
from registry.auth import Actor, Permission
from registry.db import unit_of_work
from registry.errors import ConflictError, InvalidInputError, NotFoundError
from registry.identity import current_actor
from registry.models import Device, OrganisationKind, Role
from registry.models.reviews import SubmissionStatus
from registry.schemas import ArtifactOut, ModelVersionOut
from registry.schemas.reviews import (
    GUIDELINES,
    AnswerIn,
    ChecklistIn,
    MessageOut,
    OpinionIn,
    OpinionOut,
    QuestionIn,
    ScoreIn,
    ScoreOut,
    SubmissionIn,
    SubmissionOut,
)
from registry.services import artifacts, devices, organisations, review_prefill, reviews
from registry.web import bp
from registry.web.forms import Errors, parse, registry_errors, validation_errors
from registry.web.panels import panel
from registry.web.present import dump, organisation_names

SCORE_CHOICES = [(str(k), f"{k} · {v}") for k, v in hta.SCALE.items()] + [
    ("NA", "NA · not applicable"), ("ND", "ND · cannot be judged")]
STATUS_LABELS = {SubmissionStatus.open: "awaiting review",
                 SubmissionStatus.information_requested: "information requested",
                 SubmissionStatus.concluded: "concluded"}
DECISION_LABELS = {"granted": "Certificate granted",
                   "granted_with_conditions": "Certificate granted with conditions",
                   "refused": "Certificate refused"}
ASA_LABELS = {"I": "I · major", "II": "II · important", "III": "III · moderate",
              "IV": "IV · minor", "V": "V · no improvement"}


def _labels() -> dict[str, Any]:
    return {"status_label": {k.value: v for k, v in STATUS_LABELS.items()},
            "kind_names": {k.value: v for k, v in reviews.KIND_LABELS.items()},
            "decision_label": DECISION_LABELS, "asa_label": ASA_LABELS}


# --- presenting -------------------------------------------------------------------------------


def _artifact(session, actor: Actor, artifact_id: int, submission_id: int | None = None
              ) -> dict[str, Any]:
    """A document to list: through its submission when there is one (see get_document)."""
    try:
        if submission_id is not None:
            return dump(ArtifactOut, reviews.get_document(session, actor, submission_id,
                                                          artifact_id))
        return dump(ArtifactOut, artifacts.get_artifact(session, actor, artifact_id))
    except NotFoundError:
        return {"id": artifact_id, "filename": f"document {artifact_id}", "restricted": True}


def opinion_row(opinion, names: dict[int, str]) -> dict[str, Any]:
    row = dump(OpinionOut, opinion)
    row["organisation"] = names.get(opinion.reviewer_organisation_id, "")
    row["signature_problems"] = reviews.signatures.verify(opinion)
    return row


def _submission_row(session, actor: Actor, submission, device: Device,
                    names: dict[int, str]) -> dict[str, Any]:
    row = dump(SubmissionOut, submission)
    version = devices.get_version(session, device, submission.model_version_id)
    row.update(device_code=device.code, device_name=device.name, version=version.version,
               organisation=names.get(submission.reviewer_organisation_id, ""),
               open_questions=len(reviews.open_questions(
                   reviews.messages_of(session, submission))))
    return row


def review_page(session, actor: Actor, submission_id: int) -> dict[str, Any]:
    """Everything the review page shows; NotFoundError when the actor may not read it."""
    submission, device = reviews.get_submission(session, actor, submission_id)
    names = organisation_names(session, actor)
    version = devices.get_version(session, device, submission.model_version_id)
    messages = [dump(MessageOut, m) for m in reviews.messages_of(session, submission)]
    open_ids = {m.id for m in reviews.open_questions(reviews.messages_of(session, submission))}
    answers = {m["in_reply_to"]: m for m in messages if m["kind"] == "answer"}
    for m in messages:
        m["open"] = m["id"] in open_ids
        m["answer"] = answers.get(m["id"])
        m["artifact"] = (_artifact(session, actor, m["artifact_id"], submission.id)
                         if m["artifact_id"] else None)
    see_scores = reviews.may_see_scores(actor)
    scores = {s.domain: dump(ScoreOut, s) for s in reviews.scores_of(session, submission)} \
        if see_scores else {}
    scorers = reviews.user_names(session, {s["scored_by"] for s in scores.values()})
    for score in scores.values():
        score["scorer"] = scorers.get(score["scored_by"], "")
    suggestions = submission.prefill.get("suggestions", {})
    domains = [{"code": d.code, "name": d.name, "critical": d.critical,
                "anchors": list(enumerate(d.anchors)),
                "applies": reviews.domain_applies(device, d.code),
                "score": scores.get(d.code), "suggestion": suggestions.get(d.code)}
               for d in hta.DOMAINS]
    opinions = [opinion_row(o, names) for o in reviews.opinions_of(session, submission)]
    amended = {o["amends_id"] for o in opinions}
    checklists = []
    for c in reviews.checklists_of(session, submission):
        checklists.append({"guideline": c.guideline, "items": c.items,
                           "compliance": reviews.compliance(c.items),
                           "artifact": _artifact(session, actor, c.artifact_id, submission.id)
                           if c.artifact_id else None})
    assessor = (auth.allows(actor, Permission.REVIEW_ASSESS)
                and submission.reviewer_organisation_id == actor.organisation_id)
    return {
        "submission": _submission_row(session, actor, submission, device, names),
        "device": {"code": device.code, "name": device.name, "stage": device.stage.value,
                   "adaptivity": device.adaptivity.value, "task": device.task.value},
        "version": dump(ModelVersionOut, version),
        "documents": [_artifact(session, actor, i, submission.id) for i in submission.artifact_ids],
        "prefill": submission.prefill, "domains": domains, "see_scores": see_scores,
        "derived": reviews.derived_opinion(session, device, submission) if see_scores else None,
        "checklists": checklists, "guidelines": GUIDELINES,
        "messages": [m for m in messages if m["kind"] == "question"],
        "opinions": opinions,
        "current_opinions": [o for o in opinions if o["id"] not in amended],
        "amend_choices": [(str(o["id"]), f"opinion #{o['id']}") for o in opinions
                          if o["id"] not in amended],
        "assessor": assessor,
        "answerer": auth.allows(actor, Permission.REVIEW_SUBMIT)
        and device.manufacturer_id == actor.organisation_id,
        "score_choices": SCORE_CHOICES, **_labels(),
    }


@panel("review_panel.html", order=30)
def device_panel(session, actor: Actor, device: Device) -> dict[str, Any] | None:
    """Signed opinions on the device, with their signatures; links to its submissions."""
    found = reviews.device_opinions(session, actor, device)
    submitted = reviews.submissions_of_device(session, actor, device)
    names = organisation_names(session, actor, [x.reviewer_organisation_id
                                                for x in [*found, *submitted]])
    opinions = [opinion_row(o, names) for o in found]
    submissions = [_submission_row(session, actor, s, device, names) for s in submitted]
    may_submit = (auth.allows(actor, Permission.REVIEW_SUBMIT)
                  and device.manufacturer_id == actor.organisation_id)
    if not opinions and not submissions and not may_submit:
        return None
    amended = {o["amends_id"] for o in opinions}
    for o in opinions:
        o["superseded"] = o["id"] in amended
    return {"code": device.code, "opinions": list(reversed(opinions)),
            "submissions": submissions, "may_submit": may_submit, **_labels()}


# --- the queue --------------------------------------------------------------------------------


@bp.get("/reviews")
@login_required
def review_queue():
    with unit_of_work() as session:
        actor = current_actor(session)
        names = organisation_names(session, actor)
        rows = []
        for found in reviews.list_submissions(session, actor):
            submission, device = reviews.get_submission(session, actor, found.id)
            rows.append(_submission_row(session, actor, submission, device, names))
    order = {"information_requested": 1, "open": 0, "concluded": 2}
    waiting = sorted([r for r in rows if r["status"] != "concluded"],
                     key=lambda r: (order[r["status"]], r["submitted_at"]))
    done = [r for r in rows if r["status"] == "concluded"]
    return render_template("review_queue.html", waiting=waiting, done=done,
                           reviewer=actor.role is Role.reviewer, **_labels())


# --- submitting (manufacturer) ----------------------------------------------------------------


def _submit_page(code: str, *, errors: Errors | None = None, status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        if not (auth.allows(actor, Permission.REVIEW_SUBMIT)
                and device.manufacturer_id == actor.organisation_id):
            abort(403, description=f"only the manufacturer of {code} may submit it for review")
        versions = devices.versions_of(session, device)
        candidate = versions[-1] if versions else None
        found = review_prefill.finished_evaluations(session, actor, {v.id for v in versions})
        names = {v.id: v.version for v in versions}
        evaluations = [{"id": e.id, "label": f"#{e.id} · {names.get(e.model_version_id)} · "
                                             f"{e.dataset_kind.value} · {e.site or 'site?'}",
                        "candidate": candidate is not None and e.model_version_id == candidate.id}
                       for e in found]
        documents = [_artifact(session, actor, i)
                     for i in reviews.device_documents(session, device)]
        reviewers = [(str(o.id), f"{o.name} ({o.kind.value.replace('_', ' ')})")
                     for o in organisations.list_organisations(session, actor)
                     if o.kind in (OrganisationKind.hta_agency, OrganisationKind.notified_body)]
    form = request.form if request.method == "POST" else None
    return render_template(
        "review_submit.html", code=code, name=device.name, errors=errors or {}, form=form,
        versions=[(str(v.id), f"{v.version} ({v.change_type.value})")
                  for v in reversed(versions)],
        candidate=str(candidate.id) if candidate else None, evaluations=evaluations,
        documents=documents, reviewers=reviewers), status


@bp.get("/devices/<code>/submit-review")
@login_required
def submit_review_form(code: str):
    return _submit_page(code)


@bp.post("/devices/<code>/submit-review")
@login_required
def submit_review(code: str):
    data, errors = parse(SubmissionIn, request.form,
                         ["reviewer_organisation_id", "model_version_id", "cover_note"],
                         evaluation_ids=[int(v) for v in request.form.getlist("evaluation_ids")],
                         artifact_ids=[int(v) for v in request.form.getlist("artifact_ids")])
    if errors:
        return _submit_page(code, errors=errors, status=422)
    try:
        with unit_of_work() as session:
            submission = reviews.submit(session, current_actor(session), code, data)
            submission_id = submission.id
    except InvalidInputError as exc:
        return _submit_page(code, errors=registry_errors(exc), status=422)
    flash(f"{code} submitted for review (submission {submission_id}).", "success")
    return redirect(url_for("web.review_detail", submission_id=submission_id))


# --- the review page --------------------------------------------------------------------------


def _review(submission_id: int, *, form: str = "", errors: Errors | None = None,
            status: int = 200):
    with unit_of_work() as session:
        data = review_page(session, current_actor(session), submission_id)
    return render_template("review_detail.html", **data, form=form, errors=errors or {},
                           values=request.form if form else {}), status


@bp.get("/reviews/<int:submission_id>")
@login_required
def review_detail(submission_id: int):
    return _review(submission_id)


@bp.get("/reviews/<int:submission_id>/documents/<int:artifact_id>")
@login_required
def review_document(submission_id: int, artifact_id: int):
    with unit_of_work() as session:
        artifact = reviews.get_document(session, current_actor(session), submission_id,
                                        artifact_id)
    return send_file(artifacts.open_artifact(artifact), mimetype=artifact.media_type,
                     as_attachment=True, download_name=artifact.filename, etag=artifact.sha256)


def _act(submission_id: int, form: str, call, done: str):
    """Run ``call(session, actor)`` in one unit of work; re-render the page on refusal."""
    try:
        with unit_of_work() as session:
            call(session, current_actor(session))
    except (InvalidInputError, ConflictError) as exc:
        return _review(submission_id, form=form, errors=registry_errors(exc), status=exc.status)
    flash(done, "success")
    return redirect(url_for("web.review_detail", submission_id=submission_id) + f"#{form}")


@bp.post("/reviews/<int:submission_id>/scores")
@login_required
def save_scores(submission_id: int):
    """Save every domain given a score (all or nothing)."""
    scores, errors = [], {}
    for domain in hta.DOMAINS:
        value = request.form.get(f"score_{domain.code}", "")
        justification = request.form.get(f"justification_{domain.code}", "")
        if not value:
            continue
        try:
            scores.append(ScoreIn(domain=domain.code, score=value, justification=justification))
        except ValidationError as exc:
            for field, messages in validation_errors(exc).items():
                errors.setdefault(f"{field}_{domain.code}", []).extend(messages)
    if not scores and not errors:
        errors[""] = ["choose a score for at least one domain"]
    if errors:
        return _review(submission_id, form="scores", errors=errors, status=422)

    def call(session, actor):
        for score in scores:
            reviews.score_domain(session, actor, submission_id, score)

    return _act(submission_id, "scores", call, f"{len(scores)} domain score(s) saved.")


def _checklist_items(text: str) -> list[dict[str, str]]:
    """Lines "item | status | page" (status: reported, not_reported or NA)."""
    items = []
    for line in text.splitlines():
        if line.strip():
            parts = [p.strip() for p in line.split("|")] + ["", ""]
            items.append({"item": parts[0], "status": parts[1], "page": parts[2]})
    return items


@bp.post("/reviews/<int:submission_id>/checklists")
@login_required
def save_checklist(submission_id: int):
    data, errors = parse(ChecklistIn, request.form, ["guideline", "artifact_id"],
                         items=_checklist_items(request.form.get("items", "")))
    if errors:
        return _review(submission_id, form="checklist", errors=errors, status=422)
    return _act(submission_id, "checklist",
                lambda session, actor: reviews.record_checklist(session, actor, submission_id,
                                                                data),
                f"{data.guideline} checklist recorded.")


@bp.post("/reviews/<int:submission_id>/questions")
@login_required
def ask(submission_id: int):
    data, errors = parse(QuestionIn, request.form)
    if errors:
        return _review(submission_id, form="thread", errors=errors, status=422)
    return _act(submission_id, "thread",
                lambda session, actor: reviews.ask_question(session, actor, submission_id, data),
                "Question sent to the manufacturer.")


@bp.post("/reviews/<int:submission_id>/questions/<int:question_id>/answers")
@login_required
def answer(submission_id: int, question_id: int):
    data, errors = parse(AnswerIn, request.form, ["body"])
    if errors:
        return _review(submission_id, form="thread", errors=errors, status=422)
    upload = request.files.get("document")

    def call(session, actor):
        # One unit of work: if the answer is refused, the uploaded document's row goes too.
        if upload is not None and upload.filename:
            artifact = artifacts.upload_artifact(session, actor, upload.stream, upload.filename,
                                                 upload.mimetype)
            data.artifact_id = artifact.id
        reviews.answer_question(session, actor, submission_id, question_id, data)

    return _act(submission_id, "thread", call, "Answer sent to the reviewer.")


@bp.post("/reviews/<int:submission_id>/opinions")
@login_required
def sign(submission_id: int):
    data, errors = parse(OpinionIn, request.form, [
        "service_attendu", "asa", "decision", "certificate_number", "conditions", "rationale",
        "major_mortality_effect", "amends_id", "password"])
    if errors:
        return _review(submission_id, form="opinion", errors=errors, status=422)
    return _act(submission_id, "opinion",
                lambda session, actor: reviews.sign_opinion(session, actor, submission_id, data),
                "Opinion signed.")

