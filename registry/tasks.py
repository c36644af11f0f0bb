"""Task functions run as jobs (in-process or on Celery workers)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from registry import audit, auth
from registry.auth import Actor, Permission
from registry.jobs import task


@task("audit.verify")
def verify_audit_chain(session: Session, actor: Actor, arguments: dict[str, Any]) -> dict[str, Any]:
    """Verify the whole audit chain; long on a big registry, hence a job."""
    if actor.user_id is not None:
        auth.require(actor, Permission.AUDIT_READ)
    report = audit.verify(session)
    return {"ok": report.ok, "events": report.events, "checkpoints": report.checkpoints,
            "head_hash": report.head_hash, "problems": report.problems}


# Area tasks register themselves when their service module is imported.
import registry.services.evaluations  # noqa: E402,F401  (evaluation.run)
import registry.services.monitoring  # noqa: E402,F401  (monitoring.analyse_batch, .measure_batch)
