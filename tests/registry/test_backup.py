"""Backup and restore (#11): a seeded registry round-trips through the real CLI, artifacts and
a verified audit chain included; a damaged backup or a non-empty target is refused untouched."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlmodel import SQLModel

import registry.models  # noqa: F401
from tests.conftest import drop_database, fresh_database_url

pytestmark = pytest.mark.slow


def _cli(instance: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DMD_INSTANCE_DIR": str(instance), "DMD_DATABASE_URL": url,
           "DMD_ENV": "dev", "DMD_ENERGY_TRACKING": "false"}
    env.pop("DMD_BROKER_URL", None)
    return subprocess.run([sys.executable, "-m", "registry.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _fingerprint(url: str) -> dict[str, str]:
    """SHA-256 of every table's rows, in primary-key order."""
    engine = create_engine(url)
    prints = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            prints[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()) \
                .hexdigest()
    engine.dispose()
    return prints


@pytest.fixture
def databases(db_kind, tmp_path):
    names = [f"dmd_backup_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    urls = [fresh_database_url(db_kind, tmp_path, name) for name in names]
    yield urls
    for name in names:
        drop_database(db_kind, name)


def test_a_seeded_registry_round_trips_and_damage_is_refused(tmp_path, databases):
    source_url, target_url, spare_url = databases
    source, target, spare = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for instance, url in ((source, source_url), (target, target_url), (spare, spare_url)):
        done = _cli(instance, url, "init-db")
        assert done.returncode == 0, done.stderr
    seeded = _cli(source, source_url, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    archive = tmp_path / "registry.tar.gz"
    done = _cli(source, source_url, "backup", "-o", str(archive))
    assert done.returncode == 0, done.stderr
    assert "artifacts" in done.stdout and archive.exists()

    done = _cli(target, target_url, "restore", str(archive))
    assert done.returncode == 0, done.stderr + done.stdout
    assert _fingerprint(target_url) == _fingerprint(source_url)
    artifacts = sorted(p.name for p in (source / "artifacts").rglob("*") if p.is_file()
                       and not p.name.startswith("."))
    assert artifacts and sorted(p.name for p in (target / "artifacts").rglob("*")
                                if p.is_file() and not p.name.startswith(".")) == artifacts
    assert (target / "signing_key.pem").read_bytes() == (source / "signing_key.pem").read_bytes()
    verified = _cli(target, target_url, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The restored registry keeps working: a new audit event chains on (ids did not collide).
    created = _cli(target, target_url, "create-user", "--email", "new@ops.example",
                   "--name", "New Admin", "--organisation", "DMD Registry operator",
                   "--role", "admin", "--password", "a-long-password-1")
    assert created.returncode == 0, created.stderr
    assert _cli(target, target_url, "audit", "verify").returncode == 0

    refused = _cli(target, target_url, "restore", str(archive))
    assert refused.returncode != 0 and "needs an empty registry" in refused.stderr

    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as tar, tarfile.open(damaged, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "tables/device.jsonl":
                data = data.replace(b"S1_NEEDS", b"S7_POSTMARKET", 1)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    refused = _cli(spare, spare_url, "restore", str(damaged))
    assert refused.returncode != 0
    assert "tables/device.jsonl" in refused.stderr and "damaged" in refused.stderr
    assert set(_fingerprint(spare_url).values()) == {hashlib.sha256(b"[]").hexdigest()}
