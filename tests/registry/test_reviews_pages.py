"""Reviews (#5) web pages through the Flask client: refusals shown next to their fields with
nothing saved, pages closed to those who may not read them, the device-page panel with the
signature."""

from __future__ import annotations

import pytest
from sqlmodel import select

from registry.auth import Actor
from registry.models import OrganisationKind, Role
from registry.models.reviews import Opinion
from registry.schemas.reviews import OpinionIn, ScoreIn, SubmissionIn
from registry.services import reviews
from tests import factories

SCORES = {"D1": "3", "D2": "3", "D3": "3", "D4": "2", "D5": "NA", "D6": "3", "D7": "3",
          "D8": "2"}


@pytest.fixture
def world(session):
    device = factories.DeviceFactory()
    maker = factories.UserFactory(role=Role.manufacturer, organisation_id=device.manufacturer_id)
    nb = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
    reviewer = factories.UserFactory(role=Role.reviewer, organisation_id=nb.id, name="Nina NB")
    submission = reviews.submit(session, Actor.from_user(maker), device.code,
                                SubmissionIn(reviewer_organisation_id=nb.id))
    return {"device": device, "maker": maker, "reviewer": reviewer, "submission": submission,
            "assessor": Actor.from_user(reviewer)}


def login(client, user) -> None:
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def score_all(session, world) -> None:
    for domain, score in SCORES.items():
        reviews.score_domain(session, world["assessor"], world["submission"].id, ScoreIn(
            domain=domain, score=score, justification=f"{domain} justified on the dossier"))


def test_score_form_shows_problems_and_saves_nothing(client, session, world):
    login(client, world["reviewer"])
    url = f"/reviews/{world['submission'].id}/scores"
    response = client.post(url, data={
        "score_D1": "3", "justification_D1": "short",
        "score_D4": "2", "justification_D4": "described and plausible"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "at least 10 characters" in page
    # The service's refusal (a critical domain cannot be NA) comes back on the page too.
    response = client.post(url, data={
        "score_D2": "NA", "justification_D2": "software only, nothing to assess",
        "score_D4": "2", "justification_D4": "described and plausible"})
    assert response.status_code == 422
    assert "D2 is a critical domain and cannot be" in response.get_data(as_text=True)
    assert reviews.scores_of(session, world["submission"]) == []
    response = client.post(url, data={"score_D4": "2",
                                      "justification_D4": "described and plausible"})
    assert response.status_code == 302
    assert [s.domain for s in reviews.scores_of(session, world["submission"])] == ["D4"]


def test_wrong_password_is_shown_at_the_password_field(client, session, world):
    score_all(session, world)
    login(client, world["reviewer"])
    response = client.post(f"/reviews/{world['submission'].id}/opinions", data={
        "decision": "granted", "certificate_number": "NB-1", "password": "guess",
        "rationale": "technical documentation complete"})
    assert response.status_code == 422
    assert "re-enter your own password to sign" in response.get_data(as_text=True)
    assert session.exec(select(Opinion)).all() == []


def test_review_pages_are_closed_to_those_who_may_not_read_them(client, world):
    submission_url = f"/reviews/{world['submission'].id}"
    hospital = factories.UserFactory(role=Role.hospital)
    login(client, hospital)
    assert client.get("/reviews").status_code == 403
    assert client.get(submission_url).status_code == 403
    client.post("/logout")
    auditor = factories.UserFactory(role=Role.auditor)  # no grant on the device
    login(client, auditor)
    assert client.get(submission_url).status_code == 404
    assert world["device"].code not in client.get("/reviews").get_data(as_text=True)


def test_device_panel_shows_the_signed_opinion_with_its_signature(client, session, world):
    score_all(session, world)
    opinion = reviews.sign_opinion(session, world["assessor"], world["submission"].id, OpinionIn(
        decision="granted_with_conditions", certificate_number="NB-7",
        conditions="post-market study on patients over 80", password=factories.PASSWORD,
        rationale="conformity established, with conditions"))
    login(client, world["maker"])
    page = client.get(f"/devices/{world['device'].code}").get_data(as_text=True)
    assert "Certificate granted with conditions" in page
    assert "post-market study on patients over 80" in page
    assert "Signed by Nina NB" in page and opinion.signed_at.strftime("%Y-%m-%d %H:%M") in page
    assert opinion.meaning in page and "signature verified" in page
    assert opinion.content_hash[:16] in page


def test_hta_reviewer_signs_an_opinion_and_an_amendment_through_the_form(client, session,
                                                                         world):
    has = factories.OrganisationFactory(kind=OrganisationKind.hta_agency)
    reviewer = factories.UserFactory(role=Role.reviewer, organisation_id=has.id, name="Hugo HAS")
    maker = Actor.from_user(world["maker"])
    submission = reviews.submit(session, maker, world["device"].code,
                                SubmissionIn(reviewer_organisation_id=has.id))
    world = {**world, "submission": submission, "assessor": Actor.from_user(reviewer)}
    score_all(session, world)
    login(client, reviewer)
    page = client.get(f"/reviews/{submission.id}").get_data(as_text=True)
    assert "Service attendu" in page and "Sign the HTA opinion" in page
    url = f"/reviews/{submission.id}/opinions"
    signed = client.post(url, data={"service_attendu": "sufficient", "asa": "IV",
                                    "rationale": "minor improvement over current practice",
                                    "password": factories.PASSWORD})
    assert signed.status_code == 302
    page = client.get(f"/reviews/{submission.id}").get_data(as_text=True)
    assert "Service attendu <strong>sufficient</strong>" in page and "IV · minor" in page
    assert "Sign an amendment" in page
    [first] = session.exec(select(Opinion)).all()
    amended = client.post(url, data={"service_attendu": "insufficient", "amends_id": first.id,
                                     "rationale": "new data: no benefit in the population",
                                     "password": factories.PASSWORD})
    assert amended.status_code == 302
    opinions = session.exec(select(Opinion).order_by(Opinion.id)).all()
    assert [(o.service_attendu, o.amends_id) for o in opinions] == [
        ("sufficient", None), ("insufficient", first.id)]
