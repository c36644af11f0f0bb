"""API routes: Ethics-grid self-assessments and their reviews (issue #6)."""

from __future__ import annotations

from registry.api import bp
from registry.api.routing import api_route
from registry.api.views import out
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas.ethics import (
    AnswerIn,
    AnswerOut,
    AssessmentOut,
    DeviceEthicsOut,
    GridOut,
    ReviewIn,
    ReviewOut,
)
from registry.services import ethics


@api_route(bp, "GET", "/ethics/grid", summary="The current ethics grid: its 44 criteria",
           public=True, permission=None, response=GridOut, tag="ethics")
def ethics_grid():
    grid = ethics.get_grid()
    return GridOut(
        version=grid.version, label=grid.label, title=grid.title, source=grid.source,
        published=grid.published, fingerprint=grid.fingerprint,
        principles=list(grid.principles), stages=list(grid.stages),
        criteria=[{"id": c.id, "stage": c.stage, "lifecycle_stage": c.lifecycle_stage,
                   "principle": c.principle, "blocking": c.blocking,
                   "requirement": c.requirement, "evidence": list(c.evidence),
                   "computed_evidence": list(c.computed_evidence)} for c in grid.criteria],
    ).model_dump(mode="json")


@api_route(bp, "GET", "/devices/<code>/ethics",
           summary="The device's ethics self-assessment: draft (manufacturer only), latest "
           "submitted with reviews, scores, criteria missing per stage",
           permission=P.ETHICS_READ, response=DeviceEthicsOut, tag="ethics")
def device_ethics(code: str):
    with unit_of_work() as session:
        data = ethics.device_ethics(session, current_actor(session), code)
        return DeviceEthicsOut.model_validate(data).model_dump(mode="json")


@api_route(bp, "PUT", "/devices/<code>/ethics/draft/answers/<criterion_id>",
           summary="Save the answer to one criterion in the draft (opened on first answer)",
           permission=P.ETHICS_ANSWER, body=AnswerIn, response=AnswerOut, tag="ethics")
def save_ethics_answer(code: str, criterion_id: str, data: AnswerIn):
    with unit_of_work() as session:
        row = ethics.save_answer(session, current_actor(session), code, criterion_id, data)
        return out(AnswerOut, row)


@api_route(bp, "POST", "/devices/<code>/ethics/draft/submit",
           summary="Submit the draft: its answers become an immutable, hashed snapshot",
           permission=P.ETHICS_SUBMIT, response=AssessmentOut, tag="ethics")
def submit_ethics(code: str):
    with unit_of_work() as session:
        assessment = ethics.submit_assessment(session, current_actor(session), code)
        return AssessmentOut.model_validate(
            ethics.assessment_data(session, assessment)).model_dump(mode="json")


@api_route(bp, "PUT", "/devices/<code>/ethics/submitted/reviews/<criterion_id>",
           summary="Agree or disagree with one answer of the latest submitted assessment "
           "(reviewers of organisations with a review grant)",
           permission=P.ETHICS_REVIEW, body=ReviewIn, response=ReviewOut, tag="ethics")
def review_ethics(code: str, criterion_id: str, data: ReviewIn):
    with unit_of_work() as session:
        row = ethics.review_criterion(session, current_actor(session), code, criterion_id, data)
        return out(ReviewOut, row)
