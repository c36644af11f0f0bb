"""Web pages: Validation results and the evaluations computed from them (issue #4).

The device page gets a panel listing the evaluations; each model version has a page with its
model card, the upload form (manufacturers) and the selected evaluation's report: KPI verdicts,
metrics with intervals, and Plotly charts (ROC with a pointwise band, calibration, subgroup
forest plot, decision curve) drawn from the stored report.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from pydantic import ValidationError
from sqlmodel import Session

from registry.auth import Actor
from registry.db import unit_of_work
from registry.errors import InvalidInputError, NotFoundError, PayloadTooLargeError
from registry.identity import current_actor
from registry.models import DatasetKind, Device
from registry.schemas import ModelVersionOut
from registry.schemas.evaluations import EvaluationIn, EvaluationOut
from registry.services import devices, evaluations
from registry.web import bp
from registry.web.charts import chart
from registry.web.forms import registry_errors, validation_errors
from registry.web.panels import panel
from registry.web.present import dump, may_write

UPLOAD_FIELDS = [
    ("dataset_kind", "Dataset kind", "select", [(k.value, k.value) for k in DatasetKind]),
    ("site", "Site(s) the data come from", "text", None),
    ("period_start", "Period start", "date", None),
    ("period_end", "Period end", "date", None),
    ("label_column", "Reference standard column", "text", None),
    ("score_column", "Score column (binary, risk)", "text", None),
    ("prediction_column", "Predicted class or value column (multiclass, regression)", "text",
     None),
    ("class_score_columns", "Class probability columns (multiclass: label=column, ...)", "text",
     None),
    ("positive_label", "Positive label (binary)", "text", None),
    ("threshold", "Operating threshold (binary)", "number", None),
    ("group_columns", "Subgroup columns (comma separated)", "text", None),
    ("site_column", "Site column", "text", None),
    ("id_column", "Case id column", "text", None),
]

#: Headline metric of each task, for the panel and the forest plot.
HEADLINE = {"binary": "auc", "multiclass": "macro_f1", "regression": "mae"}
METRIC_ORDER = ["auc", "sensitivity", "specificity", "ppv", "npv", "accuracy",
                "balanced_accuracy", "f1", "lr_positive", "lr_negative", "brier", "ece",
                "calibration_intercept", "calibration_slope", "oe_ratio", "average_precision",
                "macro_f1", "cohen_kappa", "quadratic_weighted_kappa", "macro_auc",
                "weighted_auc", "multiclass_brier", "classwise_ece", "mae", "rmse", "mean_bias"]
#: Reliability curve colours; one per class of a multiclass report.
COLOURS = ["#1e7a46", "#1f5f99", "#a4490b", "#7b3f9e", "#b3261e", "#5d6b7a"]


def _row(evaluation, versions: dict[int, str]) -> dict[str, Any]:
    row = dump(EvaluationOut, evaluation)
    row["version"] = versions.get(evaluation.model_version_id, "")
    primary = [v for v in evaluation.kpi_verdicts if v.get("is_primary")]
    row["primary"] = primary[0] if primary else None
    metric = (evaluation.results or {}).get("metrics", {}).get(HEADLINE.get(evaluation.task))
    row["headline"] = metric
    return row


@panel("evaluation_panel.html", order=10)
def evaluations_panel(session: Session, actor: Actor, device: Device) -> dict | None:
    rows = evaluations.evaluations_of_device(session, actor, device)
    versions = {v.id: v.version for v in devices.versions_of(session, device)}
    return {"code": device.code, "rows": [_row(e, versions) for e in rows],
            "versions": sorted(versions.values(), reverse=True),
            "may_write": may_write(actor, device)}


# --- the model version page ---------------------------------------------------------------------


def _version_page(code: str, version: str, *, errors: dict | None = None, status: int = 200):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        found = next((v for v in devices.versions_of(session, device) if v.version == version),
                     None)
        if found is None:
            raise NotFoundError(f"model version {version} not found on device {code}")
        rows = evaluations.evaluations_of_version(session, actor, found.id)
        names = {found.id: found.version}
        listed = [_row(e, names) for e in rows]
        wanted = request.args.get("evaluation", type=int)
        selected = next((e for e in rows if e.id == wanted), None) or next(
            (e for e in rows if e.status == "done"), None)
        report = _report(selected) if selected is not None else None
        data = {"device": {"code": device.code, "name": device.name, "task": device.task.value},
                "version": dump(ModelVersionOut, found), "evaluations": listed,
                "selected": report, "may_write": may_write(actor, device)}
    return render_template("evaluation_version.html", **data, fields=UPLOAD_FIELDS,
                           errors=errors or {}, values=request.form if errors else {}), status


@bp.get("/devices/<code>/versions/<version>")
@login_required
def model_version(code: str, version: str):
    return _version_page(code, version)


@bp.post("/devices/<code>/versions/<version>/evaluations")
@login_required
def upload_evaluation(code: str, version: str):
    values: dict[str, Any] = {k: v for k, v in request.form.items()
                              if k in EvaluationIn.model_fields}
    values["probability"] = "probability_off" not in request.form
    try:
        data, errors = EvaluationIn.model_validate(values), {}
    except ValidationError as exc:
        data, errors = None, validation_errors(exc)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors.setdefault("file", []).append("choose the CSV or Parquet file to upload")
    if errors:
        return _version_page(code, version, errors=errors, status=422)
    try:
        with unit_of_work() as session:
            actor = current_actor(session)
            device = devices.get_device(session, actor, code)
            found = next((v for v in devices.versions_of(session, device)
                          if v.version == version), None)
            if found is None:
                raise NotFoundError(f"model version {version} not found on device {code}")
            evaluation = evaluations.submit_evaluation(
                session, actor, code, found.id, data, upload.stream, upload.filename)
            evaluation_id = evaluation.id
    except (InvalidInputError, PayloadTooLargeError) as exc:
        return _version_page(code, version, errors=registry_errors(exc), status=exc.status)
    flash(f"{upload.filename} stored; the evaluation is running. This page shows it when done.",
          "success")
    return redirect(url_for("web.model_version", code=code, version=version,
                            evaluation=evaluation_id))


# --- one evaluation's report --------------------------------------------------------------------


def _metrics(results: dict[str, Any]) -> list[dict[str, Any]]:
    metrics = results.get("metrics") or {}
    ordered = [m for m in METRIC_ORDER if m in metrics] + sorted(
        m for m in metrics if m not in METRIC_ORDER)
    return [metrics[m] for m in ordered]


def _report(evaluation) -> dict[str, Any]:
    row = dump(EvaluationOut, evaluation)
    results = evaluation.results or {}
    row["metrics"] = _metrics(results)
    row["subgroups"] = results.get("subgroups") or []
    row["sites"] = results.get("sites")
    row["notes"] = results.get("notes") or []
    row["class_calibration"] = (results.get("calibration") or {}).get("per_class") or {}
    row["n"] = results.get("n")
    row["charts"] = _charts(evaluation) if evaluation.status == "done" else []
    return row


def _charts(evaluation) -> list:
    """The report's figures as embedded Plotly charts (no inline script, see web/charts.py)."""
    import plotly.graph_objects as go

    results = evaluation.results or {}
    charts = []
    roc = (results.get("curves") or {}).get("roc")
    if roc:
        charts.append(chart(_roc_figure(go, results, roc), label="ROC curve with a pointwise "
                            "95% band for sensitivity"))
    calibration = results.get("calibration")
    if calibration:
        label = ("Calibration by class: observed against predicted probability, each class "
                 "against the rest" if "per_class" in calibration
                 else "Calibration: observed against predicted risk")
        charts.append(chart(_calibration_figure(go, calibration), label=label))
    forest = _forest_figure(go, evaluation, results)
    if forest is not None:
        charts.append(chart(forest, label="Subgroup and site forest plot",
                            height=max(320, 60 + 26 * len(forest.data[0].y))))
    curve = results.get("decision_curve")
    if curve:
        charts.append(chart(_decision_figure(go, curve), label="Decision curve: net benefit"))
    return charts


