"""Dossiers on the real database: assembled, built, sealed, recorded, audited, verified."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlmodel import select

from registry import audit
from registry.models import AuditEvent, Role
from registry.models.dossiers import Dossier
from registry.services import dossiers
from reports import integrity, sealing
from tests import factories


@pytest.fixture(autouse=True)
def _sealer(settings):
    sealing.set_sealer(sealing.load_or_create(settings.instance_dir))


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(
        "\x00", "")


def test_build_records_and_audits_a_verifiable_pdf(session):
    device = factories.DeviceFactory()
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    row = dossiers.build(session, maker, device.code)
    _, pdf = dossiers.download(session, maker, row.dossier_id)
    assert integrity.sha256(pdf) == row.pdf_sha256
    report = dossiers.verify_file(session, pdf)
    assert report.ok, report.to_dict()
    text = _text(pdf)
    for _, title in dossiers.SECTIONS:
        assert title in text
    actions = [e.action for e in audit.events_for_device(session, device.id)]
    assert "dossier.build" in actions and "dossier.download" in actions
    assert session.exec(select(Dossier).where(Dossier.dossier_id == row.dossier_id)).one()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "dossier.build")).first()


def test_dump_for_eyes(session, tmp_path):
    device = factories.DeviceFactory()
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    row = dossiers.build(session, maker, device.code)
    _, pdf = dossiers.download(session, maker, row.dossier_id)
    with open("/tmp/dz/d.pdf", "wb") as f:
        f.write(pdf)
