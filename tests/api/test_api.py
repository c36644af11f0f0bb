"""The HTTP edge: problem documents, status codes, tokens, OpenAPI, and the route table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from sqlmodel import select

from registry import auth
from registry.api.routing import ROUTES
from registry.models import ApiToken, Role
from tests import factories

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response, status, slug):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json()
    assert PROBLEM_KEYS <= set(body) and body["type"] == f"/problems/{slug}"
    assert body["status"] == status and body["detail"]
    return body


# Hand-written: every API route and who may call it. A new route fails the first test until
# it is added here with its rule.
ROUTE_RULES = {
    "api.openapi": "public", "api.me": "signed-in", "api.list_organisations": "device:read",
    "api.create_organisation": "organisation:manage", "api.get_organisation": "device:read",
    "api.list_users": "user:manage", "api.create_user": "user:manage",
    "api.list_tokens": "signed-in", "api.revoke_token": "signed-in",
    "api.list_devices": "public", "api.create_device": "device:create",
    "api.get_device": "public", "api.update_device": "device:update",
    "api.publish_device": "device:publish", "api.list_kpis": "public",
    "api.add_kpi": "device:update", "api.remove_kpi": "device:update",
    "api.list_subgroups": "public", "api.set_subgroup": "device:update",
    "api.grant_access": "grant:manage", "api.list_versions": "public",
    "api.create_version": "model_version:create", "api.update_model_card":
    "model_version:create", "api.get_change_control_plan": "public",
    "api.set_change_control_plan": "device:update", "api.list_deployments": "public",
    "api.create_deployment": "deployment:create", "api.gate_status": "public",
    "api.transition": "device:transition", "api.list_transitions": "public",
    "api.list_evidence": "device:read", "api.attach_evidence": "evidence:attach",
    "api.waive": "gate:waive", "api.upload_artifact": "artifact:upload",
    "api.download_artifact": "artifact:read", "api.device_audit": "audit:read",
    "api.verify_audit": "audit:export", "api.export_audit": "audit:export",
    "api.submit_job": "audit:export", "api.get_job": "job:read", "api.retry_job": "job:read",
    # dossiers (#9)
    "api.build_dossier": "dossier:build", "api.list_dossiers": "dossier:read",
    "api.get_dossier": "dossier:read", "api.download_dossier": "dossier:read",
    "api.verify_dossier": "dossier:read",
    # reviews (#5)
    "api.list_submissions": "review:read", "api.submit_for_review": "review:submit",
    "api.get_submission": "review:read", "api.score_domain": "review:assess",
    "api.record_checklist": "review:assess", "api.ask_question": "review:assess",
    "api.answer_question": "review:submit", "api.sign_opinion": "review:assess",
    "api.list_device_opinions": "device:read", "api.verify_opinion": "device:read",
    "api.download_submission_document": "review:read",
    "api.ethics_grid": "public", "api.device_ethics": "ethics:read",
    "api.save_ethics_answer": "ethics:answer", "api.submit_ethics": "ethics:submit",
    "api.review_ethics": "ethics:review",
    # evaluations (#4)
    "api.submit_evaluation": "evaluation:submit", "api.list_evaluations": "device:read",
    "api.list_version_evaluations": "device:read", "api.get_evaluation": "device:read",
    # energy (#8)
    "api.device_footprint": "device:read", "api.device_energy_records": "device:read",
    "api.declare_footprint": "energy:declare", "api.import_footprint": "energy:declare",
    "api.organisation_footprint": "device:read",
    # monitoring (#7)
    "api.monitoring_overview": "monitoring:read", "api.get_monitoring_config": "monitoring:read",
    "api.configure_monitoring": "monitoring:configure", "api.list_batches": "monitoring:read",
    "api.upload_batch": "monitoring:upload", "api.get_batch": "monitoring:read",
    "api.upload_labels": "monitoring:upload", "api.list_alerts": "monitoring:read",
    "api.list_deployment_alerts": "monitoring:read", "api.acknowledge_alert": "alert:manage",
    "api.resolve_alert": "alert:manage", "api.list_incidents": "monitoring:read",
    "api.report_incident": "incident:report", "api.get_incident": "monitoring:read",
    "api.update_incident": "incident:report", "api.postmarket_status": "monitoring:read",
    "api.list_notifications": "signed-in", "api.read_notification": "signed-in",
    # catalogue, national view, use cases, problem reports, exports (#10)
    "api.catalogue_list": "public", "api.catalogue_changes": "public",
    "api.catalogue_feed": "public", "api.catalogue_device": "public",
    "api.report_problem": "public", "api.device_fhir": "public", "api.model_card": "public",
    "api.export_list": "public", "api.national_view": "national:read",
    "api.use_case_criteria": "public", "api.list_use_cases": "national:read",
    "api.create_use_case": "use_case:write", "api.use_case_ranking": "national:read",
    "api.use_case_assessments": "national:read", "api.score_use_case": "use_case:write",
    "api.list_problem_reports": "problem_report:read",
    "api.handle_problem_report": "problem_report:handle",
    "api.problem_report_incident": "problem_report:handle",
}


def test_every_route_has_an_access_rule():
    assert {r.endpoint for r in ROUTES} == set(ROUTE_RULES)
    for route in ROUTES:
        rule = ROUTE_RULES[route.endpoint]
        declared = "public" if route.public else (route.permission.value if route.permission
                                                  else "signed-in")
        assert declared == rule, f"{route.endpoint}: declared {declared}, table says {rule}"


def _fill(rule: str) -> str:
    return rule.replace("<code>", "NOPE").replace("<int:", "<").replace("<job_id>", "nope") \
        .replace("<organisation_id>", "999999").replace("<kpi_id>", "1") \
        .replace("<version_id>", "1").replace("<token_id>", "1").replace("<artifact_id>", "1") \
        .replace("<submission_id>", "1").replace("<question_id>", "1") \
        .replace("<opinion_id>", "1") \
        .replace("<evaluation_id>", "1").replace("<deployment_id>", "1") \
        .replace("<batch_id>", "1").replace("<alert_id>", "1").replace("<incident_id>", "1") \
        .replace("<notification_id>", "1") \
        .replace("<report_id>", "1")


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.public],
                         ids=lambda r: f"{r.method} {r.rule}")
def test_anonymous_gets_401_on_every_non_public_route(client, route):
    response = client.open("/api/v1" + _fill(route.rule), method=route.method, json={})
    assert_problem(response, 401, "not-authenticated")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.public],
                         ids=lambda r: f"{r.method} {r.rule}")
def test_public_routes_answer_without_sign_in(client, route):
    response = client.open("/api/v1" + _fill(route.rule), method=route.method)
    # A public write (a problem report) validates its missing body first: 422.
    assert response.status_code in ((200, 404, 422) if route.body else (200, 404))


def test_openapi_document_is_valid_and_lists_every_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for route in ROUTES:
        assert route.method.lower() in doc["paths"][route.openapi_path], route.endpoint
    # Every schema in components is itself a valid JSON Schema (2020-12, as OpenAPI 3.1 uses).
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_upload_routes_document_the_file_and_every_form_field(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    uploads = [r for r in ROUTES if r.multipart]
    assert {r.endpoint.split(".")[-1] for r in uploads if r.form} == {
        "submit_evaluation", "import_footprint", "upload_batch"}
    for route in uploads:
        operation = doc["paths"][route.openapi_path][route.method.lower()]
        schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["file"]["contentMediaType"] == "application/octet-stream"
        fields = route.form.model_fields if route.form else {}
        assert set(schema["properties"]) == {"file", *fields}, route.endpoint
        assert schema["required"] == ["file", *(n for n, f in fields.items() if f.is_required())]
        # A form field is sent as text or not at all: none may be null.
        assert "null" not in str(schema)
    evaluation = doc["paths"]["/api/v1/devices/{code}/versions/{version_id}/evaluations"]
    fields = evaluation["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert doc["components"]["schemas"]["DatasetKind"]["enum"] == [
        "internal", "external", "prospective", "rct"]
    assert fields["properties"]["dataset_kind"] == {"$ref": "#/components/schemas/DatasetKind"}
    assert fields["properties"]["group_columns"]["type"] == "array"  # a part per column
    assert fields["properties"]["class_score_columns"]["type"] == "string"  # "AF=p_af, N=p_n"
    assert fields["properties"]["threshold"]["type"] == "number"
    energy = doc["paths"]["/api/v1/devices/{code}/versions/{version_id}/energy/import"]
    phase = energy["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert phase["properties"]["phase"]["enum"] == ["training", "inference"]


def test_device_body_matches_its_openapi_schema(client, token_for, session):
    headers, maker = token_for(Role.manufacturer)
    created = client.post("/api/v1/devices", headers=headers,
                          json={"code": "API-1", "name": "Api", "theme": "CARE"})
    assert created.status_code == 201 and created.headers["Location"].endswith("/devices/API-1")
    doc = client.get("/api/v1/openapi.json").get_json()
    schema = {**doc["components"]["schemas"]["DeviceOut"],
              "components": doc["components"]}
    resolver_doc = {"$defs": {}, **schema}
    jsonschema.validate(created.get_json(), _inline(resolver_doc, doc))


def _inline(schema, doc):
    text = __import__("json").dumps(schema).replace("#/components/schemas/", "#/$defs/")
    out = __import__("json").loads(text)
    out["$defs"] = __import__("json").loads(
        __import__("json").dumps(doc["components"]["schemas"]).replace(
            "#/components/schemas/", "#/$defs/"))
    out.pop("components", None)
    return out


def test_unknown_device_is_a_404_problem(client, token_for):
    headers, _ = token_for(Role.manufacturer)
    body = assert_problem(client.get("/api/v1/devices/NOPE", headers=headers), 404, "not-found")
    assert "NOPE" in body["detail"]


def test_another_organisations_private_device_is_404_not_403(client, token_for):
    device = factories.DeviceFactory()
    headers, _ = token_for(Role.manufacturer)
    assert_problem(client.get(f"/api/v1/devices/{device.code}", headers=headers), 404,
                   "not-found")
    assert_problem(client.patch(f"/api/v1/devices/{device.code}", headers=headers,
                                json={"name": "x"}), 404, "not-found")


def test_visible_but_not_writable_is_403(client, token_for, session):
    device = factories.DeviceFactory(is_published=True)
    headers, _ = token_for(Role.manufacturer)
    assert client.get(f"/api/v1/devices/{device.code}", headers=headers).status_code == 200
    assert_problem(client.patch(f"/api/v1/devices/{device.code}", headers=headers,
                                json={"name": "x"}), 403, "forbidden")


def test_gated_transition_is_409_with_the_unmet_list(client, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    response = client.post(f"/api/v1/devices/{device.code}/transitions", headers=headers,
                           json={"to_stage": "S2_DATA"})
    body = assert_problem(response, 409, "gate-not-met")
    assert [u["id"] for u in body["unmet"]] == ["G1.2", "G1.3", "G1.8"]
    gate = client.get(f"/api/v1/devices/{device.code}/gate", headers=headers).get_json()
    assert gate["unmet"] == body["unmet"] and gate["may_advance"] is False


def test_invalid_transition_is_409(client, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    body = assert_problem(client.post(f"/api/v1/devices/{device.code}/transitions",
                                      headers=headers, json={"to_stage": "S5_REGULATORY"}),
                          409, "conflict")
    assert "only move forward to S2_DATA" in body["detail"]


def test_invalid_body_lists_every_field_problem(client, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    body = assert_problem(client.post(f"/api/v1/devices/{device.code}/kpis", headers=headers,
                                      json={"metric": "", "comparator": "~", "extra": 1}),
                          422, "invalid-input")
    pointers = {e["pointer"] for e in body["errors"]}
    assert {"#/metric", "#/comparator", "#/extra", "#/dataset_kind"} <= pointers


def test_non_json_body_is_a_clear_422(client, token_for):
    headers, _ = token_for(Role.manufacturer)
    body = assert_problem(client.post("/api/v1/devices", headers=headers, data="code=x"),
                          422, "invalid-input")
    assert "application/json" in body["detail"]


def test_expired_revoked_and_scoped_tokens(client, token_for, session):
    headers, maker = token_for(Role.manufacturer)
    row = session.exec(select(ApiToken).where(ApiToken.user_id == maker.user_id)).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.flush()
    body = assert_problem(client.get("/api/v1/devices", headers=headers), 401,
                          "not-authenticated")
    assert "expired" in body["detail"]
    read_only, maker2 = token_for(Role.manufacturer, scopes=["device:read"])
    body = assert_problem(client.post("/api/v1/devices", headers=read_only,
                                      json={"code": "S-1", "name": "s", "theme": "CARE"}),
                          403, "forbidden")
    assert "scope 'device:create'" in body["detail"]
    assert_problem(client.get("/api/v1/devices", headers={"Authorization": "Bearer nope"}),
                   401, "not-authenticated")


def test_token_last_use_is_written_once_per_minute_not_per_request(client, token_for, session):
    headers, maker = token_for(Role.manufacturer)
    row = session.exec(select(ApiToken).where(ApiToken.user_id == maker.user_id)).one()
    assert row.last_used_at is None
    assert client.get("/api/v1/devices", headers=headers).status_code == 200
    session.refresh(row)
    first = row.last_used_at
    assert first is not None
    assert client.get("/api/v1/devices", headers=headers).status_code == 200
    session.refresh(row)
    assert row.last_used_at == first  # a read within the minute writes nothing
    row.last_used_at = first - auth.TOKEN_USE_RESOLUTION
    session.flush()
    assert client.get("/api/v1/devices", headers=headers).status_code == 200
    session.refresh(row)
    assert row.last_used_at > first


def test_token_scopes_cannot_exceed_the_role(client, token_for, session):
    from registry.errors import InvalidInputError
    from registry.schemas import TokenIn
    from registry.services import organisations

    actor = factories.actor_for(Role.hospital)
    with pytest.raises(InvalidInputError, match="not available to role 'hospital'"):
        organisations.create_token(session, actor, TokenIn(name="x", scopes=["device:update"]),
                                   default_lifetime_days=1)


def test_upload_then_attach_as_evidence(client, token_for):
    import io

    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    up = client.post("/api/v1/artifacts", headers=headers,
                     data={"file": (io.BytesIO(b"needs analysis"), "needs.txt")},
                     content_type="multipart/form-data")
    assert up.status_code == 201
    art = up.get_json()
    ev = client.post(f"/api/v1/devices/{device.code}/evidence", headers=headers,
                     json={"gate_item": "G1.2", "artifact_id": art["id"]})
    assert ev.status_code == 201
    with client.get(f"/api/v1/artifacts/{art['id']}", headers=headers) as down:
        assert down.data == b"needs analysis"
    missing = client.post("/api/v1/artifacts", headers=headers, data={},
                          content_type="multipart/form-data")
    assert_problem(missing, 422, "invalid-input")
