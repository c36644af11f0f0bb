"""What the other areas add to the catalogue and the national view, read through their tables.

Each function is the one place where the catalogue reads another area (evaluations #4, reviews
#5, monitoring #7, energy #8). The public catalogue cannot go through those areas' services: they
answer signed-in actors only. So these read the rows directly and return plain, public-safe data:
figures, verdicts, dates and severities, never free text written for reviewers or vigilance
(descriptions, rationales, messages), never patient-level data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from registry import auth
from registry.auth import Actor, Permission
from registry.models import Deployment, Device, ModelVersion, Organisation, utcnow
from registry.models.energy import EnergyRecord, Phase
from registry.models.evaluations import Evaluation, EvaluationStatus
from registry.models.monitoring import AlertStatus, Incident, IncidentStatus, MonitoringAlert
from registry.models.reviews import Opinion, OpinionKind

OPEN_ALERTS = (AlertStatus.open, AlertStatus.acknowledged)
OPEN_INCIDENTS = (IncidentStatus.open, IncidentStatus.reported)
# The rule kinds of monitoring/alerts.py, in words for the public.
ALERT_SUMMARIES = {
    "drift_share_above": "input data drifting from the reference",
    "feature_drifted": "an input or the score drifting from the reference",
    "kpi_not_met": "a declared performance target not met in use",
    "volume_outside": "unexpected volume of cases",
    "missing_rate_above": "missing values above the agreed rate",
}


def evaluation_summaries(session: Session, device: Device) -> list[dict[str, Any]]:
    """The KPI results of the device's finished evaluations (#4), newest first: estimate,
    interval (bounds, level, method), n and verdict, as the evaluation library computed them."""
    return evaluations_by_device(session, [device.id]).get(device.id, [])


def evaluations_by_device(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """``evaluation_summaries`` of many devices in one query, keyed by device id."""
    rows = session.exec(
        select(Evaluation, ModelVersion.version)
        .join(ModelVersion, ModelVersion.id == Evaluation.model_version_id)
        .where(Evaluation.device_id.in_(ids), Evaluation.status == EvaluationStatus.done)
        .order_by(Evaluation.id.desc())).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for evaluation, version in rows:
        results = evaluation.results or {}
        metrics = results.get("metrics") or {}
        for verdict in evaluation.kpi_verdicts:
            metric = metrics.get(verdict["metric"]) or {}
            interval = metric.get("interval") or {}
            out.setdefault(evaluation.device_id, []).append({
                "model_version": version, "dataset_kind": evaluation.dataset_kind.value,
                "site": evaluation.site, "metric": verdict["metric"],
                "estimate": verdict.get("estimate"), "lower": verdict.get("ci_low"),
                "upper": verdict.get("ci_high"),
                "level": interval.get("level", results.get("level")),
                "method": interval.get("method", ""), "n": metric.get("n"),
                "verdict": verdict.get("verdict", ""), "evaluated_at": evaluation.finished_at,
            })
    return out


def opinion_summaries(session: Session, device: Device) -> list[dict[str, Any]]:
    """The device's current signed opinions (#5): an amended opinion gives way to its amendment."""
    return opinions_by_device(session, [device.id]).get(device.id, [])


