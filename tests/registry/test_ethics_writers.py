"""Two writers on one ethics criterion (#11): the answer and the review carry a lock_version;
a writer who sends the one it read gets a 409 problem (API) or the form back with the reason
(web) when someone saved since, and nothing of its write is kept. The races themselves run on
real threads in test_concurrency.py."""

from __future__ import annotations

import re

import pytest

from registry import audit
from registry.auth import Actor
from registry.models import Role
from registry.schemas import TokenIn
from registry.schemas.ethics import AnswerIn, ReviewIn
from registry.services import ethics, organisations
from tests import factories


@pytest.fixture
def world(session):
    device = factories.DeviceFactory()
    maker = factories.UserFactory(role=Role.manufacturer, organisation_id=device.manufacturer_id)
    reviewer = factories.UserFactory(role=Role.reviewer)
    factories.grant(session, device, reviewer.organisation_id)
    return {"device": device, "code": device.code, "maker": maker, "reviewer": reviewer,
            "maker_actor": Actor.from_user(maker), "reviewer_actor": Actor.from_user(reviewer)}


def bearer(session, actor: Actor) -> dict:
    clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                          default_lifetime_days=1)
    session.flush()
    return {"Authorization": f"Bearer {clear}"}


def login(client, user) -> None:
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="(\d+)"', page).group(1)


def test_api_answers_and_reviews_carry_their_version_and_a_stale_write_is_a_409(
        client, session, world):
    headers = bearer(session, world["maker_actor"])
    answer = f"/api/v1/devices/{world['code']}/ethics/draft/answers/ETH-01"
    first = client.put(answer, headers=headers, json={"maturity": 1, "lock_version": 0})
    assert first.status_code == 200 and first.get_json()["lock_version"] == 1
    second = client.put(answer, headers=headers, json={"maturity": 2, "lock_version": 1})
    assert second.get_json()["lock_version"] == 2

    stale = client.put(answer, headers=headers, json={"maturity": 3, "lock_version": 1})
    assert stale.status_code == 409 and stale.content_type == "application/problem+json"
    problem = stale.get_json()
    assert problem["detail"].startswith(
        f"the answer to ETH-01 on device {world['code']} changed since you read it (your "
        "version 1, current 2, saved ")
    assert problem["detail"].endswith("reload and apply your change again")
    assert problem["errors"] == [{"pointer": "#/lock_version",
                                  "detail": "is 1; the current one is 2"}]
    never = client.put(f"/api/v1/devices/{world['code']}/ethics/draft/answers/ETH-03",
                       headers=headers, json={"maturity": 1, "lock_version": 1})
    assert never.status_code == 409 and "(your version 1, current 0)" in never.get_json()[
        "detail"]

    state = client.get(f"/api/v1/devices/{world['code']}/ethics", headers=headers).get_json()
    assert [(a["criterion_id"], a["maturity"], a["lock_version"])
            for a in state["draft"]["answers"]] == [("ETH-01", 2, 2)]
    # A client that sends no version writes as before (the last one wins).
    assert client.put(answer, headers=headers, json={"maturity": 3}).get_json()[
        "lock_version"] == 3

    assert client.post(f"/api/v1/devices/{world['code']}/ethics/draft/submit",
                       headers=headers).status_code == 200
    state = client.get(f"/api/v1/devices/{world['code']}/ethics", headers=headers).get_json()
    assert state["draft"] is None and state["submitted"]["answers"][0]["lock_version"] == 3
    # The next draft starts from the submitted answers and keeps their versions.
    reopened = client.put(answer, headers=headers, json={"maturity": 2, "lock_version": 3})
    assert reopened.status_code == 200 and reopened.get_json()["lock_version"] == 4
    assert client.put(answer, headers=headers, json={"maturity": 1, "lock_version": 3}
                      ).status_code == 409

    review_headers = bearer(session, world["reviewer_actor"])
    review = f"/api/v1/devices/{world['code']}/ethics/submitted/reviews/ETH-01"
    agreed = client.put(review, headers=review_headers,
                        json={"verdict": "agree", "lock_version": 0})
    assert agreed.status_code == 200 and agreed.get_json()["lock_version"] == 1
    late = client.put(review, headers=review_headers,
                      json={"verdict": "disagree", "comment": "too low", "maturity": 1,
                            "lock_version": 0})
    assert late.status_code == 409
    assert "the review of ETH-01 in self-assessment 1" in late.get_json()["detail"]
    seen = client.get(f"/api/v1/devices/{world['code']}/ethics",
                      headers=review_headers).get_json()
    assert [(r["verdict"], r["lock_version"]) for r in seen["submitted"]["reviews"]] == [
        ("agree", 1)]


