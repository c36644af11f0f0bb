"""API routes: public catalogue, national view, use-case scores, problem reports, exports (#10)."""

from __future__ import annotations

import json

from flask import Response, current_app, request

from registry.api import bp
from registry.api.routing import api_route
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas.catalogue import (
    AssessmentIn,
    AssessmentOut,
    CatalogueChangeOut,
    CatalogueDeviceOut,
    CatalogueFilter,
    ExportQuery,
    IncidentRequestIn,
    NationalViewOut,
    ProblemReportHandleIn,
    ProblemReportIn,
    ProblemReportOut,
    ProblemReportReceiptOut,
    RankingRowOut,
    UseCaseIn,
    UseCaseOut,
)
from registry.services import catalogue, exports, national, usecases


def _out(model, value) -> dict:
    return model.model_validate(value).model_dump(mode="json")


def fingerprint() -> str:
    return catalogue.client_fingerprint(current_app.config["SECRET_KEY"],
                                        request.remote_addr or "unknown")


# --- the public catalogue ---------------------------------------------------------------------


@api_route(bp, "GET", "/catalogue", summary="Published devices (public), filtered",
           permission=None, public=True, query=CatalogueFilter,
           response=list[CatalogueDeviceOut], tag="catalogue")
def catalogue_list(data: CatalogueFilter):
    with unit_of_work() as session:
        page, total = catalogue.list_catalogue(session, data)
        body = [_out(CatalogueDeviceOut, e) for e in catalogue.entries(session, page)]
    return Response(json.dumps(body), mimetype="application/json",
                    headers={"X-Total-Count": str(total)})


@api_route(bp, "GET", "/catalogue/changes", summary="Recent catalogue changes (public)",
           permission=None, public=True, response=list[CatalogueChangeOut], tag="catalogue")
def catalogue_changes():
    with unit_of_work() as session:
        return [_out(CatalogueChangeOut, c) for c in catalogue.catalogue_changes(session)]


@api_route(bp, "GET", "/catalogue/feed", summary="Catalogue changes as an Atom feed (public)",
           permission=None, public=True, tag="catalogue")
def catalogue_feed():
    with unit_of_work() as session:
        changes = catalogue.catalogue_changes(session)
    return Response(exports.atom_feed(changes, request.host_url),
                    mimetype="application/atom+xml")


@api_route(bp, "GET", "/catalogue/<code>", summary="One published device's catalogue entry",
           permission=None, public=True, response=CatalogueDeviceOut, tag="catalogue")
def catalogue_device(code: str):
    with unit_of_work() as session:
        return _out(CatalogueDeviceOut, catalogue.catalogue_entry(session, code))


@api_route(bp, "POST", "/catalogue/<code>/problem-reports",
           summary="Report a concern about a published device (anyone; rate-limited)",
           permission=None, public=True, body=ProblemReportIn,
           response=ProblemReportReceiptOut, status=201, tag="catalogue")
def report_problem(code: str, data: ProblemReportIn):
    with unit_of_work() as session:
        report = catalogue.report_problem(session, code, data, fingerprint())
        body = {"reference": f"PR-{report.id}", "device_code": code, "status": report.status,
                "created_at": report.created_at}
    return _out(ProblemReportReceiptOut, body), 201


@api_route(bp, "GET", "/devices/<code>/fhir",
           summary="The device as a FHIR R5 DeviceDefinition (application/fhir+json)",
           permission=None, public=True, tag="catalogue")
def device_fhir(code: str):
    with unit_of_work() as session:
        resource = exports.device_definition(session, current_actor(session), code)
    return Response(json.dumps(resource), mimetype="application/fhir+json")


@api_route(bp, "GET", "/devices/<code>/versions/<version>/model-card",
           summary="A model version's model card (CHAI Applied Model Card sections)",
           permission=None, public=True, tag="catalogue")
def model_card(code: str, version: str):
    with unit_of_work() as session:
        actor = current_actor(session)
        return exports.model_card(session, actor, exports.get_version(session, actor, code,
                                                                      version))


@api_route(bp, "GET", "/exports/<name>",
           summary="A list as CSV or JSON: catalogue (public), devices (what you see), "
                   "use-cases, problem-reports, national-matrix (by permission)",
           permission=None, public=True, query=ExportQuery, tag="catalogue")
