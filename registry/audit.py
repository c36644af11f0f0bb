"""The tamper-evident audit trail: hash-chained events, signed checkpoints, offline verification.

Each event's hash covers its own content and the previous event's hash, so altering, removing or
reordering any event breaks every link after it; ``verify`` names the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, func, select

from registry import signing
from registry.models import AuditCheckpoint, AuditEvent, Device, utcnow

GENESIS = "0" * 64
CHECKPOINT_EVERY_EVENTS = 1000
CHECKPOINT_EVERY = timedelta(hours=1)
# Arbitrary constant naming the PostgreSQL advisory lock that serialises chain appends.
_CHAIN_LOCK_KEY = 0x444D44


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8: the same data always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(event: AuditEvent) -> str:
    body = canonical_json(
        {
            "seq": event.seq,
            "occurred_at": _iso(event.occurred_at),
            "actor_id": event.actor_id,
            "actor_email": event.actor_email,
            "actor_role": event.actor_role,
            "organisation_id": event.organisation_id,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "device_id": event.device_id,
            "reason": event.reason,
            "payload": event.payload,
            "prev_hash": event.prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _object_ref(target: Any) -> tuple[str, str, int | None]:
    if isinstance(target, tuple):  # ("organisation", 3) for objects without a row at hand
        kind, ident = target
        return kind, str(ident), None
    kind = getattr(target, "__tablename__", type(target).__name__.lower())
    device_id = target.id if isinstance(target, Device) else getattr(target, "device_id", None)
    return str(kind), str(target.id), device_id


def record(
    session: Session,
    actor: Any,
    action: str,
    target: Any,
    details: dict[str, Any],
    *,
    reason: str = "",
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the change)."""
    session.flush()  # the target needs its id before we can name it
    _lock_chain(session)
    head = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
    object_type, object_id, device_id = _object_ref(target)
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "user_id", None),
        actor_email=getattr(actor, "email", "system"),
        actor_role=str(getattr(actor, "role", "system")),
        organisation_id=getattr(actor, "organisation_id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        device_id=device_id,
        reason=reason,
        payload=canonical_json(details),
        prev_hash=head.hash if head else GENESIS,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    _checkpoint_if_due(session, event)
    return event


def _lock_chain(session: Session) -> None:
    # SQLite writers are already serialised by BEGIN IMMEDIATE (registry.db); PostgreSQL needs an
    # explicit lock so two transactions never read the same head and fork the chain.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})


def _checkpoint_if_due(session: Session, event: AuditEvent) -> None:
    last = session.exec(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).first()
    due = (
        last is None
        or event.seq - last.seq >= CHECKPOINT_EVERY_EVENTS
        or event.occurred_at - last.signed_at >= CHECKPOINT_EVERY
    )
    if due:
        write_checkpoint(session, event)


def checkpoint_message(seq: int, count: int, head_hash: str) -> bytes:
    return canonical_json({"seq": seq, "count": count, "head_hash": head_hash}).encode()


def write_checkpoint(session: Session, head: AuditEvent) -> AuditCheckpoint:
    """Sign (count, head hash) with the registry key so an auditor can pin the chain offline."""
    signer = signing.get_signer()
    count = session.exec(select(func.count()).select_from(AuditEvent)).one()
    checkpoint = AuditCheckpoint(
        seq=head.seq,
        count=count,
        head_hash=head.hash,
        key_id=signer.key_id,
        signature=signer.sign(checkpoint_message(head.seq, count, head.hash)),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head_hash: str
    checkpoints: int
    problems: list[str]

    @property
    def first_problem(self) -> str | None:
        return self.problems[0] if self.problems else None


def verify_events(
    events: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]] = (),
    public_key_pem: str | None = None,
) -> ChainReport:
    """Check a chain given as plain dicts (from the database or an export), in storage order."""
    problems: list[str] = []
    prev = GENESIS
    by_seq: dict[int, str] = {}
    for position, row in enumerate(events, start=1):
        event = AuditEvent(**{k: v for k, v in row.items() if k != "id"})
        if isinstance(event.occurred_at, str):
            event.occurred_at = datetime.fromisoformat(event.occurred_at)
        label = f"event #{position} (seq {event.seq}, {event.action} on {event.object_type} " \
                f"{event.object_id})"
        if event.seq != position:
            kind = "reordered" if event.seq > position and any(
                e["seq"] == position for e in events[position:]) else "removed"
            if kind == "removed":
                problems.append(f"{label}: expected seq {position}; event seq {position} was "
                                "removed from the chain")
            else:
                problems.append(f"{label}: found where seq {position} belongs; events were "
                                "reordered")
            break
        if event.prev_hash != prev:
            problems.append(f"{label}: its previous-hash link does not match event seq "
                            f"{position - 1}; an earlier event was altered or removed")
            break
        if event_hash(event) != row["hash"]:
            problems.append(f"{label}: content no longer matches its hash; this event was altered")
            break
        prev = row["hash"]
        by_seq[event.seq] = row["hash"]
    if not problems and checkpoints:
        public = signing.load_public(public_key_pem) if public_key_pem else None
        for cp in checkpoints:
            where = f"checkpoint at seq {cp['seq']}"
            if by_seq.get(cp["seq"]) != cp["head_hash"]:
                problems.append(f"{where}: signed head hash does not match the chain; events up "
                                f"to seq {cp['seq']} were changed or removed after signing")
                break
            message = checkpoint_message(cp["seq"], cp["count"], cp["head_hash"])
            if public is not None and not signing.verify(public, message, cp["signature"]):
                problems.append(f"{where}: signature does not verify with the registry key")
                break
        if not problems and by_seq and max(by_seq) < checkpoints[-1]["seq"]:
            problems.append(f"chain ends at seq {max(by_seq)} but a checkpoint signed seq "
                            f"{checkpoints[-1]['seq']}: events were removed from the end")
    return ChainReport(
        ok=not problems,
        events=len(events),
        head_hash=prev,
        checkpoints=len(checkpoints),
        problems=problems,
    )


def _rows(session: Session, model: type) -> list[dict[str, Any]]:
    return [r.model_dump() for r in session.exec(select(model).order_by(model.id)).all()]


def verify(session: Session) -> ChainReport:
    """Verify the whole chain stored in the database against the registry's key."""
    return verify_events(
        _rows(session, AuditEvent),
        _rows(session, AuditCheckpoint),
        signing.get_signer().public_pem,
    )


def export(session: Session) -> dict[str, Any]:
    """Everything an auditor needs to verify the chain offline: events, checkpoints, public key."""
    def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: (_iso(v) if isinstance(v, datetime) else v) for k, v in r.items()}
                for r in rows]

    return {
        "format": "dmd-registry-audit-export/1",
        "exported_at": _iso(utcnow()),
        "public_key_pem": signing.get_signer().public_pem,
        "events": plain(_rows(session, AuditEvent)),
        "checkpoints": plain(_rows(session, AuditCheckpoint)),
    }


def verify_export(document: dict[str, Any], public_key_pem: str | None = None) -> ChainReport:
    """Verify an export; pass the registry's published key to not trust the file's own copy."""
    return verify_events(
        document["events"],
        document.get("checkpoints", []),
        public_key_pem or document.get("public_key_pem"),
    )


def events_for_device(session: Session, device_id: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.device_id == device_id).order_by(AuditEvent.seq)
        ).all()
    )