def _roc_figure(go, results: dict[str, Any], roc: dict[str, Any]):
    from evaluation.intervals import wilson_interval

    positives = int((results.get("class_counts") or {}).get(str(results["labels"][1]), 0))
    # Pointwise Wilson interval of the sensitivity at each point of the curve.
    bands = [wilson_interval(round(tpr * positives), positives, level=results["level"])
             for tpr in roc["y"]] if positives else []
    auc = results["metrics"].get("auc") or {}
    iv = auc.get("interval") or {}
    title = f"ROC · AUC {auc.get('value', 0):.3f}"
    if iv:
        title += f" (95% CI {iv['lower']:.3f}-{iv['upper']:.3f}, {iv['method']})"
    fig = go.Figure()
    if bands:
        fig.add_trace(go.Scatter(x=roc["x"], y=[b.upper for b in bands], mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=roc["x"], y=[b.lower for b in bands], mode="lines",
                                 line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(31,95,153,0.18)", name="95% band"))
    fig.add_trace(go.Scatter(x=roc["x"], y=roc["y"], mode="lines", name="model",
                             line={"color": "#1f5f99"}))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                             line={"dash": "dot", "color": "#999"}))
    fig.update_layout(title=title, xaxis_title="1 - specificity",
                      yaxis_title="sensitivity", xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return fig


def _calibration_figure(go, calibration: dict[str, Any]):
    """The reliability curve of a binary report, or one curve per class of a multiclass one."""
    per_class = calibration.get("per_class")
    curves = list(per_class.items()) if per_class else [("observed", calibration)]
    fig = go.Figure()
    for i, (name, curve) in enumerate(curves):
        observed = [b["observed"] for b in curve["bins"]]
        colour = COLOURS[i % len(COLOURS)]
        fig.add_trace(go.Scatter(
            x=[b["mean_predicted"] for b in curve["bins"]], y=[o["estimate"] for o in observed],
            mode="markers+lines", name=f"{name} (95% CI)", marker={"color": colour},
            line={"color": colour},
            error_y={"type": "data", "symmetric": False,
                     "array": [o["upper"] - o["estimate"] for o in observed],
                     "arrayminus": [o["estimate"] - o["lower"] for o in observed]}))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                             line={"dash": "dot", "color": "#999"}))
    if per_class:
        title, axis, digits = ("Class calibration",
                               "predicted probability of the class, vs the rest (bin mean)", 3)
        shown = {"classwise ECE": "classwise_ece"}  # the Brier score is in the metrics table
        # Inside the empty upper-left corner, so the plot and the title keep the full width.
        fig.update_layout(legend={"x": 0.02, "y": 0.98, "bgcolor": "rgba(255,255,255,0.8)"})
    else:
        title, axis, digits = "Calibration", "predicted risk (bin mean)", 2
        shown = {"slope": "slope", "intercept": "intercept"}
    values = {name: calibration[key].get("value") for name, key in shown.items()}
    if None not in values.values():
        title += " · " + ", ".join(f"{name} {v:.{digits}f}" for name, v in values.items())
    fig.update_layout(title=title, xaxis_title=axis, yaxis_title="observed frequency",
                      xaxis_range=[0, 1], yaxis_range=[0, 1])
    return fig


