"""Web pages: post-market monitoring (#7): the overview of deployments (a hospital's own, a
manufacturer's across sites), a deployment's dashboard, the inbox, the device-page panel."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from pydantic import ValidationError

from monitoring.vigilance import IncidentCategory
from registry import auth, jobs
from registry.auth import Permission
from registry.db import unit_of_work
from registry.errors import InvalidInputError, RegistryError
from registry.identity import current_actor
from registry.models import Device, Job, ModelVersion, Organisation
from registry.schemas.monitoring import (
    AlertOut,
    BatchIn,
    IncidentIn,
    IncidentOut,
    IncidentUpdate,
    MonitoringConfigOut,
    NotificationOut,
    UploadTokenIn,
)
from registry.services import alerts, incidents, notifications
from registry.services import monitoring as service
from registry.web import bp
from registry.web.panels import panel
from registry.web.present import dump, dump_all

STATUS_LABELS = {"ok": "OK", "watch": "Watch", "action_needed": "Action needed",
                 "not_monitored": "Not monitored"}


@bp.app_context_processor
def _inbox() -> dict:
    """The unread count shown next to "Inbox" in the navigation."""
    count = current_user.inbox_unread if current_user.is_authenticated else 0
    return {"inbox_unread": count, "postmarket_label": STATUS_LABELS}


# --- overview ---------------------------------------------------------------------------------


@bp.get("/monitoring")
@login_required
def monitoring_overview():
    with unit_of_work() as session:
        actor = current_actor(session)
        rows = service.deployments_overview(session, actor)
        open_alerts = [dump(AlertOut, a) for a in alerts.list_alerts(session, actor,
                                                                     status="active")]
        sites = _sites_chart(session, actor, rows)
    names = {r["deployment_id"]: f"{r['device_code']} at {r['site']}" for r in rows}
    return render_template("monitoring_overview.html", rows=rows, alerts=open_alerts,
                           names=names, sites_chart=sites)


def _sites_chart(session, actor, rows: list[dict]):
    """Drift share per deployment over time: one line per site, so a shift at one site stands
    out against the others (the manufacturer's view across sites)."""
    import plotly.graph_objects as go

    from registry.web.charts import chart

    shares = service.list_drift_shares(session, actor)
    fig = go.Figure()
    for row in rows:
        done = shares.get(row["deployment_id"])
        if done:
            fig.add_trace(go.Scatter(x=[at for at, _ in done], y=[share for _, share in done],
                                     mode="lines+markers",
                                     name=f"{row['device_code']} · {row['site']}"))
    if not fig.data:
        return None
    fig.update_layout(title="Share of drifted features per site", yaxis={"range": [0, 1]},
                      legend={"orientation": "h", "y": -0.25})
    return chart(fig, label="Share of drifted features per batch, one line per deployment")


# --- a deployment's dashboard -----------------------------------------------------------------


def _dashboard(session, actor, deployment_id: int) -> dict:
    deployment = service.get_deployment(session, actor, deployment_id)
    device = session.get(Device, deployment.device_id)
    config = service.config_of(session, deployment)
    batches = service.list_batches(session, actor, deployment_id)
    alert_rows = alerts.list_alerts(session, actor, deployment_id=deployment_id)
    incident_rows = [i for i in incidents.list_incidents(session, actor, device)
                     if i.deployment_id == deployment.id]
    return {
        "deployment": deployment.model_dump(),
        "device": {"code": device.code, "name": device.name},
        "hospital": session.get(Organisation, deployment.hospital_id).name,
        "version": session.get(ModelVersion, deployment.model_version_id).version,
        "config": dump(MonitoringConfigOut, config) if config else None,
        "batches": [_batch_row(b, session.get(Job, b.job_id) if b.job_id else None)
                    for b in reversed(batches)],
        "charts": _charts(batches),
        "alerts": dump_all(AlertOut, alert_rows),
        "incidents": [dump(IncidentOut, incidents.incident_view(i)) for i in incident_rows],
        "may_upload": auth.allows(actor, Permission.MONITORING_UPLOAD)
        and actor.organisation_id == deployment.hospital_id,
        "may_manage": auth.allows(actor, Permission.ALERT_MANAGE)
        and actor.organisation_id in (deployment.hospital_id, device.manufacturer_id),
        "status": service.postmarket_status(session, device),
        "segments": _segments(batches),
        "may_report": auth.allows(actor, Permission.INCIDENT_REPORT)
        and actor.organisation_id in (deployment.hospital_id, device.manufacturer_id),
        "categories": [c.value for c in IncidentCategory],
    }


def _segments(batches) -> list[dict]:
    """Per subgroup and site results of the latest analysed batch, so a shift confined to one
    population shows even when the whole batch looks calm."""
    latest = next((b for b in reversed(batches) if b.results), None)
    if latest is None:
        return []
    measured = {(s["dimension"], s["segment"]): s for s in
                ((latest.measured or {}).get("segments") or {}).get("segments", [])}
    rows = []
    for seg in latest.results.get("segments", {}).get("segments", []):
        drift = seg.get("drift") or {}
        perf = (measured.get((seg["dimension"], seg["segment"])) or {}).get("performance")
        rows.append({"batch_id": latest.id, "name": f"{seg['dimension']}={seg['segment']}",
                     "n_current": seg["n_current"], "skipped": seg.get("skipped_reason"),
                     "drifted": drift.get("drifted_features", []),
                     "drift_share": drift.get("drift_share"),
                     "sensitivity": _metric(perf, "sensitivity")})
    return rows


def _batch_row(batch, job) -> dict:
    results = batch.results or {}
    drifted = (results.get("drift") or {}).get("drifted_features", [])
    status, error = batch.status.value, batch.error
    if status == "queued" and job is not None and job.status == "failed":
        # The analysis crashed (not the sender's data): say so rather than "queued" forever.
        status, error = "failed", f"analysis job {job.id} failed; an administrator can see why"
    return {"id": batch.id, "received_at": batch.received_at, "rows": batch.row_count,
            "status": status, "error": error,
            "drift_share": batch.drift_share, "drifted": drifted,
            "missing_rate": batch.missing_rate, "labelled": batch.measured is not None,
            "findings": len(results.get("findings", []))}


def _metric(data: dict | None, name: str) -> dict | None:
    for value in (data or {}).get("metrics", []):
        if value["metric"] == name and value.get("value") is not None:
            return value
    return None


def _charts(batches) -> list:
    """Drift, per-column scores, performance with interval bands, volumes (Plotly)."""
    import plotly.graph_objects as go

    from registry.web.charts import chart

    done = [b for b in batches if b.status.value == "done"]
    if not done:
        return []
    when = [b.received_at for b in done]
    drift = go.Figure(go.Scatter(x=when, y=[b.drift_share for b in done], mode="lines+markers",
                                 name="share of drifted features"))
    drift.update_layout(title="Share of drifted features", yaxis={"range": [0, 1]})
    columns = go.Figure()
    names = sorted({c["column"] for b in done for c in (b.results or {}).get("drift", {})
                    .get("columns", []) if c.get("score") is not None})
    for name in names:
        scores = []
        for b in done:
            entry = next((c for c in b.results["drift"]["columns"] if c["column"] == name), {})
            scores.append(entry.get("score"))
        columns.add_trace(go.Scatter(x=when, y=scores, mode="lines+markers", name=name))
    columns.update_layout(title="Drift score per column", legend={"orientation": "h", "y": -0.2})
    performance = go.Figure()
    for label, key, dash in (("measured", "measured", "solid"), ("estimated (CBPE)", "estimate",
                                                                  "dot")):
        points = []
        for b in done:
            source = (b.measured or {}).get("performance") if key == "measured" else \
                (b.results or {}).get("estimate")
            value = _metric(source, "sensitivity")
            if value:
                points.append((b.received_at, value))
        if not points:
            continue
        x = [p[0] for p in points]
        y = [p[1]["value"] for p in points]
        if key == "measured":
            upper = [p[1]["upper"] for p in points]
            lower = [p[1]["lower"] for p in points]
            performance.add_trace(go.Scatter(x=x + x[::-1], y=upper + lower[::-1], fill="toself",
                                             line={"width": 0}, opacity=0.25,
                                             name="95% interval (Wilson)"))
        performance.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"sensitivity, "
                                         f"{label}", line={"dash": dash}))
    performance.update_layout(title="Sensitivity over time", yaxis={"range": [0, 1]},
                              legend={"orientation": "h", "y": -0.2})
    volume = go.Figure(go.Bar(x=when, y=[b.row_count for b in done], name="rows"))
    volume.update_layout(title="Volume per batch (rows)")
    return [chart(drift, label="Share of drifted features per batch"),
            chart(columns, label="Drift score of each column per batch"),
            chart(performance, label="Sensitivity per batch, measured with its interval and "
                                     "estimated before labels"),
            chart(volume, label="Rows per batch")]


