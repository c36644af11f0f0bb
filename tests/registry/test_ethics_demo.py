"""The demo registry carries ethics self-assessments that got its devices through the gates."""

from __future__ import annotations

from sqlmodel import select

from registry import demo, storage
from registry.models import Device, Stage
from registry.services import ethics


def test_demo_devices_answer_each_stage_and_are_reviewed_from_s5(session, tmp_path, monkeypatch):
    # The demo's validation files are larger than the tests' 64 KiB upload limit.
    monkeypatch.setattr(storage, "_current", storage.ArtifactStore(tmp_path, 200 * 1024 * 1024))
    demo.seed(session)
    grid = ethics.get_grid()
    for device in session.exec(select(Device)).all():
        facts = ethics.gate_facts(session, device, None, set())
        stages = list(Stage)
        left = stages[:stages.index(device.stage)]
        # Every stage the device has left has all its criteria answered.
        assert all(facts["missing"][s.value] == [] for s in left), device.code
        submitted = ethics.submitted_of(session, device)
        if device.stage.number >= 5:
            assert submitted is not None and ethics.check_snapshot(submitted), device.code
            assert facts["submitted"] == {"number": submitted.number, "unanswered": [],
                                          "not_reviewed": [], "blocking_below": []}
            reviews = ethics.reviews_of(session, submitted)
            assert set(reviews) == set(grid.ids)
            assert {cid for cid, r in reviews.items() if r.verdict == "disagree"} == \
                set(demo.ethics.DISPUTED)
        else:
            assert submitted is None, device.code
        if device.stage is Stage.S1_NEEDS:
            draft = ethics.draft_of(session, device)
            assert set(ethics.answers_of(session, draft)) == {"ETH-01", "ETH-02", "ETH-03"}
