"""API routes: submissions, assessments, questions and signed opinions (#5)."""

from __future__ import annotations

from flask import send_file, url_for

from registry.api import bp
from registry.api.routing import api_route
from registry.api.views import many, out
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas.reviews import (
    AnswerIn,
    AssessmentOut,
    ChecklistIn,
    ChecklistOut,
    MessageOut,
    OpinionIn,
    OpinionOut,
    QuestionIn,
    ScoreIn,
    ScoreOut,
    SignatureCheckOut,
    SubmissionFilter,
    SubmissionIn,
    SubmissionOut,
)
from registry.services import artifacts, devices, reviews

TAG = "reviews"


def checklist_out(row) -> dict:
    body = ChecklistOut.model_validate(row)
    body.compliance = reviews.compliance(row.items)
    return body.model_dump(mode="json")


def assessment_out(session, actor, submission, device) -> dict:
    """The submission with its scores (not for the manufacturer), checklists, thread, opinions."""
    scores = reviews.scores_of(session, submission) if reviews.may_see_scores(actor) else []
    return AssessmentOut(
        submission=SubmissionOut.model_validate(submission),
        scores=[ScoreOut.model_validate(s) for s in scores],
        checklists=[checklist_out(c) for c in reviews.checklists_of(session, submission)],
        messages=[MessageOut.model_validate(m) for m in reviews.messages_of(session, submission)],
        opinions=[OpinionOut.model_validate(o) for o in reviews.opinions_of(session, submission)],
        derived=reviews.derived_opinion(session, device, submission)
        if reviews.may_see_scores(actor) else None,
    ).model_dump(mode="json")


@api_route(bp, "GET", "/reviews/submissions", summary="Submissions you may read (a reviewer's "
           "queue, a manufacturer's submissions)", permission=P.REVIEW_READ,
           query=SubmissionFilter, response=list[SubmissionOut], tag=TAG)
def list_submissions(data: SubmissionFilter):
    with unit_of_work() as session:
        return many(SubmissionOut, reviews.list_submissions(session, current_actor(session),
                                                            data.status))


@api_route(bp, "POST", "/devices/<code>/submissions",
           summary="Submit a model version to an HTA agency or a notified body",
           permission=P.REVIEW_SUBMIT, body=SubmissionIn, response=SubmissionOut, status=201,
           tag=TAG)
def submit_for_review(code: str, data: SubmissionIn):
    with unit_of_work() as session:
        submission = reviews.submit(session, current_actor(session), code, data)
        body = out(SubmissionOut, submission)
    return body, 201, {"Location": url_for(".get_submission", submission_id=submission.id)}


@api_route(bp, "GET", "/reviews/submissions/<int:submission_id>",
           summary="A submission with its assessment, thread and opinions",
           permission=P.REVIEW_READ, response=AssessmentOut, tag=TAG)
def get_submission(submission_id: int):
    with unit_of_work() as session:
        actor = current_actor(session)
        submission, device = reviews.get_submission(session, actor, submission_id)
        return assessment_out(session, actor, submission, device)


@api_route(bp, "GET", "/reviews/submissions/<int:submission_id>/documents/<int:artifact_id>",
           summary="Download a document of a submission", permission=P.REVIEW_READ, tag=TAG)
def download_submission_document(submission_id: int, artifact_id: int):
    with unit_of_work() as session:
        artifact = reviews.get_document(session, current_actor(session), submission_id,
                                        artifact_id)
    return send_file(artifacts.open_artifact(artifact), mimetype=artifact.media_type,
                     as_attachment=True, download_name=artifact.filename, etag=artifact.sha256)


@api_route(bp, "PUT", "/reviews/submissions/<int:submission_id>/scores",
           summary="Score one HTA domain with a justification (reviewers)",
           permission=P.REVIEW_ASSESS, body=ScoreIn, response=ScoreOut, tag=TAG)
def score_domain(submission_id: int, data: ScoreIn):
    with unit_of_work() as session:
        return out(ScoreOut, reviews.score_domain(session, current_actor(session), submission_id,
                                                  data))


@api_route(bp, "PUT", "/reviews/submissions/<int:submission_id>/checklists",
           summary="Record a reporting-guideline checklist (reviewers)",
           permission=P.REVIEW_ASSESS, body=ChecklistIn, response=ChecklistOut, tag=TAG)
def record_checklist(submission_id: int, data: ChecklistIn):
    with unit_of_work() as session:
        return checklist_out(reviews.record_checklist(session, current_actor(session),
                                                      submission_id, data))


@api_route(bp, "POST", "/reviews/submissions/<int:submission_id>/questions",
           summary="Request information from the manufacturer (reviewers)",
           permission=P.REVIEW_ASSESS, body=QuestionIn, response=MessageOut, status=201, tag=TAG)
def ask_question(submission_id: int, data: QuestionIn):
    with unit_of_work() as session:
        return out(MessageOut, reviews.ask_question(session, current_actor(session),
                                                    submission_id, data)), 201


@api_route(bp, "POST", "/reviews/submissions/<int:submission_id>/questions/<int:question_id>"
           "/answers", summary="Answer a reviewer's question (manufacturers)",
           permission=P.REVIEW_SUBMIT, body=AnswerIn, response=MessageOut, status=201, tag=TAG)
def answer_question(submission_id: int, question_id: int, data: AnswerIn):
    with unit_of_work() as session:
        return out(MessageOut, reviews.answer_question(session, current_actor(session),
                                                       submission_id, question_id, data)), 201


@api_route(bp, "POST", "/reviews/submissions/<int:submission_id>/opinions",
           summary="Sign the opinion or decision (or an amendment); re-enter your password",
           permission=P.REVIEW_ASSESS, body=OpinionIn, response=OpinionOut, status=201, tag=TAG)
def sign_opinion(submission_id: int, data: OpinionIn):
    with unit_of_work() as session:
        return out(OpinionOut, reviews.sign_opinion(session, current_actor(session),
                                                    submission_id, data)), 201


@api_route(bp, "GET", "/devices/<code>/opinions", summary="Signed opinions on a device",
           permission=P.DEVICE_READ, response=list[OpinionOut], tag=TAG)
def list_device_opinions(code: str):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        return many(OpinionOut, reviews.device_opinions(session, actor, device))


@api_route(bp, "GET", "/reviews/opinions/<int:opinion_id>/signature",
           summary="Check an opinion's signature against the registry key",
           permission=P.DEVICE_READ, response=SignatureCheckOut, tag=TAG)
def verify_opinion(opinion_id: int):
    with unit_of_work() as session:
        problems = reviews.verify_opinion(session, current_actor(session), opinion_id)
        return SignatureCheckOut(opinion_id=opinion_id, valid=not problems,
                                 problems=problems).model_dump()
