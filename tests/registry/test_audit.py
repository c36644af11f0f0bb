"""The audit chain: tamper detection, signed checkpoints, append-only storage, offline export."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlmodel import Session, select

from registry import audit, signing
from registry.models import AuditEvent, Role
from registry.schemas import DeviceUpdate
from registry.services import devices
from tests import factories


@pytest.fixture
def chain(session):
    maker = factories.actor_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    for n in range(5):
        devices.update_device(session, maker, device.code, DeviceUpdate(name=f"Name {n}"))
    return session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()


def _drop_triggers(session):
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        session.execute(text("DROP TRIGGER audit_event_no_update"))
        session.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_intact_chain_verifies(session, chain):
    report = audit.verify(session)
    assert report.ok, report.problems
    assert report.events == len(chain) >= 5


def test_one_changed_byte_in_a_payload_is_named(session, chain):
    victim = chain[2]
    _drop_triggers(session)
    tampered = victim.payload.replace("Name", "Nane", 1)
    assert tampered != victim.payload
    session.execute(text("UPDATE audit_event SET payload = :p WHERE id = :i"),
                    {"p": tampered, "i": victim.id})
    session.expire_all()
    report = audit.verify(session)
    assert not report.ok
    assert report.first_problem.startswith(f"event #{victim.seq} (seq {victim.seq},")
    assert "was altered" in report.first_problem


def test_a_deleted_row_is_named(session, chain):
    victim_id, victim_seq = chain[3].id, chain[3].seq
    _drop_triggers(session)
    session.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": victim_id})
    session.expire_all()
    report = audit.verify(session)
    assert not report.ok
    assert f"event seq {victim_seq} was removed" in report.first_problem


def test_two_swapped_rows_are_named(session, chain):
    a, b = chain[1], chain[2]
    a_seq, b_seq = a.seq, b.seq
    _drop_triggers(session)
    # Swap every column but the primary key: the rows trade places in storage order.
    columns = [c for c in AuditEvent.__table__.columns.keys() if c != "id"]
    values = {c: getattr(a, c) for c in columns}, {c: getattr(b, c) for c in columns}
    session.execute(text("UPDATE audit_event SET seq = -seq WHERE id IN (:a, :b)"),
                    {"a": a.id, "b": b.id})  # dodge the unique constraint while swapping
    for row_id, data in ((a.id, values[1]), (b.id, values[0])):
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        session.execute(text(f"UPDATE audit_event SET {sets} WHERE id = :id"),
                        {**data, "id": row_id})
    session.expire_all()
    report = audit.verify(session)
    assert not report.ok
    assert report.first_problem.startswith(f"event #{a_seq} (seq {b_seq},")
    assert f"found where seq {a_seq} belongs; events were reordered" in report.first_problem


def test_database_refuses_updates_and_deletes(session, chain):
    with pytest.raises(Exception, match="append-only"):
        with session.begin_nested():
            session.execute(text("UPDATE audit_event SET reason = 'x' WHERE id = :i"),
                            {"i": chain[0].id})
    with pytest.raises(Exception, match="append-only"):
        with session.begin_nested():
            session.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": chain[0].id})


def test_checkpoint_is_signed_and_export_verifies_offline(session, chain, tmp_path):
    document = audit.export(session)
    assert document["checkpoints"], "the first event writes a checkpoint"
    report = audit.verify_export(json.loads(json.dumps(document)))
    assert report.ok, report.problems
    # A checkpoint signed by another key is refused when the registry's real key is given.
    other = signing.Signer(signing.Ed25519PrivateKey.generate())
    assert not audit.verify_export(document, other.public_pem).ok
    # Dropping the last events is caught by the signed checkpoint count/head.
    cut = dict(document, events=document["events"][:-1])
    cut["checkpoints"] = [dict(document["checkpoints"][-1], seq=document["events"][-1]["seq"],
                               head_hash=document["events"][-1]["hash"])]
    assert not audit.verify_export(cut).ok


def test_cli_verify_exits_nonzero_on_a_tampered_export(session, chain, tmp_path):
    from registry.cli import main

    document = audit.export(session)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document))
    runner = CliRunner()
    assert runner.invoke(main, ["audit", "verify", "--file", str(good)]).exit_code == 0
    document["events"][1]["reason"] = "rewritten history"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = runner.invoke(main, ["audit", "verify", "--file", str(bad)])
    assert result.exit_code == 1
    assert "event #2 (seq 2," in result.output and "altered" in result.output


def test_write_and_its_event_roll_back_together(session):
    maker = factories.actor_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    before = session.exec(select(AuditEvent.id)).all()
    with pytest.raises(RuntimeError):
        with session.begin_nested():
            devices.update_device(session, maker, device.code, DeviceUpdate(name="Changed"))
            raise RuntimeError("a later step fails")
    assert session.exec(select(AuditEvent.id)).all() == before


def test_concurrent_writers_keep_the_chain_linear(db_kind, settings, tmp_path):
    """Real commits from several threads on a database of its own (no test transaction)."""
    import os

    from registry.db import Database
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    name = f"dmd_concurrency_{os.getpid()}"
    url = fresh_database_url(db_kind, tmp_path, name)
    upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work() as s:
            factories.bind(s)
            maker = factories.actor_for(Role.manufacturer)
            code = factories.DeviceFactory(manufacturer_id=maker.organisation_id).code
        errors = []

        def write(n):
            try:
                with database.unit_of_work() as s:
                    devices.update_device(s, maker, code, DeviceUpdate(name=f"Thread {n}"))
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with Session(database.engine) as s:
            report = audit.verify(s)
            assert report.ok, report.problems
            seqs = s.exec(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
            assert seqs == list(range(1, 9))
    finally:
        database.engine.dispose()
        drop_database(db_kind, name)
