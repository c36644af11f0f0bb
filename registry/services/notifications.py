"""The registry's inbox (one per organisation) and the optional outgoing webhook (#7).

Alerts and incidents are written to the inboxes of the device's manufacturer and of the
deployment's hospital in the caller's transaction; the webhook POST is sent only after that
transaction commits, so no message goes out about something that was rolled back.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from registry import db
from registry.auth import Actor
from registry.errors import NotAuthenticatedError, NotFoundError
from registry.models import utcnow
from registry.models.monitoring import Notification

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5.0
_webhook_url: str | None = None


def set_webhook_url(url: str | None) -> None:
    """Set by configure_runtime from DMD_ALERT_WEBHOOK_URL (None: inbox only)."""
    global _webhook_url
    _webhook_url = url


def notify(session: Session, organisation_ids: set[int], *, kind: str, title: str, body: str,
           device_id: int | None = None, deployment_id: int | None = None,
           alert_id: int | None = None, incident_id: int | None = None) -> list[Notification]:
    """Put one message in each organisation's inbox and queue the webhook POST after commit."""
    rows = []
    for organisation_id in sorted(organisation_ids):
        row = Notification(organisation_id=organisation_id, kind=kind, title=title, body=body,
                           device_id=device_id, deployment_id=deployment_id, alert_id=alert_id,
                           incident_id=incident_id)
        session.add(row)
        rows.append(row)
    session.flush()
    if _webhook_url:
        payload = {"kind": kind, "title": title, "body": body, "device_id": device_id,
                   "deployment_id": deployment_id, "alert_id": alert_id,
                   "incident_id": incident_id, "organisation_ids": sorted(organisation_ids),
                   "sent_at": utcnow().isoformat()}
        url = _webhook_url
        db.after_commit(session, lambda: post_webhook(url, payload))
    return rows


def post_webhook(url: str, payload: dict[str, Any], *,
                 timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> bool:
    """POST ``payload`` as JSON; True on a 2xx answer. A failure is logged, never raised: the
    inbox already holds the message, and an unreachable gateway must not fail the analysis."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "dmd-registry"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except OSError as exc:  # URLError, HTTPError, timeouts are all OSErrors
        logger.warning("alert webhook POST to %s failed: %s", url, exc)
        return False


def _require_member(actor: Actor) -> None:
    if actor.is_anonymous or actor.organisation_id is None:
        raise NotAuthenticatedError("sign in or send an API token (Authorization: Bearer ...)")


def list_notifications(session: Session, actor: Actor, *, unread_only: bool = False,
                       limit: int = 100) -> list[Notification]:
    """The actor's organisation's inbox, newest first."""
    _require_member(actor)
    query = select(Notification).where(Notification.organisation_id == actor.organisation_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.exec(query.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, actor: Actor) -> int:
    if actor.is_anonymous or actor.organisation_id is None:
        return 0
    return session.exec(select(func.count()).select_from(Notification).where(
        Notification.organisation_id == actor.organisation_id,
        Notification.read_at.is_(None))).one()


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one message of the actor's inbox read (reading is not audited: it changes nothing
    about a device)."""
    _require_member(actor)
    row = session.get(Notification, notification_id)
    if row is None or row.organisation_id != actor.organisation_id:
        raise NotFoundError(f"notification {notification_id} not found")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
    return row
