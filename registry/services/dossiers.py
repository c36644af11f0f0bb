"""Dossiers: the registry-side assembler (a plain snapshot of one device at one moment), the
build job that turns it into a sealed PDF (``reports``), downloads, and online verification.

Building reads everything in the job's single transaction, so the snapshot is consistent: one
moment of the registry, named by the audit-chain head it records.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from registry import audit, auth, lifecycle, signing, storage
from registry.auth import Actor, Permission
from registry.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from registry.jobs import enqueue, task
from registry.models import (
    AccessGrant,
    Artifact,
    AuditEvent,
    Device,
    Job,
    Organisation,
    Role,
    User,
    utcnow,
)
from registry.models.dossiers import Dossier
from registry.services import devices as device_service
from registry.services.common import plain

BUILD_TASK = "dossier.build"
# Actors without a user: the command line (operator rights on the machine) and the jobs it
# queues, which run as the system.
OPERATORS = {"system-cli", auth.SYSTEM.email}
SECTIONS = (
    ("identity", "Identity and intended purpose"),
    ("classification", "Classification and reasoning"),
    ("lifecycle", "Lifecycle history and gate evidence"),
    ("versions", "Model versions and changes against the PCCP"),
    ("evaluations", "Evaluations"),
    ("kpis", "KPI verdicts"),
    ("ethics", "Ethics grid"),
    ("reviews", "Reviews and signed opinions"),
    ("deployments", "Deployments"),
    ("monitoring", "Monitoring history"),
    ("alerts", "Alerts and incidents"),
    ("energy", "Energy"),
    ("audit", "Audit events of the device"),
)


# --- access -----------------------------------------------------------------------------------


def _allowed_device(session: Session, actor: Actor, code: str, permission: Permission) -> Device:
    """The device, if the actor may build/read its dossiers: its manufacturer, an admin or an
    authority, or an auditor whose organisation holds an access grant (published is not enough:
    a dossier holds more than the public page)."""
    if actor.user_id is None and actor.email in OPERATORS:
        device = session.exec(select(Device).where(Device.code == code)).first()
        if device is None:
            raise NotFoundError(f"device {code} not found")
        return device
    device = device_service.get_device(session, actor, code)
    auth.require(actor, permission, device)
    if actor.role is Role.auditor and session.exec(select(AccessGrant.id).where(
            AccessGrant.device_id == device.id,
            AccessGrant.organisation_id == actor.organisation_id)).first() is None:
        raise PermissionDeniedError(
            f"auditors need an access grant for device {code}; ask its manufacturer for one")
    return device


# --- assembling the snapshot ------------------------------------------------------------------


def _fields(title: str, rows: list[tuple[str, Any]]) -> dict[str, Any]:
    return {"type": "fields", "title": title, "rows": [[label, plain(v)] for label, v in rows]}


def _table(title: str, columns: list[str], rows: list[list[Any]], *, empty: str = "",
           note: str = "", mono: tuple[int, ...] = ()) -> dict[str, Any]:
    return {"type": "table", "title": title, "columns": columns,
            "rows": [[plain(c) for c in row] for row in rows], "empty": empty, "note": note,
            "mono": list(mono)}


def _text(text: str, title: str = "") -> dict[str, Any]:
    return {"type": "text", "title": title, "text": text}


def _chart(chart_id: str, kind: str, args: dict[str, Any], caption: str) -> dict[str, Any]:
    return {"type": "chart", "title": "", "id": chart_id, "kind": kind, "args": args,
            "caption": caption}


def _day(value: Any) -> str:
    return plain(value)[:10] if value else ""


def _identity(session: Session, device: Device, maker: Organisation) -> list[dict]:
    return [_fields("", [
        ("Code", device.code), ("Name", device.name),
        ("Manufacturer", f"{maker.name} (SRN {maker.actor_srn or 'not given'})"),
        ("Intended purpose", device.intended_purpose),
        ("Medical indication", device.medical_indication),
        ("Target population", device.target_population),
        ("Intended users", device.intended_users), ("Use environment", device.use_environment),
        ("Significance of the output", device.output_role),
        ("Contraindications", device.contraindications),
        ("Theme", device.theme), ("Secondary themes", ", ".join(device.secondary_themes)),
        ("AI technique", device.ai_technique), ("Task", device.task),
        ("Basic UDI-DI", device.basic_udi_di), ("UDI-DI", device.udi_di),
        ("EMDN code", device.emdn_code),
        ("Certificates", ", ".join(device.certificate_numbers)),
        ("Current stage", f"{device.stage.value} - {device.stage.label}"),
        ("Published", "yes" if device.is_published else "no"),
        ("Withdrawn", _day(device.withdrawn_at) or "no"),
        ("Registered", _day(device.created_at)),
    ])]


def _classification(session: Session, device: Device) -> list[dict]:
    from registry.models import NOTIFIED_BODY_CLASSES

    return [
        _fields("Medical device regulation", [
            ("Regulation", device.regulation), ("Risk class", device.risk_class),
            ("Classification rule", device.classification_rule),
            ("Reasoning", device.classification_reasoning),
            ("Notified body involved", "yes" if device.risk_class in NOTIFIED_BODY_CLASSES
             else "no"),
            ("Classification final", "yes" if device.classification_final else "no"),
        ]),
        _fields("AI Act", [("Category", device.ai_act_category),
                           ("Reasoning", device.ai_act_reasoning)]),
        _fields("Adaptivity", [("Adaptivity", device.adaptivity),
                               ("Change envelope", device.change_envelope)]),
    ]


def _lifecycle(session: Session, device: Device,
               artifacts: dict[int, Artifact]) -> list[dict]:
    users = {u.id: u.email for u in session.exec(select(User))}
    evidence = device_service.evidence_of(session, device)
    versions = {v.id: v.version for v in device_service.versions_of(session, device)}
    rows = []
    for t in device_service.transitions_of(session, device):
        gate = "; ".join(
            f"{e['id']}{' (waived)' if e.get('waived') else ''}" for e in t.evidence) or "-"
        rows.append([_day(t.created_at), t.from_stage or "-", t.to_stage, t.direction,
                     versions.get(t.model_version_id, "-"), users.get(t.actor_id, "system"),
                     t.reason, gate])
    proof = []
    for e in evidence:
        item = lifecycle.ITEMS_BY_ID.get(e.gate_item)
        artifact = artifacts.get(e.artifact_id)
        proof.append([e.gate_item, item.title if item else "", e.kind,
                      versions.get(e.model_version_id, "device"),
                      artifact.filename if artifact else "", artifact.sha256 if artifact else "",
                      e.note, _day(e.created_at)])
    return [
        _table("Stage transitions", ["Date", "From", "To", "Move", "Version", "By", "Reason",
                                     "Gate items satisfied"], rows),
        _table("Evidence of the gates", ["Item", "Requirement", "Kind", "Version", "Document",
                                         "SHA-256", "Note", "Date"], proof, mono=(5,),
               empty="No evidence attached."),
    ]


def _versions(session: Session, device: Device) -> list[dict]:
    plan, mods = device_service.change_control_plan_of(session, device)
    codes = {m.id: m.code for m in mods}
    versions = device_service.versions_of(session, device)
    by_id = {v.id: v.version for v in versions}
    rows = [[v.version, by_id.get(v.parent_id, "-"), v.change_type, v.change_description,
             "yes" if v.within_pccp else "no", codes.get(v.planned_modification_id, "-"),
             _day(v.evaluated_at) or "not evaluated", _day(v.created_at)] for v in versions]
    blocks = [_table("Versions", ["Version", "Parent", "Change", "Description", "Within PCCP",
                                  "Planned modification", "Evaluated", "Registered"], rows)]
    if plan is None:
        blocks.append(_text("No predetermined change control plan is registered.",
                            "Change control plan"))
    else:
        blocks.append(_fields("Change control plan", [
            ("Authority", plan.authority), ("Version", plan.version), ("Status", plan.status),
            ("Authorised", _day(plan.authorised_at)), ("Summary", plan.summary)]))
        blocks.append(_table("Planned modifications", [
            "Code", "Description", "Automatic", "Scope", "Acceptance criteria", "Impact"],
            [[m.code, m.description, "yes" if m.automatic else "no", m.scope,
              "; ".join(str(c) for c in m.acceptance_criteria), m.impact_assessment]
             for m in mods]))
    for v in versions:
        if v.model_card:
            blocks.append(_fields(f"Model card of version {v.version}",
                                  sorted(v.model_card.items())))
    return blocks


def _kpi_definitions(session: Session, device: Device) -> list[list[Any]]:
    rows = []
    for k in device_service.kpis_of(session, device):
        target = (f"{k.comparator.value} {k.threshold}" if k.threshold is not None
                  else f"between {k.low} and {k.high}")
        rows.append([k.metric, target, k.dataset_kind, "primary" if k.is_primary else
                     "secondary", k.population])
    return rows


def _deployments(session: Session, device: Device) -> list[dict]:
    orgs = {o.id: o.name for o in session.exec(select(Organisation))}
    versions = {v.id: v.version for v in device_service.versions_of(session, device)}
    rows = [[orgs.get(d.hospital_id, "?"), d.site, versions.get(d.model_version_id, "?"),
             d.status, _day(d.go_live_at), d.expected_monthly_volume]
            for d in device_service.deployments_of(session, device)]
    return [_table("", ["Hospital", "Site", "Version", "Status", "Go-live",
                        "Expected cases/month"], rows, empty="Not deployed anywhere.")]


def _audit(session: Session, device: Device) -> list[dict]:
    rows = [[e.seq, plain(e.occurred_at)[:19].replace("T", " "),
             f"{e.actor_email} ({e.actor_role})", e.action, f"{e.object_type} {e.object_id}",
             e.reason, e.hash[:16]] for e in audit.events_for_device(session, device.id)]
    return [_table("", ["Seq", "When (UTC)", "Actor", "Action", "Object", "Reason",
                        "Hash (first 16)"], rows, mono=(6,),
                   note="Each event is a link of the registry's hash chain; the full chain is "
                        "verified with dmd-registry audit verify.")]


# Area sections read the areas' own tables and services (registry/services/<area>.py) and never
# write; an area with nothing for the device gives (blocks, False): "not recorded yet". They query
# the tables directly rather than through the areas' per-actor reads: access to the whole dossier
# was checked once, and the command line's operator has no user to check.
def _area_sections(session: Session, device: Device,
                   kpi_rows: list[list[Any]]) -> dict[str, tuple[list[dict], bool]]:
    versions = {v.id: v.version for v in device_service.versions_of(session, device)}
    evaluations, kpis = _evaluations(session, device, versions, kpi_rows)
    return {
        "evaluations": evaluations,
        "kpis": kpis,
        "ethics": _ethics(session, device),
        "reviews": _reviews(session, device, versions),
        "monitoring": _monitoring(session, device),
        "alerts": _alerts(session, device),
        "energy": _energy(session, device, versions),
    }


def _interval(metric: dict[str, Any] | None) -> str:
    interval = (metric or {}).get("interval")
    if not interval or interval.get("lower") is None:
        return (metric or {}).get("undefined_reason") or "no interval"
    return f"{interval['lower']:.3f} to {interval['upper']:.3f} ({interval['method']})"


def _evaluations(session: Session, device: Device, versions: dict[int, str],
                 kpi_rows: list[list[Any]]) -> tuple[tuple[list[dict], bool], ...]:
    from registry.models.evaluations import Evaluation, EvaluationStatus

    rows = list(session.exec(select(Evaluation).where(
        Evaluation.device_id == device.id).order_by(Evaluation.id)))
    blocks = [_table("Evaluations recorded", [
        "#", "Version", "Dataset", "Site", "Period", "Rows", "Status", "File SHA-256"],
        [[e.id, versions.get(e.model_version_id, "?"), e.dataset_kind, e.site,
          f"{e.period_start or ''} to {e.period_end or ''}".strip(" to"), e.row_count,
          e.status, e.sha256] for e in rows], mono=(7,))]
    verdicts = []
    for e in rows:
        label = f"evaluation #{e.id} of version {versions.get(e.model_version_id, '?')} " \
                f"({e.dataset_kind.value}{', ' + e.site if e.site else ''})"
        for v in e.kpi_verdicts:
            target = (f"{v.get('comparator')} {v.get('threshold')}"
                      if v.get("threshold") is not None
                      else f"between {v.get('low')} and {v.get('high')}")
            verdicts.append([label, v.get("metric"), target,
                             "primary" if v.get("is_primary") else "secondary",
                             v.get("estimate"),
                             f"{v['ci_low']:.3f} to {v['ci_high']:.3f}"
                             if v.get("ci_low") is not None else "no interval",
                             v.get("verdict"), v.get("rule")])
        if e.status is not EvaluationStatus.done or not e.results:
            continue
        blocks += _evaluation_blocks(e, label)
    kpis = [_table("KPIs declared by the manufacturer",
                   ["Metric", "Target", "Dataset", "Rank", "Population"], kpi_rows,
                   empty="No KPI declared."),
            _table("Verdicts", ["Evaluation", "Metric", "Target", "Rank", "Estimate", "95% CI",
                                "Verdict", "Rule"], verdicts,
                   empty="No evaluation has judged these KPIs yet.")]
    return (blocks, bool(rows)), (kpis, bool(verdicts))


def _evaluation_blocks(e, label: str) -> list[dict]:
    r = e.results
    metrics = r.get("metrics", {})
    level = int(round(100 * r.get("level", 0.95)))
    blocks = [
        _fields(f"Evaluation #{e.id}: {label}", [
            ("Cases", r.get("n")), ("Class counts", ", ".join(
                f"{k}: {v}" for k, v in (r.get("class_counts") or {}).items())),
            ("Threshold", r.get("threshold")), ("Confidence level", f"{level}%"),
            ("Interval method (proportions)", r.get("interval_method")),
            ("Bootstrap", f"{r.get('n_resamples')} resamples, seed {r.get('seed')}"),
            ("Library version", r.get("library_version")),
            ("Data file", f"{e.filename} (SHA-256 {e.sha256})"),
        ]),
        _table("", ["Metric", "Value", f"{level}% CI", "n"],
               [[name, m.get("value"), _interval(m), m.get("n")]
                for name, m in metrics.items()]),
    ]
    key = f"e{e.id}"
    roc = (r.get("curves") or {}).get("roc")
    if roc and roc.get("x"):
        auc = (metrics.get("auc") or {}).get("value")
        blocks.append(_chart(f"{key}-roc", "roc", {"curves": [{
            "label": f"AUC {auc:.3f}" if auc is not None else "ROC", "x": roc["x"],
            "y": roc["y"]}]}, f"ROC curve, {label}"))
    calibration = r.get("calibration") or {}
    if calibration.get("bins"):
        blocks.append(_chart(f"{key}-cal", "calibration",
                             {"bins": calibration["bins"], "label": f"evaluation #{e.id}"},
                             f"Reliability diagram with Wilson intervals, {label}"))
    if calibration.get("per_class"):  # multiclass: each class's probability against the rest
        curves = [{"label": name, "bins": per["bins"]}
                  for name, per in calibration["per_class"].items()]
        blocks.append(_chart(f"{key}-cal", "class_calibration",
                             {"curves": curves, "label": f"evaluation #{e.id}"},
                             f"Reliability diagram of each class against the rest, with Wilson "
                             f"intervals, {label}"))
    for column in r.get("subgroups") or []:
        metric = "auc" if "auc" in metrics else next(iter(metrics), None)
        if metric is None:
            continue
        levels = []
        for level_row in column.get("levels", []):
            m = level_row.get("metrics", {}).get(metric) or {}
            interval = m.get("interval") or {}
            levels.append({"label": f"{column['column']}={level_row['level']} "
                                    f"(n={level_row['n']})", "estimate": m.get("value"),
                           "lower": interval.get("lower"), "upper": interval.get("upper")})
        blocks.append(_table(f"Subgroups by {column['column']}", [
            "Level", "n", metric, f"{level}% CI", "Insufficient data"],
            [[row["level"], row["n"], (row["metrics"].get(metric) or {}).get("value"),
              _interval(row["metrics"].get(metric)),
              row.get("insufficient_reason") or ("yes" if row.get("insufficient_data")
                                                 else "no")]
             for row in column.get("levels", [])]))
        if levels:
            blocks.append(_chart(f"{key}-sub-{column['column']}", "subgroups", {
                "rows": levels, "metric": metric,
                "overall": (metrics.get(metric) or {}).get("value")},
                f"{metric} by {column['column']}, {label}"))
    if r.get("decision_curve"):
        blocks.append(_chart(f"{key}-dca", "decision_curve", {"curve": r["decision_curve"]},
                             f"Decision curve (net benefit), {label}"))
    for note in r.get("notes") or []:
        blocks.append(_text(note))
    return blocks


def _ethics(session: Session, device: Device) -> tuple[list[dict], bool]:
    import ethics_grid
    from registry.services import ethics

    submitted = ethics.submitted_of(session, device)
    assessments = ethics.assessments_of(session, device)
    if submitted is None:
        note = ("A self-assessment is in progress; it is shown here once submitted."
                if assessments else "")
        return ([_text(note)] if note else []), False
    grid = ethics.get_grid(submitted.grid_version)
    answers, reviews = ethics.answers_of(session, submitted), ethics.reviews_of(session, submitted)
    scores = ethics_grid.score_assessment(grid, answers, reviews)
    comparison = ethics_grid.compare_review(grid, answers, reviews)

    def pct(value):
        return f"{value:.0f}%" if value is not None else "n/a"

    blocks = [
        _fields("Assessment", [
            ("Number", submitted.number), ("Grid version", submitted.grid_version),
            ("Grid fingerprint", submitted.grid_fingerprint),
            ("Submitted", _day(submitted.submitted_at)),
            ("Snapshot SHA-256", submitted.snapshot_sha256),
            ("Overall maturity", pct(scores.overall.pct)), ("Method", scores.method)]),
        _table("By principle", ["Principle", "Criteria", "Answered", "Not applicable",
                                "Maturity"],
               [[g.key, g.n_criteria, g.n_answered, g.n_not_applicable, pct(g.pct)]
                for g in scores.by_principle]),
        _table("By lifecycle stage", ["Stage", "Criteria", "Answered", "Maturity"],
               [[g.key, g.n_criteria, g.n_answered, pct(g.pct)]
                for g in scores.by_lifecycle_stage]),
        _table("Self-assessment and review, side by side", [
            "Criterion", "Principle", "Self", "Explanation", "Verdict", "Reviewer",
            "Comment", "Effective", "Status"],
            [[row.criterion_id, row.principle,
              "N/A" if row.self_not_applicable else row.self_maturity, row.self_explanation,
              row.verdict, row.reviewer_maturity, row.reviewer_comment,
              "N/A" if row.effective_not_applicable else row.effective_maturity, row.status]
             for row in comparison.rows]),
        _table("Agreement", ["Group", "Reviewed", "Agree", "Disagree", "Lowered", "Raised",
                             "Agreement"],
               [[s.key, s.n_reviewed, s.n_agree, s.n_disagree, s.n_lowered, s.n_raised,
                 f"{100 * s.agreement_rate:.0f}%" if s.agreement_rate is not None else
                 s.undefined_reason or "n/a"]
                for s in (*comparison.by_principle, comparison.overall)]),
    ]
    return blocks, True


def _reviews(session: Session, device: Device,
             versions: dict[int, str]) -> tuple[list[dict], bool]:
    from registry.models.reviews import Opinion, Submission
    from registry.services import reviews, signatures

    orgs = {o.id: o.name for o in session.exec(select(Organisation))}
    submissions = list(session.exec(select(Submission).where(
        Submission.device_id == device.id).order_by(Submission.id)))
    blocks = [_table("Submissions", ["#", "Version", "To", "Kind", "Status", "Submitted"],
                     [[s.id, versions.get(s.model_version_id, "?"),
                       orgs.get(s.reviewer_organisation_id, "?"), s.kind, s.status,
                       _day(s.submitted_at)] for s in submissions])]
    for s in submissions:
        scores = reviews.scores_of(session, s)
        if scores:
            blocks.append(_table(f"Domain scores of submission #{s.id}",
                                 ["Domain", "Score", "Justification", "Scored"],
                                 [[d.domain, d.score, d.justification, _day(d.scored_at)]
                                  for d in scores]))
    opinions = list(session.exec(select(Opinion).where(
        Opinion.device_id == device.id).order_by(Opinion.id)))
    for o in opinions:
        problems = signatures.verify(o)
        blocks.append(_fields(f"Signed opinion #{o.id} ({o.kind.value})", [
            ("Version", versions.get(o.model_version_id, "?")),
            ("Reviewer organisation", orgs.get(o.reviewer_organisation_id, "?")),
            ("Decision", o.decision or o.service_attendu or ""), ("ASA", o.asa),
            ("Favourable", "yes" if o.favourable else "no"),
            ("Certificate", o.certificate_number), ("Conditions", o.conditions),
            ("Rationale", o.rationale), ("Amends opinion", o.amends_id),
            ("Signed by", f"{o.signer_name} <{o.signer_email}> on {plain(o.signed_at)}"),
            ("Meaning of the signature", o.meaning),
            ("Signed content SHA-256", o.content_hash), ("Key id", o.key_id),
            ("Signature (Ed25519)", o.signature),
            ("Signature check", "; ".join(problems) if problems else
             "intact: the record matches what was signed and the signature verifies"),
        ]))
    return blocks, bool(submissions or opinions)


def _monitoring(session: Session, device: Device) -> tuple[list[dict], bool]:
    from registry.models.monitoring import MonitoringBatch

    batches = list(session.exec(select(MonitoringBatch).where(
        MonitoringBatch.device_id == device.id).order_by(
        MonitoringBatch.period_start, MonitoringBatch.id)))
    if not batches:
        return [], False
    sites = {d.id: d.site for d in device_service.deployments_of(session, device)}

    def metric(batch, source: str, name: str) -> float | None:
        block = (batch.results or {}).get("estimate") if source == "estimate" else \
            ((batch.measured or {}).get("performance"))
        for m in (block or {}).get("metrics", []):
            if m.get("metric") == name:
                return m.get("value")
        return None

    rows, labels = [], []
    for b in batches:
        period = f"{_day(b.period_start)} to {_day(b.period_end)}" if b.period_start else \
            _day(b.received_at)
        labels.append(_day(b.period_start or b.received_at))
        rows.append([b.id, sites.get(b.deployment_id, "?"), period, b.row_count, b.status,
                     b.drift_share, b.n_features_drifted, b.missing_rate,
                     metric(b, "estimate", "auc"), metric(b, "measured", "auc"),
                     metric(b, "measured", "sensitivity")])
    blocks = [_table("Batches", ["#", "Site", "Period", "Rows", "Status", "Drift share",
                                 "Drifted features", "Missing rate", "Estimated AUC",
                                 "Measured AUC", "Measured sensitivity"], rows)]
    blocks.append(_chart("mon-drift", "series", {
        "title": "Drift and performance per batch", "labels": labels,
        "lines": {"drift share": [r[5] for r in rows], "estimated AUC": [r[8] for r in rows],
                  "measured AUC": [r[9] for r in rows]}, "ylabel": "share / AUC"},
        "Share of drifted features and AUC (estimated before labels, measured after), by "
        "batch period"))
    return blocks, True


def _alerts(session: Session, device: Device) -> tuple[list[dict], bool]:
    from registry.models.monitoring import Incident, MonitoringAlert
    from registry.services import incidents

    alerts = list(session.exec(select(MonitoringAlert).where(
        MonitoringAlert.device_id == device.id).order_by(MonitoringAlert.id)))
    found = list(session.exec(select(Incident).where(
        Incident.device_id == device.id).order_by(Incident.id)))
    blocks = [
        _table("Alerts", ["#", "Kind", "Severity", "Subject", "Observed", "Limit", "Times",
                          "First seen", "Last seen", "Status", "Handling"],
               [[a.id, a.kind, a.severity, a.subject, a.observed, a.limit, a.count,
                 _day(a.first_seen_at), _day(a.last_seen_at), a.status,
                 "; ".join(x for x in (a.acknowledge_comment, a.resolve_comment) if x)]
                for a in alerts], empty="No alert raised."),
    ]
    incident_rows = []
    for i in found:
        clock = incidents.clock(i)
        left = ("overdue" if clock["overdue"] else f"{clock['days_remaining']} days left"
                if clock["days_remaining"] is not None else "")
        incident_rows.append([i.reference, i.title, "yes" if i.serious else "no", i.severity,
                              plain(i.awareness_at)[:16], plain(i.deadline_at)[:16]
                              if i.deadline_at else "", i.legal_ref, i.status,
                              _day(i.reported_at), left])
    blocks.append(_table("Incidents and their reporting deadlines", [
        "Reference", "Title", "Serious", "Severity", "Aware (UTC)", "Deadline (UTC)",
        "Legal basis", "Status", "Reported", "Clock"], incident_rows,
        empty="No incident reported."))
    report = incidents.periodic_report(session, device)
    if report:
        blocks.append(_fields("Periodic post-market report", sorted(
            (k, v if not isinstance(v, list | dict) else str(v)) for k, v in report.items())))
    return blocks, bool(alerts or found)


def _energy(session: Session, device: Device,
            versions: dict[int, str]) -> tuple[list[dict], bool]:
    from registry.services import energy

    records = energy.records_of_device(session, device)
    if not records:
        return [], False
    footprint = energy.footprint_of(session, device)  # the same totals as the footprint page
    return [
        _table("Totals by phase", ["Phase", "Energy (kWh)", "Emissions (kg CO2e)", "Records"],
               [[p, round(t.energy_kwh, 6), round(t.emissions_kg, 6), t.records]
                for p, t in footprint.by_phase.items() if t.records]
               + [["total", round(footprint.total.energy_kwh, 6),
                   round(footprint.total.emissions_kg, 6), footprint.total.records]],
               note="Inference figures are declared per run of N predictions; they appear per "
                    "1,000 predictions and at the deployed volume below, not in these totals."),
        _table("Inference", ["Version", "kWh per 1,000 predictions",
                             "kg CO2e per 1,000 predictions"],
               [[v.version, v.inference_per_1000_kwh, v.inference_per_1000_kg]
                for v in footprint.versions if v.inference_per_1000_kwh is not None],
               empty="No inference footprint declared.",
               note=("At the deployed volume (estimate): "
                     f"{footprint.inference_monthly_kwh:.4g} kWh and "
                     f"{footprint.inference_monthly_kg:.4g} kg CO2e per month."
                     if footprint.inference_monthly_kwh is not None else "")),
        _table("Records", ["Phase", "Source", "Version", "Energy (kWh)", "Emissions (kg CO2e)",
                           "Predictions", "Country", "Method", "Date"],
               [[r.phase, r.source, versions.get(r.model_version_id, "-"),
                 round(r.energy_kwh, 6), round(r.emissions_kg, 6), r.predictions, r.country,
                 r.method, _day(r.started_at or r.created_at)] for r in records]),
    ], True


def _artifacts(session: Session, device: Device,
               evidence: dict[int, Artifact]) -> list[dict[str, Any]]:
    """Every file the dossier's records rest on, with its SHA-256 (the manifest lists them):
    gate evidence, validation files (their hash stays after the retention period deletes them)
    and monitoring batches."""
    from registry.models.evaluations import Evaluation
    from registry.models.monitoring import MonitoringBatch

    files = [{"kind": "evidence", "id": a.id, "filename": a.filename, "sha256": a.sha256,
              "size_bytes": a.size_bytes} for a in evidence.values()]
    files += [{"kind": "evaluation", "id": e.id, "filename": e.filename, "sha256": e.sha256,
               "size_bytes": e.size_bytes}
              for e in session.exec(select(Evaluation).where(Evaluation.device_id == device.id)
                                    .order_by(Evaluation.id))]
    batches = select(MonitoringBatch.artifact_id).where(MonitoringBatch.device_id == device.id)
    files += [{"kind": "monitoring_batch", "id": a.id, "filename": a.filename,
               "sha256": a.sha256, "size_bytes": a.size_bytes}
              for a in session.exec(select(Artifact).where(Artifact.id.in_(batches))
                                    .order_by(Artifact.id))]
    return files


def assemble(session: Session, device: Device, dossier_id: str,
             requested_by: str) -> dict[str, Any]:
    """The plain snapshot a dossier is rendered from (JSON-ready; embedded in the PDF)."""
    maker = session.get(Organisation, device.manufacturer_id)
    head = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
    evidence = device_service.evidence_of(session, device)
    ids = {e.artifact_id for e in evidence if e.artifact_id}
    artifacts = {a.id: a for a in session.exec(select(Artifact).where(Artifact.id.in_(ids)))}
    core = {
        "identity": _identity(session, device, maker),
        "classification": _classification(session, device),
        "lifecycle": _lifecycle(session, device, artifacts),
        "versions": _versions(session, device),
        "deployments": _deployments(session, device),
        "audit": _audit(session, device),
    }
    areas = _area_sections(session, device, _kpi_definitions(session, device))
    sections = []
    for key, title in SECTIONS:
        if key in core:
            blocks, recorded = core[key], True
        else:
            blocks, recorded = areas.get(key, ([], False))
        sections.append({"key": key, "title": title, "recorded": recorded, "blocks": blocks,
                         "missing": "" if recorded else
                         f"the registry holds no {title.lower()} for this device yet."})
    return {
        "format": "dmd-dossier/1",
        "dossier_id": dossier_id,
        "generated_at": utcnow().isoformat(),
        "requested_by": requested_by,
        "device": {"code": device.code, "name": device.name, "manufacturer": maker.name},
        "registry": {"key_id": signing.get_signer().key_id,
                     "audit_head": {"seq": head.seq if head else 0,
                                    "hash": head.hash if head else audit.GENESIS}},
        "artifacts": _artifacts(session, device, artifacts),
        "sections": sections,
    }


# --- building ---------------------------------------------------------------------------------


def request_build(session: Session, actor: Actor, code: str) -> Job:
    """Queue a dossier build for the device (runs as a job; its result names the dossier)."""
    device = _allowed_device(session, actor, code, Permission.DOSSIER_BUILD)
    job = enqueue(session, actor, BUILD_TASK, {"device_code": device.code}, device_id=device.id)
    audit.record(session, actor, "dossier.build.request", device, {"job_id": job.id})
    return job


@task(BUILD_TASK)
def build_task(session: Session, actor: Actor, arguments: dict[str, Any]) -> dict[str, Any]:
    device, snapshot = take_snapshot(session, actor, arguments["device_code"])
    # End the read transaction before the slow rendering: on SQLite a begun transaction holds
    # the write lock (BEGIN IMMEDIATE, registry/db.py), which would stall every other writer
    # for the whole render. Nothing was written yet; the record is written afterwards.
    session.commit()
    dossier = record(session, actor, device, snapshot, render(snapshot))
    return {"dossier_id": dossier.dossier_id, "pdf_sha256": dossier.pdf_sha256,
            "size_bytes": dossier.size_bytes, "pages": dossier.pages}


def build(session: Session, actor: Actor, code: str) -> Dossier:
    """Assemble, render, sign and seal; store the PDF and record it (row + audit event)."""
    device, snapshot = take_snapshot(session, actor, code)
    return record(session, actor, device, snapshot, render(snapshot))


def take_snapshot(session: Session, actor: Actor, code: str) -> tuple[Device, dict[str, Any]]:
    device = _allowed_device(session, actor, code, Permission.DOSSIER_BUILD)
    return device, assemble(session, device, str(uuid.uuid4()), actor.email)


def render(snapshot: dict[str, Any]):
    """The sealed PDF (reports.dossier.BuiltDossier); touches no database."""
    from reports import dossier as renderer
    from reports import sealing

    return renderer.build(snapshot, signing.get_signer(), sealing.get_sealer())


def record(session: Session, actor: Actor, device: Device, snapshot: dict[str, Any],
           built) -> Dossier:
    """Store the PDF (content-addressed) and record it: Dossier row and audit event."""
    from pypdf import PdfReader

    from registry import db
    from reports.integrity import sha256

    ref = storage.get_store().put(io.BytesIO(built.pdf))
    db.on_rollback(session, lambda: storage.get_store().discard(ref))
    head = snapshot["registry"]["audit_head"]
    row = Dossier(
        dossier_id=snapshot["dossier_id"], device_id=device.id, built_by=actor.user_id,
        organisation_id=actor.organisation_id,
        generated_at=datetime.fromisoformat(snapshot["generated_at"]),
        pdf_sha256=built.sha256, size_bytes=len(built.pdf),
        pages=len(PdfReader(io.BytesIO(built.pdf)).pages),
        manifest_sha256=sha256(built.manifest_bytes),
        audit_head_seq=head["seq"], audit_head_hash=head["hash"],
        key_id=built.manifest["registry"]["key_id"],
        seal_certificate_sha256=built.manifest["seal_certificate_sha256"],
    )
    session.add(row)
    audit.record(session, actor, "dossier.build", row, {"after": {
        "dossier_id": row.dossier_id, "pdf_sha256": row.pdf_sha256,
        "size_bytes": row.size_bytes, "manifest_sha256": row.manifest_sha256,
        "audit_head_seq": row.audit_head_seq, "audit_head_hash": row.audit_head_hash}})
    return row


# --- reading and downloading ------------------------------------------------------------------


def dossiers_of(session: Session, actor: Actor, code: str) -> list[Dossier]:
    device = _allowed_device(session, actor, code, Permission.DOSSIER_READ)
    return list(session.exec(select(Dossier).where(Dossier.device_id == device.id)
                             .order_by(Dossier.id.desc())))


def pending_builds(session: Session, device: Device) -> list[Job]:
    return list(session.exec(select(Job).where(
        Job.device_id == device.id, Job.name == BUILD_TASK,
        Job.status.in_(("queued", "running", "failed"))).order_by(Job.created_at.desc())
        .limit(5)))


def get_dossier(session: Session, actor: Actor, dossier_id: str) -> Dossier:
    row = session.exec(select(Dossier).where(Dossier.dossier_id == dossier_id)).first()
    if row is None:
        raise NotFoundError(f"dossier {dossier_id} not found")
    device = session.get(Device, row.device_id)
    try:
        _allowed_device(session, actor, device.code, Permission.DOSSIER_READ)
    except NotFoundError:
        raise NotFoundError(f"dossier {dossier_id} not found") from None
    return row


def download(session: Session, actor: Actor, dossier_id: str) -> tuple[Dossier, bytes]:
    """The stored PDF, checked against its recorded hash; each download is audited."""
    row = get_dossier(session, actor, dossier_id)
    with storage.get_store().open(row.pdf_sha256) as handle:
        data = handle.read()
    from reports.integrity import sha256

    if sha256(data) != row.pdf_sha256:
        raise InvalidInputError(f"the stored PDF of dossier {dossier_id} no longer matches its "
                                "recorded SHA-256; the artifact store was altered")
    audit.record(session, actor, "dossier.download", row,
                 {"dossier_id": dossier_id, "pdf_sha256": row.pdf_sha256})
    return row, data


def device_code(session: Session, row: Dossier) -> str:
    return session.get(Device, row.device_id).code


# --- verification -----------------------------------------------------------------------------


def verify_file(session: Session | None, data: bytes, public_key_pem: str | None = None,
                expected_sha256: str | None = None):
    """Offline checks (reports.integrity) plus, with a registry session, the online ones: the
    dossier was issued here with this exact file, and the audit chain still holds its head."""
    from reports.integrity import verify_pdf

    if session is not None and public_key_pem is None:
        public_key_pem = signing.get_signer().public_pem
    result = verify_pdf(data, public_key_pem, expected_sha256)
    if session is None:
        result.add("registry", None, "not checked online (no registry configured)")
        return result
    manifest = result.manifest
    if manifest is None:
        result.add("registry", False, "no manifest to look the dossier up by")
        return result
    row = session.exec(select(Dossier).where(
        Dossier.dossier_id == str(manifest.get("dossier_id")))).first()
    if row is None:
        result.add("issued", False, f"this registry never issued dossier "
                                    f"{manifest.get('dossier_id')}")
        return result
    result.add("issued", row.pdf_sha256 == result.sha256,
               f"issued on {_day(row.created_at)} with SHA-256 {row.pdf_sha256}; the file "
               + ("matches it" if row.pdf_sha256 == result.sha256 else
                  f"has SHA-256 {result.sha256}: it is not the issued file"))
    event = session.exec(select(AuditEvent).where(
        AuditEvent.seq == row.audit_head_seq)).first()
    head = manifest.get("registry", {}).get("audit_head", {})
    chain = audit.verify(session)
    if (head.get("seq"), head.get("hash")) != (row.audit_head_seq, row.audit_head_hash):
        ok, message = False, (f"the manifest names audit head seq {head.get('seq')}, but the "
                              f"registry recorded seq {row.audit_head_seq} for this dossier")
    elif row.audit_head_seq and (event is None or event.hash != row.audit_head_hash):
        ok, message = False, (f"the audit event at seq {row.audit_head_seq} no longer has the "
                              "hash the dossier recorded; the chain was rewritten")
    elif not chain.ok:
        ok, message = False, f"the audit chain is broken: {chain.first_problem}"
    else:
        ok, message = True, (f"the chain still holds head seq {row.audit_head_seq} named in the "
                             f"manifest and verifies ({chain.events} events)")
    result.add("audit chain", ok, message)
    return result
