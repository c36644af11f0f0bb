"""Web pages: Ethics-grid self-assessments and their reviews (issue #6).

The device page gets a summary panel; the ethics page shows the self-assessment and the review
side by side with a radar per principle and a stage x principle heat map. The manufacturer fills
the grid one stage at a time (one form per stage) and submits; a reviewer of a granted
organisation gives a verdict per criterion on one form.
"""

from __future__ import annotations

import plotly.graph_objects as go
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from pydantic import ValidationError
from sqlmodel import Session

import ethics_grid
from ethics_grid.codes import PRINCIPLE_LABELS
from registry import auth
from registry.auth import Actor, Permission
from registry.db import unit_of_work
from registry.errors import ConflictError, InvalidInputError, NotFoundError, RegistryError
from registry.identity import current_actor
from registry.models import STAGE_LABELS, Device, Stage
from registry.schemas.ethics import AnswerIn, ReviewIn
from registry.services import devices, ethics
from registry.web import bp
from registry.web.charts import chart
from registry.web.panels import panel

MATURITY_LABELS = {0: "0 · not addressed", 1: "1 · initiated", 2: "2 · partially",
                   3: "3 · fully, with evidence"}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)}%"


@panel("ethics_panel.html", order=20)
def ethics_panel(session: Session, actor: Actor, device: Device) -> dict | None:
    if not auth.allows(actor, Permission.ETHICS_READ):
        return None
    try:
        state = ethics.device_ethics(session, actor, device.code)
    except RegistryError:
        return None
    submitted, draft, scores = state["submitted"], state["draft"], state["scores"]
    stage_missing = state["missing_by_stage"].get(device.stage.value, [])
    return {
        "code": device.code, "draft": draft, "submitted": submitted,
        "overall": _pct(scores["overall"]["pct"]) if scores else None,
        "principles": [(PRINCIPLE_LABELS[g["key"]], _pct(g["pct"]))
                       for g in scores["by_principle"]] if scores else [],
        "reviewed": (len(submitted["reviews"]), len(submitted["answers"])) if submitted else None,
        "stage": device.stage.value, "stage_missing": stage_missing,
    }


def _radar(scores: dict) -> go.Figure:
    groups = scores["by_principle"]
    labels = [PRINCIPLE_LABELS[g["key"]] for g in groups]
    values = [round(100 * (g["pct"] or 0), 1) for g in groups]
    fig = go.Figure(go.Scatterpolar(r=values + values[:1], theta=labels + labels[:1],
                                    fill="toself", name="score (%)"))
    fig.update_layout(polar={"radialaxis": {"range": [0, 100], "ticksuffix": "%"}},
                      title="Score per principle (reviewer's value when given)")
    return fig


def _heatmap(cells: ethics_grid.Heatmap) -> go.Figure:
    z = [[None if v is None else round(100 * v) for v in row] for row in cells.values]
    text = [["no criterion" if v is None else f"{v}%" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=[PRINCIPLE_LABELS[p] for p in cells.principles],
        y=[s.lower() for s in cells.stages], text=text, texttemplate="%{text}",
        zmin=0, zmax=100, colorscale="Blues", colorbar={"ticksuffix": "%"}, hoverongaps=False))
    fig.update_layout(title="Stage x principle (share of the maximum maturity)",
                      yaxis={"autorange": "reversed"})
    return fig


def _page_data(session: Session, actor: Actor, code: str) -> dict:
    state = ethics.device_ethics(session, actor, code)
    device = devices.get_device(session, actor, code)
    shown = state["submitted"] or state["draft"]
    grid = ethics.get_grid(shown["grid_version"] if shown else ethics.CURRENT_GRID_VERSION)
    submitted = ethics.submitted_of(session, device) if state["submitted"] else None
    comparison = None
    charts = []
    if submitted is not None:
        answers = ethics.answers_of(session, submitted)
        reviews = ethics.reviews_of(session, submitted)
        comparison = ethics_grid.compare_review(grid, answers, reviews)
        score = ethics_grid.score_assessment(grid, answers, reviews)
        charts = [chart(_radar(state["scores"]),
                        label="Radar chart of the ethics score per principle"),
                  chart(_heatmap(ethics_grid.heatmap_data(score)), label="Heat map of the "
                        "ethics score by stage and principle", height=420)]
    draft_answers = {a["criterion_id"]: a for a in state["draft"]["answers"]} \
        if state["draft"] else {}
    # The versions a save compares with: the draft's answers, else the submitted ones (a new
    # draft starts from them), and the reviews of the submitted assessment.
    answered = state["draft"] or state["submitted"]
    review_rows = state["submitted"]["reviews"] if state["submitted"] else []
    return {
        "device": device, "state": state, "grid": grid, "comparison": comparison,
        "charts": charts, "draft_answers": draft_answers,
        "evidence_text": {cid: " ".join(_evidence_token(e) for e in a["evidence"])
                          for cid, a in draft_answers.items()},
        "answer_versions": {a["criterion_id"]: a["lock_version"]
                            for a in (answered["answers"] if answered else [])},
        "review_versions": {r["criterion_id"]: r["lock_version"] for r in review_rows},
        "may_answer": ethics.may_answer(session, actor, device),
        "may_review": ethics.may_review(session, actor, device) and submitted is not None,
        "stage_labels": {s.value: STAGE_LABELS[s] for s in Stage},
        "maturity_labels": MATURITY_LABELS, "principle_labels": PRINCIPLE_LABELS,
    }


@bp.get("/devices/<code>/ethics")
@login_required
def ethics_page(code: str):
    # Render after the transaction: the page's context processors open their own.
    with unit_of_work() as session:
        try:
            data = _page_data(session, current_actor(session), code)
        except NotFoundError:
            abort(404)
    return render_template("ethics_device.html", **data)


