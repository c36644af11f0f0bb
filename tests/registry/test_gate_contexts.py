"""Gate contexts read for many devices at once (#11, the dashboards) say what the one-device path
says, and what a slow per-device recomputation says, for every gate item: on hand-made devices
with the awkward cases, and on the demo registry, whose devices went through every gate."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from registry import demo, lifecycle, storage
from registry.auth import Actor
from registry.models import (
    Adaptivity,
    ChangeControlPlan,
    ChangeType,
    DatasetKind,
    Deployment,
    Device,
    Evidence,
    ModelVersion,
    OrganisationKind,
    Regulation,
    Role,
    Stage,
    Task,
    utcnow,
)
from registry.models.evaluations import Evaluation, EvaluationStatus
from registry.models.monitoring import MonitoringConfig
from registry.models.reviews import Opinion
from registry.schemas.ethics import AnswerIn
from registry.schemas.reviews import OpinionIn, ScoreIn, SubmissionIn
from registry.services import devices, ethics, reviews
from tests import factories


def _version(session, device, version, change_type, parent=None, card=None) -> ModelVersion:
    row = ModelVersion(device_id=device.id, version=version, change_type=change_type,
                       parent_id=parent.id if parent else None, model_card=card or {})
    session.add(row)
    session.flush()
    return row


def _evidence(session, maker, device, item, version=None, kind="document") -> None:
    session.add(Evidence(device_id=device.id, model_version_id=version.id if version else None,
                         gate_item=item, kind=kind, note=f"{kind} for {item}",
                         created_by=maker.user_id))


def _evaluation(session, maker, device, version, kind, **results) -> None:
    kpi = devices.kpis_of(session, device)[0]
    session.add(Evaluation(
        device_id=device.id, model_version_id=version.id, dataset_kind=DatasetKind(kind),
        status=EvaluationStatus.done, sha256="0" * 64, created_by=maker.user_id,
        results={"n": 400, "level": 0.95, **results},
        kpi_verdicts=[{"kpi_id": kpi.id, "verdict": "met", "point_estimate_meets": True}]))


def _deploy(session, maker, device, version, hospital, monitored=False) -> None:
    row = Deployment(device_id=device.id, model_version_id=version.id, hospital_id=hospital.id,
                     site="main site", go_live_at=utcnow(), status="live")
    session.add(row)
    session.flush()
    if monitored:
        session.add(MonitoringConfig(deployment_id=row.id, created_by=maker.user_id))


def _decide(session, maker, reviewer, device, **decision) -> Opinion:
    """A notified body's signed decision on the device's candidate version, through the
    review service (``amends_id`` in ``decision`` amends an earlier one)."""
    submission = reviews.submit(session, maker, device.code, SubmissionIn(
        reviewer_organisation_id=reviewer.organisation_id))
    for domain in reviews.applicable_domains(device):
        reviews.score_domain(session, reviewer, submission.id, ScoreIn(
            domain=domain.code, score="3", justification="justified by the dossier"))
    return reviews.sign_opinion(session, reviewer, submission.id, OpinionIn(**{
        "decision": "granted", "certificate_number": "NB-1", "password": factories.PASSWORD,
        "rationale": "conformity of the technical documentation established", **decision}))


def hand_made(session) -> list[Device]:
    """Devices with what the batch could get wrong: no version, evidence, waivers, deployments
    and evaluations on versions that do or do not count for the candidate, unknown gate items,
    a change-control plan, ethics drafts and submissions."""
    user = factories.UserFactory(role=Role.manufacturer)
    maker = Actor.from_user(user)
    hospital = factories.OrganisationFactory(kind=OrganisationKind.hospital)
    notified_body = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
    reviewer = factories.actor_for(Role.reviewer, notified_body.id)

    def make(**fields) -> Device:
        return factories.DeviceFactory(manufacturer_id=maker.organisation_id, **fields)

    # No KPI, subgroup or version; an incomplete record; adaptive without envelope or plan.
    bare = make(scoping=False, intended_users="", risk_class="",
                adaptivity=Adaptivity.adaptive, stage=Stage.S2_DATA)
    _evidence(session, maker, bare, "G1.2")  # device item: counts
    _evidence(session, maker, bare, "G1.3", kind="waiver")  # device item: counts
    _evidence(session, maker, bare, "G2.1")  # version item without a version: does not count
    _evidence(session, maker, bare, "G3.2", kind="waiver")  # idem
    _evidence(session, maker, bare, "G9.9")  # not a gate item

    # Changes without re-validation: what concerns the first version counts for the third.
    chain = make(stage=Stage.S6_DEPLOYMENT, task=Task.regression)
    first = devices.candidate_version(session, chain)
    _decide(session, maker, reviewer, chain)
    second = _version(session, chain, "1.1", ChangeType.none_model, first)
    _version(session, chain, "1.2", ChangeType.none_model, second)
    _evidence(session, maker, chain, "G2.1", first)
    _evidence(session, maker, chain, "G6.2", first, kind="waiver")
    _evaluation(session, maker, chain, first, "internal")
    _deploy(session, maker, chain, first, hospital, monitored=True)

    # A retrained architecture: nothing of the first version counts any more.
    retrained = make(stage=Stage.S4_VALIDATION)
    old = devices.candidate_version(session, retrained)
    _decide(session, maker, reviewer, retrained)
    new = _version(session, retrained, "2.0", ChangeType.architecture, old,
                   card=old.model_card)
    for item in ("G2.1", "G4.5"):
        _evidence(session, maker, retrained, item, old)
    _evidence(session, maker, retrained, "G4.6", old, kind="waiver")
    _evidence(session, maker, retrained, "G4.7", new, kind="waiver")
    _evaluation(session, maker, retrained, old, "external", calibration={"slope": 1.0})
    _evaluation(session, maker, retrained, new, "internal", level=0.9)
    _deploy(session, maker, retrained, old, hospital, monitored=True)

    # Adaptive with its plan, its S1 ethics criteria answered in a draft.
    planned = make(adaptivity=Adaptivity.adaptive, change_envelope="recalibration only")
    session.add(ChangeControlPlan(device_id=planned.id, authority="EU-AIA-43(4)"))
    factories.answer_ethics(session, maker, planned, "S1_NEEDS")
    # Granted, then amended: refused. Only the amendment counts.
    granted = _decide(session, maker, reviewer, planned)
    reviews.sign_opinion(session, reviewer, granted.submission_id, OpinionIn(
        decision="refused", amends_id=granted.id, password=factories.PASSWORD,
        rationale="post-market data show an unmitigated hazard"))

    # A submitted assessment (not reviewed) and a newer draft with one answer changed.
    resubmitted = make(stage=Stage.S5_REGULATORY, regulation=Regulation.none,
                       risk_class="not_a_device")
    factories.answer_ethics(session, maker, resubmitted, maturity=2)
    ethics.submit_assessment(session, maker, resubmitted.code)
    ethics.save_answer(session, maker, resubmitted.code, "ETH-02",
                       AnswerIn(maturity=0, explanation="committee to be named again"))
    session.flush()
    return [bare, chain, retrained, planned, resubmitted]


def _reference(session, device: Device) -> dict:
    """What the gate context of ``device`` holds, recomputed row by row with a query each."""
    candidate = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)
                             .order_by(ModelVersion.id.desc())).first()
    accepted, version = set(), candidate
    while version is not None:
        accepted.add(version.id)
        follow = version.change_type == ChangeType.none_model and version.parent_id
        version = session.get(ModelVersion, version.parent_id) if follow else None
    documents, waivers = set(), set()
    for ev in session.exec(select(Evidence).where(Evidence.device_id == device.id)):
        item = lifecycle.ITEMS_BY_ID.get(ev.gate_item)
        if item and (item.scope == "device" or ev.model_version_id in accepted):
            (waivers if ev.kind == "waiver" else documents).add(ev.gate_item)
    deployments = session.exec(select(Deployment.id).where(
        Deployment.device_id == device.id, Deployment.model_version_id.in_(accepted or {-1}))
    ).all()
    opinions = session.exec(select(Opinion).where(
        Opinion.device_id == device.id, Opinion.model_version_id.in_(accepted or {-1}))).all()
    newest, submitted = ethics.newest_of(session, device), ethics.submitted_of(session, device)
    reviews = ethics.reviews_of(session, newest) if newest and newest is submitted else {}
    return {
        "version": candidate.id if candidate else None,
        "documents": documents,
        "waivers": waivers,
        "deployments": sorted(deployments),
        "plan": session.exec(select(ChangeControlPlan).where(
            ChangeControlPlan.device_id == device.id)).first() is not None,
        "evaluations": sorted(session.exec(select(Evaluation.id).where(
            Evaluation.model_version_id.in_(accepted or {-1}),
            Evaluation.status == EvaluationStatus.done)).all()),
        "opinions": sorted(o.id for o in opinions if o.id not in {p.amends_id for p in opinions}),
        "monitored": sorted(session.exec(select(Deployment.id).join(
            MonitoringConfig, MonitoringConfig.deployment_id == Deployment.id).where(
            Deployment.device_id == device.id, Deployment.model_version_id.in_(accepted or {-1}))
        ).all()),
        "assessment": newest.number if newest else None,
        "submitted": submitted.number if submitted else None,
        "missing": ethics.missing_by_stage(
            ethics.get_grid(newest.grid_version), ethics.answers_of(session, newest), reviews
        ) if newest else None,
    }


def _as_reference(ctx: lifecycle.GateContext) -> dict:
    facts = ctx.facts
    return {
        "version": ctx.version["id"] if ctx.version else None,
        "documents": set(ctx.documents),
        "waivers": set(ctx.waivers),
        "deployments": sorted(d["id"] for d in ctx.deployments),
        "plan": ctx.has_change_control_plan,
        "evaluations": [e["id"] for e in facts["evaluations"]["evaluations"]],
        "opinions": [o["id"] for o in facts["reviews"]["opinions"]],
        "monitored": facts["monitoring"]["configured_deployments"],
        "assessment": facts["ethics"]["assessment"],
        "submitted": (facts["ethics"]["submitted"] or {}).get("number"),
        "missing": facts["ethics"]["missing"] if facts["ethics"]["assessment"] else None,
    }


def unmet_everywhere(ctx: lifecycle.GateContext) -> dict[Stage, list[lifecycle.Unmet]]:
    """The unmet items of every gate, not only the current one (every item gets evaluated)."""
    return {stage: lifecycle.unmet_requirements(stage, ctx) for stage in Stage}


def check_batch(session, found: list[Device]) -> dict[int, lifecycle.GateContext]:
    batch = devices.gate_contexts(session, found)
    assert set(batch) == {d.id for d in found}
    for device in found:
        ctx = batch[device.id]
        one = devices.gate_context(session, device)
        assert ctx == one, device.code
        assert unmet_everywhere(ctx) == unmet_everywhere(one), device.code
        assert _as_reference(ctx) == _reference(session, device), device.code
    return batch


def test_batch_matches_one_device_at_a_time_and_a_recomputation(session, monkeypatch):
    found = hand_made(session)
    batch = check_batch(session, found)
    # The awkward cases are really there (the comparison above would pass on empty contexts).
    bare, chain, retrained, planned, resubmitted = (batch[d.id] for d in found)
    assert (bare.version, bare.documents, bare.waivers) == (None, {"G1.2"}, {"G1.3"})
    assert len(chain.facts["evaluations"]["evaluations"]) == 1 and chain.deployments
    assert chain.facts["reviews"]["favourable_notified_body"]
    assert not retrained.facts["reviews"]["opinions"]
    assert [o["favourable"] for o in planned.facts["reviews"]["opinions"]] == [False]
    assert chain.documents == {"G2.1"} and chain.waivers == {"G6.2"}
    assert chain.facts["monitoring"]["configured_deployments"]
    assert retrained.documents == set() and retrained.waivers == {"G4.7"}
    assert not retrained.deployments and not retrained.facts["monitoring"][
        "configured_deployments"]
    assert [e["dataset_kind"] for e in retrained.facts["evaluations"]["evaluations"]] == [
        "internal"]
    assert planned.has_change_control_plan and not bare.has_change_control_plan
    assert planned.facts["ethics"]["missing"]["S1_NEEDS"] == []
    assert resubmitted.facts["ethics"]["assessment"] == 2
    assert resubmitted.facts["ethics"]["submitted"]["number"] == 1
    assert resubmitted.facts["ethics"]["committee_maturity"] == 0
    # IN-lists split over several statements give the same contexts, in any device order.
    monkeypatch.setattr(devices, "IN_LIST_SIZE", 2)
    assert devices.gate_contexts(session, found[::-1]) == batch
    assert devices.gate_context(session, found[1]) == batch[found[1].id]


def test_no_devices_no_statements(session, connection):
    statements = []
    event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert devices.gate_contexts(session, []) == {}
    assert statements == []


@pytest.mark.slow
def test_batch_matches_on_the_demo_registry_for_every_gate_item(session, tmp_path, monkeypatch):
    # The demo's validation files are larger than the tests' 64 KiB upload limit.
    monkeypatch.setattr(storage, "_current", storage.ArtifactStore(tmp_path, 200 * 1024 * 1024))
    demo.seed(session)
    found = list(session.exec(select(Device).order_by(Device.id))) + hand_made(session)
    batch = check_batch(session, found)
    # Every gate item is met (not waived) on some device and unmet on another, so the
    # comparison above covered each check and each document.
    met, unmet = set(), set()
    for ctx in batch.values():
        for item in lifecycle.GATE_ITEMS:
            if not item.applies(ctx) or item.id in ctx.waivers:
                continue
            (unmet if item.evaluate(ctx) else met).add(item.id)
    every = {item.id for item in lifecycle.GATE_ITEMS}
    assert (every - met, every - unmet) == (set(), set())
