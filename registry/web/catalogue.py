"""Web pages: the public catalogue, the national view, use-case prioritisation, problem reports,
and list downloads (issue #10)."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from monitoring.vigilance import IncidentCategory
from registry import auth
from registry.auth import Permission
from registry.db import unit_of_work
from registry.errors import ConflictError, InvalidInputError
from registry.identity import current_actor
from registry.models import Adaptivity, Regulation, Stage, Theme
from registry.models.catalogue import Criterion, ProblemCategory, ReporterKind
from registry.schemas.catalogue import (
    AssessmentIn,
    CatalogueFilter,
    IncidentRequestIn,
    ProblemReportHandleIn,
    ProblemReportIn,
    UseCaseIn,
)
from registry.schemas.monitoring import SEVERITIES
from registry.services import catalogue, devices, exports, national, usecases
from registry.web import bp
from registry.web.forms import Errors, parse, registry_errors, validation_errors
from registry.web.panels import panel
from registry.web.present import THEME_LABELS, risk_class_choices
from registry.web.public_cache import cached_for_anonymous

FILTER_FIELDS = ["q", "theme", "stage", "regulation", "risk_class", "ai_technique", "adaptivity",
                 "offset"]
CATEGORY_LABELS = {
    ProblemCategory.performance: "Wrong or poor results",
    ProblemCategory.safety: "Harm or risk of harm",
    ProblemCategory.usability: "Hard to use or understand",
    ProblemCategory.data_protection: "Personal data or privacy",
    ProblemCategory.information: "Missing or misleading information",
    ProblemCategory.other: "Something else",
}
REPORTER_LABELS = {ReporterKind.patient: "Patient or relative",
                   ReporterKind.professional: "Health professional",
                   ReporterKind.other: "Other"}


def _choices(enum, labels=None) -> list[tuple[str, str]]:
    return [(m.value, (labels or {}).get(m, m.value)) for m in enum]


# --- the public catalogue ---------------------------------------------------------------------


@bp.get("/catalogue")
@cached_for_anonymous
def catalogue_list():
    filters, errors = parse(CatalogueFilter, request.args, FILTER_FIELDS)
    rows, total, techniques = [], 0, []
    with unit_of_work() as session:
        techniques = catalogue.ai_techniques(session)
        if filters is not None:
            page, total = catalogue.list_catalogue(session, filters)
            rows = catalogue.entries(session, page, detail=False)
    return render_template(
        "catalogue_list.html", devices=rows, total=total, errors=errors, args=request.args,
        offset=filters.offset if filters else 0, limit=filters.limit if filters else 50,
        techniques=techniques,
        choices={"theme": _choices(Theme, THEME_LABELS), "stage": _choices(Stage),
                 "regulation": _choices(Regulation), "risk_class": risk_class_choices(),
                 "adaptivity": _choices(Adaptivity)},
    ), 422 if errors else 200


@bp.get("/catalogue/feed.atom")
@cached_for_anonymous
def catalogue_feed():
    with unit_of_work() as session:
        changes = catalogue.catalogue_changes(session)
    return Response(exports.atom_feed(changes, request.host_url), mimetype="application/atom+xml")


def _device_page(code: str, *, form: MultiDict | None = None, errors: Errors | None = None,
                 status: int = 200):
    with unit_of_work() as session:
        entry = catalogue.catalogue_entry(session, code)
    return render_template(
        "catalogue_device.html", device=entry, form=form or MultiDict(), errors=errors or {},
        categories=_choices(ProblemCategory, CATEGORY_LABELS),
        reporter_kinds=_choices(ReporterKind, REPORTER_LABELS),
    ), status


@bp.get("/catalogue/<code>")
@cached_for_anonymous
def catalogue_device(code: str):
    return _device_page(code)


@bp.post("/catalogue/<code>/report")
def catalogue_report(code: str):
    data, errors = parse(ProblemReportIn, request.form)
    if errors:
        return _device_page(code, form=request.form, errors=errors, status=422)
    fingerprint = catalogue.client_fingerprint(current_app.config["SECRET_KEY"],
                                               request.remote_addr or "unknown")
    try:
        with unit_of_work() as session:
            report = catalogue.report_problem(session, code, data, fingerprint)
            reference = f"PR-{report.id}"
    except catalogue.TooManyReportsError as exc:
        return _device_page(code, form=request.form, errors={"": [exc.detail]}, status=429)
    flash(f"Thank you: your report {reference} was sent to the manufacturer and the authority.",
          "success")
    return redirect(url_for("web.catalogue_device", code=code))


# --- downloads --------------------------------------------------------------------------------


@bp.get("/exports/<name>.<fmt>")
def export_list(name: str, fmt: str):
    if fmt not in ("csv", "json"):
        raise InvalidInputError(f"unknown format '{fmt}'; use .csv or .json")
    with unit_of_work() as session:
        body, mimetype, filename = exports.export_list(session, current_actor(session), name,
                                                       fmt)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the national view ------------------------------------------------------------------------


@bp.get("/national")
@login_required
def national_view():
    with unit_of_work() as session:
        data = national.national_view(session, current_actor(session))
    return render_template("national_view.html", data=data)


# --- use-case prioritisation ------------------------------------------------------------------


def _ranking_page(*, form: MultiDict | None = None, errors: Errors | None = None,
                  status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        rows = usecases.ranking(session, actor)
        may_write = auth.allows(actor, Permission.USE_CASE_WRITE)
    return render_template("usecase_ranking.html", rows=rows, may_write=may_write,
                           criteria=usecases.CRITERIA, form=form or MultiDict(),
                           errors=errors or {},
                           themes=_choices(Theme, THEME_LABELS)), status


@bp.get("/national/use-cases")
@login_required
def use_case_ranking():
    return _ranking_page()


@bp.post("/national/use-cases")
@login_required
def create_use_case():
    data, errors = parse(UseCaseIn, request.form)
    if errors:
        return _ranking_page(form=request.form, errors=errors, status=422)
    try:
        with unit_of_work() as session:
            created = usecases.create_use_case(session, current_actor(session), data)
            code = created.code
    except (InvalidInputError, ConflictError) as exc:
        return _ranking_page(form=request.form, errors=registry_errors(exc), status=exc.status)
    flash(f"Use case {code} registered; score it below.", "success")
    return redirect(url_for("web.use_case_detail", code=code))


def _detail_page(code: str, *, form: MultiDict | None = None, errors: Errors | None = None,
                 status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        use_case = usecases.get_use_case(session, actor, code)
        info = usecases.use_case_out(use_case, usecases.device_codes(session, [use_case]))
        assessments = usecases.assessments_of(session, actor, code)
        row = next(r for r in usecases.ranking(session, actor) if r["code"] == code)
        may_write = auth.allows(actor, Permission.USE_CASE_WRITE)
        mine = next((a for a in assessments if a["assessor_id"] == actor.user_id), None)
    if form is None:
        form = MultiDict()
        if mine is not None:
            for c in Criterion:
                form[f"score_{c.value}"] = str(mine["scores"][c.value])
                form[f"justification_{c.value}"] = mine["justifications"][c.value]
                if c.value in mine["weights"]:
                    form[f"weight_{c.value}"] = str(mine["weights"][c.value])
    return render_template("usecase_detail.html", use_case=info, assessments=assessments,
                           row=row, criteria=usecases.CRITERIA, may_write=may_write,
                           form=form, errors=errors or {}), status


@bp.get("/national/use-cases/<code>")
@login_required
def use_case_detail(code: str):
    return _detail_page(code)


def _assessment_from(form: MultiDict) -> tuple[AssessmentIn | None, Errors]:
    scores, justifications, weights, errors = {}, {}, {}, {}
    for c in Criterion:
        raw = form.get(f"score_{c.value}", "")
        if raw:
            scores[c.value] = int(raw) if raw.isdigit() else raw
        justifications[c.value] = form.get(f"justification_{c.value}", "")
        weight = form.get(f"weight_{c.value}", "").strip()
        if weight:
            try:
                weights[c.value] = float(weight)
            except ValueError:
                errors[f"weight_{c.value}"] = [f"'{weight}' is not a number"]
    if errors:
        return None, {"": ["fix the weights marked below"], **errors}
    try:
        return AssessmentIn.model_validate({"scores": scores, "justifications": justifications,
                                            "weights": weights}), {}
    except ValidationError as exc:
        return None, {"": [m for ms in validation_errors(exc).values() for m in ms]}


@bp.post("/national/use-cases/<code>/score")
@login_required
def score_use_case(code: str):
    data, errors = _assessment_from(request.form)
    if errors:
        return _detail_page(code, form=request.form, errors=errors, status=422)
    with unit_of_work() as session:
        row = usecases.score_use_case(session, current_actor(session), code, data)
        total = row.total
    flash(f"Your scores of {code} are saved (total {total:g}).", "success")
    return redirect(url_for("web.use_case_detail", code=code))


# --- problem reports (manufacturer and authority) ---------------------------------------------


def _reports_page(*, errors: Errors | None = None, status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        rows = [catalogue.report_out(r, d) for r, d in
                catalogue.list_problem_reports(session, actor)]
        may_handle = auth.allows(actor, Permission.PROBLEM_REPORT_HANDLE)
        may_record_incident = auth.allows(actor, Permission.INCIDENT_REPORT)
    return render_template("catalogue_reports.html", reports=rows, may_handle=may_handle,
                           may_record_incident=may_record_incident, severities=SEVERITIES,
                           incident_categories=[c.value for c in IncidentCategory],
                           errors=errors or {}, category_label={
                               k.value: v for k, v in CATEGORY_LABELS.items()},
                           reporter_label={k.value: v for k, v in REPORTER_LABELS.items()}), \
        status


@bp.get("/problem-reports")
@login_required
def problem_reports():
    return _reports_page()


def _act_on_report(report_id: int, model, act, outcome):
    """Validate the form, run ``act(session, actor, report_id, data)``, flash ``outcome(row)``;
    a refusal (bad input, or a report already closed) shows the list with the message."""
    data, errors = parse(model, request.form)
    if errors:
        return _reports_page(errors={"": [f"report PR-{report_id}: " + "; ".join(
            m for ms in errors.values() for m in ms)]}, status=422)
    try:
        with unit_of_work() as session:
            message = outcome(act(session, current_actor(session), report_id, data))
    except ConflictError as exc:
        return _reports_page(errors=registry_errors(exc), status=409)
    flash(f"Report PR-{report_id} {message}.", "success")
    return redirect(url_for("web.problem_reports"))


@bp.post("/problem-reports/<int:report_id>/handle")
@login_required
def handle_problem_report(report_id: int):
    return _act_on_report(report_id, ProblemReportHandleIn, catalogue.handle_problem_report,
                          lambda report: report.status.value)


@bp.post("/problem-reports/<int:report_id>/incident")
@login_required
def problem_report_incident(report_id: int):
    return _act_on_report(
        report_id, IncidentRequestIn, catalogue.request_incident,
        lambda report: f"became incident {report.incident_ref}" if report.incident_ref
        else "is recorded as an incident request for the manufacturer")


# --- the device page's catalogue section ------------------------------------------------------


@panel("catalogue_panel.html", order=70)
def catalogue_panel(session, actor, device) -> dict:
    versions = [v.version for v in devices.versions_of(session, device)]
    reports = None
    if auth.allows(actor, Permission.PROBLEM_REPORT_READ) and (
            auth.RULES[actor.role][Permission.PROBLEM_REPORT_READ] is auth.Scope.ANY
            or device.manufacturer_id == actor.organisation_id):
        reports = catalogue.open_reports_count(session, device)
    return {"code": device.code, "published": device.is_published, "versions": versions,
            "open_reports": reports}
