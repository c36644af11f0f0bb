"""The ethics API end to end: grid, answers, submission, review, problem documents."""

from __future__ import annotations

import pytest

from registry.models import Role
from registry.schemas import TokenIn
from registry.services import organisations
from tests import factories


@pytest.fixture
def token_for(session):
    def make(role, organisation_id=None):
        actor = factories.actor_for(role, organisation_id)
        clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                              default_lifetime_days=1)
        session.flush()
        return {"Authorization": f"Bearer {clear}"}, actor

    return make


def test_grid_is_public_with_its_44_criteria(client):
    body = client.get("/api/v1/ethics/grid").get_json()
    assert body["version"] == "3" and len(body["criteria"]) == 44 and len(body["fingerprint"]) == 64
    assert sum(c["blocking"] for c in body["criteria"]) == 9


def test_answer_submit_review_through_the_api(client, session, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    base = f"/api/v1/devices/{device.code}/ethics"
    saved = client.put(f"{base}/draft/answers/ETH-01", headers=headers, json={
        "maturity": 2, "explanation": "needs analysis",
        "evidence": [{"kind": "link", "ref": "https://example.org/needs"}]})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["evidence"] == [{"kind": "link", "ref": "https://example.org/needs"}]
    bad = client.put(f"{base}/draft/answers/ETH-02", headers=headers, json={"maturity": 7})
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    unknown = client.put(f"{base}/draft/answers/ETH-77", headers=headers, json={"maturity": 1})
    assert unknown.status_code == 422 and "ETH-77" in unknown.get_json()["detail"]
    state = client.get(base, headers=headers).get_json()
    assert state["draft"]["answers"][0]["criterion_id"] == "ETH-01"
    assert state["missing_by_stage"]["S1_NEEDS"][0] == "ETH-02"
    submitted = client.post(f"{base}/draft/submit", headers=headers)
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    assert len(submitted.get_json()["snapshot_sha256"]) == 64

    review_headers, reviewer = token_for(Role.reviewer)
    denied = client.put(f"{base}/submitted/reviews/ETH-01", headers=review_headers,
                        json={"verdict": "agree"})
    assert denied.status_code == 404  # not granted, not published: not visible
    factories.grant(session, device, reviewer.organisation_id)
    reviewed = client.put(f"{base}/submitted/reviews/ETH-01", headers=review_headers,
                          json={"verdict": "disagree", "comment": "draft only", "maturity": 1})
    assert reviewed.status_code == 200 and reviewed.get_json()["maturity"] == 1
    seen = client.get(base, headers=review_headers).get_json()
    assert seen["draft"] is None and seen["submitted"]["reviews"][0]["verdict"] == "disagree"
    assert seen["scores"]["criteria"][0]["maturity"] == 1
    forbidden = client.put(f"{base}/draft/answers/ETH-01", headers=review_headers,
                           json={"maturity": 1})
    assert forbidden.status_code == 403
