"""registry/db.py: pooled PostgreSQL connections are pinged only when they have been idle, and
one the server dropped while idle is replaced instead of failing the request."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from registry import db


@pytest.fixture
def engine(db_kind, database_url):
    if db_kind != "postgresql":
        pytest.skip("SQLite opens a connection per unit of work (NullPool): nothing to ping")
    engine = db.make_engine(database_url)
    pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda connection: pings.append(1) or ping(connection)
    engine.pings = pings
    yield engine
    engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_in_use_is_not_pinged_an_idle_one_is(engine, monkeypatch):
    first = _backend(engine)
    assert _backend(engine) == first and engine.pings == []
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    assert _backend(engine) == first and engine.pings == [1]


def test_an_idle_connection_the_server_dropped_is_replaced_on_checkout(engine, database_url,
                                                                      monkeypatch):
    dropped = _backend(engine)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                                  {"pid": dropped}).scalar_one()
    admin.dispose()
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    replacement = _backend(engine)  # would raise "terminating connection" without the ping
    assert replacement != dropped and engine.pings
