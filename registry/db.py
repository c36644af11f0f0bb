"""Engine and the unit of work: one transaction per request, CLI command or job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, synchronous FULL and enforced foreign keys."""
    if url.startswith("sqlite"):
        # NullPool: every unit of work gets its own connection, so SQLite's file locking (not a
        # pool shared across threads) arbitrates concurrent writers.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, poolclass=NullPool
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url)
    _ping_idle_connections(engine)
    return engine


IDLE_PING_SECONDS = 10.0
"""A pooled connection idle this long is pinged before use (it may have outlived a database
restart or a firewall's idle timeout); a busy one is not: under load, pool_pre_ping's round trip
on every checkout cost about a tenth of a page's time."""


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _mark_used(_dbapi_connection, record) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool discards this connection and checks out a fresh one.
                raise DisconnectionError(str(exc)) from exc
            raise


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions lazily and breaks SAVEPOINT; take over BEGIN ourselves
    # (SQLAlchemy SQLite dialect docs, "Serializable isolation / Savepoints / Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front, so two writers queue instead of failing
        # with "database is locked" half-way through a unit of work.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Holds the engine; ``unit_of_work`` commits on a clean exit and rolls back otherwise."""

    def __init__(self, url: str, bind: Connection | None = None) -> None:
        self.url = url
        self.engine = bind.engine if bind is not None else make_engine(url)
        # Tests bind every unit of work to one outer transaction; each then commits and rolls
        # back a SAVEPOINT, and the test discards the outer transaction.
        self.bind = bind

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        if self.bind is not None:
            session = Session(bind=self.bind, expire_on_commit=False,
                              join_transaction_mode="create_savepoint")
        else:
            session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            # Undo side effects outside the database (e.g. a blob written for this request).
            for undo in session.info.get("on_rollback", []):
                undo()
            raise
        finally:
            session.close()
        # Only after a successful commit: e.g. send a job whose row is now visible to workers.
        for action in session.info.get("after_commit", []):
            action()


def on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run ``undo`` if the unit of work that owns ``session`` rolls back."""
    session.info.setdefault("on_rollback", []).append(undo)


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the unit of work that owns ``session`` has committed."""
    session.info.setdefault("after_commit", []).append(action)


_current: Database | None = None


def set_database(database: Database) -> None:
    """Make ``database`` the one ``unit_of_work()`` uses (called by create_app and the CLI)."""
    global _current
    _current = database


def get_database() -> Database:
    if _current is None:
        raise RuntimeError("no database configured: call create_app() or set_database() first")
    return _current


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The one way to open a transaction."""
    with get_database().unit_of_work() as session:
        yield session