@bp.get("/deployments/<int:deployment_id>/monitoring")
@login_required
def deployment_monitoring(deployment_id: int):
    with unit_of_work() as session:
        data = _dashboard(session, current_actor(session), deployment_id)
    return render_template("monitoring_deployment.html", **data)


@bp.post("/deployments/<int:deployment_id>/monitoring/batches")
@login_required
def upload_batch_form(deployment_id: int):
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInputError("choose a CSV or Parquet file to upload")
        meta = BatchIn.model_validate({k: v for k, v in request.form.items()
                                       if k in ("period_start", "period_end") and v})
        with unit_of_work() as session:
            batch = service.upload_batch(session, current_actor(session), deployment_id,
                                         upload.stream, upload.filename, meta)
            batch_id, job_id = batch.id, batch.job_id
    except ValidationError as exc:
        flash(f"The period is not valid: {exc.errors()[0]['msg']}", "error")
        return redirect(url_for(".deployment_monitoring", deployment_id=deployment_id))
    except InvalidInputError as exc:
        flash(f"The batch was not accepted: {exc.detail}", "error")
        return redirect(url_for(".deployment_monitoring", deployment_id=deployment_id)), 303
    runner = jobs.get_runner()
    if not runner.broker_url:
        # In-process jobs finish in seconds: wait, so the page shows the analysis at once.
        runner.wait(job_id, timeout=120)
        flash(f"Batch {batch_id} received and analysed.", "success")
    else:
        flash(f"Batch {batch_id} received; its analysis is queued.", "success")
    return redirect(url_for(".deployment_monitoring", deployment_id=deployment_id), 303)


