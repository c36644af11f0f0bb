"""API routes: Validation results and the evaluations computed from them (issue #4)."""

from __future__ import annotations

from flask import url_for
from werkzeug.datastructures import FileStorage

from registry.api import bp
from registry.api.routing import api_route
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.errors import InvalidInputError
from registry.identity import current_actor
from registry.schemas.evaluations import EvaluationDetailOut, EvaluationIn, EvaluationOut
from registry.services import devices, evaluations


def _out(model, obj) -> dict:
    return model.model_validate(obj).model_dump(mode="json")


@api_route(bp, "POST", "/devices/<code>/versions/<int:version_id>/evaluations",
           summary="Upload validation results (CSV or Parquet, multipart field 'file', the "
                   "mapping as form fields) and queue their evaluation",
           permission=P.EVALUATION_SUBMIT, form=EvaluationIn, response=EvaluationOut, status=202,
           tag="evaluations")
def submit_evaluation(code: str, version_id: int, data: EvaluationIn, upload: FileStorage):
    if not upload.filename:
        raise InvalidInputError("send the validation file as multipart/form-data in a field "
                                "named 'file'")
    with unit_of_work() as session:
        evaluation = evaluations.submit_evaluation(
            session, current_actor(session), code, version_id, data, upload.stream,
            upload.filename)
        body = _out(EvaluationOut, evaluation)
    return body, 202, {"Location": url_for(".get_evaluation", code=code,
                                           evaluation_id=evaluation.id)}


@api_route(bp, "GET", "/devices/<code>/evaluations",
           summary="Evaluations of the device's model versions (without the full report)",
           permission=P.DEVICE_READ, response=list[EvaluationOut], tag="evaluations")
def list_evaluations(code: str):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        return [_out(EvaluationOut, e)
                for e in evaluations.evaluations_of_device(session, actor, device)]


@api_route(bp, "GET", "/devices/<code>/versions/<int:version_id>/evaluations",
           summary="Evaluations of one model version", permission=P.DEVICE_READ,
           response=list[EvaluationOut], tag="evaluations")
def list_version_evaluations(code: str, version_id: int):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        devices.get_version(session, device, version_id)
        return [_out(EvaluationOut, e)
                for e in evaluations.evaluations_of_version(session, actor, version_id)]


@api_route(bp, "GET", "/devices/<code>/evaluations/<int:evaluation_id>",
           summary="One evaluation with its full report and KPI verdicts",
           permission=P.DEVICE_READ, response=EvaluationDetailOut, tag="evaluations")
def get_evaluation(code: str, evaluation_id: int):
    with unit_of_work() as session:
        return _out(EvaluationDetailOut, evaluations.get_evaluation(
            session, current_actor(session), code, evaluation_id))
