"""Issued PDF dossiers and their integrity records (issue #9)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from registry.models.core import utcnow


class Dossier(SQLModel, table=True):
    """One issued dossier: what an online verification compares an uploaded file against.

    The PDF itself lives in the content-addressed artifact store under ``pdf_sha256``.
    """

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: str = Field(max_length=36, unique=True, index=True)  # UUID printed in the PDF
    device_id: int = Field(foreign_key="device.id", index=True)
    built_by: int | None = Field(default=None, foreign_key="user.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    generated_at: datetime  # the snapshot's moment
    pdf_sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    pages: int
    manifest_sha256: str = Field(max_length=64)
    audit_head_seq: int
    audit_head_hash: str = Field(max_length=64)
    key_id: str = Field(max_length=64)
    seal_certificate_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
