"""The dossier of a demo device that went through every stage (DEMO-01, in post-market): every
area's section holds that area's records, and the numbers printed are the registry's, checked
against scikit-learn on the raw validation rows."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from pypdf import PdfReader
from sklearn.metrics import roc_auc_score
from sqlmodel import select

from registry import demo, storage
from registry.models import Device, Role
from registry.models.evaluations import Evaluation
from registry.models.monitoring import Incident, MonitoringBatch
from registry.models.reviews import Opinion
from registry.services import dossiers, evaluations
from reports import integrity, sealing
from tests import factories

pytestmark = pytest.mark.slow


def _pages(pdf: bytes) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    return [" ".join(page.split()) for page in text.split("\f")]


def _section(pages: list[str], number: int, title: str, following: str) -> str:
    """The text from a section's heading to the next section's heading."""
    text = " ".join(pages[2:])  # after the cover and the contents
    start = text.index(f"{number}. {title}")
    return text[start:text.index(following, start)]


def test_demo_device_dossier_holds_every_area(session, tmp_path, monkeypatch, settings):
    monkeypatch.setattr(storage, "_current", storage.ArtifactStore(tmp_path, 200 * 1024 * 1024))
    sealing.set_sealer(sealing.load_or_create(settings.instance_dir))
    demo.seed(session)
    device = session.exec(select(Device).where(Device.code == "DEMO-01")).one()
    authority = factories.actor_for(Role.authority)
    row = dossiers.build(session, authority, device.code)
    _, pdf = dossiers.download(session, authority, row.dossier_id)
    assert dossiers.verify_file(session, pdf).ok
    snapshot = json.loads(PdfReader(io.BytesIO(pdf)).attachments[integrity.SNAPSHOT][0])
    snapshot_sections = {s["key"]: s for s in snapshot["sections"]}
    assert all(s["recorded"] for s in snapshot_sections.values()), \
        [k for k, s in snapshot_sections.items() if not s["recorded"]]
    pages = _pages(pdf)
    titles = [title for _, title in dossiers.SECTIONS]

    def section(key: str) -> str:
        i = [k for k, _ in dossiers.SECTIONS].index(key)
        nxt = f"{i + 2}. {titles[i + 1]}" if i + 1 < len(titles) else "\x00"
        return _section(pages + ["\x00"], i + 1, titles[i], nxt)

    # Evaluations: the AUC printed is the registry's, which scikit-learn agrees with.
    text = section("evaluations")
    done = session.exec(select(Evaluation).where(Evaluation.device_id == device.id,
                                                 Evaluation.status == "done")).all()
    assert done
    manifest = json.loads(PdfReader(io.BytesIO(pdf)).attachments[integrity.MANIFEST][0])
    listed = {(a["kind"], a["sha256"]) for a in manifest["artifacts"]}
    assert {("evaluation", e.sha256) for e in done} <= listed  # the files results rest on
    for evaluation in done:
        auc = evaluation.results["metrics"]["auc"]
        frame = evaluations.reference_frame(session, evaluation)
        positive = evaluation.columns["positive"]
        truth = frame["y_true"].astype(str) == str(positive)
        assert roc_auc_score(truth, frame["y_score"]) == pytest.approx(auc["value"], abs=1e-9)
        interval = auc["interval"]
        assert f"auc {auc['value']:.3f} {interval['lower']:.3f} to {interval['upper']:.3f}" \
            in text
        assert evaluation.sha256 in text.replace(" ", "")
    # KPI verdicts, as the evaluations recorded them.
    verdicts = section("kpis")
    for evaluation in done:
        for verdict in evaluation.kpi_verdicts:
            assert verdict["verdict"] in verdicts and verdict["metric"] in verdicts
    # Ethics: both views (self-assessment and review) side by side.
    ethics_text = section("ethics")
    assert "Self-assessment and review, side by side" in ethics_text
    assert "ETH-02" in ethics_text and "Agreement" in ethics_text
    # Reviews: every signed opinion, with its signature checked intact.
    opinions = session.exec(select(Opinion).where(Opinion.device_id == device.id)).all()
    reviews_text = section("reviews")
    assert opinions
    for opinion in opinions:
        assert opinion.content_hash in reviews_text.replace(" ", "")
    assert reviews_text.count("intact: the record matches what was signed") == len(opinions)
    # Monitoring: one row per batch, and the chart.
    batches = session.exec(select(MonitoringBatch).where(
        MonitoringBatch.device_id == device.id)).all()
    monitoring_text = section("monitoring")
    assert batches and "Share of drifted features and AUC" in monitoring_text
    for batch in batches:
        day = (batch.period_start or batch.received_at).strftime("%Y-%m-%d")
        assert day in monitoring_text
    # Incidents with their deadlines.
    alerts_text = section("alerts")
    for incident in session.exec(select(Incident).where(Incident.device_id == device.id)):
        # "INC-DEMO-01-001" wraps after "INC-" in its narrow cell.
        assert incident.reference.removeprefix("INC-") in alerts_text
        if incident.deadline_at:
            assert incident.deadline_at.strftime("%Y-%m-%d") in alerts_text
    assert "Totals by phase" in section("energy")