def export_list(name: str, data: ExportQuery):
    with unit_of_work() as session:
        body, mimetype, filename = exports.export_list(session, current_actor(session), name,
                                                       data.format)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the national view and use cases ----------------------------------------------------------


@api_route(bp, "GET", "/national", summary="Theme x stage matrix, classes, safety, footprint",
           permission=P.NATIONAL_READ, response=NationalViewOut, tag="national")
def national_view():
    with unit_of_work() as session:
        return _out(NationalViewOut, national.national_view(session, current_actor(session)))


@api_route(bp, "GET", "/use-cases/criteria", summary="The six criteria and their 1/3/5 anchors",
           permission=None, public=True, tag="national")
def use_case_criteria():
    return usecases.CRITERIA


@api_route(bp, "GET", "/use-cases", summary="Use cases to prioritise",
           permission=P.NATIONAL_READ, response=list[UseCaseOut], tag="national")
def list_use_cases():
    with unit_of_work() as session:
        found = usecases.list_use_cases(session, current_actor(session))
        codes = usecases.device_codes(session, found)
        return [_out(UseCaseOut, usecases.use_case_out(u, codes)) for u in found]


@api_route(bp, "POST", "/use-cases", summary="Register a use case", permission=P.USE_CASE_WRITE,
           body=UseCaseIn, response=UseCaseOut, status=201, tag="national")
def create_use_case(data: UseCaseIn):
    with unit_of_work() as session:
        use_case = usecases.create_use_case(session, current_actor(session), data)
        codes = usecases.device_codes(session, [use_case])
        return _out(UseCaseOut, usecases.use_case_out(use_case, codes)), 201


@api_route(bp, "GET", "/use-cases/ranking", summary="Use cases ranked by their scores",
           permission=P.NATIONAL_READ, response=list[RankingRowOut], tag="national")
def use_case_ranking():
    with unit_of_work() as session:
        return [_out(RankingRowOut, r) for r in usecases.ranking(session, current_actor(session))]


@api_route(bp, "GET", "/use-cases/<code>/assessments", summary="Every assessor's scores",
           permission=P.NATIONAL_READ, response=list[AssessmentOut], tag="national")
def use_case_assessments(code: str):
    with unit_of_work() as session:
        return [_out(AssessmentOut, a)
                for a in usecases.assessments_of(session, current_actor(session), code)]


@api_route(bp, "PUT", "/use-cases/<code>/assessment", summary="Score a use case (your scores)",
           permission=P.USE_CASE_WRITE, body=AssessmentIn, response=AssessmentOut,
           tag="national")
def score_use_case(code: str, data: AssessmentIn):
    with unit_of_work() as session:
        actor = current_actor(session)
        usecases.score_use_case(session, actor, code, data)
        mine = [a for a in usecases.assessments_of(session, actor, code)
                if a["assessor_id"] == actor.user_id]
        return _out(AssessmentOut, mine[0])


# --- problem reports (manufacturer and authority) ---------------------------------------------


def _report(report, device) -> dict:
    return _out(ProblemReportOut, catalogue.report_out(report, device))


@api_route(bp, "GET", "/problem-reports", summary="Problem reports you may read",
           permission=P.PROBLEM_REPORT_READ, response=list[ProblemReportOut], tag="catalogue")
def list_problem_reports():
    with unit_of_work() as session:
        return [_report(r, d)
                for r, d in catalogue.list_problem_reports(session, current_actor(session))]


@api_route(bp, "POST", "/problem-reports/<int:report_id>/handling",
           summary="Acknowledge or dismiss a problem report", permission=P.PROBLEM_REPORT_HANDLE,
           body=ProblemReportHandleIn, response=ProblemReportOut, tag="catalogue")
def handle_problem_report(report_id: int, data: ProblemReportHandleIn):
    with unit_of_work() as session:
        actor = current_actor(session)
        report = catalogue.handle_problem_report(session, actor, report_id, data)
        return _report(*catalogue.get_problem_report(session, actor, report.id))


@api_route(bp, "POST", "/problem-reports/<int:report_id>/incident",
           summary="Turn a problem report into an incident", permission=P.PROBLEM_REPORT_HANDLE,
           body=IncidentRequestIn, response=ProblemReportOut, tag="catalogue")
def problem_report_incident(report_id: int, data: IncidentRequestIn):
    with unit_of_work() as session:
        actor = current_actor(session)
        report = catalogue.request_incident(session, actor, report_id, data)
        return _report(*catalogue.get_problem_report(session, actor, report.id))
