"""Reviews (#5) over HTTP: the round trip with API tokens, problem documents for refusals, the
signature check, and what each side sees."""

from __future__ import annotations

import io

import pytest

from registry.models import OrganisationKind, Role
from registry.schemas import EvidenceIn, TokenIn
from registry.services import artifacts, devices, organisations
from tests import factories
from tests.api.test_api import assert_problem

SCORES = {"D1": 3, "D2": 3, "D3": 3, "D4": 2, "D5": "NA", "D6": 3, "D7": 3, "D8": 2}


@pytest.fixture
def world(session):
    maker = factories.actor_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    nb = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
    reviewer = factories.actor_for(Role.reviewer, nb.id)
    doc = artifacts.upload_artifact(session, maker, io.BytesIO(b"risk file"), "risk.pdf",
                                    "application/pdf")
    devices.attach_evidence(session, maker, device.code,
                            EvidenceIn(gate_item="G5.5", artifact_id=doc.id))

    def headers(actor):
        clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                              default_lifetime_days=1)
        session.flush()
        return {"Authorization": f"Bearer {clear}"}

    return {"device": device, "nb": nb, "maker": headers(maker), "reviewer": headers(reviewer),
            "doc": doc, "headers": headers}


def test_round_trip_over_the_api(client, world):
    code, maker, reviewer = world["device"].code, world["maker"], world["reviewer"]
    created = client.post(f"/api/v1/devices/{code}/submissions", headers=maker,
                          json={"reviewer_organisation_id": world["nb"].id})
    assert created.status_code == 201, created.get_json()
    submission = created.get_json()
    assert created.headers["Location"].endswith(f"/reviews/submissions/{submission['id']}")
    assert submission["artifact_ids"] == [world["doc"].id]
    base = f"/api/v1/reviews/submissions/{submission['id']}"

    queue = client.get("/api/v1/reviews/submissions?status=open", headers=reviewer).get_json()
    assert [s["id"] for s in queue] == [submission["id"]]

    question = client.post(f"{base}/questions", headers=reviewer,
                           json={"body": "Which sites were external?"}).get_json()
    upload = client.post("/api/v1/artifacts", headers=maker, data={
        "file": (io.BytesIO(b"site list"), "sites.csv", "text/csv")},
        content_type="multipart/form-data").get_json()
    # Not gate evidence: the artifact rules alone hide it from the reviewer...
    assert client.get(f"/api/v1/artifacts/{upload['id']}", headers=reviewer).status_code == 404
    answered = client.post(f"{base}/questions/{question['id']}/answers", headers=maker,
                           json={"body": "Lille and Nantes.", "artifact_id": upload["id"]})
    assert answered.status_code == 201 and answered.get_json()["in_reply_to"] == question["id"]
    # ... the submission shows it to its reviewer.
    document = client.get(f"{base}/documents/{upload['id']}", headers=reviewer)
    body = document.get_data()
    document.close()
    assert document.status_code == 200 and body == b"site list"

    for domain, score in SCORES.items():
        response = client.put(f"{base}/scores", headers=reviewer, json={
            "domain": domain, "score": score, "justification": f"{domain} justified here"})
        assert response.status_code == 200, response.get_json()
    checklist = client.put(f"{base}/checklists", headers=reviewer, json={
        "guideline": "TRIPOD+AI", "items": [{"item": "1", "status": "reported"},
                                            {"item": "2", "status": "not_reported"}]})
    assert checklist.get_json()["compliance"] == 0.5

    signed = client.post(f"{base}/opinions", headers=reviewer, json={
        "decision": "granted", "certificate_number": "NB-9", "rationale": "all requirements met",
        "password": factories.PASSWORD})
    assert signed.status_code == 201, signed.get_json()
    opinion = signed.get_json()
    assert "password" not in opinion and opinion["favourable"] is True
    check = client.get(f"/api/v1/reviews/opinions/{opinion['id']}/signature", headers=maker)
    assert check.get_json() == {"opinion_id": opinion["id"], "valid": True, "problems": []}
    listed = client.get(f"/api/v1/devices/{code}/opinions", headers=maker).get_json()
    assert [o["id"] for o in listed] == [opinion["id"]]

    # The reviewing side sees the scores and the derived suggestion; the manufacturer does not
    # (its signed opinion carries them).
    seen_by_reviewer = client.get(base, headers=reviewer).get_json()
    assert len(seen_by_reviewer["scores"]) == 8
    assert seen_by_reviewer["derived"]["opinion"] == "favourable"
    seen_by_maker = client.get(base, headers=maker).get_json()
    assert seen_by_maker["scores"] == [] and seen_by_maker["derived"] is None
    assert seen_by_maker["submission"]["status"] == "concluded"
    assert seen_by_maker["opinions"][0]["scores"]["D1"]["score"] == "3"


def test_refusals_are_problem_documents(client, world):
    code, maker, reviewer = world["device"].code, world["maker"], world["reviewer"]
    body = assert_problem(client.post(f"/api/v1/devices/{code}/submissions", headers=maker,
                                      json={"reviewer_organisation_id": 999999}),
                          422, "invalid-input")
    assert body["errors"][0]["pointer"] == "#/reviewer_organisation_id"
    submission = client.post(f"/api/v1/devices/{code}/submissions", headers=maker,
                             json={"reviewer_organisation_id": world["nb"].id}).get_json()
    base = f"/api/v1/reviews/submissions/{submission['id']}"
    # Manufacturers may not score; an unknown domain is a 422 naming the field.
    assert_problem(client.put(f"{base}/scores", headers=maker, json={
        "domain": "D1", "score": 3, "justification": "my own device is great"}), 403, "forbidden")
    body = assert_problem(client.put(f"{base}/scores", headers=reviewer, json={
        "domain": "D10", "score": 3, "justification": "no such domain"}), 422, "invalid-input")
    assert body["errors"][0]["pointer"] == "#/domain"
    # Signing before scoring is a conflict; a wrong password is a 422 on the password field.
    assert_problem(client.post(f"{base}/opinions", headers=reviewer, json={
        "decision": "refused", "rationale": "not enough evidence", "password": "x"}),
        422, "invalid-input")
    assert_problem(client.post(f"{base}/opinions", headers=reviewer, json={
        "decision": "refused", "rationale": "not enough evidence",
        "password": factories.PASSWORD}), 409, "conflict")
    # Another notified body's reviewer does not learn the submission exists.
    other = world["headers"](factories.actor_for(Role.reviewer, factories.OrganisationFactory(
        kind=OrganisationKind.notified_body).id))
    missing = assert_problem(client.get(base, headers=other), 404, "not-found")
    unknown = assert_problem(client.get("/api/v1/reviews/submissions/999999", headers=other),
                             404, "not-found")
    assert missing["detail"].replace(str(submission["id"]), "N") == \
        unknown["detail"].replace("999999", "N")
    assert client.get("/api/v1/reviews/submissions", headers=other).get_json() == []
