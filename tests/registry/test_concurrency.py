"""Concurrency (#11) on a database of its own, with real commits: racing transitions, writers
(of a device, an ethics answer or review) that must not lose updates, and an audit chain that
stays linear across processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
import uuid

import pytest

from registry import audit, db
from registry.errors import ConflictError
from registry.migrate import upgrade
from registry.models import Role, Stage
from registry.schemas import DeviceUpdate, TransitionIn
from registry.schemas.ethics import AnswerIn, ReviewIn
from registry.services import devices, ethics
from tests import factories
from tests.conftest import drop_database, fresh_database_url


@pytest.fixture
def live(db_kind, tmp_path):
    """A migrated database, outside any test transaction, made the registry's current one."""
    name = f"dmd_race_{uuid.uuid4().hex[:8]}"
    url = fresh_database_url(db_kind, tmp_path, name)
    upgrade(url)
    database = db.Database(url)
    saved = db._current
    db.set_database(database)
    yield database
    db.set_database(saved)
    database.engine.dispose()
    drop_database(db_kind, name)


def _device_at(database, stage: Stage):
    with database.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id, stage=stage)
        return maker, device.code, device.lock_version


def _race(n: int, attempt) -> list[str]:
    outcomes: list[str] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        try:
            attempt(i)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:  # anything else is a bug: reported by the assertion below
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_fifty_racing_transitions_give_one_success_and_49_conflicts(live):
    maker, code, _ = _device_at(live, Stage.S3_MODEL)

    def move_back(i: int) -> None:
        with live.unit_of_work() as s:
            devices.advance_stage(s, maker, code, TransitionIn(
                to_stage=Stage.S2_DATA, reason=f"racer {i}: new training data"))

    outcomes = _race(50, move_back)
    assert sorted(outcomes) == ["conflict"] * 49 + ["ok"]
    with live.unit_of_work() as s:
        device = devices.get_device(s, maker, code)
        assert device.stage == Stage.S2_DATA
        assert len(devices.transitions_of(s, device)) == 1
        assert audit.verify(s).ok


def test_writers_holding_the_same_version_never_lose_an_update(live):
    maker, code, lock_version = _device_at(live, Stage.S1_NEEDS)

    def rename(i: int) -> None:
        with live.unit_of_work() as s:
            devices.update_device(s, maker, code, DeviceUpdate(
                name=f"Writer {i}", lock_version=lock_version))

    outcomes = _race(12, rename)
    assert sorted(outcomes) == ["conflict"] * 11 + ["ok"]
    with live.unit_of_work() as s:
        device = devices.get_device(s, maker, code)
        assert device.lock_version == lock_version + 1
        events = [e for e in audit.events_for_device(s, device.id)
                  if e.action == "device.update"]
        # The one name that won is the one the audit trail recorded.
        assert len(events) == 1 and device.name in events[0].payload


def _answers(database, maker, code: str, criterion_id: str):
    with database.unit_of_work() as s:
        device = devices.get_device(s, maker, code)
        rows = [r for r in ethics.answer_rows(s, ethics.newest_of(s, device))
                if r.criterion_id == criterion_id]
        writes = [e for e in audit.events_for_device(s, device.id) if e.action == "ethics.answer"
                  and f'"criterion_id":"{criterion_id}"' in e.payload]
        return rows, writes


@pytest.mark.parametrize("submitted", [False, True], ids=["in-the-draft", "opening-a-draft"])
def test_writers_answering_the_same_criterion_never_lose_an_update(live, submitted):
    """Twelve writers read ETH-02 at the same version; one answer is saved, the others get a
    409. Opening a draft from the submitted assessment keeps the version they read."""
    maker, code, _ = _device_at(live, Stage.S1_NEEDS)
    with live.unit_of_work() as s:
        held = ethics.save_answer(s, maker, code, "ETH-02", AnswerIn(maturity=1)).lock_version
        if submitted:
            ethics.submit_assessment(s, maker, code)

    def answer(i: int) -> None:
        with live.unit_of_work() as s:
            ethics.save_answer(s, maker, code, "ETH-02", AnswerIn(
                maturity=i % 4, explanation=f"writer {i}", lock_version=held))

    outcomes = _race(12, answer)
    assert sorted(outcomes) == ["conflict"] * 11 + ["ok"]
    rows, writes = _answers(live, maker, code, "ETH-02")
    assert [r.lock_version for r in rows] == [held + 1]
    # The answer kept is the one the audit trail recorded last.
    assert len(writes) == 2 and rows[0].explanation in writes[-1].payload
    with live.unit_of_work() as s:
        assert len(ethics.assessments_of(s, devices.get_device(s, maker, code))) == \
            (2 if submitted else 1)
        assert audit.verify(s).ok


def test_reviewers_of_the_same_criterion_never_lose_an_update(live):
    maker, code, _ = _device_at(live, Stage.S1_NEEDS)
    with live.unit_of_work() as s:
        factories.bind(s)
        ethics.save_answer(s, maker, code, "ETH-02", AnswerIn(maturity=2))
        ethics.submit_assessment(s, maker, code)
        reviewers = [factories.actor_for(Role.reviewer) for _ in range(2)]
        device = devices.get_device(s, maker, code)
        for reviewer in reviewers:
            factories.grant(s, device, reviewer.organisation_id)

    def review(i: int) -> None:
        with live.unit_of_work() as s:
            ethics.review_criterion(s, reviewers[i % 2], code, "ETH-02", ReviewIn(
                verdict="disagree", comment=f"reviewer {i}", maturity=1, lock_version=0))

    outcomes = _race(12, review)
    assert sorted(outcomes) == ["conflict"] * 11 + ["ok"]
    with live.unit_of_work() as s:
        device = devices.get_device(s, maker, code)
        [row] = ethics.review_rows(s, ethics.submitted_of(s, device))
        assert row.lock_version == 1
        [event] = [e for e in audit.events_for_device(s, device.id)
                   if e.action == "ethics.review"]
        assert row.comment in event.payload


def _write_in_process(url: str, key_path: str, maker_id: int, code: str, n: int) -> None:
    from pathlib import Path

    from registry import db as process_db
    from registry import signing
    from registry.auth import Actor
    from registry.models import User

    signing.set_signer(signing.load_or_create(Path(key_path)))  # checkpoints get signed
    database = process_db.Database(url)
    process_db.set_database(database)
    for k in range(n):
        with database.unit_of_work() as s:
            actor = Actor.from_user(s.get(User, maker_id))
            devices.update_device(s, actor, code,
                                  DeviceUpdate(name=f"process {os.getpid()} write {k}"))
    database.engine.dispose()


@pytest.mark.slow
def test_the_audit_chain_stays_linear_under_writers_in_several_processes(live, settings):
    maker, code, _ = _device_at(live, Stage.S1_NEEDS)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_in_process,
                               args=(live.url, str(settings.signing_key_path), maker.user_id,
                                     code, 10)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=180)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with live.unit_of_work() as s:
        report = audit.verify(s)
        assert report.ok, report.problems
        device = devices.get_device(s, maker, code)
        updates = [e for e in audit.events_for_device(s, device.id)
                   if e.action == "device.update"]
        assert len(updates) == 40
        assert [e.seq for e in sorted(updates, key=lambda e: e.seq)] == sorted(
            e.seq for e in updates)
