"""Use-case prioritisation: scores 1/3/5 on six criteria, ranking, assessors, audit."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from sqlmodel import select

from registry.errors import ConflictError, InvalidInputError, PermissionDeniedError
from registry.models import AuditEvent, Role
from registry.models.catalogue import Criterion
from registry.schemas.catalogue import AssessmentIn, UseCaseIn
from registry.services import usecases
from tests import factories

ORDER = [c.value for c in Criterion]


def assessment(*scores: int, weights: dict | None = None) -> AssessmentIn:
    return AssessmentIn(scores=dict(zip(ORDER, scores, strict=True)),
                        justifications={c: f"reason for {c}" for c in ORDER},
                        weights=weights or {})


@pytest.fixture
def authority():
    return factories.actor_for(Role.authority)


def make(session, actor, code, theme="CARE"):
    return usecases.create_use_case(session, actor, UseCaseIn(code=code, title=f"Use {code}",
                                                              theme=theme))


def slow_ranking(cases: dict[str, list[tuple[list[int], dict]]]) -> list[str]:
    """Textbook version: mean of totals, then mean NEED, then mean MATURITY, then code."""
    keyed = []
    for code, rows in cases.items():
        totals = [sum(s * w.get(ORDER[i], 1.0) for i, s in enumerate(scores))
                  for scores, w in rows]
        need = sum(scores[0] for scores, _ in rows) / len(rows)
        maturity = sum(scores[1] for scores, _ in rows) / len(rows)
        keyed.append((-(sum(totals) / len(totals)), -need, -maturity, code))
    return [k[3] for k in sorted(keyed)]


def test_criteria_carry_the_anchored_descriptions():
    assert [c["code"] for c in usecases.CRITERIA] == ORDER
    for c in usecases.CRITERIA:
        assert set(c["anchors"]) == {1, 3, 5} and all(c["anchors"].values())
    delay = usecases.CRITERIA[-1]["anchors"]
    assert "more than 5 years" in delay[1] and "less than 2 years" in delay[5]


@pytest.mark.parametrize("scores, message", [
    ({"NEED": 2}, "Input should be 1, 3 or 5"),
    ({"NEED": 7}, "Input should be 1, 3 or 5"),
    ({}, "missing: NEED, MATURITY"),
])
def test_scores_are_one_three_or_five_for_every_criterion(scores, message):
    full = {c: 3 for c in ORDER[1:]} if scores else {}
    with pytest.raises(ValidationError, match=message):
        AssessmentIn(scores={**full, **scores}, justifications={c: "x" for c in ORDER})


def test_every_score_needs_a_justification():
    with pytest.raises(ValidationError, match="justify every score; missing: DELAY"):
        AssessmentIn(scores={c: 3 for c in ORDER},
                     justifications={c: "why" for c in ORDER[:-1]} | {"DELAY": "  "})


def test_ranking_matches_a_textbook_computation_with_tie_breaks_and_weights(session, authority):
    second = factories.actor_for(Role.authority)
    given = {
        # Same mean total 24 for A, B and C: B has the higher NEED, A and C tie on NEED and
        # differ on MATURITY.
        "UC-A": [([3, 5, 5, 5, 3, 3], {}), ([3, 5, 3, 3, 5, 5], {})],
        "UC-B": [([5, 3, 3, 5, 3, 5], {})],
        "UC-C": [([3, 3, 5, 5, 5, 3], {})],
        "UC-D": [([5, 5, 5, 5, 5, 5], {"NEED": 0.5, "DELAY": 2.0})],
        "UC-E": [([1, 1, 1, 1, 1, 1], {})],
    }
    for code, rows in given.items():
        make(session, authority, code)
        for (scores, weights), who in zip(rows, (authority, second), strict=False):
            usecases.score_use_case(session, who, code, assessment(*scores, weights=weights))
    make(session, authority, "UC-UNSCORED")

    ranked = usecases.ranking(session, authority)
    assert [r["code"] for r in ranked] == slow_ranking(given) + ["UC-UNSCORED"]
    assert [r["code"] for r in ranked][:4] == ["UC-D", "UC-B", "UC-A", "UC-C"]
    by_code = {r["code"]: r for r in ranked}
    assert by_code["UC-D"]["total"] == pytest.approx(5 * 0.5 + 5 * 4 + 5 * 2.0)
    assert by_code["UC-A"]["total"] == 24 and by_code["UC-A"]["assessors"] == 2
    assert by_code["UC-A"]["mean_scores"]["DATA"] == 4
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4, 5, 0]
    assert by_code["UC-UNSCORED"]["total"] is None


def test_identical_scores_share_a_rank(session, authority):
    for code in ("UC-1", "UC-2"):
        make(session, authority, code)
        usecases.score_use_case(session, authority, code, assessment(5, 3, 3, 3, 3, 3))
    assert [r["rank"] for r in usecases.ranking(session, authority)] == [1, 1]


def test_each_assessor_sees_every_assessors_scores_and_rescoring_is_audited(session, authority):
    second = factories.actor_for(Role.authority)
    make(session, authority, "UC-X")
    usecases.score_use_case(session, authority, "UC-X", assessment(5, 5, 5, 3, 3, 5))
    usecases.score_use_case(session, second, "UC-X", assessment(3, 3, 3, 3, 3, 3))
    usecases.score_use_case(session, authority, "UC-X", assessment(5, 5, 5, 5, 3, 5))

    rows = usecases.assessments_of(session, second, "UC-X")
    assert [(r["assessor_email"], r["total"]) for r in rows] == [
        (authority.email, 28.0), (second.email, 18.0)]
    assert rows[0]["justifications"]["NEED"] == "reason for NEED"
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "use_case.score")
                          .order_by(AuditEvent.seq)).all()
    assert [e.actor_email for e in events] == [authority.email, second.email, authority.email]
    last = json.loads(events[-1].payload)
    assert last["before"]["scores"]["FEASIBILITY"] == 3
    assert last["after"]["scores"]["FEASIBILITY"] == 5 and last["after"]["total"] == 28.0


@pytest.mark.parametrize("role", [Role.manufacturer, Role.hospital, Role.reviewer, Role.auditor,
                                  Role.admin])
def test_only_authorities_create_and_score_use_cases(session, authority, role):
    make(session, authority, "UC-Y")
    actor = factories.actor_for(role)
    with pytest.raises(PermissionDeniedError):
        make(session, actor, "UC-Z")
    with pytest.raises(PermissionDeniedError):
        usecases.score_use_case(session, actor, "UC-Y", assessment(3, 3, 3, 3, 3, 3))


def test_admin_reads_the_ranking_others_do_not(session, authority):
    make(session, authority, "UC-R")
    assert [r["code"] for r in usecases.ranking(session, factories.actor_for(Role.admin))] == \
        ["UC-R"]
    with pytest.raises(PermissionDeniedError):
        usecases.ranking(session, factories.actor_for(Role.manufacturer))


def test_use_case_code_is_unique_and_device_code_must_exist(session, authority):
    make(session, authority, "UC-U")
    with pytest.raises(ConflictError):
        make(session, authority, "UC-U")
    with pytest.raises(InvalidInputError, match="device_code 'NOPE'"):
        usecases.create_use_case(session, authority, UseCaseIn(
            code="UC-V", title="Linked", theme="CARE", device_code="NOPE"))
    device = factories.DeviceFactory()
    linked = usecases.create_use_case(session, authority, UseCaseIn(
        code="UC-W", title="Linked", theme="CARE", device_code=device.code))
    assert linked.device_id == device.id


def test_demo_seeds_the_strategy_grid_scores_and_a_problem_report(session):
    from registry.demo import DEVICES, DemoDevice
    from registry.demo import catalogue as demo_catalogue
    from registry.services import catalogue

    authority = factories.actor_for(Role.authority)
    demos = []
    for spec in DEVICES:
        factories.DeviceFactory(code=spec["code"], name=spec["name"],
                                is_published=spec["published"])
        demos.append(DemoDevice(spec, spec["code"], authority, {}, {"authority": authority}))
    demo_catalogue.after_seed(session, demos)

    # The totals of use_cases.md's "Demo selection scores" table, typed in by hand.
    expected = {"UC-01": 26, "UC-02": 24, "UC-03": 18, "UC-04": 24, "UC-05": 18, "UC-06": 26,
                "UC-07": 22, "UC-08": 24}
    ranked = usecases.ranking(session, authority)
    assert {r["code"]: r["total"] for r in ranked} == expected
    # Ties on 26 and 24 are broken by NEED then MATURITY, then by code.
    assert [r["code"] for r in ranked] == ["UC-01", "UC-06", "UC-08", "UC-02", "UC-04",
                                           "UC-07", "UC-05", "UC-03"]
    (report, device), = catalogue.list_problem_reports(session, authority)
    assert device.code == "DEMO-01" and report.category.value == "performance"
