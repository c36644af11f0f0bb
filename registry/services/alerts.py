"""Monitoring alerts (#7): raised from monitoring.alerts findings, deduplicated per rule and
subject on a deployment, notified, acknowledged and resolved with a comment, all audited."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from monitoring.alerts import AlertFinding, Severity
from registry import audit
from registry.auth import Actor, Permission
from registry.errors import ConflictError, NotFoundError
from registry.models import Deployment, Device, utcnow
from registry.models.monitoring import AlertStatus, MonitoringAlert, MonitoringBatch
from registry.services import notifications
from registry.services.common import snapshot

ACTIVE = (AlertStatus.open, AlertStatus.acknowledged)


def _text(value) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)[:80]


def raise_alerts(session: Session, actor: Actor, deployment: Deployment, device: Device,
                 batch: MonitoringBatch, findings: Iterable[AlertFinding]) -> list[MonitoringAlert]:
    """Open an alert per new finding; a finding whose rule and subject already have an active
    alert on this deployment updates that alert (count, last batch, last seen) instead."""
    touched = []
    for finding in findings:
        alert = session.exec(select(MonitoringAlert).where(
            MonitoringAlert.deployment_id == deployment.id,
            MonitoringAlert.dedup_key == finding.dedup_key,
            MonitoringAlert.status.in_(ACTIVE))).first()
        now = utcnow()
        if alert is not None:
            before = {"count": alert.count, "last_batch_id": alert.last_batch_id}
            alert.count += 1
            alert.last_batch_id, alert.last_seen_at = batch.id, now
            alert.message, alert.observed = finding.message, _text(finding.observed)
            if Severity(finding.severity).rank > Severity(alert.severity).rank:
                alert.severity = finding.severity.value
            session.add(alert)
            audit.record(session, actor, "alert.repeat", alert,
                         {"before": before, "after": {"count": alert.count,
                                                      "last_batch_id": batch.id}})
        else:
            alert = MonitoringAlert(
                deployment_id=deployment.id, device_id=device.id, rule_id=finding.rule_id,
                dedup_key=finding.dedup_key, kind=finding.kind, severity=finding.severity.value,
                subject=finding.subject[:120], message=finding.message,
                observed=_text(finding.observed), limit=_text(finding.limit),
                first_batch_id=batch.id, last_batch_id=batch.id, first_seen_at=now,
                last_seen_at=now)
            session.add(alert)
            audit.record(session, actor, "alert.raise", alert, {"after": snapshot(alert)})
            notifications.notify(
                session, {device.manufacturer_id, deployment.hospital_id}, kind="alert.raised",
                title=f"{finding.severity.value} alert on {device.code} at {deployment.site}: "
                      f"{finding.rule_id}",
                body=finding.message, device_id=device.id, deployment_id=deployment.id,
                alert_id=alert.id)
        touched.append(alert)
    return touched


def get_alert(session: Session, actor: Actor, alert_id: int,
              permission: Permission = Permission.MONITORING_READ) -> MonitoringAlert:
    """An alert on a deployment the actor may see (404 otherwise), checked for ``permission``."""
    from registry.services.monitoring import get_deployment

    alert = session.get(MonitoringAlert, alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} not found")
    try:
        get_deployment(session, actor, alert.deployment_id, permission)
    except NotFoundError:
        raise NotFoundError(f"alert {alert_id} not found") from None
    return alert


def list_alerts(session: Session, actor: Actor, *, deployment_id: int | None = None,
                device: Device | None = None, status: str | None = None) -> list[MonitoringAlert]:
    """Alerts of one deployment (checked) or of a device's deployments the actor may see."""
    from registry.services.monitoring import get_deployment, visible_deployments

    query = select(MonitoringAlert)
    if deployment_id is not None:
        get_deployment(session, actor, deployment_id, Permission.MONITORING_READ)
        query = query.where(MonitoringAlert.deployment_id == deployment_id)
    else:
        ids = [d.id for d in visible_deployments(session, actor, device=device)]
        query = query.where(MonitoringAlert.deployment_id.in_(ids))
    if status == "active":
        query = query.where(MonitoringAlert.status.in_(ACTIVE))
    elif status:
        query = query.where(MonitoringAlert.status == status)
    return list(session.exec(query.order_by(MonitoringAlert.last_seen_at.desc(),
                                            MonitoringAlert.id.desc())))


def acknowledge_alert(session: Session, actor: Actor, alert_id: int,
                      comment: str) -> MonitoringAlert:
    """Someone is on it: open -> acknowledged. ConflictError if it is not open."""
    alert = get_alert(session, actor, alert_id, Permission.ALERT_MANAGE)
    if alert.status != AlertStatus.open:
        raise ConflictError(f"alert {alert_id} is {alert.status.value}; only an open alert can "
                            "be acknowledged")
    alert.status, alert.acknowledged_by = AlertStatus.acknowledged, actor.user_id
    alert.acknowledged_at, alert.acknowledge_comment = utcnow(), comment
    session.add(alert)
    audit.record(session, actor, "alert.acknowledge", alert,
                 {"before": {"status": "open"}, "after": {"status": "acknowledged"}},
                 reason=comment)
    return alert


def resolve_alert(session: Session, actor: Actor, alert_id: int, comment: str) -> MonitoringAlert:
    """Closed with what was done; a later batch crossing the rule opens a new alert."""
    alert = get_alert(session, actor, alert_id, Permission.ALERT_MANAGE)
    if alert.status == AlertStatus.resolved:
        raise ConflictError(f"alert {alert_id} is already resolved")
    before = alert.status.value
    alert.status, alert.resolved_by = AlertStatus.resolved, actor.user_id
    alert.resolved_at, alert.resolve_comment = utcnow(), comment
    session.add(alert)
    audit.record(session, actor, "alert.resolve", alert,
                 {"before": {"status": before}, "after": {"status": "resolved"}}, reason=comment)
    deployment = session.get(Deployment, alert.deployment_id)
    device = session.get(Device, alert.device_id)
    notifications.notify(
        session, {device.manufacturer_id, deployment.hospital_id}, kind="alert.resolved",
        title=f"alert {alert.rule_id} on {device.code} at {deployment.site} resolved",
        body=comment, device_id=device.id, deployment_id=deployment.id, alert_id=alert.id)
    return alert

