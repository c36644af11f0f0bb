"""Shared fixtures: a real database (``--db sqlite|postgresql``), one transaction per test.

The schema is built once per session with the Alembic migrations; every test runs inside an outer
transaction that is rolled back, and each unit of work inside it commits to a SAVEPOINT.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

import registry.tasks  # noqa: F401  (registers the job functions)
from registry import db, jobs, signing, storage
from registry.config import load_settings
from registry.migrate import upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Tests read the public catalogue straight after changing it; the few seconds' cache of
# anonymous pages has its own tests (tests/registry/test_public_cache.py), which turn it on.
os.environ.setdefault("DMD_PUBLIC_CACHE_SECONDS", "0")


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite",
                     help="database the registry tests run against")


@pytest.fixture(scope="session")
def db_kind(request) -> str:
    return request.config.getoption("--db")


def fresh_database_url(kind: str, folder: Path, name: str) -> str:
    """An empty database: an SQLite file, or a new PostgreSQL database on the test server."""
    if kind == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    admin_url = os.environ.get("DMD_TEST_POSTGRESQL_ADMIN_URL", DEFAULT_PG)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(kind: str, name: str) -> None:
    if kind != "postgresql":
        return
    admin_url = os.environ.get("DMD_TEST_POSTGRESQL_ADMIN_URL", DEFAULT_PG)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def tmp_instance(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def database_url(db_kind, tmp_instance, worker_id="main"):
    # One database per session (and per xdist worker, should the suite ever be split).
    name = f"dmd_test_{os.getpid()}"
    url = fresh_database_url(db_kind, tmp_instance, name)
    upgrade(url)
    yield url
    drop_database(db_kind, name)


@pytest.fixture(scope="session")
def settings(tmp_instance, database_url):
    return load_settings(instance_dir=tmp_instance, env="test", database_url=database_url,
                         max_upload_bytes=64 * 1024)


@pytest.fixture(scope="session")
def engine(database_url):
    database = db.Database(database_url)
    yield database.engine
    database.engine.dispose()


@pytest.fixture
def connection(engine, settings, tmp_path):
    """An outer transaction for the test; the registry's units of work nest inside it."""
    conn = engine.connect()
    outer = conn.begin()
    db.set_database(db.Database(str(engine.url), bind=conn))
    storage.set_store(storage.ArtifactStore(tmp_path / "artifacts", settings.max_upload_bytes))
    signing.set_signer(signing.load_or_create(settings.signing_key_path))
    jobs.set_runner(jobs.Runner(None))
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session(connection):
    with Session(bind=connection, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as s:
        yield s


@pytest.fixture
def app(settings, connection, tmp_path):
    from registry.app import create_app

    application = create_app(settings)
    # create_app wires its own database and store; put the test's back in charge.
    db.set_database(db.Database(str(connection.engine.url), bind=connection))
    storage.set_store(storage.ArtifactStore(tmp_path / "artifacts", settings.max_upload_bytes))
    application.config["WTF_CSRF_ENABLED"] = False
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session", autouse=True)
def _no_network_env():
    os.environ.setdefault("DO_NOT_TRACK", "1")
    tempfile.tempdir = None
