"""The demo's evaluations carry the gates on computed numbers: DEMO-02, the rhythm classifier,
reports calibrated class probabilities and leaves S4 without a waiver of G4.4."""

from __future__ import annotations

import pytest
from sqlmodel import select

from registry import demo, storage
from registry.models import Device, Evidence, Stage
from registry.models.evaluations import Evaluation

pytestmark = pytest.mark.slow


def test_demo_multiclass_device_passes_g4_4_on_its_calibration(session, tmp_path, monkeypatch):
    # The demo's validation files are larger than the tests' 64 KiB upload limit.
    monkeypatch.setattr(storage, "_current", storage.ArtifactStore(tmp_path, 200 * 1024 * 1024))
    demo.seed(session)
    device = session.exec(select(Device).where(Device.code == "DEMO-02")).one()
    assert device.stage.number > Stage.S4_VALIDATION.number
    external = session.exec(select(Evaluation).where(
        Evaluation.device_id == device.id, Evaluation.dataset_kind == "external")).one()
    calibration = external.results["calibration"]
    assert sorted(calibration["per_class"]) == sorted(demo.evaluations.RHYTHMS)
    # The demo's probabilities are calibrated by construction: the measures say so.
    assert calibration["classwise_ece"]["value"] < 0.02
    for per in calibration["per_class"].values():
        assert per["ece"]["value"] < 0.02
        assert per["oe_ratio"]["interval"]["lower"] <= 1 <= per["oe_ratio"]["interval"]["upper"]
    waived = session.exec(select(Evidence).where(
        Evidence.device_id == device.id, Evidence.gate_item == "G4.4")).all()
    assert waived == []
