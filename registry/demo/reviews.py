"""Demo data: submissions, assessments, questions and signed opinions (#5).

Before a demo device leaves S5 its manufacturer submits the candidate version to the notified
body, whose reviewer scores every domain and signs a favourable decision (gate G5.2 needs it).
At the end, the marketed devices get a signed HAS opinion, and DEMO-02 (at S5) waits in the
notified body's queue with an open question.
"""

from __future__ import annotations

from sqlmodel import Session

from registry.models import Stage
from registry.schemas.reviews import OpinionIn, QuestionIn, ScoreIn, SubmissionIn
from registry.services import reviews

# A plausible dossier: good on the critical domains, reservations elsewhere.
SCORES = {
    "D1": ("3", "better detection rate than current practice in prospective data"),
    "D2": ("3", "complete risk file, FN/FP harm analysis with verified mitigations"),
    "D3": ("3", "prospective multi-site study at low risk of bias; TRIPOD+AI reported"),
    "D4": ("2", "workflow impact described and plausible (simulation)"),
    "D5": ("2", "budget-impact estimate provided"),
    "D6": ("3", "ethics grid at 70-89%, blocking criteria at maturity 2 or more"),
    "D7": ("3", "all KPIs met on external data, subgroups within tolerance"),
    "D8": ("2", "IFU states limits and per-group performance; override possible"),
    "D9": ("3", "automated drift monitoring with a tested incident process"),
}


def _assess(session: Session, demo, organisation: str, **decision) -> None:
    from registry.demo import DEMO_PASSWORD

    submission = reviews.submit(session, demo.maker, demo.code, SubmissionIn(
        reviewer_organisation_id=demo.orgs[organisation].id,
        cover_note=f"{demo.spec['name']}: technical documentation and clinical evaluation"))
    reviewer = demo.actors[organisation]
    device = reviews.get_submission(session, reviewer, submission.id)[1]
    for domain in reviews.applicable_domains(device):
        score, why = SCORES[domain.code]
        reviews.score_domain(session, reviewer, submission.id,
                             ScoreIn(domain=domain.code, score=score, justification=why))
    reviews.sign_opinion(session, reviewer, submission.id, OpinionIn(
        password=DEMO_PASSWORD, **decision))


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Called before the demo device ``demo`` (registry.demo.DemoDevice) leaves ``stage``."""
    if stage != Stage.S5_REGULATORY:
        return
    _assess(session, demo, "nb", decision="granted", certificate_number=f"NB-{demo.code}-2025",
            rationale="Annex IX conformity assessment completed: QMS and technical "
                      "documentation meet the MDR general safety and performance requirements.")


def after_seed(session: Session, demos: list) -> None:
    """Called once every demo device has reached its stage."""
    for demo in demos:
        if demo.spec["stage"] == Stage.S7_POSTMARKET:
            _assess(session, demo, "has", service_attendu="sufficient", asa="IV",
                    rationale="Sufficient expected benefit in the indication; minor improvement "
                              "over current practice on an intermediate clinical outcome.")
        elif demo.spec["stage"] == Stage.S5_REGULATORY:
            submission = reviews.submit(session, demo.maker, demo.code, SubmissionIn(
                reviewer_organisation_id=demo.orgs["nb"].id,
                cover_note="Initial conformity assessment request"))
            reviews.ask_question(session, demo.actors["nb"], submission.id, QuestionIn(
                body="Please provide the subgroup performance for patients aged 80 and over, "
                     "and the error analysis of missed atrial fibrillation."))