# --- the manufacturer's form, one lifecycle stage at a time -----------------------------------


def _evidence(text: str) -> list[dict[str, str]]:
    """'https://...' is a link; 'kind:ref' names a registry record or artifact (kind:id)."""
    items = []
    for token in text.replace(",", " ").split():
        if token.startswith(("http://", "https://")):
            items.append({"kind": "link", "ref": token})
        else:
            kind, _, ref = token.partition(":")
            items.append({"kind": kind, "ref": ref})
    return items


def _evidence_token(item: dict[str, str]) -> str:
    return item["ref"] if item["kind"] == "link" else f"{item['kind']}:{item['ref']}"


def _answer_form(form, cid: str) -> dict | None:
    """The posted answer of one criterion, or None when its fields were left blank."""
    maturity = form.get(f"maturity-{cid}", "")
    not_applicable = form.get(f"na-{cid}") == "on"
    if maturity == "" and not not_applicable:
        return None
    return {"maturity": None if not_applicable else int(maturity) if maturity.isdigit()
            else maturity, "not_applicable": not_applicable,
            "justification": form.get(f"justification-{cid}", ""),
            "explanation": form.get(f"explanation-{cid}", ""),
            "evidence": _evidence(form.get(f"evidence-{cid}", "")),
            "lock_version": _lock_version(form, cid)}


def _stage_of(value: str | None) -> str:
    return value if value in {s.value for s in Stage} else Stage.S1_NEEDS.value


def _save_batch(code: str, items: list[tuple[str, dict]], model, save
                ) -> tuple[int, dict, int]:
    """Save every item or none: ``save(session, actor, code, criterion_id, model_instance)``
    per (criterion id, form fields); returns (count saved, errors by criterion id, the status
    to answer: 200, 409 when someone saved one of them since the form was read, else 422)."""
    errors: dict[str, list[str]] = {}
    status = 200
    try:
        with unit_of_work() as session:
            actor = current_actor(session)
            for cid, fields in items:
                try:
                    with session.begin_nested():
                        save(session, actor, code, cid, model.model_validate(fields))
                except ValidationError as exc:
                    errors[cid] = [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
                except InvalidInputError as exc:
                    errors[cid] = [exc.detail]
                except ConflictError as exc:
                    if not any(e.get("pointer") == "#/lock_version" for e in exc.errors):
                        raise  # about the device, not this criterion
                    errors[cid], status = [exc.detail], 409
            if errors:
                raise _Refused
    except _Refused:
        pass  # nothing of the batch is kept: fix and send again
    if errors and status != 409:
        status = 422
    return len(items), errors, status


def _lock_version(form, cid: str) -> str | None:
    """The version of the criterion's answer or review the form was rendered with."""
    return form.get(f"lock-{cid}") or None


class _Refused(Exception):
    """Rolls back a form batch that had errors."""


@bp.route("/devices/<code>/ethics/answer", methods=["GET", "POST"])
@login_required
def ethics_answer(code: str):
    stage = _stage_of(request.values.get("stage"))
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        items = [(c.id, fields) for c in ethics.get_grid().by_stage(stage)
                 if (fields := _answer_form(request.form, c.id)) is not None]
        try:
            saved, errors, status = _save_batch(code, items, AnswerIn, ethics.save_answer)
        except NotFoundError:
            abort(404)
        if not errors:
            flash(f"Saved {saved} answer(s) of {stage} in the draft.", "success")
            return redirect(url_for("web.ethics_answer", code=code, stage=stage))
    with unit_of_work() as session:
        try:
            data = _page_data(session, current_actor(session), code)
        except NotFoundError:
            abort(404)
        if not data["may_answer"]:
            abort(403)
    # New answers go to a draft on the current grid version, whatever the last one used.
    criteria = ethics.get_grid().by_stage(stage)
    return render_template("ethics_answer.html", stage=stage, criteria=criteria, errors=errors,
                           form=request.form if errors else None, **data), status


@bp.post("/devices/<code>/ethics/submit")
@login_required
def ethics_submit(code: str):
    try:
        with unit_of_work() as session:
            row = ethics.submit_assessment(session, current_actor(session), code)
            number = row.number
    except NotFoundError:
        abort(404)
    except (ConflictError, InvalidInputError) as exc:
        flash(exc.detail, "error")
        return redirect(url_for("web.ethics_page", code=code))
    flash(f"Self-assessment {number} submitted; its answers are now frozen.", "success")
    return redirect(url_for("web.ethics_page", code=code))


# --- the reviewer's form ------------------------------------------------------------------------


@bp.route("/devices/<code>/ethics/review", methods=["GET", "POST"])
@login_required
def ethics_review(code: str):
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        items = [(cid, {"verdict": form[f"verdict-{cid}"],
                        "comment": form.get(f"comment-{cid}", ""),
                        "maturity": form.get(f"maturity-{cid}") or None,
                        "lock_version": _lock_version(form, cid)})
                 for cid in form.getlist("criterion") if form.get(f"verdict-{cid}")]
        try:
            saved, errors, status = _save_batch(code, items, ReviewIn, ethics.review_criterion)
        except NotFoundError:
            abort(404)
        except RegistryError as exc:
            flash(exc.detail, "error")
            return redirect(url_for("web.ethics_page", code=code))
        if not errors:
            flash(f"Saved {saved} review verdict(s).", "success")
            return redirect(url_for("web.ethics_page", code=code))
    with unit_of_work() as session:
        try:
            data = _page_data(session, current_actor(session), code)
        except NotFoundError:
            abort(404)
        if not data["may_review"]:
            abort(403)
    return render_template("ethics_review.html", errors=errors,
                           form=request.form if errors else None, **data), status
