"""Exports: CSV (formula-safe) and JSON of lists, the model card, the FHIR DeviceDefinition."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fhir.resources.devicedefinition import DeviceDefinition
from sqlmodel import select

from registry import auth
from registry.errors import NotFoundError, PermissionDeniedError
from registry.models import ModelVersion, Role, Stage
from registry.schemas.catalogue import AssessmentIn, UseCaseIn
from registry.services import exports, usecases
from tests import factories


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+33 1 23", "'+33 1 23"),
    ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("plain = text", "plain = text"),
    (0.85, "0.85"),
    (["a", "b"], "a; b"),
    (None, ""),
])
def test_safe_cell_defuses_formulas(value, expected):
    assert exports.safe_cell(value) == expected


def test_csv_round_trips_and_keeps_hostile_names_inert():
    rows = [{"code": "X-1", "name": "=cmd|' /C calc'!A0", "note": "line\nbreak, \"quoted\""},
            {"code": "X-2", "name": "Normal", "note": ""}]
    text = exports.to_csv(rows, ["code", "name", "note"])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["name"] == "'=cmd|' /C calc'!A0"
    assert parsed[0]["note"] == "line\nbreak, \"quoted\""
    assert [r["code"] for r in parsed] == ["X-1", "X-2"]


def test_catalogue_export_as_csv_and_json_holds_only_published_devices(session):
    factories.DeviceFactory(code="PUB-9", name="-2+3 Scanner", is_published=True)
    factories.DeviceFactory(code="HIDE-9", name="Hidden Nine")
    body, mimetype, filename = exports.export_list(session, auth.ANONYMOUS, "catalogue", "csv")
    assert mimetype.startswith("text/csv") and filename.endswith(".csv")
    parsed = list(csv.DictReader(io.StringIO(body)))
    assert [(r["code"], r["name"]) for r in parsed] == [("PUB-9", "'-2+3 Scanner")]
    body, mimetype, _ = exports.export_list(session, auth.ANONYMOUS, "catalogue", "json")
    assert [r["code"] for r in json.loads(body)] == ["PUB-9"] and "HIDE-9" not in body


def test_lists_keep_their_access_rules(session):
    factories.DeviceFactory(code="HIDE-8")
    rows, _ = exports.list_rows(session, auth.ANONYMOUS, "devices")
    assert "HIDE-8" not in [r["code"] for r in rows]
    rows, _ = exports.list_rows(session, factories.actor_for(Role.authority), "devices")
    assert "HIDE-8" in [r["code"] for r in rows]
    for name in ("use-cases", "national-matrix", "problem-reports"):
        with pytest.raises((PermissionDeniedError, auth.NotAuthenticatedError)):
            exports.list_rows(session, auth.ANONYMOUS, name)
    with pytest.raises(NotFoundError, match="no list named 'secrets'"):
        exports.list_rows(session, auth.ANONYMOUS, "secrets")


def test_ranking_export_has_one_column_per_criterion(session):
    authority = factories.actor_for(Role.authority)
    usecases.create_use_case(session, authority, UseCaseIn(code="UC-1", title="Triage",
                                                           theme="ACCESS"))
    usecases.score_use_case(session, authority, "UC-1", AssessmentIn(
        scores={"NEED": 5, "MATURITY": 3, "DATA": 3, "FEASIBILITY": 3, "FRAMEWORK_COST": 1,
                "DELAY": 3},
        justifications={c: "r" for c in ("NEED", "MATURITY", "DATA", "FEASIBILITY",
                                          "FRAMEWORK_COST", "DELAY")}))
    body, _, _ = exports.export_list(session, authority, "use-cases", "csv")
    (row,) = csv.DictReader(io.StringIO(body))
    assert (row["rank"], row["code"], row["total"], row["NEED"], row["FRAMEWORK_COST"]) == \
        ("1", "UC-1", "18.0", "5.0", "1.0")


# --- model card -------------------------------------------------------------------------------

CHAI_SECTIONS = ["basic_info", "release_info", "model_summary", "uses_and_directions",
                 "warnings", "trust_ingredients", "key_metrics", "resources", "bibliography"]


def test_model_card_has_the_chai_sections_filled_from_the_registry(session):
    maker = factories.OrganisationFactory(name="Cardiolab SAS")
    device = factories.DeviceFactory(code="MC-1", name="Rhythm", manufacturer_id=maker.id,
                                     is_published=True, stage=Stage.S4_VALIDATION)
    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)).one()
    card = exports.model_card(session, auth.ANONYMOUS, version)
    assert [k for k in card if k in CHAI_SECTIONS] == CHAI_SECTIONS
    assert card["basic_info"] == {"model_name": "Rhythm 1.0", "model_developer": "Cardiolab SAS",
                                  "developer_contact": ""}
    assert card["release_info"]["regulatory_approval"].startswith("MDR class IIb")
    assert card["uses_and_directions"]["targeted_patient_population"] == "adults 50-74"
    assert card["trust_ingredients"]["ai_system_facts"]["model_type"] == "cnn"
    goals = card["key_metrics"]["usefulness_usability_efficacy"]["metric_goals"]
    assert goals == [{"metric": "auc", "comparator": ">=", "threshold": 0.9, "low": None,
                      "high": None, "dataset_kind": "external", "primary": True}]
    assert card["key_metrics"]["fairness_equity"]["metric_goals"][0]["variable"] == "sex"
    json.dumps(card)  # plain JSON all the way down


def test_model_card_of_an_unpublished_device_is_hidden_from_the_public(session):
    device = factories.DeviceFactory(code="MC-2")
    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)).one()
    with pytest.raises(NotFoundError):
        exports.model_card(session, auth.ANONYMOUS, version)
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    assert exports.model_card(session, maker, version)["device_code"] == "MC-2"


# --- FHIR -------------------------------------------------------------------------------------


def test_device_definition_is_a_valid_fhir_r5_resource(session):
    maker = factories.OrganisationFactory(name="Synapse SAS")
    factories.DeviceFactory(code="NEURO_LVO", name="NeuroLVO", manufacturer_id=maker.id,
                            is_published=True, udi_di="03760000000017",
                            basic_udi_di="376BUDI01", ai_technique="3D CNN")
    resource = exports.device_definition(session, auth.ANONYMOUS, "NEURO_LVO")
    # Validated again, independently of the service, by the FHIR library's R5 model.
    parsed = DeviceDefinition.model_validate(resource)
    assert parsed.id == "NEURO-LVO"
    assert resource["resourceType"] == "DeviceDefinition"
    assert resource["identifier"] == [{"system": exports.REGISTRY_SYSTEM, "value": "NEURO_LVO"}]
    assert resource["deviceName"] == [{"name": "NeuroLVO", "type": "registered-name"}]
    assert resource["manufacturer"] == {"display": "Synapse SAS"}
    assert resource["udiDeviceIdentifier"][0]["deviceIdentifier"] == "03760000000017"
    assert resource["regulatoryIdentifier"][0]["type"] == "basic"
    assert [c["type"]["text"] for c in resource["classification"]] == [
        "MDR class IIb", "EU AI Act: high_risk_art6_1"]
    assert {"type": {"text": "AI technique"}, "valueString": "3D CNN"} in resource["property"]
    assert resource["version"] == [{"value": "1.0"}]


def test_device_definition_of_an_unpublished_device_is_not_found_for_the_public(session):
    factories.DeviceFactory(code="PRIV-F")
    with pytest.raises(NotFoundError):
        exports.device_definition(session, auth.ANONYMOUS, "PRIV-F")