def opinions_by_device(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """``opinion_summaries`` of many devices in one query, keyed by device id."""
    rows = session.exec(
        select(Opinion, Organisation.name, ModelVersion.version)
        .join(Organisation, Organisation.id == Opinion.reviewer_organisation_id)
        .join(ModelVersion, ModelVersion.id == Opinion.model_version_id)
        .where(Opinion.device_id.in_(ids)).order_by(Opinion.id.desc())).all()
    amended = {opinion.amends_id for opinion, _, _ in rows if opinion.amends_id}
    out: dict[int, list[dict[str, Any]]] = {}
    for opinion, reviewer, version in rows:
        if opinion.id in amended:
            continue
        if opinion.kind is OpinionKind.hta_opinion:
            summary = f"service attendu {opinion.service_attendu or 'not stated'}"
            if opinion.asa:
                summary += f", ASA {opinion.asa}"
        else:
            summary = f"certificate {(opinion.decision or 'decision').replace('_', ' ')}"
            if opinion.certificate_number:
                summary += f" ({opinion.certificate_number})"
        out.setdefault(opinion.device_id, []).append({
            "kind": opinion.kind.value, "reviewer": reviewer, "model_version": version,
            "summary": summary, "favourable": opinion.favourable,
            "signed_at": opinion.signed_at})
    return out


def safety_notices(session: Session, device: Device) -> list[dict[str, Any]]:
    """Open alerts and incidents of a device (#7), newest first, without their descriptions."""
    return notices_by_device(session, [device.id]).get(device.id, [])


def notices_by_device(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """``safety_notices`` of many devices in two queries, keyed by device id."""
    out: dict[int, list[dict[str, Any]]] = {}
    for alert in session.exec(select(MonitoringAlert).where(
            MonitoringAlert.device_id.in_(ids), MonitoringAlert.status.in_(OPEN_ALERTS))
            .order_by(MonitoringAlert.first_seen_at.desc())):
        out.setdefault(alert.device_id, []).append({
            "kind": "alert", "severity": alert.severity, "status": alert.status.value,
            "summary": ALERT_SUMMARIES.get(alert.kind, "monitoring alert under review"),
            "since": alert.first_seen_at})
    for incident in session.exec(select(Incident).where(
            Incident.device_id.in_(ids), Incident.status.in_(OPEN_INCIDENTS))
            .order_by(Incident.awareness_at.desc())):
        what = "serious incident" if incident.serious else "incident"
        out.setdefault(incident.device_id, []).append({
            "kind": "incident", "severity": incident.severity, "status": incident.status.value,
            "summary": f"{what} under investigation", "since": incident.awareness_at})
    return out


def safety_available() -> bool:
    """Whether the monitoring area (#7) records alerts and incidents (it does since it landed)."""
    return True


def _place(hospital: Organisation | None, deployment: Deployment | None) -> tuple[str, str]:
    if deployment is None or hospital is None:
        return "", "not tied to a site"
    site = deployment.site if hospital.name in deployment.site else \
        f"{hospital.name}, {deployment.site}"
    return hospital.region, site


def safety_by_place(session: Session) -> list[dict[str, Any]]:
    """Open alerts, open incidents and overdue serious incidents per (region, site) (#7).

    Overdue: a serious incident not yet reported to the authority whose legal deadline passed.
    """
    now = utcnow()
    places: dict[tuple[str, str], dict[str, Any]] = {}

    def slot(deployment_id: int | None) -> dict[str, Any]:
        deployment = session.get(Deployment, deployment_id) if deployment_id else None
        hospital = session.get(Organisation, deployment.hospital_id) if deployment else None
        region, site = _place(hospital, deployment)
        return places.setdefault((region, site), {"region": region, "site": site,
                                                  "open_alerts": 0, "open_incidents": 0,
                                                  "overdue_incidents": 0})

    for deployment_id, n in session.exec(
            select(MonitoringAlert.deployment_id, func.count(MonitoringAlert.id))
            .where(MonitoringAlert.status.in_(OPEN_ALERTS))
            .group_by(MonitoringAlert.deployment_id)).all():
        slot(deployment_id)["open_alerts"] += n
    for incident in session.exec(select(Incident).where(Incident.status.in_(OPEN_INCIDENTS))):
        row = slot(incident.deployment_id)
        row["open_incidents"] += 1
        if (incident.status is IncidentStatus.open and incident.deadline_at is not None
                and incident.deadline_at < now):
            row["overdue_incidents"] += 1
    return sorted(places.values(), key=lambda r: (r["region"] or "~", r["site"]))


def footprint_totals(session: Session) -> dict[str, Any]:
    """Registry-wide energy and emissions per phase and in total (#8).

    Inference declarations are per N predictions, not consumption, so they stay out of the
    totals (as in the energy area's own footprints).
    """
    rows = session.exec(
        select(EnergyRecord.phase, func.sum(EnergyRecord.energy_kwh),
               func.sum(EnergyRecord.emissions_kg), func.count(EnergyRecord.id))
        .where(EnergyRecord.phase != Phase.inference).group_by(EnergyRecord.phase)).all()
    by_phase = {phase.value: {"energy_kwh": float(kwh or 0), "emissions_kg": float(kg or 0)}
                for phase, kwh, kg, _ in rows}
    return {"available": bool(rows),
            "energy_kwh": sum(p["energy_kwh"] for p in by_phase.values()),
            "emissions_kg": sum(p["emissions_kg"] for p in by_phase.values()),
            "records": sum(n for *_, n in rows), "by_phase": by_phase}


def may_open_incident(actor: Actor, device: Device) -> bool:
    """Whether the actor may record an incident on the device through the monitoring area."""
    if not auth.allows(actor, Permission.INCIDENT_REPORT):
        return False
    scope = auth.RULES[actor.role][Permission.INCIDENT_REPORT]
    return scope is auth.Scope.ANY or device.manufacturer_id == actor.organisation_id


def open_incident(session: Session, actor: Actor, device: Device, report: Any,
                  data: Any) -> str | None:
    """Open an incident from a problem report through the monitoring area's service (#7) and
    return its reference; None when the actor may not record incidents (an authority), in which
    case the caller records the request for the manufacturer to act on.

    The legal clock of a serious incident starts when the report reached the manufacturer
    through the registry (the report's creation), the conservative reading of "awareness".
    """
    if not may_open_incident(actor, device):
        return None
    from registry.schemas.monitoring import IncidentIn
    from registry.services import incidents

    incident = incidents.report_incident(session, actor, device.code, IncidentIn(
        title=f"Public problem report PR-{report.id} ({report.category.value})",
        description=report.description, serious=data.serious, category=data.category,
        severity=data.severity, awareness_at=report.created_at))
    return incident.reference
