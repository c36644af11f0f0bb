"""Ethics self-assessments on the real database: drafts, submission, reviews, gates, audit."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from sqlmodel import select

from ethics_grid import score_assessment
from registry import audit
from registry.errors import (
    ConflictError,
    GateNotMetError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from registry.models import AuditEvent, OrganisationKind, Role, Stage
from registry.models.ethics import EthicsAnswer, EthicsAssessment
from registry.schemas import TransitionIn
from registry.schemas.ethics import AnswerIn, ReviewIn
from registry.services import devices, ethics
from tests import factories


@pytest.fixture
def maker(session):
    return factories.actor_for(Role.manufacturer)


@pytest.fixture
def device(session, maker):
    return factories.DeviceFactory(manufacturer_id=maker.organisation_id)


@pytest.fixture
def reviewer(session, device):
    actor = factories.actor_for(Role.reviewer)
    factories.grant(session, device, actor.organisation_id)
    return actor


def answer(session, actor, device, cid, maturity=1, **kw):
    return ethics.save_answer(session, actor, device.code, cid, AnswerIn(maturity=maturity, **kw))


def events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(AuditEvent.seq)).all()


def test_draft_is_saved_and_each_answer_audited_with_before_and_after(session, maker, device):
    answer(session, maker, device, "ETH-01", 1, explanation="needs analysis planned")
    answer(session, maker, device, "ETH-01", 2, explanation="needs analysis written",
           evidence=[{"kind": "link", "ref": "https://example.org/needs.pdf"}])
    draft = ethics.draft_of(session, device)
    assert draft.status == "draft" and draft.number == 1 and draft.grid_version == "3"
    assert draft.grid_fingerprint == ethics.get_grid().fingerprint
    rows = session.exec(select(EthicsAnswer).where(EthicsAnswer.assessment_id == draft.id)).all()
    assert [(r.criterion_id, r.maturity) for r in rows] == [("ETH-01", 2)]
    answered = events(session, "ethics.answer")
    assert len(answered) == 2 and all(e.device_id == device.id for e in answered)
    second = json.loads(answered[1].payload)
    assert second["before"]["maturity"] == 1 and second["after"]["maturity"] == 2
    assert second["after"]["evidence"] == [{"kind": "link", "ref": "https://example.org/needs.pdf"}]
    assert audit.verify(session).ok


@pytest.mark.parametrize("cid, data, words", [
    ("ETH-99", {"maturity": 1}, "not in ethics grid version 3"),
    ("ETH-01", {"maturity": 2, "evidence": [{"kind": "link", "ref": "ftp://x"}]}, "http(s) URL"),
    ("ETH-01", {"maturity": 2, "evidence": [{"kind": "artifact", "ref": "999999"}]},
     "not one of your organisation's uploads"),
    ("ETH-01", {"maturity": 2, "evidence": [{"kind": "kpi", "ref": "abc"}]}, "numeric id"),
    ("ETH-01", {"maturity": 2, "evidence": [{"kind": "model_version", "ref": "999999"}]},
     "no model version 999999"),
])
def test_bad_answers_are_refused_and_leave_nothing(session, maker, device, cid, data, words):
    with pytest.raises(InvalidInputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        with session.begin_nested():
            ethics.save_answer(session, maker, device.code, cid, AnswerIn(**data))
    assert session.exec(select(EthicsAssessment)).all() == []


def test_answer_schema_refuses_contradictions():
    with pytest.raises(ValueError, match="must not carry a maturity"):
        AnswerIn(maturity=1, not_applicable=True, justification="x")
    with pytest.raises(ValueError, match="needs a justification"):
        AnswerIn(not_applicable=True)
    with pytest.raises(ValueError, match="give a maturity"):
        AnswerIn(explanation="forgot the level")


def test_evidence_links_to_the_device_own_records(session, maker, device):
    version = devices.candidate_version(session, device)
    row = answer(session, maker, device, "ETH-18", 2,
                 evidence=[{"kind": "model_version", "ref": str(version.id)}])
    assert row.evidence == [{"kind": "model_version", "ref": str(version.id)}]
    other = factories.DeviceFactory()
    foreign = devices.candidate_version(session, other)
    with pytest.raises(InvalidInputError, match=f"no model version {foreign.id} on device"):
        answer(session, maker, device, "ETH-18", 2,
               evidence=[{"kind": "model_version", "ref": str(foreign.id)}])


def test_submission_freezes_a_hashed_snapshot_and_new_answers_open_a_new_draft(
        session, maker, device):
    answer(session, maker, device, "ETH-01", 3, explanation="done",
           evidence=[{"kind": "link", "ref": "https://example.org/a"}])
    answer(session, maker, device, "ETH-09", None, not_applicable=True,
           justification="no personal data")
    first = ethics.submit_assessment(session, maker, device.code)
    assert first.status == "submitted" and ethics.check_snapshot(first)
    assert set(first.snapshot["answers"]) == {"ETH-01", "ETH-09"}
    assert first.snapshot["grid_fingerprint"] == ethics.get_grid().fingerprint
    submitted = events(session, "ethics.submit")
    assert json.loads(submitted[-1].payload)["snapshot_sha256"] == first.snapshot_sha256
    with pytest.raises(ConflictError, match="no draft"):
        ethics.submit_assessment(session, maker, device.code)
    # A later answer opens draft 2 from the submitted answers; number 1 stays as it was.
    answer(session, maker, device, "ETH-01", 1, explanation="committee reorganised")
    second = ethics.draft_of(session, device)
    assert second.number == 2 and second.previous_id == first.id
    answers = ethics.answers_of(session, second)
    assert answers["ETH-01"].maturity == 1 and answers["ETH-09"].not_applicable
    assert ethics.answers_of(session, first)["ETH-01"].maturity == 3
    assert ethics.check_snapshot(first)


def test_tampered_snapshot_is_detected(session, maker, device):
    answer(session, maker, device, "ETH-01", 2,
           evidence=[{"kind": "link", "ref": "https://example.org/a"}])
    row = ethics.submit_assessment(session, maker, device.code)
    row.snapshot = {**row.snapshot, "answers": {"ETH-01": {**row.snapshot["answers"]["ETH-01"],
                                                           "maturity": 3}}}
    assert not ethics.check_snapshot(row)


def test_review_needs_a_grant_a_submission_and_a_comment_to_disagree(
        session, maker, device, reviewer):
    answer(session, maker, device, "ETH-01", 3)
    with pytest.raises(ConflictError, match="no submitted"):
        ethics.review_criterion(session, reviewer, device.code, "ETH-01",
                                ReviewIn(verdict="agree"))
    ethics.submit_assessment(session, maker, device.code)
    with pytest.raises(InvalidInputError, match="a disagreement needs a comment"):
        ethics.review_criterion(session, reviewer, device.code, "ETH-01",
                                ReviewIn(verdict="disagree", maturity=1))
    with pytest.raises(InvalidInputError, match="no self-assessment answer to review"):
        ethics.review_criterion(session, reviewer, device.code, "ETH-02",
                                ReviewIn(verdict="agree"))
    with pytest.raises(InvalidInputError, match="keeps the self-assessed maturity"):
        ethics.review_criterion(session, reviewer, device.code, "ETH-01",
                                ReviewIn(verdict="agree", maturity=2))
    row = ethics.review_criterion(session, reviewer, device.code, "ETH-01", ReviewIn(
        verdict="disagree", comment="no dated minutes", maturity=1))
    assert (row.verdict, row.maturity, row.organisation_id) == ("disagree", 1,
                                                               reviewer.organisation_id)
    payload = json.loads(events(session, "ethics.review")[-1].payload)
    assert payload["after"]["comment"] == "no dated minutes" and payload["before"] is None
    # A reviewer who sees the device because it is published, without a grant, may not review.
    device.is_published = True
    outsider = factories.actor_for(Role.reviewer)
    with pytest.raises(PermissionDeniedError, match="no review grant"):
        ethics.review_criterion(session, outsider, device.code, "ETH-01",
                                ReviewIn(verdict="agree"))


def test_draft_is_hidden_from_everyone_but_its_manufacturer(session, maker, device, reviewer):
    answer(session, maker, device, "ETH-01", 2,
           evidence=[{"kind": "link", "ref": "https://example.org/a"}])
    assert ethics.device_ethics(session, maker, device.code)["draft"]["number"] == 1
    seen = ethics.device_ethics(session, reviewer, device.code)
    assert seen["draft"] is None and seen["submitted"] is None
    with pytest.raises(NotFoundError):
        ethics.device_ethics(session, factories.actor_for(Role.reviewer), device.code)


def test_scores_use_the_reviewer_value(session, maker, device, reviewer):
    for cid, level in (("ETH-01", 3), ("ETH-02", 2), ("ETH-03", 1)):
        answer(session, maker, device, cid, level,
               evidence=[{"kind": "link", "ref": "https://example.org/e"}])
    ethics.submit_assessment(session, maker, device.code)
    ethics.review_criterion(session, reviewer, device.code, "ETH-01", ReviewIn(
        verdict="disagree", comment="partial", maturity=2))
    scores = ethics.device_ethics(session, reviewer, device.code)["scores"]
    framing = next(g for g in scores["by_stage"] if g["key"] == "FRAMING")
    # Independent arithmetic: (2 + 2 + 1) / (3 * 7 FRAMING criteria).
    assert framing["pct"] == pytest.approx(5 / 21)
    assert list(scores["missing"]["not_reviewed"]) == ["ETH-02", "ETH-03"]


def _to_stage(session, device, stage):
    device.stage = stage
    session.add(device)


def test_leaving_a_stage_lists_its_unanswered_criteria(session, maker, device):
    _to_stage(session, device, Stage.S2_DATA)
    unmet = {u.id: u.detail for u in devices.gate_status(session, maker, device.code)}
    assert unmet["G2.E"] == ("answer the ethics criteria of S2_DATA: ETH-08, ETH-09, ETH-10, "
                             "ETH-11, ETH-12, ETH-13")
    factories.answer_ethics(session, maker, device, "S2_DATA")
    answer(session, maker, device, "ETH-09", None, not_applicable=True, justification="none")
    assert "G2.E" not in {u.id for u in devices.gate_status(session, maker, device.code)}


def test_g1_8_needs_the_framing_answered_and_the_committee_named(session, maker, device):
    factories.answer_ethics(session, maker, device, "S1_NEEDS")
    answer(session, maker, device, "ETH-02", 0)
    unmet = {u.id: u.detail for u in devices.gate_status(session, maker, device.code)}
    assert "ETH-02 is at maturity 0" in unmet["G1.8"]
    answer(session, maker, device, "ETH-02", 1)
    assert "G1.8" not in {u.id for u in devices.gate_status(session, maker, device.code)}


def test_g5_8_needs_a_full_reviewed_assessment_with_blocking_criteria_at_2(
        session, maker, device, reviewer):
    _to_stage(session, device, Stage.S5_REGULATORY)

    def g58():
        return {u.id: u.detail for u in devices.gate_status(session, maker, device.code)}.get(
            "G5.8")

    assert "submit the ethics self-assessment" in g58()
    factories.answer_ethics(session, maker, device, maturity=2)
    answer(session, maker, device, "ETH-08", 1)  # blocking, too low
    ethics.submit_assessment(session, maker, device.code)
    grid = ethics.get_grid()
    detail = g58()
    assert detail.startswith("self-assessment 1: a reviewer must review ETH-01, ")
    assert detail.endswith("blocking criteria below maturity 2: ETH-08")
    for criterion in grid.criteria:
        ethics.review_criterion(session, reviewer, device.code, criterion.id,
                                ReviewIn(verdict="agree"))
    assert g58() == "self-assessment 1: blocking criteria below maturity 2: ETH-08"
    # The reviewer's maturity counts: lowering a blocking criterion below 2 blocks too.
    ethics.review_criterion(session, reviewer, device.code, "ETH-08", ReviewIn(
        verdict="disagree", comment="DPIA signed after the fact", maturity=2))
    ethics.review_criterion(session, reviewer, device.code, "ETH-11", ReviewIn(
        verdict="disagree", comment="no subgroup counts", maturity=1))
    assert g58() == "self-assessment 1: blocking criteria below maturity 2: ETH-11"
    ethics.review_criterion(session, reviewer, device.code, "ETH-11", ReviewIn(
        verdict="agree"))
    assert g58() is None
    # Cross-check against the library on the snapshot.
    submitted = ethics.submitted_of(session, device)
    score = score_assessment(grid, ethics.answers_of(session, submitted),
                             ethics.reviews_of(session, submitted))
    assert score.missing.unanswered == () and score.missing.not_reviewed == ()


def test_advance_is_refused_with_the_missing_ids(session, maker, device):
    _to_stage(session, device, Stage.S3_MODEL)
    with pytest.raises(GateNotMetError) as refused:
        devices.advance_stage(session, maker, device.code, TransitionIn(to_stage="S4_VALIDATION"))
    g3e = next(u for u in refused.value.unmet if u["id"] == "G3.E")
    assert "ETH-14, ETH-15, ETH-16, ETH-17, ETH-18, ETH-19, ETH-20" in g3e["detail"]


def test_carry_over_to_a_new_grid_version_lists_what_to_answer_again(
        session, maker, device, monkeypatch):
    from pathlib import Path

    from ethics_grid import parse_grid_yaml

    answer(session, maker, device, "ETH-01", 3,
           evidence=[{"kind": "link", "ref": "https://example.org/a"}])
    answer(session, maker, device, "ETH-02", 2,
           evidence=[{"kind": "link", "ref": "https://example.org/b"}])
    ethics.submit_assessment(session, maker, device.code)
    v4 = parse_grid_yaml((Path(__file__).parents[1] / "ethics_grid" / "data" /
                          "grid_v4_example.yaml").read_text())
    real = ethics.get_grid
    monkeypatch.setattr(ethics, "get_grid", lambda version=ethics.CURRENT_GRID_VERSION:
                        v4 if version == "4" else real(version))
    monkeypatch.setattr(ethics, "CURRENT_GRID_VERSION", "4")
    answer(session, maker, device, "E4-06", 1)
    draft = ethics.draft_of(session, device)
    assert draft.grid_version == "4" and draft.number == 2
    assert set(ethics.answers_of(session, draft)) == {"E4-01", "E4-06"}
    assert [(r["criterion_id"], r["reason_code"]) for r in draft.to_reanswer] == [
        ("E4-02", "changed"), ("E4-03", "not_answered"), ("E4-04", "merged"),
        ("E4-05", "not_answered"), ("E4-06", "new"), ("E4-07", "not_answered")]
    opened = json.loads(events(session, "ethics.draft.open")[-1].payload)
    assert opened["carried_from"] == "3" and opened["started_from"] == 1


def test_cli_export_json_and_csv(session, maker, device, reviewer, monkeypatch):
    answer(session, maker, device, "ETH-01", 2, explanation="needs, written",
           evidence=[{"kind": "link", "ref": "https://example.org/a"}])
    answer(session, maker, device, "ETH-03", 1, explanation='=HYPERLINK("http://x.example")')
    ethics.submit_assessment(session, maker, device.code)
    ethics.review_criterion(session, reviewer, device.code, "ETH-01", ReviewIn(
        verdict="disagree", comment="partial", maturity=1))
    session.flush()
    header, rows = ethics.export_rows(session, device)
    assert header["status"] == "submitted" and len(rows) == 44
    assert rows[0]["self_maturity"] == 2 and rows[0]["effective_maturity"] == 1

    from registry.commands import ethics as command

    class FakeDatabase:  # the CLI's unit of work is the test's savepointed session
        def unit_of_work(self):
            import contextlib

            return contextlib.nullcontext(session)

    monkeypatch.setattr("registry.commands.runtime", lambda: (None, FakeDatabase()))
    runner = CliRunner()
    result = runner.invoke(command.ethics, ["export", device.code, "--format", "csv"])
    assert result.exit_code == 0, result.output
    parsed = list(csv.DictReader(io.StringIO(result.output)))
    assert len(parsed) == 44 and parsed[0]["review_comment"] == "partial"
    assert parsed[0]["explanation"] == "needs, written"
    # A spreadsheet opening the export must not run an answer as a formula.
    eth03 = next(r for r in parsed if r["criterion_id"] == "ETH-03")
    assert eth03["explanation"] == "'=HYPERLINK(\"http://x.example\")"
    result = runner.invoke(command.ethics, ["export", device.code])
    document = json.loads(result.output)
    assert document["snapshot_sha256"] == header["snapshot_sha256"]
    assert document["criteria"][0]["review_maturity"] == 1
    result = runner.invoke(command.ethics, ["export", "NOPE"])
    assert result.exit_code == 1 and "no device with code 'NOPE'" in result.output


def test_reviewer_of_a_notified_body_may_review_too(session, maker, device):
    body = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
    actor = factories.actor_for(Role.reviewer, body.id)
    factories.grant(session, device, body.id)
    answer(session, maker, device, "ETH-01", 1)
    ethics.submit_assessment(session, maker, device.code)
    assert ethics.review_criterion(session, actor, device.code, "ETH-01",
                                   ReviewIn(verdict="agree")).verdict == "agree"


def _evaluation(session, device, results):
    from registry.models.evaluations import Evaluation

    version = devices.candidate_version(session, device)
    row = Evaluation(device_id=device.id, model_version_id=version.id, dataset_kind="external",
                     sha256="0" * 64, created_by=factories.UserFactory().id, results=results,
                     status="done")
    session.add(row)
    session.flush()
    return row


def test_evidence_links_to_an_evaluation_subgroup_analysis_or_calibration(
        session, maker, device):
    full = _evaluation(session, device, {"subgroups": [{"column": "sex", "levels": []}],
                                         "calibration": {"slope": 0.98}})
    bare = _evaluation(session, device, {"n": 120})
    row = answer(session, maker, device, "ETH-28", 2, evidence=[
        {"kind": "subgroup_analysis", "ref": str(full.id)},
        {"kind": "calibration", "ref": str(full.id)}])
    assert [e["kind"] for e in row.evidence] == ["subgroup_analysis", "calibration"]
    with pytest.raises(InvalidInputError, match=f"evaluation {bare.id} has no subgroups result"):
        answer(session, maker, device, "ETH-28", 2,
               evidence=[{"kind": "subgroup_analysis", "ref": str(bare.id)}])
    elsewhere = _evaluation(session, factories.DeviceFactory(), {"subgroups": [{}]})
    with pytest.raises(InvalidInputError, match=f"no evaluation {elsewhere.id} on device"):
        answer(session, maker, device, "ETH-27", 2,
               evidence=[{"kind": "evaluation", "ref": str(elsewhere.id)}])
