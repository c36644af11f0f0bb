"""Incidents and the vigilance clocks (#7).

A serious incident carries its reporting deadline from monitoring.vigilance (MDR Art. 87(3)-(5):
15, 10 or 2 days from awareness; AI Act Art. 73; GDPR Art. 33), counts down while it is not yet
reported, and is flagged once overdue. The periodic report (PSUR, PMSR) follows the device class
(MDR Arts. 85-86, IVDR Arts. 80-81).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from monitoring import vigilance
from monitoring.errors import MonitoringInputError
from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, NotFoundError
from registry.models import Deployment, Device, Role, utcnow
from registry.models.monitoring import Incident, IncidentStatus
from registry.schemas.monitoring import IncidentIn, IncidentUpdate
from registry.services import devices, notifications
from registry.services.common import snapshot

# An incident may move forward only: reported to the authority, then closed.
_NEXT = {IncidentStatus.open: {IncidentStatus.reported, IncidentStatus.closed},
         IncidentStatus.reported: {IncidentStatus.closed}, IncidentStatus.closed: set()}


def report_incident(session: Session, actor: Actor, code: str, data: IncidentIn) -> Incident:
    """Record an incident on a device; a serious one gets its legal reporting deadline.

    Raises NotFoundError for a device (or deployment) the actor cannot see, PermissionDenied
    for a role that may not report, InvalidInputError for a deployment of another device.
    """
    device = devices.get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.INCIDENT_REPORT, device)
    deployment = _deployment_of(session, actor, device, data.deployment_id)
    deadline_at = legal_ref = None
    if data.serious:
        try:
            deadline_at = vigilance.reporting_deadline(data.awareness_at, data.category)
        except MonitoringInputError as err:
            raise InvalidInputError("; ".join(err.problems)) from None
        legal_ref = vigilance.REPORTING_CLOCKS[data.category].legal_ref
    number = session.exec(select(func.count()).select_from(Incident).where(
        Incident.device_id == device.id)).one() + 1
    incident = Incident(
        device_id=device.id, deployment_id=deployment.id if deployment else None,
        reference=f"INC-{device.code}-{number:03d}", title=data.title,
        description=data.description, serious=data.serious,
        category=data.category.value if data.category else "", severity=data.severity,
        awareness_at=data.awareness_at, deadline_at=deadline_at, legal_ref=legal_ref or "",
        created_by=actor.user_id, organisation_id=actor.organisation_id)
    session.add(incident)
    audit.record(session, actor, "incident.report", incident, {"after": snapshot(incident)})
    due = f"; report due by {deadline_at:%Y-%m-%d %H:%M} UTC ({legal_ref})" if deadline_at else ""
    recipients = {device.manufacturer_id} | ({deployment.hospital_id} if deployment else set())
    notifications.notify(
        session, recipients, kind="incident.reported",
        title=f"{'serious ' if data.serious else ''}incident {incident.reference} on {code}",
        body=f"{data.title}{due}", device_id=device.id,
        deployment_id=incident.deployment_id, incident_id=incident.id)
    return incident


def _deployment_of(session: Session, actor: Actor, device: Device,
                   deployment_id: int | None) -> Deployment | None:
    """The deployment the incident happened at; a hospital reports on its own deployments."""
    if deployment_id is None:
        if actor.role is Role.hospital:
            mine = session.exec(select(Deployment).where(
                Deployment.device_id == device.id,
                Deployment.hospital_id == actor.organisation_id)).first()
            if mine is None:
                raise NotFoundError(f"device {device.code} is not deployed at your hospital")
            return mine
        return None
    deployment = session.get(Deployment, deployment_id)
    if deployment is None or deployment.device_id != device.id:
        raise InvalidInputError(f"deployment_id {deployment_id} is not a deployment of "
                                f"{device.code}")
    if actor.role is Role.hospital and deployment.hospital_id != actor.organisation_id:
        raise InvalidInputError(f"deployment_id {deployment_id} is not at your hospital")
    return deployment


def get_incident(session: Session, actor: Actor, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or not _sees(session, actor, incident):
        raise NotFoundError(f"incident {incident_id} not found")
    return incident


def _sees(session: Session, actor: Actor, incident: Incident) -> bool:
    from registry.services.monitoring import can_see_deployment

    device = session.get(Device, incident.device_id)
    if actor.is_anonymous or not auth.allows(actor, Permission.MONITORING_READ):
        return False
    if actor.role is Role.hospital:
        deployment = session.get(Deployment, incident.deployment_id or 0)
        return deployment is not None and deployment.hospital_id == actor.organisation_id
    return can_see_deployment(session, actor, None, device)


def list_incidents(session: Session, actor: Actor, device: Device | None = None) -> list[Incident]:
    """Incidents the actor may see (of one device, or all), newest first."""
    query = select(Incident)
    if device is not None:
        query = query.where(Incident.device_id == device.id)
    rows = session.exec(query.order_by(Incident.awareness_at.desc(), Incident.id.desc()))
    return [i for i in rows if _sees(session, actor, i)]


def update_incident(session: Session, actor: Actor, incident_id: int,
                    data: IncidentUpdate) -> Incident:
    """Move an incident forward (open -> reported -> closed) with a comment."""
    incident = get_incident(session, actor, incident_id)
    device = session.get(Device, incident.device_id)
    auth.require(actor, Permission.INCIDENT_REPORT, device)
    target = IncidentStatus(data.status)
    if target not in _NEXT[incident.status]:
        raise ConflictError(f"incident {incident.reference} is {incident.status.value}; it cannot "
                            f"move to {target.value}")
    before = incident.status.value
    incident.status, incident.comment = target, data.comment
    if target is IncidentStatus.reported:
        incident.reported_at = utcnow()
    if target is IncidentStatus.closed:
        incident.closed_at = utcnow()
    session.add(incident)
    audit.record(session, actor, f"incident.{target.value}", incident,
                 {"before": {"status": before}, "after": {"status": target.value}},
                 reason=data.comment)
    return incident


def clock(incident: Incident, now: datetime | None = None) -> dict[str, Any]:
    """Days left before the reporting deadline, and whether it is overdue; the clock stops once
    the incident is reported (or closed)."""
    now = now or utcnow()
    if incident.deadline_at is None or incident.status is not IncidentStatus.open:
        return {"days_remaining": None, "overdue": False}
    return {"days_remaining": round(vigilance.days_remaining(incident.deadline_at, now), 2),
            "overdue": vigilance.is_overdue(incident.deadline_at, now)}


def incident_view(incident: Incident, now: datetime | None = None) -> dict[str, Any]:
    return {**incident.model_dump(), "status": incident.status.value, **clock(incident, now)}


def periodic_report(session: Session, device: Device) -> dict[str, Any] | None:
    """The periodic post-market report the class requires and when the next one is due,
    counted from the first go-live (the device on the market at a site)."""
    start = session.exec(select(func.min(Deployment.go_live_at)).where(
        Deployment.device_id == device.id)).one()
    if start is None:
        return None
    try:
        schedule = vigilance.periodic_report_schedule(device.regulation.value,
                                                      device.risk_class, start)
    except MonitoringInputError:
        return None  # not a device under MDR / IVDR, or no class yet
    data = schedule.to_dict()
    if schedule.next_due_at is not None:
        data["days_remaining"] = round(vigilance.days_remaining(schedule.next_due_at,
                                                                utcnow()), 1)
        data["overdue"] = vigilance.is_overdue(schedule.next_due_at, utcnow())
    return data