def test_a_stale_answer_form_is_refused_with_409_and_saves_nothing(client, session, world):
    code = world["code"]
    login(client, world["maker"])
    url = f"/devices/{code}/ethics/answer?stage=S1_NEEDS"
    page = client.get(url).get_data(as_text=True)
    read = {cid: hidden(page, f"lock-{cid}") for cid in ("ETH-01", "ETH-02")}
    assert read == {"ETH-01": "0", "ETH-02": "0"}
    # Someone else answers ETH-01 while the form is open.
    ethics.save_answer(session, world["maker_actor"], code, "ETH-01",
                       AnswerIn(maturity=3, explanation="the other writer's answer"))

    response = client.post(url, data={
        "maturity-ETH-01": "1", "explanation-ETH-01": "mine", "lock-ETH-01": read["ETH-01"],
        "maturity-ETH-02": "2", "lock-ETH-02": read["ETH-02"]})
    text = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"ETH-01: the answer to ETH-01 on device {code} changed since you read it" in text
    assert "ETH-02:" not in text  # only the criterion someone else wrote is named
    draft = ethics.draft_of(session, world["device"])
    answers = {r.criterion_id: r for r in ethics.answer_rows(session, draft)}
    assert list(answers) == ["ETH-01"]  # ETH-02 of the refused form was not kept either
    assert answers["ETH-01"].explanation == "the other writer's answer"

    page = client.get(url).get_data(as_text=True)  # reloaded: the current versions
    assert hidden(page, "lock-ETH-01") == "1"
    response = client.post(url, data={"maturity-ETH-01": "1", "explanation-ETH-01": "mine",
                                      "lock-ETH-01": hidden(page, "lock-ETH-01")})
    assert response.status_code == 302
    session.expire_all()
    [saved] = ethics.answer_rows(session, draft)
    assert (saved.explanation, saved.lock_version) == ("mine", 2)


def test_a_stale_review_form_is_refused_with_409_and_saves_nothing(client, session, world):
    code = world["code"]
    for cid in ("ETH-01", "ETH-02"):
        ethics.save_answer(session, world["maker_actor"], code, cid, AnswerIn(maturity=2))
    ethics.submit_assessment(session, world["maker_actor"], code)
    login(client, world["reviewer"])
    url = f"/devices/{code}/ethics/review"
    page = client.get(url).get_data(as_text=True)
    read = {cid: hidden(page, f"lock-{cid}") for cid in ("ETH-01", "ETH-02")}
    other = factories.UserFactory(role=Role.reviewer,
                                  organisation_id=world["reviewer"].organisation_id)
    ethics.review_criterion(session, Actor.from_user(other), code, "ETH-02",
                            ReviewIn(verdict="disagree", comment="evidence missing", maturity=1))

    response = client.post(url, data={
        "criterion": ["ETH-01", "ETH-02"], "verdict-ETH-01": "agree", "lock-ETH-01": read["ETH-01"],
        "verdict-ETH-02": "agree", "lock-ETH-02": read["ETH-02"]})
    assert response.status_code == 409
    assert "ETH-02: the review of ETH-02 in self-assessment 1" in response.get_data(as_text=True)
    submitted = ethics.submitted_of(session, world["device"])
    assert [(r.criterion_id, r.verdict.value) for r in ethics.review_rows(session, submitted)] \
        == [("ETH-02", "disagree")]


def test_writers_of_different_criteria_both_save_and_the_same_answer_again_is_no_write(
        session, world):
    maker, code = world["maker_actor"], world["code"]
    for cid in ("ETH-01", "ETH-02"):
        ethics.save_answer(session, maker, code, cid, AnswerIn(maturity=1, lock_version=0))
    # Each writer read both at version 1 and changes one; the form sends the other unchanged.
    ethics.save_answer(session, maker, code, "ETH-01", AnswerIn(maturity=2, lock_version=1))
    ethics.save_answer(session, maker, code, "ETH-02", AnswerIn(maturity=1, lock_version=1))
    ethics.save_answer(session, maker, code, "ETH-02", AnswerIn(maturity=3, lock_version=1))
    rows = ethics.answer_rows(session, ethics.draft_of(session, world["device"]))
    assert [(r.criterion_id, r.maturity, r.lock_version) for r in rows] == [
        ("ETH-01", 2, 2), ("ETH-02", 3, 2)]
    writes = [e for e in audit.events_for_device(session, world["device"].id)
              if e.action == "ethics.answer"]
    assert len(writes) == 4  # the unchanged ETH-02 was not a write
