"""Demo data: use cases scored by the authority (use_cases.md "Demo selection scores") and one
problem report from the public (issue #10)."""

from __future__ import annotations

from sqlmodel import Session

from registry.models import Stage
from registry.models.catalogue import Criterion
from registry.schemas.catalogue import AssessmentIn, ProblemReportIn, UseCaseIn
from registry.services import catalogue, usecases

# use_cases.md, "Demo selection scores": NEED, MATURITY, DATA, FEASIBILITY, FRAMEWORK_COST, DELAY.
DEMO_USE_CASES = {
    "DEMO-01": ("Breast cancer screening: mammogram reading aid", (5, 5, 5, 3, 3, 5)),
    "DEMO-02": ("Resting ECG reading in primary care", (3, 5, 3, 5, 3, 5)),
    "DEMO-03": ("Prostate biopsy slide analysis", (3, 3, 3, 3, 3, 3)),
    "DEMO-04": ("Consultation transcription and draft reports", (3, 5, 3, 5, 3, 5)),
    "DEMO-05": ("Emergency department triage", (5, 3, 3, 3, 1, 3)),
    "DEMO-06": ("Cardiovascular risk for primary prevention", (5, 5, 5, 5, 3, 3)),
    "DEMO-07": ("Safe-prescribing alerts in hospital", (5, 3, 5, 3, 3, 3)),
    "DEMO-08": ("Large-vessel occlusion detection in stroke", (5, 5, 3, 3, 3, 5)),
}


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Called before the demo device ``demo`` (registry.demo.DemoDevice) leaves ``stage``."""


def after_seed(session: Session, demos: list) -> None:
    """One use case per demo device, scored by the authority; a problem report on MammoSight."""
    authority = demos[0].actors["authority"]
    for demo in demos:
        spec = demo.spec
        code = f"UC-{demo.code[-2:]}"
        title, grid = DEMO_USE_CASES[demo.code]
        usecases.create_use_case(session, authority, UseCaseIn(
            code=code, title=title, theme=spec["theme"], description=spec["intended_purpose"],
            device_code=demo.code))
        scores = dict(zip(Criterion, grid, strict=True))
        usecases.score_use_case(session, authority, code, AssessmentIn(
            scores=scores,
            justifications={c: f"demo score from the strategy's selection grid for {demo.code}"
                            for c in Criterion}))
    catalogue.report_problem(session, "DEMO-01", ProblemReportIn(
        category="performance", reporter_kind="professional",
        description="Several dense-breast (BI-RADS d) exams flagged with very low suspicion "
                    "scores were recalled by the second reader this month.",
        contact="radiologie@example.org"), fingerprint="demo")