def _forest_figure(go, evaluation, results: dict[str, Any]):
    metric = HEADLINE.get(evaluation.task)
    rows = []
    for column in results.get("subgroups") or []:
        for level in column["levels"]:
            found = (level.get("metrics") or {}).get(metric)
            rows.append((f"{column['column']} = {level['level']} (n={level['n']})", found,
                         level.get("insufficient_data")))
    for site, metrics in ((results.get("sites") or {}).get("per_site") or {}).items():
        rows.append((f"site {site}", metrics.get(metric), False))
    rows = [r for r in rows if r[1] and r[1].get("value") is not None]
    if not rows:
        return None
    overall = results["metrics"].get(metric) or {}
    estimates = [r[1]["value"] for r in rows]
    lows = [(r[1].get("interval") or {}).get("lower", r[1]["value"]) for r in rows]
    highs = [(r[1].get("interval") or {}).get("upper", r[1]["value"]) for r in rows]
    fig = go.Figure(go.Scatter(
        x=estimates, y=[r[0] for r in rows], mode="markers", name=metric,
        marker={"color": ["#a4490b" if r[2] else "#1f5f99" for r in rows], "size": 9},
        error_x={"type": "data", "symmetric": False,
                 "array": [h - e for h, e in zip(highs, estimates, strict=True)],
                 "arrayminus": [e - lo for e, lo in zip(estimates, lows, strict=True)]}))
    if overall.get("value") is not None:
        fig.add_vline(x=overall["value"], line_dash="dot", line_color="#5d6b7a",
                      annotation_text="overall")
    for verdict in evaluation.kpi_verdicts:
        if verdict["metric"] in (metric, "c_index") and verdict.get("threshold") is not None:
            fig.add_vline(x=verdict["threshold"], line_color="#b3261e",
                          annotation_text=f"KPI {verdict['comparator']} {verdict['threshold']}")
    fig.update_layout(title=f"Subgroups and sites · {metric} with 95% CI (orange: "
                      "insufficient data)", xaxis_title=metric, yaxis={"autorange": "reversed"})
    return fig


def _decision_figure(go, curve: dict[str, Any]):
    fig = go.Figure()
    for name, label, style in (("model", "model", {"color": "#1f5f99"}),
                               ("treat_all", "treat all", {"color": "#a4490b", "dash": "dash"}),
                               ("treat_none", "treat none", {"color": "#999", "dash": "dot"})):
        fig.add_trace(go.Scatter(x=curve["thresholds"], y=curve[name], mode="lines",
                                 name=label, line=style))
    top = max(max(curve["model"]), max(curve["treat_all"]), 0.01)
    fig.update_layout(title="Decision curve", xaxis_title="threshold probability",
                      yaxis_title="net benefit", yaxis_range=[-0.05, top * 1.1])
    return fig