@bp.post("/deployments/<int:deployment_id>/monitoring/token")
@login_required
def create_upload_token_form(deployment_id: int):
    settings = current_app.extensions["dmd"]["settings"]
    with unit_of_work() as session:
        clear, _ = service.create_upload_token(session, current_actor(session), deployment_id,
                                               UploadTokenIn(), settings.token_lifetime_days)
    flash(f"Upload token for this deployment (shown once): {clear}", "success")
    return redirect(url_for(".deployment_monitoring", deployment_id=deployment_id), 303)


@bp.post("/alerts/<int:alert_id>/<any(acknowledge, resolve):action>")
@login_required
def alert_action(alert_id: int, action: str):
    comment = request.form.get("comment", "").strip()
    back = request.form.get("next") or url_for(".monitoring_overview")
    if len(comment) < 3:
        flash("Write a comment of at least 3 characters saying what is being done.", "error")
        return redirect(back, 303)
    step = alerts.acknowledge_alert if action == "acknowledge" else alerts.resolve_alert
    try:
        with unit_of_work() as session:
            step(session, current_actor(session), alert_id, comment)
    except RegistryError as exc:
        if exc.status == 404:
            raise
        flash(exc.detail, "error")
        return redirect(back, 303)
    flash(f"Alert {alert_id} {'acknowledged' if action == 'acknowledge' else 'resolved'}.",
          "success")
    return redirect(back, 303)


@bp.post("/deployments/<int:deployment_id>/monitoring/incidents")
@login_required
def report_incident_form(deployment_id: int):
    back = url_for(".deployment_monitoring", deployment_id=deployment_id)
    form = request.form
    try:
        data = IncidentIn.model_validate({
            "title": form.get("title", ""), "description": form.get("description", ""),
            "deployment_id": deployment_id, "serious": form.get("serious") == "on",
            "category": form.get("category") or None,
            "severity": form.get("severity") or "medium",
            "awareness_at": (form.get("awareness_at") or "") + ":00Z"
            if form.get("awareness_at") else None})
    except ValidationError as exc:
        flash("The incident was not recorded: " + "; ".join(
            e["msg"].removeprefix("Value error, ") for e in exc.errors()), "error")
        return redirect(back, 303)
    try:
        with unit_of_work() as session:
            actor = current_actor(session)
            deployment = service.get_deployment(session, actor, deployment_id)
            code = session.get(Device, deployment.device_id).code
            incident = incidents.report_incident(session, actor, code, data)
            reference = incident.reference
    except InvalidInputError as exc:
        flash(f"The incident was not recorded: {exc.detail}", "error")
        return redirect(back, 303)
    flash(f"Incident {reference} recorded.", "success")
    return redirect(back, 303)


@bp.post("/incidents/<int:incident_id>/status")
@login_required
def update_incident_form(incident_id: int):
    back = request.form.get("next") or url_for(".monitoring_overview")
    try:
        data = IncidentUpdate.model_validate({"status": request.form.get("status", ""),
                                              "comment": request.form.get("comment", "")})
        with unit_of_work() as session:
            incident = incidents.update_incident(session, current_actor(session), incident_id,
                                                 data)
            message = f"Incident {incident.reference} is now {incident.status.value}."
    except ValidationError:
        flash("Write a comment of at least 3 characters with the new status.", "error")
        return redirect(back, 303)
    except RegistryError as exc:
        if exc.status == 404:
            raise
        flash(exc.detail, "error")
        return redirect(back, 303)
    flash(message, "success")
    return redirect(back, 303)


# --- inbox ------------------------------------------------------------------------------------


@bp.get("/inbox")
@login_required
def inbox():
    with unit_of_work() as session:
        rows = dump_all(NotificationOut, notifications.list_notifications(
            session, current_actor(session)))
    return render_template("monitoring_inbox.html", notifications=rows)


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def read_notification_form(notification_id: int):
    with unit_of_work() as session:
        notifications.mark_read(session, current_actor(session), notification_id)
    return redirect(url_for(".inbox"), 303)


# --- the device page --------------------------------------------------------------------------


@panel("monitoring_panel.html", order=40)
def monitoring_panel(session, actor, device: Device) -> dict | None:
    """Post-market status, deployments and incidents (with their countdown) of the device."""
    if actor.is_anonymous or not auth.allows(actor, Permission.MONITORING_READ):
        return None
    if not service.can_see_deployment(session, actor, None, device) \
            and actor.role is not auth.Role.hospital:
        return None
    rows = service.deployments_overview(session, actor, device=device)
    if not rows and device.stage.number < 6:
        return None
    return {
        "status": service.postmarket_status(session, device),
        "deployments": rows,
        "incidents": [dump(IncidentOut, incidents.incident_view(i))
                      for i in incidents.list_incidents(session, actor, device)][:10],
    }
