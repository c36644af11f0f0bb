"""Device pages: the list, one device, its edit forms, the evidence form and the stage change."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from registry import lifecycle
from registry.db import unit_of_work
from registry.errors import GateNotMetError, InvalidInputError
from registry.identity import current_actor
from registry.models import (
    Adaptivity,
    AiActCategory,
    Comparator,
    DatasetKind,
    OutputRole,
    Regulation,
    Stage,
    Task,
    Theme,
)
from registry.schemas import DeviceFilter, DeviceUpdate, EvidenceIn, KpiIn, SubgroupIn, TransitionIn
from registry.services import artifacts, devices
from registry.web import bp
from registry.web.forms import Errors, parse, registry_errors
from registry.web.present import (
    AI_ACT_LABELS,
    OUTPUT_ROLE_LABELS,
    THEME_LABELS,
    device_page,
    device_row,
    evidence_choices,
    organisation_names,
    risk_class_choices,
)

FILTER_FIELDS = ["q", "theme", "stage", "regulation", "risk_class", "adaptivity"]


def _choices(enum, labels=None) -> list[tuple[str, str]]:
    return [(m.value, (labels or {}).get(m, m.value)) for m in enum]


# --- the list ---------------------------------------------------------------------------------


@bp.get("/devices")
def device_list():
    filters, errors = parse(DeviceFilter, request.args, FILTER_FIELDS + ["offset"])
    rows, total = [], 0
    if filters is not None:
        with unit_of_work() as session:
            actor = current_actor(session)
            page, total = devices.list_devices(session, actor, filters)
            names = (organisation_names(session, actor, [d.manufacturer_id for d in page])
                     if not actor.is_anonymous else {})
            rows = [device_row(d, names) for d in page]
            # Post-market status (issue #7), for the devices whose monitoring the actor reads.
            from registry.services.monitoring import visible_statuses

            statuses = visible_statuses(session, actor, page)
            for row in rows:
                row["postmarket"] = statuses.get(row["id"])
    offset = filters.offset if filters else 0
    return render_template(
        "devices.html", devices=rows, total=total, offset=offset,
        limit=filters.limit if filters else 50, errors=errors, args=request.args,
        choices={"theme": _choices(Theme, THEME_LABELS), "stage": _choices(Stage),
                 "regulation": _choices(Regulation), "risk_class": risk_class_choices(),
                 "adaptivity": _choices(Adaptivity)},
    ), 422 if errors else 200


# --- one device -------------------------------------------------------------------------------


@bp.get("/devices/<code>")
@login_required
def device_detail(code: str):
    # Signed-in only: the public catalogue lists published devices; their pages need an account
    # (organisation names and evidence are not public).
    with unit_of_work() as session:
        data = device_page(session, current_actor(session), code)
    return render_template("device.html", **data)


@bp.get("/artifacts/<int:artifact_id>")
@login_required
def download_artifact(artifact_id: int):
    with unit_of_work() as session:
        artifact = artifacts.get_artifact(session, current_actor(session), artifact_id)
    return send_file(artifacts.open_artifact(artifact), mimetype=artifact.media_type,
                     as_attachment=True, download_name=artifact.filename, etag=artifact.sha256)


# --- editing (manufacturers) ------------------------------------------------------------------

DEVICE_FIELDSETS = [
    ("Identity", [
        ("name", "Name", "text", None),
        ("theme", "Theme", "select", _choices(Theme, THEME_LABELS)),
        ("secondary_themes", "Secondary themes", "checkboxes", _choices(Theme, THEME_LABELS)),
    ]),
    ("Intended purpose", [
        ("intended_purpose", "Intended purpose", "textarea", None),
        ("medical_indication", "Medical indication", "textarea", None),
        ("target_population", "Target population", "textarea", None),
        ("intended_users", "Intended users", "text", None),
        ("use_environment", "Use environment", "text", None),
        ("output_role", "Role of the output", "select", _choices(OutputRole, OUTPUT_ROLE_LABELS)),
        ("contraindications", "Contra-indications", "textarea", None),
    ]),
    ("Classification", [
        ("regulation", "Regulation", "select", _choices(Regulation)),
        ("risk_class", "Risk class", "select", risk_class_choices()),
        ("classification_rule", "Classification rule", "text", None),
        ("classification_reasoning", "Classification reasoning", "textarea", None),
        ("ai_act_category", "AI Act category", "select", _choices(AiActCategory, AI_ACT_LABELS)),
        ("ai_act_reasoning", "AI Act reasoning", "textarea", None),
        ("classification_final", "Classification is final", "checkbox", None),
    ]),
    ("Model", [
        ("adaptivity", "Locked or adaptive", "select", _choices(Adaptivity)),
        ("change_envelope", "Change envelope (adaptive devices)", "textarea", None),
        ("ai_technique", "AI technique", "text", None),
        ("task", "Task", "select", _choices(Task)),
    ]),
    ("EUDAMED identifiers", [
        ("actor_srn", "Actor SRN", "text", None),
        ("basic_udi_di", "Basic UDI-DI", "text", None),
        ("udi_di", "UDI-DI", "text", None),
        ("emdn_code", "EMDN code", "text", None),
        ("certificate_numbers", "Certificate numbers (comma separated)", "text", None),
    ]),
]
DEVICE_FIELDS = [name for _, fields in DEVICE_FIELDSETS for name, *_ in fields]

KPI_FIELDS = [
    ("metric", "Metric", "text", None),
    ("comparator", "Comparator", "select", _choices(Comparator)),
    ("threshold", "Threshold", "number", None),
    ("low", "Low (for 'between')", "number", None),
    ("high", "High (for 'between')", "number", None),
    ("population", "Population", "text", None),
    ("dataset_kind", "Dataset kind", "select", _choices(DatasetKind)),
    ("is_primary", "Primary KPI", "checkbox", None),
]
SUBGROUP_FIELDS = [
    ("variable", "Variable", "text", None),
    ("levels", "Levels (comma separated)", "text", None),
    ("gap_metric", "Gap metric", "text", None),
    ("max_gap", "Maximum gap", "number", None),
]


def _device_values(device: dict) -> dict:
    values = {name: device.get(name) for name in DEVICE_FIELDS}
    values["certificate_numbers"] = ", ".join(device.get("certificate_numbers") or [])
    values["lock_version"] = device["lock_version"]
    return values


def _edit_page(code: str, *, form: str = "", errors: Errors | None = None, status: int = 200):
    with unit_of_work() as session:
        data = device_page(session, current_actor(session), code)
    if not data["may_write"]:
        abort(403, description=f"only the manufacturer of {code} may edit it")
    values = {"device": _device_values(data["device"]), "kpi": {}, "subgroup": {}}
    if form:
        values[form] = request.form
    return render_template(
        "device_edit.html", **data, form=form, errors=errors or {}, values=values,
        fieldsets=DEVICE_FIELDSETS, kpi_fields=KPI_FIELDS, subgroup_fields=SUBGROUP_FIELDS,
    ), status


@bp.get("/devices/<code>/edit")
@login_required
def edit_device(code: str):
    return _edit_page(code)


def _write(code: str, form: str, model, service, fields: list[str], done: str):
    """Validate ``form`` through ``model``, call ``service``; re-render the edit page on errors."""
    data, errors = parse(model, request.form, fields)
    if errors:
        return _edit_page(code, form=form, errors=errors, status=422)
    try:
        with unit_of_work() as session:
            service(session, current_actor(session), code, data)
    except InvalidInputError as exc:
        return _edit_page(code, form=form, errors=registry_errors(exc), status=422)
    flash(done, "success")
    return redirect(url_for("web.device_detail", code=code))


@bp.post("/devices/<code>/edit")
@login_required
def update_device(code: str):
    return _write(code, "device", DeviceUpdate, devices.update_device,
                  DEVICE_FIELDS + ["lock_version"], "Device updated.")


@bp.post("/devices/<code>/kpis")
@login_required
def add_kpi(code: str):
    return _write(code, "kpi", KpiIn, devices.add_kpi, None, "KPI declared.")


@bp.post("/devices/<code>/subgroups")
@login_required
def set_subgroup(code: str):
    return _write(code, "subgroup", SubgroupIn, devices.set_subgroup, None,
                  "Subgroup variable declared.")


# --- stage changes and evidence ---------------------------------------------------------------


def _transition_page(code: str, *, unmet: list | None = None, message: str = "",
                     form: str = "", errors: Errors | None = None, status: int = 200):
    with unit_of_work() as session:
        data = device_page(session, current_actor(session), code)
    gate = data["gate"]
    if unmet is not None:  # the list the refused move was judged on
        gate = {**gate, "unmet": unmet}
    stage = Stage(data["device"]["stage"])
    earlier = [(s.value, f"{s.value} · {s.label}")
               for s in lifecycle.STAGES[:lifecycle.STAGES.index(stage)]]
    return render_template(
        "transition.html", **{**data, "gate": gate}, refused=message, form=form,
        errors=errors or {}, values=request.form if form else {}, earlier_stages=earlier,
        evidence_choices=evidence_choices(stage, {u["id"] for u in gate["unmet"]}),
    ), status


@bp.get("/devices/<code>/transition")
@login_required
def transition(code: str):
    return _transition_page(code)


@bp.post("/devices/<code>/transition")
@login_required
def change_stage(code: str):
    form = "back" if request.form.get("direction") == "back" else "forward"
    data, errors = parse(TransitionIn, request.form, ["to_stage", "reason", "lock_version"])
    if errors:
        return _transition_page(code, form=form, errors=errors, status=422)
    try:
        with unit_of_work() as session:
            device = devices.advance_stage(session, current_actor(session), code, data)
            stage = device.stage.value
    except GateNotMetError as exc:
        return _transition_page(code, unmet=exc.unmet, message=exc.detail, form=form,
                                status=exc.status)
    except InvalidInputError as exc:
        return _transition_page(code, form=form, errors=registry_errors(exc), status=422)
    flash(f"{code} moved to {stage}.", "success")
    return redirect(url_for("web.device_detail", code=code))


@bp.post("/devices/<code>/evidence")
@login_required
def attach_evidence(code: str):
    data, errors = parse(EvidenceIn, request.form, ["gate_item", "note"])
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        errors.setdefault("document", []).append("choose a file to upload")
    if errors:
        return _transition_page(code, form="evidence", errors=errors, status=422)
    try:
        # One unit of work: if attaching fails, the artifact row and its new blob go too.
        with unit_of_work() as session:
            actor = current_actor(session)
            artifact = artifacts.upload_artifact(session, actor, upload.stream, upload.filename,
                                                 upload.mimetype)
            devices.attach_evidence(session, actor, code,
                                    data.model_copy(update={"artifact_id": artifact.id}))
            filename = artifact.filename
    except InvalidInputError as exc:
        return _transition_page(code, form="evidence", errors=registry_errors(exc), status=422)
    flash(f"{filename} attached as evidence for {data.gate_item}.", "success")
    return redirect(url_for("web.transition", code=code))


