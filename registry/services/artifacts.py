"""Uploaded files: stored content-addressed, registered as rows, readable by who may see them."""

from __future__ import annotations

import re
from typing import BinaryIO

from sqlmodel import Session, select

from registry import audit, auth, db, storage
from registry.auth import Actor, Permission
from registry.errors import NotFoundError
from registry.models import Artifact, Evidence

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def upload_artifact(
    session: Session, actor: Actor, stream: BinaryIO, filename: str, media_type: str
) -> Artifact:
    """Store the file and its row in the caller's transaction; a rollback removes a new blob."""
    auth.require(actor, Permission.ARTIFACT_UPLOAD)
    ref = storage.get_store().put(stream)
    db.on_rollback(session, lambda: storage.get_store().discard(ref))
    artifact = Artifact(
        sha256=ref.sha256,
        size_bytes=ref.size_bytes,
        filename=_SAFE_NAME.sub("_", filename or "upload")[:255] or "upload",
        media_type=(media_type or "application/octet-stream")[:120],
        organisation_id=actor.organisation_id,
        uploaded_by=actor.user_id,
    )
    session.add(artifact)
    audit.record(session, actor, "artifact.upload", artifact,
                 {"after": {"sha256": ref.sha256, "size_bytes": ref.size_bytes,
                            "filename": artifact.filename}})
    return artifact


def get_artifact(session: Session, actor: Actor, artifact_id: int) -> Artifact:
    """An artifact the actor may read: their organisation's, or evidence on a device they see."""
    auth.require(actor, Permission.ARTIFACT_READ)
    artifact = session.get(Artifact, artifact_id)
    if artifact is None:
        raise NotFoundError(f"artifact {artifact_id} not found")
    if artifact.organisation_id == actor.organisation_id or actor.role in auth.SEES_ALL:
        return artifact
    from registry.models import Device

    for evidence in session.exec(select(Evidence).where(Evidence.artifact_id == artifact.id)):
        device = session.get(Device, evidence.device_id)
        if device is not None and auth.can_see(session, actor, device):
            return artifact
    raise NotFoundError(f"artifact {artifact_id} not found")


def open_artifact(artifact: Artifact) -> BinaryIO:
    return storage.get_store().open(artifact.sha256)


def sweep_orphans(session: Session, older_than_s: float = 3600) -> list[str]:
    """Delete blobs and temporary files that no committed artifact row accounts for (left by a
    process killed mid-upload); returns the paths removed."""
    known = set(session.exec(select(Artifact.sha256)).all())
    return [str(p) for p in storage.get_store().sweep(known, older_than_s)]
