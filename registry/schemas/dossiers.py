"""Schemas: Issued PDF dossiers and their integrity records (issue #9)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from registry.schemas.core import Out


class DossierOut(Out):
    dossier_id: str
    generated_at: datetime
    pdf_sha256: str
    size_bytes: int
    pages: int
    manifest_sha256: str
    audit_head_seq: int
    audit_head_hash: str
    key_id: str
    seal_certificate_sha256: str
    created_at: datetime


class VerificationCheckOut(BaseModel):
    name: str
    ok: bool | None  # None: not checked
    message: str


class VerificationOut(BaseModel):
    ok: bool
    sha256: str
    dossier_id: str | None
    checks: list[VerificationCheckOut]
