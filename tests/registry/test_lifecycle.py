"""Every gate item, forward and backward moves, and re-entry of new model versions."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from registry import lifecycle
from registry.errors import ConflictError, GateNotMetError, InvalidInputError
from registry.lifecycle import GATE_ITEMS, GateContext, unmet_requirements
from registry.models import Adaptivity, OrganisationKind, Role, Stage, StageTransition
from registry.schemas import (
    ChangeControlPlanIn,
    DeploymentIn,
    DeviceUpdate,
    EvidenceIn,
    ModelVersionIn,
    TransitionIn,
    WaiverIn,
)
from registry.services import artifacts, devices
from tests import factories

COMPLETE_DEVICE = {
    "intended_purpose": "p", "medical_indication": "m", "target_population": "t",
    "intended_users": "u", "use_environment": "e", "output_role": "drive",
    "contraindications": "none known", "regulation": "MDR", "risk_class": "IIb",
    "classification_rule": "Rule 11", "ai_act_category": "high_risk_art6_1",
    "ai_act_reasoning": "Art. 6(1)", "classification_final": True, "adaptivity": "locked",
    "task": "binary", "actor_srn": "FR-MF-1", "basic_udi_di": "B", "udi_di": "U",
    "emdn_code": "Z", "certificate_numbers": ["NB-1"],
}
CARD = {"algorithm": "a", "inputs": "i", "outputs": "o", "decision_threshold": "t",
        "dependencies": "d"}
# Evaluations facts (registry/services/evaluations.py gate_facts): internal and external
# evaluations, the primary KPI met, the declared subgroup within its gap, calibration computed.
EVALUATIONS_DONE = {"evaluations": [
    {"id": 1, "model_version_id": 1, "dataset_kind": "internal", "n": 500, "level": 0.95,
     "kpi_verdicts": [], "subgroup_gaps": {}, "calibrated": True},
    {"id": 2, "model_version_id": 1, "dataset_kind": "external", "n": 900, "level": 0.95,
     "kpi_verdicts": [{"kpi_id": 7, "verdict": "met", "point_estimate_meets": True}],
     "subgroup_gaps": {"sex": {"auc": 0.01}}, "calibrated": True},
]}
INTERNAL, EXTERNAL = EVALUATIONS_DONE["evaluations"]


def _only(*evaluations: dict) -> dict:
    return {"evaluations": {"evaluations": list(evaluations)}}


# Ethics facts (registry/services/ethics.py gate_facts) of a fully answered, reviewed grid.
ETHICS_DONE = {"grid_version": "3", "assessment": 1, "missing": {s.value: [] for s in Stage},
               "committee_criterion": "ETH-02", "committee_maturity": 2,
               "submitted": {"number": 1, "unanswered": [], "not_reviewed": [],
                             "blocking_below": []}}

# Reviews facts (registry/services/reviews.py gate_facts): a favourable notified-body decision.
REVIEWS_DONE = {"opinions": [], "favourable_notified_body": True, "favourable_hta": False}

# Monitoring facts (registry/services/monitoring.py gate_facts): one configured deployment.
MONITORING_DONE = {"configured_deployments": [1]}


def full_context(**overrides) -> GateContext:
    """A context that satisfies every gate item; tests remove one thing at a time."""
    evaluations = overrides.pop("evaluations", EVALUATIONS_DONE)
    values = dict(
        device=dict(COMPLETE_DEVICE),
        kpis=({"id": 7, "metric": "auc", "comparator": ">=", "threshold": 0.9,
               "dataset_kind": "external", "is_primary": True},),
        subgroups=({"variable": "sex", "gap_metric": "auc", "max_gap": 0.05},),
        version={"version": "1", "model_card": dict(CARD)},
        documents=frozenset(i.id for i in GATE_ITEMS),
        deployments=({"go_live_at": "2026-01-01"},),
        has_change_control_plan=True,
        facts={"ethics": ETHICS_DONE, "reviews": REVIEWS_DONE, "monitoring": MONITORING_DONE},
    )
    values.update(overrides)
    values["facts"] = {**values.get("facts", {}), "evaluations": evaluations}
    return GateContext(**values)


@pytest.mark.parametrize("stage", [s for s in Stage if s is not Stage.S7_POSTMARKET])
def test_gate_passes_when_everything_is_there(stage):
    assert unmet_requirements(stage, full_context()) == []


DOCUMENT_ITEMS = [i for i in GATE_ITEMS if i.check is None]


@pytest.mark.parametrize("item", DOCUMENT_ITEMS, ids=lambda i: i.id)
def test_missing_document_is_listed_by_id(item):
    ctx = full_context(documents=frozenset(i.id for i in GATE_ITEMS) - {item.id})
    unmet = unmet_requirements(item.stage, ctx)
    assert [u.id for u in unmet] == [item.id]
    assert "attach" in unmet[0].detail


@pytest.mark.parametrize("item", DOCUMENT_ITEMS, ids=lambda i: i.id)
def test_waiver_satisfies_a_document_item(item):
    ctx = full_context(documents=frozenset(i.id for i in GATE_ITEMS) - {item.id},
                       waivers=frozenset({item.id}))
    assert unmet_requirements(item.stage, ctx) == []


RECORD_CASES = [
    ("G1.1", {"device": {**COMPLETE_DEVICE, "intended_users": ""}}, "intended users"),
    ("G1.1", {"device": {**COMPLETE_DEVICE, "contraindications": ""}}, "contra-indications"),
    ("G1.4", {"kpis": ({"is_primary": False},)}, "primary KPI"),
    ("G1.4", {"kpis": ()}, "primary KPI"),
    ("G1.5", {"subgroups": ()}, "subgroup variables"),
    ("G1.5", {"subgroups": ({"variable": "sex", "max_gap": None},)}, "sex"),
    ("G1.6", {"device": {**COMPLETE_DEVICE, "risk_class": ""}}, "risk class"),
    ("G1.7", {"device": {**COMPLETE_DEVICE, "adaptivity": "adaptive"}}, "change envelope"),
    ("G3.1", {"version": {"version": "1", "model_card": {**CARD, "inputs": ""}}}, "inputs"),
    ("G3.1", {"version": None}, "register a model version"),
    ("G5.1", {"device": {**COMPLETE_DEVICE, "classification_final": False}}, "final"),
    ("G5.1", {"device": {**COMPLETE_DEVICE, "ai_act_reasoning": ""}}, "Art. 6"),
    ("G5.2", {"device": {**COMPLETE_DEVICE, "certificate_numbers": []}}, "certificate"),
    ("G5.2", {"documents": frozenset(i.id for i in GATE_ITEMS) - {"G5.2"}}, "declaration"),
    ("G5.2", {"facts": {"ethics": ETHICS_DONE}}, "favourable notified-body decision"),
    ("G5.2", {"facts": {"ethics": ETHICS_DONE, "reviews": {**REVIEWS_DONE,
              "favourable_notified_body": False, "favourable_hta": True}}},
     "favourable notified-body decision"),
    ("G5.2", {"device": {**COMPLETE_DEVICE, "risk_class": "I"},
              "facts": {"ethics": ETHICS_DONE, "reviews": {**REVIEWS_DONE,
                                                          "favourable_notified_body": False}}},
     "notified body or HTA opinion"),
    ("G5.9", {"device": {**COMPLETE_DEVICE, "adaptivity": "adaptive", "change_envelope": "x"},
              "has_change_control_plan": False}, "change control plan"),
    ("G5.10", {"device": {**COMPLETE_DEVICE, "udi_di": ""}}, "UDI-DI"),
    ("G6.1", {"deployments": ()}, "deployment"),
    ("G6.1", {"deployments": ({"go_live_at": None},)}, "go-live"),
    ("G3.3", _only(EXTERNAL), "dataset kind 'internal'"),
    ("G4.1", {"kpis": ({"id": 7, "metric": "auc", "comparator": ">=", "threshold": 0.9,
                        "dataset_kind": "internal", "is_primary": True},),
              **_only({**EXTERNAL, "dataset_kind": "internal"})}, "independent data"),
    ("G4.2", _only({**EXTERNAL, "kpi_verdicts": [
        {"kpi_id": 7, "verdict": "inconclusive", "point_estimate_meets": True}]}),
     "not met with confidence"),
    ("G4.2", _only({**EXTERNAL, "kpi_verdicts": [
        {"kpi_id": 7, "verdict": "inconclusive", "point_estimate_meets": True}]}),
     "or the cases are fewer than the minimum to conclude"),
    ("G4.2", _only({**EXTERNAL, "kpi_verdicts": []}), "not evaluated on external data"),
    ("G4.3", _only({**EXTERNAL, "subgroup_gaps": {}}), "'sex'"),
    ("G4.3", _only({**EXTERNAL, "subgroup_gaps": {"sex": {"auc": 0.08}}}),
     "exceeds the declared maximum"),
    ("G4.4", _only({**EXTERNAL, "calibrated": False}), "no calibration"),
    ("G1.8", {"facts": {"ethics": {**ETHICS_DONE, "missing": {"S1_NEEDS": ["ETH-03"]}}}},
     "ETH-03"),
    ("G1.8", {"facts": {"ethics": {**ETHICS_DONE, "committee_maturity": 0}}}, "committee"),
    ("G2.E", {"facts": {"ethics": {**ETHICS_DONE, "missing": {"S2_DATA": ["ETH-08"]}}}},
     "ETH-08"),
    ("G3.E", {"facts": {}}, "start the device's ethics self-assessment"),
    ("G4.E", {"facts": {"ethics": {**ETHICS_DONE, "missing": {"S4_VALIDATION": ["ETH-28"]}}}},
     "ETH-28"),
    ("G6.E", {"facts": {"ethics": {**ETHICS_DONE, "missing": {"S6_DEPLOYMENT": ["ETH-21"]}},
                        "monitoring": MONITORING_DONE}}, "ETH-21"),
    ("G6.5", {"facts": {"ethics": ETHICS_DONE, "monitoring": {"configured_deployments": []}}},
     "configure monitoring"),
    ("G5.8", {"facts": {"reviews": REVIEWS_DONE, "ethics": {**ETHICS_DONE, "submitted": None}}},
     "submit"),
    ("G5.8", {"facts": {"reviews": REVIEWS_DONE, "ethics": {**ETHICS_DONE, "submitted": {
        "number": 2, "unanswered": [], "not_reviewed": ["ETH-40"],
        "blocking_below": ["ETH-08"]}}}}, "review ETH-40; blocking criteria below maturity 2: "
     "ETH-08"),
]


@pytest.mark.parametrize("item_id, overrides, words", RECORD_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in RECORD_CASES])
def test_record_item_unmet(item_id, overrides, words):
    stage = lifecycle.ITEMS_BY_ID[item_id].stage
    unmet = unmet_requirements(stage, full_context(**overrides))
    assert [u.id for u in unmet] == [item_id]
    assert words in unmet[0].detail


@pytest.mark.parametrize("task, upload", [
    ("binary", "the score column as probabilities"),
    ("risk", "the score column as probabilities"),
    ("multiclass", "a probability column for every class (class probability columns)"),
    ("ordinal", "a probability column for every class (class probability columns)"),
])
def test_calibration_hint_names_what_calibrates_the_task(task, upload):
    ctx = full_context(device={**COMPLETE_DEVICE, "task": task},
                       **_only({**EXTERNAL, "calibrated": False}))
    unmet = unmet_requirements(Stage.S4_VALIDATION, ctx)
    assert [(u.id, u.detail) for u in unmet] == [("G4.4", (
        f"no calibration computed: upload {upload} ({task} task), or a reviewer may accept "
        "another calibration report"))]


def test_every_record_item_has_a_failing_case():
    record_items = {i.id for i in GATE_ITEMS if i.check is not None}
    assert record_items == {c[0] for c in RECORD_CASES}


def test_applicability_follows_device_fields():
    not_a_device = {**COMPLETE_DEVICE, "regulation": "none", "risk_class": "not_a_device",
                    "udi_di": "", "certificate_numbers": []}
    ctx = full_context(device=not_a_device, documents=frozenset())
    ids = {u.id for u in unmet_requirements(Stage.S5_REGULATORY, ctx)}
    assert {"G5.2", "G5.3", "G5.10"}.isdisjoint(ids)
    generative = full_context(device={**COMPLETE_DEVICE, "task": "generative"},
                              documents=frozenset())
    assert "G4.4" not in {u.id for u in unmet_requirements(Stage.S4_VALIDATION, generative)}


def test_plan_move_rules():
    assert lifecycle.plan_move(Stage.S1_NEEDS, Stage.S2_DATA).direction == "forward"
    assert lifecycle.plan_move(Stage.S4_VALIDATION, Stage.S2_DATA).direction == "back"
    with pytest.raises(ValueError, match="only move forward to S2_DATA"):
        lifecycle.plan_move(Stage.S1_NEEDS, Stage.S3_MODEL)
    with pytest.raises(ValueError, match="standing stage"):
        lifecycle.plan_move(Stage.S7_POSTMARKET, Stage.S7_POSTMARKET)


# --- through the service, on the database ---------------------------------------------------


@pytest.fixture
def maker(session):
    return factories.actor_for(Role.manufacturer)


@pytest.fixture
def device(session, maker):
    return factories.DeviceFactory(manufacturer_id=maker.organisation_id)


def attach(session, actor, code, item_id):
    art = artifacts.upload_artifact(session, actor, io.BytesIO(item_id.encode()), "d.txt",
                                    "text/plain")
    devices.attach_evidence(session, actor, code, EvidenceIn(gate_item=item_id,
                                                             artifact_id=art.id))


def test_advance_refuses_with_unmet_list_then_advances(session, maker, device):
    with pytest.raises(GateNotMetError) as refused:
        devices.advance_stage(session, maker, device.code, TransitionIn(to_stage="S2_DATA"))
    assert [u["id"] for u in refused.value.unmet] == ["G1.2", "G1.3", "G1.8"]
    for item in ("G1.2", "G1.3"):
        attach(session, maker, device.code, item)
    factories.answer_ethics(session, maker, device, "S1_NEEDS")
    devices.advance_stage(session, maker, device.code, TransitionIn(to_stage="S2_DATA"))
    assert device.stage is Stage.S2_DATA
    last = devices.transitions_of(session, device)[-1]
    assert (last.from_stage, last.to_stage, last.direction) == ("S1_NEEDS", "S2_DATA", "forward")
    assert {e["id"] for e in last.evidence} == {f"G1.{n}" for n in range(1, 9)}


def test_back_move_needs_a_reason(session, maker, device):
    device.stage = Stage.S3_MODEL
    with pytest.raises(InvalidInputError, match="reason"):
        devices.advance_stage(session, maker, device.code, TransitionIn(to_stage="S2_DATA"))
    devices.advance_stage(session, maker, device.code,
                          TransitionIn(to_stage="S2_DATA", reason="new data source"))
    assert device.stage is Stage.S2_DATA


def test_stale_lock_version_is_a_conflict(session, maker, device):
    seen = device.lock_version
    devices.update_device(session, maker, device.code, DeviceUpdate(name="A", lock_version=seen))
    with pytest.raises(ConflictError, match="changed since you read it"):
        devices.update_device(session, maker, device.code, DeviceUpdate(name="B",
                                                                        lock_version=seen))


def test_significant_change_outside_plan_sends_device_back_to_data(session, maker, device):
    device.stage = Stage.S7_POSTMARKET
    devices.create_model_version(session, maker, device.code, ModelVersionIn(
        version="2.0", change_type="retrain_out_of_plan", change_description="new sites"))
    assert device.stage is Stage.S2_DATA
    move = devices.transitions_of(session, device)[-1]
    assert move.direction == "back" and "retrain_out_of_plan" in move.reason


def test_change_within_plan_takes_the_shorter_path(session, maker, device):
    device.adaptivity = Adaptivity.adaptive
    device.stage = Stage.S7_POSTMARKET
    devices.set_change_control_plan(session, maker, device.code, ChangeControlPlanIn(
        authority="EU-AIA-43(4)", status="authorised",
        authorised_at=datetime(2025, 1, 1, tzinfo=UTC),
        modifications=[{"code": "RECAL", "description": "yearly recalibration"}]))
    devices.create_model_version(session, maker, device.code, ModelVersionIn(
        version="1.1", change_type="retrain_in_plan", change_description="2026 recalibration",
        within_pccp=True, planned_modification_code="RECAL"))
    assert device.stage is Stage.S4_VALIDATION


def test_within_plan_needs_a_planned_modification(session, maker, device):
    with pytest.raises(InvalidInputError, match="not in the change control plan"):
        devices.create_model_version(session, maker, device.code, ModelVersionIn(
            version="1.1", change_type="retrain_in_plan", change_description="x",
            within_pccp=True, planned_modification_code="NOPE"))


def test_evidence_of_an_older_version_does_not_count(session, maker, device):
    device.stage = Stage.S3_MODEL
    factories.answer_ethics(session, maker, device, "S3_MODEL")
    factories.evaluation(session, maker, device)  # G3.3: an internal evaluation
    for item in ("G3.2", "G3.4", "G3.5", "G3.6"):
        attach(session, maker, device.code, item)
    assert devices.gate_status(session, maker, device.code) == []
    devices.create_model_version(session, maker, device.code, ModelVersionIn(
        version="2.0", change_type="architecture", change_description="new backbone",
        model_card=CARD))
    assert {u.id for u in devices.gate_status(session, maker, device.code)} == {
        "G3.2", "G3.3", "G3.4", "G3.5", "G3.6"}


def test_none_model_change_inherits_parent_evidence(session, maker, device):
    device.stage = Stage.S3_MODEL
    factories.answer_ethics(session, maker, device, "S3_MODEL")
    factories.evaluation(session, maker, device)  # G3.3: an internal evaluation
    for item in ("G3.2", "G3.4", "G3.5", "G3.6"):
        attach(session, maker, device.code, item)
    devices.create_model_version(session, maker, device.code, ModelVersionIn(
        version="1.0.1", change_type="none_model", change_description="UI text",
        model_card=CARD))
    assert devices.gate_status(session, maker, device.code) == []


def test_reviewer_waiver_is_evidence(session, maker, device):
    reviewer = factories.actor_for(Role.reviewer)
    factories.grant(session, device, reviewer.organisation_id)
    devices.waive_gate_item(session, reviewer, device.code, WaiverIn(
        gate_item="G1.3", justification="feasibility covered by the predicate device file"))
    assert "G1.3" not in {u.id for u in devices.gate_status(session, maker, device.code)}


def test_deployment_satisfies_g6_1(session, maker, device):
    device.stage = Stage.S6_DEPLOYMENT
    hospital = factories.OrganisationFactory(kind=OrganisationKind.hospital)
    version = devices.candidate_version(session, device)
    devices.create_deployment(session, maker, device.code, DeploymentIn(
        model_version_id=version.id, hospital_id=hospital.id, site="A",
        go_live_at=datetime(2026, 2, 1, tzinfo=UTC)))
    assert "G6.1" not in {u.id for u in devices.gate_status(session, maker, device.code)}


def test_model_card_is_frozen_once_evaluated(session, maker, device):
    version = devices.candidate_version(session, device)
    devices.mark_evaluated(session, maker, version)
    from registry.schemas import ModelCardUpdate

    with pytest.raises(ConflictError, match="immutable"):
        devices.update_model_card(session, maker, device.code, version.id,
                                  ModelCardUpdate(model_card={"algorithm": "other"}))


def test_create_device_records_its_first_stage(session, maker):
    from registry.schemas import DeviceIn

    device = devices.create_device(session, maker, DeviceIn(code="NEW-1", name="N",
                                                            theme="CARE"))
    rows = session.exec(select(StageTransition).where(
        StageTransition.device_id == device.id)).all()
    assert [(r.direction, r.to_stage) for r in rows] == [("create", "S1_NEEDS")]
