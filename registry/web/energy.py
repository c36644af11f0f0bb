"""Web pages: energy and carbon footprints (issue #8)."""

from __future__ import annotations

import plotly.graph_objects as go
from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from registry import auth
from registry.auth import Permission
from registry.db import unit_of_work
from registry.errors import InvalidInputError
from registry.identity import current_actor
from registry.schemas.energy import FootprintImportIn, FootprintIn
from registry.services import devices, energy, organisations
from registry.web import bp
from registry.web.charts import chart
from registry.web.forms import Errors, parse, registry_errors
from registry.web.panels import panel

PHASE_LABELS = {"training": "Training (declared)", "validation": "Validation jobs",
                "monitoring": "Monitoring jobs", "registry": "Other registry jobs"}
DECLARE_FIELDS = [
    ("phase", "Phase", "select", [("training", "Training"), ("inference", "Inference")]),
    ("energy_kwh", "Energy (kWh)", "number", None),
    ("emissions_kg", "Emissions (kg CO2e)", "number", None),
    ("predictions", "Predictions (inference: how many the energy was spent on)", "number", None),
    ("duration_s", "Duration (s)", "number", None),
    ("country", "Country of the grid (ISO alpha-3, e.g. FRA)", "text", None),
    ("hardware", "Hardware", "text", None),
    ("note", "Note", "textarea", None),
]


@panel("energy_panel.html", order=50)
def _device_panel(session, actor, device) -> dict:
    footprint = energy.device_footprint(session, actor, device.code)
    return {"footprint": footprint.model_dump(), "code": device.code,
            "labels": PHASE_LABELS}


def _page(code: str, *, errors: Errors | None = None, form: str = "", status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        footprint = energy.device_footprint(session, actor, code)
        records = [r.model_dump() | {"per_1000_kwh": r.per_1000_kwh}
                   for r in energy.records_of_device(session, device)]
        may_declare = auth.allows(actor, Permission.ENERGY_DECLARE) and \
            device.manufacturer_id == actor.organisation_id
        versions = [(v.id, v.version) for v in devices.versions_of(session, device)]
        name = device.name
    return render_template(
        "energy_device.html", code=code, name=name, footprint=footprint.model_dump(),
        records=records, versions=versions, may_declare=may_declare, labels=PHASE_LABELS,
        charts=_device_charts(footprint), fields=DECLARE_FIELDS, errors=errors or {},
        form=form, values=request.form if form else {},
    ), status


def _device_charts(footprint) -> dict:
    if not footprint.versions:
        return {}
    names = [v.version for v in footprint.versions]
    fig = go.Figure()
    for phase in ("training", "validation", "monitoring"):
        fig.add_bar(name=PHASE_LABELS[phase], x=names,
                    y=[getattr(v, phase).emissions_kg * 1000 for v in footprint.versions])
    fig.update_layout(barmode="stack", title="Emissions by model version (g CO2e)",
                      yaxis_title="g CO2e", xaxis_title="model version", xaxis_type="category")
    return {"versions": chart(fig, label="Stacked bars of emissions per model version and "
                                         "phase")}


@bp.get("/devices/<code>/energy")
@login_required
def energy_page(code: str):
    return _page(code)


@bp.post("/devices/<code>/energy")
@login_required
def declare_energy(code: str):
    version_id = request.form.get("model_version_id", type=int)
    data, errors = parse(FootprintIn, request.form, [f[0] for f in DECLARE_FIELDS])
    if version_id is None:
        errors.setdefault("model_version_id", []).append("choose the model version")
    if errors:
        return _page(code, errors=errors, form="declare", status=422)
    try:
        with unit_of_work() as session:
            energy.declare_footprint(session, current_actor(session), code, version_id, data)
    except InvalidInputError as exc:
        return _page(code, errors=registry_errors(exc), form="declare", status=422)
    flash("Footprint declared.", "success")
    return redirect(url_for("web.energy_page", code=code))


@bp.post("/devices/<code>/energy/import")
@login_required
def import_energy(code: str):
    version_id = request.form.get("model_version_id", type=int)
    upload = request.files.get("file")
    data, errors = parse(FootprintImportIn, request.form, ["phase", "predictions", "note"])
    if version_id is None:
        errors.setdefault("model_version_id", []).append("choose the model version")
    if upload is None or not upload.filename:
        errors.setdefault("file", []).append("choose the emissions.csv file to import")
    if errors:
        return _page(code, errors=errors, form="import", status=422)
    try:
        with unit_of_work() as session:
            rows = energy.import_codecarbon(session, current_actor(session), code, version_id,
                                            upload.stream, upload.filename, data)
            count = len(rows)
    except InvalidInputError as exc:
        return _page(code, errors=registry_errors(exc), form="import", status=422)
    flash(f"Imported {count} CodeCarbon run(s).", "success")
    return redirect(url_for("web.energy_page", code=code))


@bp.get("/organisations/<int:organisation_id>/energy")
@login_required
def organisation_energy(organisation_id: int):
    with unit_of_work() as session:
        actor = current_actor(session)
        footprint = energy.organisation_footprint(session, actor, organisation_id)
        organisation = organisations.get_organisation(session, actor, organisation_id)
        org_name = organisation.name
    fig = go.Figure()
    codes = [d.device for d in footprint.devices]
    for phase in ("training", "validation", "monitoring", "registry"):
        fig.add_bar(name=PHASE_LABELS[phase], x=codes,
                    y=[d.by_phase[phase].emissions_kg * 1000 for d in footprint.devices])
    fig.update_layout(barmode="stack", title="Emissions by device (g CO2e)", yaxis_title="g CO2e",
                      xaxis_type="category")
    return render_template(
        "energy_organisation.html", footprint=footprint.model_dump(), name=org_name,
        labels=PHASE_LABELS,
        chart=chart(fig, label="Stacked bars of emissions per device") if codes else None)
