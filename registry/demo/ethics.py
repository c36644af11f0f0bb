"""Demo data: Ethics-grid self-assessments and their reviews (issue #6).

Each demo device answers the criteria of a stage before leaving it (the G<n>.E / G1.8 gates need
them). Before leaving S4 it answers the rest of the grid, submits, and the HAS reviewer reviews
every answer, so devices at S5 and beyond carry a submitted, reviewed assessment (gate G5.8).
Maturities are varied but deterministic (a CRC of device and criterion), never below 2 for a
blocking criterion, so the charts show contrast.
"""

from __future__ import annotations

import zlib

from sqlmodel import Session

from registry.models import Stage
from registry.schemas.ethics import AnswerIn, ReviewIn
from registry.services import ethics

# Criteria the demo reviewer disputes (lowering the maturity by one), to show disagreement.
DISPUTED = {"ETH-26": "No measured inference cost per use yet; the RGESN self-assessment alone "
                      "is partial evidence.",
            "ETH-31": "The reader study covers one site only; over-reliance is not measured."}


def _maturity(code: str, criterion) -> int:
    value = 1 + zlib.crc32(f"{code}:{criterion.id}".encode()) % 3
    return max(value, 2) if criterion.blocking else value


def _answer(session: Session, demo, criterion) -> None:
    maturity = _maturity(demo.code, criterion)
    evidence = [{"kind": "link",
                 "ref": f"https://docs.{demo.code.lower()}.demo.example/ethics/{criterion.id}"}]
    ethics.save_answer(session, demo.maker, demo.code, criterion.id, AnswerIn(
        maturity=maturity, explanation=f"{demo.spec['name']}: {criterion.evidence[0]} "
        f"({'in place' if maturity == 3 else 'in progress'}).",
        evidence=evidence if maturity >= 2 else []))


def _answer_stage(session: Session, demo, stage: str) -> None:
    for criterion in ethics.get_grid().by_stage(stage):
        _answer(session, demo, criterion)


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Called before the demo device ``demo`` (registry.demo.DemoDevice) leaves ``stage``."""
    _answer_stage(session, demo, stage.value)
    if stage is not Stage.S4_VALIDATION:
        return
    for later in (Stage.S5_REGULATORY, Stage.S6_DEPLOYMENT, Stage.S7_POSTMARKET):
        _answer_stage(session, demo, later.value)
    submitted = ethics.submit_assessment(session, demo.maker, demo.code)
    reviewer = demo.actors["has"]
    for cid, answer in ethics.answers_of(session, submitted).items():
        if cid in DISPUTED and answer.maturity:
            data = ReviewIn(verdict="disagree", comment=DISPUTED[cid],
                            maturity=answer.maturity - 1)
        else:
            data = ReviewIn(verdict="agree", comment="Evidence checked.")
        ethics.review_criterion(session, reviewer, demo.code, cid, data)


def after_seed(session: Session, demos: list) -> None:
    """Devices still in S1 have a draft under way: the first framing criteria answered."""
    for demo in demos:
        if demo.spec["stage"] is Stage.S1_NEEDS:
            for criterion in ethics.get_grid().by_stage("S1_NEEDS")[:3]:
                _answer(session, demo, criterion)
