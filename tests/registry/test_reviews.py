"""Reviews (#5) through the service functions, on the real database: submissions and what changed,
the pre-fill, domain scores, the question thread, signed opinions, amendments and gate G5.2."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from registry import lifecycle, signing
from registry.errors import ConflictError, InvalidInputError, NotFoundError
from registry.lifecycle import GateContext
from registry.models import (
    AccessGrant,
    AuditEvent,
    DatasetKind,
    OrganisationKind,
    Role,
    Stage,
)
from registry.models.evaluations import Evaluation, EvaluationStatus
from registry.models.reviews import Opinion, ReviewMessage, Submission, SubmissionStatus
from registry.schemas import EvidenceIn, ModelVersionIn
from registry.schemas.reviews import (
    AnswerIn,
    ChecklistIn,
    OpinionIn,
    QuestionIn,
    ScoreIn,
    SubmissionIn,
)
from registry.services import artifacts, devices, reviews
from tests import factories

# hta.md 6.4, written out by hand: dataset kind -> evidence level.
LEVELS = {"internal": "L1", "external": "L2", "prospective": "L3", "rct": "L4"}
GOOD = {"D1": "3", "D2": "3", "D3": "3", "D4": "2", "D5": "NA", "D6": "3", "D7": "3",
        "D8": "2"}


@pytest.fixture
def world(session):
    maker = factories.actor_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    nb = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
    has = factories.OrganisationFactory(kind=OrganisationKind.hta_agency)
    return {"maker": maker, "device": device, "nb": nb, "has": has,
            "nb_reviewer": factories.actor_for(Role.reviewer, nb.id),
            "has_reviewer": factories.actor_for(Role.reviewer, has.id),
            "version": devices.candidate_version(session, device)}


def add_evaluation(session, world, kind, verdicts, subgroups=(), version=None):
    row = Evaluation(device_id=world["device"].id,
                     model_version_id=(version or world["version"]).id,
                     dataset_kind=DatasetKind(kind), site="CHU Test",
                     status=EvaluationStatus.done, sha256="0" * 64,
                     created_by=world["maker"].user_id,
                     results={"n": 400, "subgroups": list(subgroups)}, kpi_verdicts=verdicts)
    session.add(row)
    session.flush()
    return row


def verdict(verdict_, primary=True, metric="auc", estimate=0.93, low=0.91, high=0.95):
    return {"metric": metric, "is_primary": primary, "verdict": verdict_, "estimate": estimate,
            "ci_low": low, "ci_high": high}


def sex_subgroup(auc_f, auc_m, small=False):
    def level(name, value):
        return {"column": "sex", "level": name, "n": 200, "insufficient_data": small and
                name == "F", "insufficient_reason": "12 positives < 30" if small else None,
                "kpi_flags": [], "metrics": {"auc": {"value": value}}}

    return {"column": "sex", "levels": [level("F", auc_f), level("M", auc_m)], "spread": {}}


def document(session, world, item="G4.5", name="report.pdf"):
    art = artifacts.upload_artifact(session, world["maker"], io.BytesIO(name.encode()), name,
                                    "application/pdf")
    devices.attach_evidence(session, world["maker"], world["device"].code,
                            EvidenceIn(gate_item=item, artifact_id=art.id))
    return art


def submit(session, world, to="nb", **kw):
    return reviews.submit(session, world["maker"], world["device"].code,
                          SubmissionIn(reviewer_organisation_id=world[to].id, **kw))


def score_all(session, reviewer, submission, scores=GOOD):
    for domain, value in scores.items():
        reviews.score_domain(session, reviewer, submission.id, ScoreIn(
            domain=domain, score=value, justification=f"{domain}: justified by the dossier"))


def sign(session, reviewer, submission, **fields):
    values = {"rationale": "conformity of the technical documentation established",
              "password": factories.PASSWORD, **fields}
    if "decision" not in values and "service_attendu" not in values:
        values.update(decision="granted", certificate_number="NB-0001-2026")
    return reviews.sign_opinion(session, reviewer, submission.id, OpinionIn(**values))


def events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- submissions ------------------------------------------------------------------------------


def test_submit_freezes_contents_grants_access_and_is_audited(session, world):
    doc = document(session, world)
    ev = add_evaluation(session, world, "external", [verdict("met")])
    submission = submit(session, world, cover_note="first filing")
    assert submission.kind == "nb_decision" and submission.status == SubmissionStatus.open
    assert submission.evaluation_ids == [ev.id] and submission.artifact_ids == [doc.id]
    assert submission.changes["first_submission"] is True
    assert submission.changes["new_evaluation_ids"] == [ev.id]
    grant = session.exec(select(AccessGrant).where(
        AccessGrant.device_id == world["device"].id,
        AccessGrant.organisation_id == world["nb"].id)).one()
    assert grant.purpose == "review"
    [event] = events(session, "review.submit")
    assert event.device_id == world["device"].id and event.actor_id == world["maker"].user_id
    assert json.loads(event.payload)["after"]["evaluation_ids"] == [ev.id]
    # The notified body now sees it in its queue; the HTA agency does not.
    assert reviews.list_submissions(session, world["nb_reviewer"]) == [submission]
    assert reviews.list_submissions(session, world["has_reviewer"]) == []


def test_prefill_gives_evidence_levels_kpi_verdicts_and_subgroup_flags(session, world):
    internal = add_evaluation(session, world, "internal", [verdict("met")])
    external = add_evaluation(session, world, "external", [
        verdict("met"), verdict("inconclusive", primary=False, metric="sensitivity",
                                estimate=0.84, low=0.79, high=0.88)],
        subgroups=[sex_subgroup(0.86, 0.94)])
    prospective = add_evaluation(session, world, "prospective", [verdict("met")],
                                 subgroups=[sex_subgroup(0.92, 0.93, small=True)])
    prefill = submit(session, world).prefill
    assert [(e["evaluation_id"], e["level"]) for e in prefill["evidence"]] == [
        (e.id, LEVELS[e.dataset_kind.value]) for e in (internal, external, prospective)]
    assert prefill["evidence"][2]["guidelines"] == ["DECIDE-AI", "STARD-AI"]
    assert [(k["evaluation_id"], k["metric"], k["verdict"]) for k in prefill["kpis"]] == [
        (internal.id, "auc", "met"), (external.id, "auc", "met"),
        (external.id, "sensitivity", "inconclusive"), (prospective.id, "auc", "met")]
    # sex: AUC 0.94 - 0.86 = 0.08 > the declared 0.05 on the external evaluation; the
    # prospective one has a level too small to conclude.
    flags = [(f["evaluation_id"], f["kind"]) for f in prefill["subgroup_flags"]]
    assert flags == [(external.id, "gap"), (prospective.id, "insufficient_data")]
    assert "0.080" in prefill["subgroup_flags"][0]["text"]
    assert prefill["suggestions"]["D3"]["score"] == "3"  # best level L3
    assert prefill["suggestions"]["D7"]["score"] == "2"  # met externally, but flags


@pytest.mark.parametrize("kinds_verdicts, d3, d7", [
    ([], "0", "ND"),
    ([("internal", "met")], "1", "1"),
    ([("external", "not_met")], "2", "0"),
    ([("external", "met"), ("rct", "met")], "4", "3"),
])
def test_prefill_suggestions_follow_the_anchors(session, world, kinds_verdicts, d3, d7):
    for kind, v in kinds_verdicts:
        add_evaluation(session, world, kind, [verdict(v)])
    suggestions = submit(session, world).prefill["suggestions"]
    assert (suggestions["D3"]["score"], suggestions["D7"]["score"]) == (d3, d7)


def test_second_submission_shows_what_changed(session, world):
    first_doc = document(session, world)
    first_eval = add_evaluation(session, world, "external", [verdict("met")])
    first = submit(session, world)
    version = devices.create_model_version(session, world["maker"], world["device"].code,
                                           ModelVersionIn(version="2.0",
                                                          change_type="architecture",
                                                          change_description="new backbone"))
    new_eval = add_evaluation(session, world, "external", [verdict("met")], version=version)
    new_doc = document(session, world, "G5.4", "tech-doc-index.pdf")
    second = submit(session, world)
    assert second.previous_id == first.id and second.model_version_id == version.id
    assert second.changes == {
        "first_submission": False, "previous_submission_id": first.id,
        "previous_version": "1.0", "version": "2.0", "new_version": True,
        "change_type": "architecture", "change_description": "new backbone",
        "new_evaluation_ids": [new_eval.id], "new_artifact_ids": [new_doc.id]}
    assert first_eval.id not in second.evaluation_ids
    assert second.artifact_ids == [first_doc.id, new_doc.id]


def test_submit_refuses_bad_input_and_writes_nothing(session, world):
    hospital = factories.OrganisationFactory(kind=OrganisationKind.hospital)
    other = factories.actor_for(Role.manufacturer)
    foreign = artifacts.upload_artifact(session, other, io.BytesIO(b"x"), "x.pdf", "text/plain")
    before = session.exec(select(AuditEvent.id)).all()
    with pytest.raises(InvalidInputError, match="not an HTA agency or a notified body"):
        with session.begin_nested():
            reviews.submit(session, world["maker"], world["device"].code,
                           SubmissionIn(reviewer_organisation_id=hospital.id))
    with pytest.raises(InvalidInputError, match=rf"artifact_ids \[{foreign.id}\]"):
        with session.begin_nested():
            submit(session, world, artifact_ids=[foreign.id])
    with pytest.raises(InvalidInputError, match=r"evaluation_ids \[999999\]"):
        with session.begin_nested():
            submit(session, world, evaluation_ids=[999999])
    assert session.exec(select(Submission)).all() == []
    assert session.exec(select(AuditEvent.id)).all() == before
    assert session.exec(select(AccessGrant).where(
        AccessGrant.organisation_id == world["nb"].id)).all() == []


def test_reviewer_of_another_organisation_cannot_see_or_assess(session, world):
    submission = submit(session, world, to="nb")
    # The HTA agency even has its own grant on the device: still not its submission.
    factories.grant(session, world["device"], world["has"].id)
    with pytest.raises(NotFoundError):
        reviews.get_submission(session, world["has_reviewer"], submission.id)
    with pytest.raises(NotFoundError):
        reviews.score_domain(session, world["has_reviewer"], submission.id,
                             ScoreIn(domain="D1", score="3", justification="not my submission"))
    # Without its grant, the notified body loses the submission too.
    grant = session.exec(select(AccessGrant).where(
        AccessGrant.organisation_id == world["nb"].id)).one()
    session.delete(grant)
    session.flush()
    with pytest.raises(NotFoundError):
        reviews.get_submission(session, world["nb_reviewer"], submission.id)


# --- assessment -------------------------------------------------------------------------------


def test_scores_follow_the_domain_rules_and_are_audited(session, world):
    submission = submit(session, world)
    reviewer = world["nb_reviewer"]
    with pytest.raises(InvalidInputError, match="D9 .* applies only to adaptive devices"):
        reviews.score_domain(session, reviewer, submission.id, ScoreIn(
            domain="D9", score="2", justification="plan with indicators"))
    with pytest.raises(InvalidInputError, match="D2 is a critical domain"):
        reviews.score_domain(session, reviewer, submission.id, ScoreIn(
            domain="D2", score="NA", justification="not applicable here"))
    reviews.score_domain(session, reviewer, submission.id, ScoreIn(
        domain="D1", score=2, justification="non-inferior on external data"))
    row = reviews.score_domain(session, reviewer, submission.id, ScoreIn(
        domain="D1", score="3", justification="better detection rate, prospective"))
    assert [(s.domain, s.score) for s in reviews.scores_of(session, submission)] == [("D1", "3")]
    assert row.justification == "better detection rate, prospective"
    payloads = [json.loads(e.payload) for e in events(session, "review.score")]
    assert [(p["before"] or {}).get("score") for p in payloads] == [None, "2"]
    assert payloads[1]["after"]["score"] == "3"


def test_adaptive_device_scores_d9(session, world):
    world["device"].adaptivity = "adaptive"
    session.add(world["device"])
    submission = submit(session, world)
    reviews.score_domain(session, world["nb_reviewer"], submission.id, ScoreIn(
        domain="D9", score="3", justification="drift monitoring and feedback loop tested"))
    assert reviews.current_scores(session, world["device"], submission) == {"D9": 3}


def test_checklist_compliance_counts_applicable_items(session, world):
    doc = document(session, world, "G4.6", "tripod-ai.pdf")
    submission = submit(session, world)
    row = reviews.record_checklist(session, world["nb_reviewer"], submission.id, ChecklistIn(
        guideline="TRIPOD+AI", artifact_id=doc.id, items=[
            {"item": "1", "status": "reported", "page": "p. 1"},
            {"item": "5a", "status": "not_reported"},
            {"item": "12", "status": "NA"},
            {"item": "13", "status": "reported"}]))
    assert reviews.compliance(row.items) == pytest.approx(2 / 3)
    with pytest.raises(InvalidInputError, match=r"\['1'\] are listed more than once"):
        reviews.record_checklist(session, world["nb_reviewer"], submission.id, ChecklistIn(
            guideline="TRIPOD+AI", items=[{"item": "1", "status": "reported"},
                                          {"item": "1", "status": "NA"}]))
    assert reviews.compliance([{"status": "NA"}]) is None


# --- questions --------------------------------------------------------------------------------


def test_question_and_answer_thread_is_kept(session, world):
    submission = submit(session, world)
    question = reviews.ask_question(session, world["nb_reviewer"], submission.id,
                                    QuestionIn(body="Send the error analysis of false negatives."))
    assert submission.status == SubmissionStatus.information_requested
    attachment = artifacts.upload_artifact(session, world["maker"], io.BytesIO(b"fn analysis"),
                                           "fn.pdf", "application/pdf")
    answer = reviews.answer_question(session, world["maker"], submission.id, question.id,
                                     AnswerIn(body="Attached.", artifact_id=attachment.id))
    assert submission.status == SubmissionStatus.open
    assert attachment.id in submission.artifact_ids  # the reviewer can cite it
    assert [(m.kind, m.in_reply_to) for m in reviews.messages_of(session, submission)] == [
        ("question", None), ("answer", question.id)]
    assert answer.author_name == world["maker"].name
    with pytest.raises(ConflictError, match="already answered"):
        reviews.answer_question(session, world["maker"], submission.id, question.id,
                                AnswerIn(body="again"))
    # Only the device's manufacturer answers.
    with pytest.raises(NotFoundError):
        reviews.answer_question(session, factories.actor_for(Role.manufacturer), submission.id,
                                question.id, AnswerIn(body="not mine"))
    assert [e.action for e in session.exec(select(AuditEvent).where(
        AuditEvent.object_type == "review_submission").order_by(AuditEvent.seq)).all()] == [
        "review.submit", "review.question", "review.answer"]


# --- signed opinions --------------------------------------------------------------------------


def test_signing_needs_the_password_every_score_and_fitting_fields(session, world):
    submission = submit(session, world)
    reviewer = world["nb_reviewer"]
    with pytest.raises(ConflictError, match="score domains D1, D2"):
        sign(session, reviewer, submission)
    score_all(session, reviewer, submission)
    with pytest.raises(InvalidInputError, match="password you re-entered does not match") as bad:
        sign(session, reviewer, submission, password="not the password")
    assert bad.value.errors[0]["pointer"] == "#/password"
    with pytest.raises(InvalidInputError, match="needs its number"):
        sign(session, reviewer, submission, decision="granted")
    with pytest.raises(InvalidInputError, match="state the conditions"):
        sign(session, reviewer, submission, decision="granted_with_conditions",
             certificate_number="NB-1")
    with pytest.raises(InvalidInputError, match="no service attendu"):
        sign(session, reviewer, submission, service_attendu="sufficient", asa="III")
    assert session.exec(select(Opinion)).all() == []
    assert events(session, "review.sign") == []


def test_hta_opinion_fields(session, world):
    submission = submit(session, world, to="has")
    reviewer = world["has_reviewer"]
    score_all(session, reviewer, submission)
    with pytest.raises(InvalidInputError, match="needs an ASA level"):
        sign(session, reviewer, submission, service_attendu="sufficient")
    with pytest.raises(InvalidInputError, match="no ASA level"):
        sign(session, reviewer, submission, service_attendu="insufficient", asa="V")
    opinion = sign(session, reviewer, submission, service_attendu="sufficient", asa="III")
    assert opinion.kind == "hta_opinion" and opinion.favourable
    # The rule-derived suggestion (evaluation.hta) is frozen with it: D1 3 and D3 3 -> ASA III.
    assert opinion.derived["opinion"] == "favourable" and opinion.derived["asa_suggestion"] == "III"
    assert opinion.scores["D9"] == {"score": "NA",
                                    "justification": "domain does not apply to this device"}


def test_signature_binds_signer_time_and_meaning_and_verifies(session, world):
    submission = submit(session, world)
    reviewer = world["nb_reviewer"]
    score_all(session, reviewer, submission)
    opinion = sign(session, reviewer, submission)
    assert submission.status == SubmissionStatus.concluded
    content = json.loads(opinion.signed_content)
    assert content["signer_name"] == reviewer.name and content["signer_email"] == reviewer.email
    assert content["meaning"].startswith("Approval: the signer issues this notified-body decision")
    assert content["signed_at"] == opinion.signed_at.isoformat(timespec="microseconds")
    assert content["context"]["device_code"] == world["device"].code
    # Independent check: SHA-256 of the stored content, Ed25519 with the registry's public key.
    assert hashlib.sha256(opinion.signed_content.encode()).hexdigest() == opinion.content_hash
    public = load_pem_public_key(signing.get_signer().public_pem.encode())
    public.verify(base64.b64decode(opinion.signature), opinion.content_hash.encode())
    assert reviews.verify_opinion(session, world["maker"], opinion.id) == []
    [event] = events(session, "review.sign")
    payload = json.loads(event.payload)
    assert payload["content_hash"] == opinion.content_hash and "password" not in event.payload
    assert factories.PASSWORD not in event.payload


def test_verification_names_what_changed_after_signing(session, world):
    submission = submit(session, world)
    score_all(session, world["nb_reviewer"], submission)
    opinion = sign(session, world["nb_reviewer"], submission)
    session.expunge(opinion)  # an in-memory copy: the database row cannot change (next test)
    opinion.rationale = "rewritten afterwards"
    problems = reviews.signatures.verify(opinion)
    assert problems == ["the record differs from what was signed: rationale"]
    opinion.signed_content = opinion.signed_content.replace("granted", "refused")
    assert "no longer matches its SHA-256" in reviews.signatures.verify(opinion)[0]


@pytest.mark.parametrize("table", ["review_opinion", "review_message"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET submission_id = submission_id",
                                       "DELETE FROM {t}"])
def test_database_refuses_to_rewrite_signed_opinions_and_the_thread(session, world, table,
                                                                    statement):
    submission = submit(session, world)
    reviews.ask_question(session, world["nb_reviewer"], submission.id,
                         QuestionIn(body="What is the intended population?"))
    score_all(session, world["nb_reviewer"], submission)
    sign(session, world["nb_reviewer"], submission)
    session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(text(statement.format(t=table)))
    assert session.exec(select(Opinion)).one().content_hash
    assert len(session.exec(select(ReviewMessage)).all()) == 1


def test_amendment_is_a_new_signed_record_that_replaces_the_old_one(session, world):
    submission = submit(session, world)
    reviewer = world["nb_reviewer"]
    score_all(session, reviewer, submission)
    first = sign(session, reviewer, submission)
    with pytest.raises(ConflictError, match=f"already has signed opinion #{first.id}"):
        sign(session, reviewer, submission)
    first_hash = first.content_hash
    amendment = sign(session, reviewer, submission, decision="refused", amends_id=first.id,
                     rationale="post-market data show an unmitigated hazard")
    assert amendment.id != first.id and amendment.amends_id == first.id
    assert not amendment.favourable and "amendment of opinion" in amendment.meaning
    assert session.get(Opinion, first.id).content_hash == first_hash
    with pytest.raises(ConflictError, match=f"is not the current signed opinion.*#{amendment.id}"):
        sign(session, reviewer, submission, amends_id=first.id)
    facts = reviews.gate_facts(session, world["device"], world["version"],
                               {world["version"].id})
    assert [o["id"] for o in facts["opinions"]] == [amendment.id]
    assert facts["favourable_notified_body"] is False


# --- gate G5.2 --------------------------------------------------------------------------------


def g52(session, device) -> str | None:
    ctx = devices.gate_context(session, device)
    return lifecycle.ITEMS_BY_ID["G5.2"].check(ctx)


def test_gate_g5_2_needs_a_favourable_decision_on_the_candidate_version(session, world):
    device = world["device"]
    device.stage = Stage.S5_REGULATORY
    device.certificate_numbers = ["NB-0001-2026"]
    session.add(device)
    document(session, world, "G5.2", "declaration-of-conformity.pdf")
    assert "favourable notified-body decision" in g52(session, device)
    # A favourable HTA opinion does not replace the notified body for a class IIb device.
    hta_submission = submit(session, world, to="has")
    score_all(session, world["has_reviewer"], hta_submission)
    sign(session, world["has_reviewer"], hta_submission, service_attendu="sufficient", asa="IV")
    assert "favourable notified-body decision" in g52(session, device)
    submission = submit(session, world)
    score_all(session, world["nb_reviewer"], submission)
    sign(session, world["nb_reviewer"], submission)
    assert g52(session, device) is None
    # A new version that needs re-validation does not inherit the decision.
    devices.create_model_version(session, world["maker"], device.code, ModelVersionIn(
        version="2.0", change_type="architecture", change_description="new inputs"))
    assert "favourable notified-body decision" in g52(session, device)


def test_gate_g5_2_accepts_an_hta_opinion_when_no_notified_body_is_needed():
    def context(reviews_facts):
        return GateContext(device={"regulation": "MDR", "risk_class": "I"},
                           documents=frozenset({"G5.2"}), facts={"reviews": reviews_facts})

    item = lifecycle.ITEMS_BY_ID["G5.2"]
    assert "notified body or HTA opinion" in item.check(context(None))
    assert item.check(context({"favourable_hta": True})) is None
    assert item.check(context({"favourable_notified_body": True})) is None
    waived = GateContext(device={"regulation": "MDR", "risk_class": "IIb"},
                         waivers=frozenset({"G5.2"}))
    assert item.evaluate(waived) is None


# --- pre-fill from the other areas' real services -------------------------------------------


def test_prefill_reads_a_real_evaluation(session, world):
    evaluation = factories.evaluation(session, world["maker"], world["device"],
                                      dataset_kind="external")
    prefill = submit(session, world).prefill
    assert prefill["evidence"] == [{"evaluation_id": evaluation.id, "dataset_kind": "external",
                                    "site": evaluation.site, "level": "L2",
                                    "level_name": "external retrospective validation",
                                    "guidelines": ["TRIPOD+AI", "STARD-AI"]}]
    assert [(k["metric"], k["verdict"], k["estimate"]) for k in prefill["kpis"]] == [
        (v["metric"], v["verdict"], v["estimate"]) for v in evaluation.kpi_verdicts]


@pytest.mark.parametrize("maturity, submitted, score, words", [
    (2, True, "2", "ethics grid score 67%"),
    (3, True, "3", "ethics grid score 100%"),  # 4 needs every criterion reviewed
    (3, False, "ND", "not submitted"),
])
def test_prefill_suggests_d6_from_the_ethics_grid(session, world, maturity, submitted, score,
                                                  words):
    from registry.services import ethics

    factories.answer_ethics(session, world["maker"], world["device"], maturity=maturity)
    if submitted:
        ethics.submit_assessment(session, world["maker"], world["device"].code)
    prefill = submit(session, world).prefill
    assert prefill["ethics"]["status"] == ("submitted" if submitted else "draft")
    assert prefill["suggestions"]["D6"]["score"] == score
    assert words in prefill["suggestions"]["D6"]["reason"]


def test_two_reviewers_signing_at_once_make_one_opinion(db_kind, tmp_path):
    """Real commits from two threads on a database of its own: the submission row is locked,
    so the second signer sees the first opinion and is told to amend it."""
    import os
    import threading

    from registry.db import Database
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    name = f"dmd_reviews_concurrency_{os.getpid()}"
    url = fresh_database_url(db_kind, tmp_path, name)
    upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work() as s:
            factories.bind(s)
            maker = factories.actor_for(Role.manufacturer)
            device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
            nb = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
            signers = [factories.actor_for(Role.reviewer, nb.id) for _ in range(2)]
            submission = reviews.submit(s, maker, device.code,
                                        SubmissionIn(reviewer_organisation_id=nb.id))
            score_all(s, signers[0], submission)
            submission_id = submission.id
        outcomes = []

        def sign_as(actor):
            try:
                with database.unit_of_work() as s:
                    reviews.sign_opinion(s, actor, submission_id, OpinionIn(
                        decision="granted", certificate_number="NB-1", password=factories.PASSWORD,
                        rationale="conformity established on the dossier"))
                outcomes.append("signed")
            except ConflictError as exc:
                outcomes.append(exc.detail)

        threads = [threading.Thread(target=sign_as, args=(a,)) for a in signers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count("signed") == 1 and len(outcomes) == 2
        assert "already has signed opinion" in next(o for o in outcomes if o != "signed")
        with database.unit_of_work() as s:
            assert len(s.exec(select(Opinion)).all()) == 1
    finally:
        database.engine.dispose()
        drop_database(db_kind, name)


def test_a_device_is_never_reviewed_by_its_own_organisation(session, world):
    # Submissions go only to HTA agencies and notified bodies, and reviewers only belong to
    # those (core ROLE_ORGANISATION_KINDS), so a manufacturer never reviews its own device.
    with pytest.raises(InvalidInputError, match="not an HTA agency or a notified body"):
        reviews.submit(session, world["maker"], world["device"].code, SubmissionIn(
            reviewer_organisation_id=world["maker"].organisation_id))
    submission = submit(session, world)
    with pytest.raises(NotFoundError):
        # Even an actor forged as a reviewer of the manufacturer's organisation finds nothing.
        forged = dataclasses.replace(world["maker"], role=Role.reviewer)
        reviews.score_domain(session, forged, submission.id, ScoreIn(
            domain="D1", score="4", justification="my own device is excellent"))
