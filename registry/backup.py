"""Backup and restore of a whole registry: every table, every artifact, the signing key.

A backup is one ``.tar.gz`` holding ``tables/<name>.jsonl`` (one JSON object per row, read in one
transaction so the snapshot is consistent), ``artifacts/<sha256>``, ``keys/signing.pem`` and
``manifest.json`` (schema revision, row counts, audit-chain head, SHA-256 of every member).
Restoring needs an empty database at the same schema revision; it checks every hash, inserts the
rows in foreign-key order, puts the artifacts back, and verifies the audit chain before it
commits. Database-native dumps (pg_dump) would not carry the artifact store or the key, nor work
on SQLite: hence this format, written by hand.
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, insert, select, text
from sqlalchemy.types import Date, DateTime, Enum
from sqlmodel import Session, SQLModel

import registry.models  # noqa: F401  (every table on the metadata)
from registry import audit, db, signing, storage
from registry.errors import InvalidInputError
from registry.models import Artifact, AuditCheckpoint, AuditEvent

FORMAT = "dmd-registry-backup/1"


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    revision: str
    rows: dict[str, int]
    artifacts: int
    audit_head: str


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        raise TypeError("binary columns are not expected in the registry's tables")
    return value


def _add(tar: tarfile.TarFile, name: str, data: bytes, hashes: dict[str, str]) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    hashes[name] = hashlib.sha256(data).hexdigest()


def backup(session: Session, path: Path) -> BackupSummary:
    """Write a backup of the registry that ``session`` sees (one consistent snapshot)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    revision = MigrationContext.configure(conn).get_current_revision()
    report = audit.verify(session)
    if not report.ok:
        raise InvalidInputError(f"the audit chain does not verify ({report.first_problem}); "
                                "investigate before backing up, or the backup keeps the damage")
    hashes: dict[str, str] = {}
    rows: dict[str, int] = {}
    store = storage.get_store()
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        for table in SQLModel.metadata.sorted_tables:
            order = [c for c in table.primary_key.columns]
            lines = [json.dumps({k: _plain(v) for k, v in row._mapping.items()},
                                ensure_ascii=False)  # keeps the order of JSON objects
                     for row in conn.execute(select(table).order_by(*order))]
            rows[table.name] = len(lines)
            _add(tar, f"tables/{table.name}.jsonl", "\n".join(lines).encode(), hashes)
        digests = sorted(set(conn.execute(select(Artifact.sha256)).scalars()))
        for digest in digests:
            blob = store.path_for(digest)
            if blob.exists():  # raw uploads past their retention are deleted on purpose
                _add(tar, f"artifacts/{digest}", blob.read_bytes(), hashes)
        _add(tar, "keys/signing.pem", _private_pem(), hashes)
        manifest = {"format": FORMAT, "created_at": datetime.now().astimezone().isoformat(),
                    "revision": revision, "rows": rows, "audit_head": report.head_hash,
                    "members": hashes}
        _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode(), {})
    partial.replace(path)
    return BackupSummary(path, revision, rows, sum(1 for k in hashes if k.startswith("artifacts/")),
                         report.head_hash)


def _private_pem() -> bytes:
    # The checkpoints are signed with this key: a registry restored without it could not
    # verify its own chain. The backup is therefore as secret as the instance folder.
    return signing.get_signer().private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def _value(column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Enum) and kind.enum_class is not None:
        return kind.enum_class(value)
    return value


def read_backup(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and the members, each checked against the manifest's SHA-256."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInputError(f"{path} is not a readable registry backup ({exc})") from None
    if "manifest.json" not in members:
        raise InvalidInputError(f"{path} has no manifest.json: not a registry backup")
    manifest = json.loads(members.pop("manifest.json"))
    if manifest.get("format") != FORMAT:
        raise InvalidInputError(f"{path} is in format {manifest.get('format')!r}; this "
                                f"registry reads {FORMAT}")
    for name, expected in manifest["members"].items():
        data = members.get(name)
        if data is None:
            raise InvalidInputError(f"{path} lacks {name}, which its manifest lists")
        if hashlib.sha256(data).hexdigest() != expected:
            raise InvalidInputError(f"{name} in {path} does not match its SHA-256 in the "
                                    "manifest: the backup is damaged")
    return manifest, members


def restore(session: Session, path: Path) -> dict:
    """Load a backup into the empty database behind ``session`` (in the caller's unit of work;
    a failure rolls back the rows and removes the artifacts put back). Returns a summary with
    ``key_pem``, the signing key the caller installs once the unit of work has committed."""
    manifest, members = read_backup(path)
    conn = session.connection()
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision != manifest["revision"]:
        raise InvalidInputError(f"the backup is at schema {manifest['revision']}, the database "
                                f"at {revision}: run dmd-registry init-db with the same version "
                                "of the registry first")
    tables = SQLModel.metadata.sorted_tables
    occupied = [t.name for t in tables if conn.execute(select(func.count()).select_from(t))
                .scalar_one()]
    if occupied:
        raise InvalidInputError(f"restore needs an empty registry; these tables have rows: "
                                f"{', '.join(occupied)}")
    for table in tables:
        lines = members[f"tables/{table.name}.jsonl"].decode().splitlines()
        records = [{k: _value(table.c[k], v) for k, v in json.loads(line).items()}
                   for line in lines if line]
        if records:
            conn.execute(insert(table), records)
        if conn.dialect.name == "postgresql" and records and isinstance(records[0].get("id"), int):
            # Rows came with their ids; move the sequence past them for the next insert.
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                              f"(SELECT max(id) FROM \"{table.name}\"))"))
    store = storage.get_store()
    for name, data in members.items():
        if name.startswith("artifacts/"):
            ref = store.put(io.BytesIO(data))
            db.on_rollback(session, lambda ref=ref: store.discard(ref))
    key = serialization.load_pem_private_key(members["keys/signing.pem"], password=None)
    report = audit.verify_events(audit._rows(session, AuditEvent),
                                 audit._rows(session, AuditCheckpoint),
                                 signing.public_pem(key.public_key()))
    if not report.ok or report.head_hash != manifest["audit_head"]:
        raise InvalidInputError(f"the restored audit chain does not verify: "
                                f"{report.first_problem or 'its head differs from the backup'}")
    return {"rows": manifest["rows"], "audit_head": report.head_hash,
            "artifacts": sum(1 for n in members if n.startswith("artifacts/")),
            "key_pem": members["keys/signing.pem"]}


def install_key(key_pem: bytes, key_path: Path) -> None:
    """Put the restored signing key in place (mode 0600), replacing the new instance's own."""
    key_path = Path(key_path)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    partial = key_path.with_suffix(".restoring")
    partial.write_bytes(key_pem)
    partial.chmod(0o600)
    partial.replace(key_path)
    signing.set_signer(signing.load_or_create(key_path))
