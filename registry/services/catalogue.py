"""Services: the public catalogue and the problems the public reports (issue #10).

The catalogue is a public projection: every query here starts from ``Device.is_published``, for
every caller, signed in or not, so an unpublished device never reaches a public page, feed or API
answer, whoever asks. What other areas add to a catalogue entry (evaluation results, review
opinions, safety notices) comes through ``registry/services/catalogue_sources.py``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import NotFoundError, RegistryError
from registry.models import AuditEvent, Deployment, Device, ModelVersion, Organisation, utcnow
from registry.models.catalogue import ProblemReport, ProblemStatus
from registry.schemas.catalogue import (
    CatalogueFilter,
    IncidentRequestIn,
    ProblemReportHandleIn,
    ProblemReportIn,
)
from registry.services import catalogue_sources as sources
from registry.services.common import snapshot

# A sender may file this many reports per rolling hour (all devices together).
REPORTS_PER_HOUR = 5


class TooManyReportsError(RegistryError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


def _published():
    return Device.is_published.is_(True)


# --- the catalogue ----------------------------------------------------------------------------


def list_catalogue(session: Session, filters: CatalogueFilter) -> tuple[list[Device], int]:
    """Published devices matching the filters; returns (page, total)."""
    query = select(Device).where(_published())
    if filters.q:
        like = f"%{filters.q.lower()}%"
        query = query.where(or_(func.lower(Device.name).like(like),
                                func.lower(Device.code).like(like),
                                func.lower(Device.intended_purpose).like(like),
                                func.lower(Device.medical_indication).like(like)))
    if filters.ai_technique:
        query = query.where(func.lower(Device.ai_technique).like(
            f"%{filters.ai_technique.lower()}%"))
    for name in ("theme", "stage", "regulation", "risk_class", "adaptivity"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Device, name) == value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(query.order_by(Device.name, Device.code)
                        .offset(filters.offset).limit(filters.limit))
    return list(page.all()), total


def all_catalogue(session: Session, filters: CatalogueFilter | None = None) -> list[Device]:
    """Every published device matching the filters (page by page)."""
    base = (filters or CatalogueFilter()).model_dump(exclude={"limit", "offset"})
    found: list[Device] = []
    while True:
        page, total = list_catalogue(session, CatalogueFilter(**base, limit=500,
                                                              offset=len(found)))
        found.extend(page)
        if not page or len(found) >= total:
            return found


def get_catalogue_device(session: Session, code: str) -> Device:
    """The published device with this code; NotFoundError for any other (no existence leak)."""
    device = session.exec(select(Device).where(Device.code == code, _published())).first()
    if device is None:
        raise NotFoundError(f"device {code} is not in the public catalogue")
    return device


def ai_techniques(session: Session) -> list[str]:
    """The AI techniques named by published devices (the filter's suggestions)."""
    rows = session.exec(select(Device.ai_technique).where(_published()).distinct())
    return sorted({t for t in rows.all() if t})


def _deployment_counts(session: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    rows = session.exec(
        select(Deployment.device_id, func.count(Deployment.id),
               func.count(func.distinct(Deployment.hospital_id)))
        .where(Deployment.device_id.in_(ids), Deployment.status != "retired")
        .group_by(Deployment.device_id)
    ).all()
    return {device_id: (n, hospitals) for device_id, n, hospitals in rows}


def entries(session: Session, found: list[Device], *, detail: bool = True) -> list[dict[str, Any]]:
    """Catalogue entries (plain data, CatalogueDeviceOut's fields) for published devices."""
    found = [d for d in found if d.is_published]  # belt and braces: callers pass published ones
    if not found:
        return []
    ids = [d.id for d in found]
    makers = {o.id: o.name for o in session.exec(
        select(Organisation).where(Organisation.id.in_({d.manufacturer_id for d in found})))}
    counts = _deployment_counts(session, ids)
    versions: dict[int, list[str]] = {}
    for device_id, version in session.exec(
            select(ModelVersion.device_id, ModelVersion.version)
            .where(ModelVersion.device_id.in_(ids)).order_by(ModelVersion.id)):
        versions.setdefault(device_id, []).append(version)
    notices = sources.notices_by_device(session, ids)
    evaluations = sources.evaluations_by_device(session, ids) if detail else {}
    opinions = sources.opinions_by_device(session, ids) if detail else {}
    out = []
    for d in found:
        deployments, hospitals = counts.get(d.id, (0, 0))
        entry = {
            "code": d.code, "name": d.name, "manufacturer": makers.get(d.manufacturer_id, ""),
            "intended_purpose": d.intended_purpose, "medical_indication": d.medical_indication,
            "target_population": d.target_population, "intended_users": d.intended_users,
            "use_environment": d.use_environment, "theme": d.theme.value,
            "secondary_themes": list(d.secondary_themes), "regulation": d.regulation.value,
            "risk_class": d.risk_class,
            "ai_act_category": d.ai_act_category.value if d.ai_act_category else None,
            "adaptivity": d.adaptivity.value, "ai_technique": d.ai_technique,
            "task": d.task.value, "stage": d.stage.value, "basic_udi_di": d.basic_udi_di,
            "udi_di": d.udi_di, "versions": versions.get(d.id, []),
            "deployments": deployments, "hospitals": hospitals,
            "withdrawn_at": d.withdrawn_at, "updated_at": d.updated_at,
            "evaluations": evaluations.get(d.id, []),
            "opinions": opinions.get(d.id, []), "safety_notices": notices.get(d.id, []),
        }
        out.append(entry)
    return out


def catalogue_entry(session: Session, code: str) -> dict[str, Any]:
    """One published device's full catalogue entry; NotFoundError otherwise."""
    return entries(session, [get_catalogue_device(session, code)])[0]


# --- the change feed --------------------------------------------------------------------------

_FEED_ACTIONS = ("device.publish", "device.unpublish", "device.stage.forward",
                 "device.stage.back")


def catalogue_changes(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first: publications, unpublications and stage moves of published devices.

    Read from the audit trail (the record of what happened). Only devices published now are
    named, and a stage move counts only if it happened while the device was published: a device
    taken out of the catalogue takes its whole history out of the feed with it.
    """
    published = {d.id: d for d in session.exec(select(Device).where(_published()))}
    if not published:
        return []
    events = session.exec(
        select(AuditEvent).where(AuditEvent.device_id.in_(list(published)),
                                 AuditEvent.action.in_(_FEED_ACTIONS))
        .order_by(AuditEvent.seq)
    ).all()
    state: dict[int, bool] = {}
    changes = []
    for event in events:
        device = published[event.device_id]
        if event.action == "device.publish":
            state[device.id] = True
            kind, title = "published", f"{device.name} ({device.code}) added to the catalogue"
            stage = _stage_at(session, device, event)
        elif event.action == "device.unpublish":
            state[device.id] = False
            kind, title = "unpublished", f"{device.name} ({device.code}) taken out of the catalogue"
            stage = _stage_at(session, device, event)
        else:
            if not state.get(device.id):
                continue
            stage = json.loads(event.payload).get("after", {}).get("stage", device.stage.value)
            kind = "stage"
            title = f"{device.name} ({device.code}) moved to {stage}"
        changes.append({"id": f"event-{event.seq}", "code": device.code, "name": device.name,
                        "kind": kind, "title": title, "stage": stage,
                        "occurred_at": event.occurred_at})
    changes.reverse()
    return changes[:limit]


def _stage_at(session: Session, device: Device, event: AuditEvent) -> str:
    """The device's stage when ``event`` happened (its last stage move before it)."""
    move = session.exec(
        select(AuditEvent).where(AuditEvent.device_id == device.id,
                                 AuditEvent.action.in_(_FEED_ACTIONS[2:]),
                                 AuditEvent.seq < event.seq)
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    if move is None:
        return "S1_NEEDS"
    return json.loads(move.payload).get("after", {}).get("stage", device.stage.value)


# --- problem reports --------------------------------------------------------------------------


def client_fingerprint(secret: str, address: str) -> str:
    """A keyed hash of the sender's address: rate limits without storing who sent what."""
    return hashlib.sha256(f"{secret}|{address}".encode()).hexdigest()


def report_problem(session: Session, code: str, data: ProblemReportIn,
                   fingerprint: str) -> ProblemReport:
    """Anyone reports a concern about a published device.

    Raises NotFoundError unless the device is published, TooManyReportsError past
    REPORTS_PER_HOUR from the same sender.
    """
    device = get_catalogue_device(session, code)
    since = utcnow() - timedelta(hours=1)
    recent = session.exec(select(func.count(ProblemReport.id)).where(
        ProblemReport.client_fingerprint == fingerprint,
        ProblemReport.created_at >= since)).one()
    if recent >= REPORTS_PER_HOUR:
        raise TooManyReportsError(
            f"at most {REPORTS_PER_HOUR} reports an hour from one sender; try again later or "
            "contact the manufacturer's vigilance correspondent")
    report = ProblemReport(device_id=device.id, client_fingerprint=fingerprint,
                           **data.model_dump())
    session.add(report)
    # The audit keeps a digest of the free text, not the text: it may hold personal data, and
    # the audit trail can never be erased.
    audit.record(session, auth.ANONYMOUS, "problem_report.create", report, {
        "after": {"category": report.category.value, "reporter_kind": report.reporter_kind.value,
                  "description_sha256": hashlib.sha256(data.description.encode()).hexdigest(),
                  "with_contact": bool(data.contact)}})
    return report


def _reports_query(actor: Actor):
    auth.require(actor, Permission.PROBLEM_REPORT_READ)
    query = select(ProblemReport, Device).join(Device, Device.id == ProblemReport.device_id)
    if auth.RULES[actor.role][Permission.PROBLEM_REPORT_READ] is auth.Scope.OWN:
        query = query.where(Device.manufacturer_id == actor.organisation_id)
    return query


def list_problem_reports(session: Session, actor: Actor, *, status: ProblemStatus | None = None,
                         device_code: str | None = None) -> list[tuple[ProblemReport, Device]]:
    """Reports the actor may read (a manufacturer: its devices'), newest first."""
    query = _reports_query(actor)
    if status is not None:
        query = query.where(ProblemReport.status == status)
    if device_code is not None:
        query = query.where(Device.code == device_code)
    return list(session.exec(query.order_by(ProblemReport.id.desc())).all())


def get_problem_report(session: Session, actor: Actor,
                       report_id: int) -> tuple[ProblemReport, Device]:
    row = session.exec(_reports_query(actor).where(ProblemReport.id == report_id)).first()
    if row is None:
        raise NotFoundError(f"problem report {report_id} not found (or not visible to you)")
    return row[0], row[1]


def report_out(report: ProblemReport, device: Device) -> dict[str, Any]:
    return {**report.model_dump(), "device_code": device.code, "device_name": device.name}


def handle_problem_report(session: Session, actor: Actor, report_id: int,
                          data: ProblemReportHandleIn) -> ProblemReport:
    """Acknowledge or dismiss a report, with a note (the manufacturer or the authority)."""
    report, device = get_problem_report(session, actor, report_id)
    auth.require(actor, Permission.PROBLEM_REPORT_HANDLE, device)
    _check_open(report)
    before = snapshot(report, ["status", "handling_note"])
    report.status = ProblemStatus(data.status)
    report.handling_note = data.note
    report.handled_by, report.handled_at = actor.user_id, utcnow()
    session.add(report)
    audit.record(session, actor, f"problem_report.{data.status}", report,
                 {"before": before, "after": snapshot(report, ["status", "handling_note"])})
    return report


def request_incident(session: Session, actor: Actor, report_id: int,
                     data: IncidentRequestIn) -> ProblemReport:
    """Turn a report into an incident through the monitoring area's incident service when it
    exists; otherwise record the request (status incident_requested) for it to pick up."""
    report, device = get_problem_report(session, actor, report_id)
    auth.require(actor, Permission.PROBLEM_REPORT_HANDLE, device)
    _check_open(report)
    before = snapshot(report, ["status", "handling_note", "incident_ref"])
    reference = sources.open_incident(session, actor, device, report, data)
    report.status = ProblemStatus.converted if reference else ProblemStatus.incident_requested
    report.incident_ref = reference or ""
    report.handling_note = data.note
    report.handled_by, report.handled_at = actor.user_id, utcnow()
    session.add(report)
    audit.record(session, actor, "problem_report.incident", report,
                 {"before": before,
                  "after": snapshot(report, ["status", "handling_note", "incident_ref"])})
    return report


def _check_open(report: ProblemReport) -> None:
    from registry.errors import ConflictError

    if report.status in (ProblemStatus.dismissed, ProblemStatus.converted):
        raise ConflictError(f"problem report {report.id} is already {report.status.value}")


def open_reports_count(session: Session, device: Device) -> int:
    return session.exec(select(func.count(ProblemReport.id)).where(
        ProblemReport.device_id == device.id,
        ProblemReport.status.in_([ProblemStatus.open, ProblemStatus.acknowledged,
                                  ProblemStatus.incident_requested]))).one()
