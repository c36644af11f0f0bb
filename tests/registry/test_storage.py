"""Artifacts: content-addressed, atomic, deduplicated, size-limited, nothing left on failure."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from sqlmodel import select

from registry import db, storage
from registry.errors import InvalidInputError, PayloadTooLargeError
from registry.models import Artifact, AuditEvent, Role
from registry.services import artifacts
from tests import factories


def blobs(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def maker(session):
    return factories.actor_for(Role.manufacturer)


def test_stored_under_its_sha256_and_deduplicated(session, maker):
    content = b"validation protocol v1"
    first = artifacts.upload_artifact(session, maker, io.BytesIO(content), "a.txt", "text/plain")
    second = artifacts.upload_artifact(session, maker, io.BytesIO(content), "b.txt", "text/plain")
    assert first.sha256 == second.sha256 == hashlib.sha256(content).hexdigest()
    store = storage.get_store()
    assert blobs(store.root) == [store.path_for(first.sha256)]
    with store.open(first.sha256) as stored:
        assert stored.read() == content


def test_failure_between_file_and_row_leaves_nothing(connection, settings):
    """The unit of work fails after the blob is written: no row, no event, no file."""
    store = storage.get_store()
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            artifacts.upload_artifact(s, maker, io.BytesIO(b"orphan?"), "x.txt", "text/plain")
            assert len(blobs(store.root)) == 1  # the file really was written
            raise RuntimeError("the request fails after the upload")
    with db.unit_of_work() as s:
        assert s.exec(select(Artifact)).all() == []
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "artifact.upload")).all() \
            == []
    assert blobs(store.root) == []


def test_rollback_keeps_a_blob_that_other_rows_use(connection):
    store = storage.get_store()
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        artifacts.upload_artifact(s, maker, io.BytesIO(b"shared"), "x.txt", "text/plain")
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            artifacts.upload_artifact(s, maker, io.BytesIO(b"shared"), "y.txt", "text/plain")
            raise RuntimeError("fails")
    assert len(blobs(store.root)) == 1


def test_too_large_and_empty_files_are_refused_without_a_trace(session, maker, settings):
    store = storage.get_store()
    with pytest.raises(PayloadTooLargeError, match="larger than the limit of 65536 bytes"):
        artifacts.upload_artifact(session, maker, io.BytesIO(b"x" * (settings.max_upload_bytes
                                                                     + 1)), "big", "")
    with pytest.raises(InvalidInputError, match="empty"):
        artifacts.upload_artifact(session, maker, io.BytesIO(b""), "empty", "")
    assert blobs(store.root) == []


def test_filename_is_sanitised(session, maker):
    art = artifacts.upload_artifact(session, maker, io.BytesIO(b"x"), "../../etc/passwd\n",
                                    "text/plain")
    assert "/" not in art.filename and "\n" not in art.filename


@pytest.mark.parametrize("chunks", [1, 2, 40])
def test_the_name_is_the_sha256_of_the_bytes_written(tmp_path, monkeypatch, chunks):
    """The file is hashed as read back after writing it (beside the fsync): the name is the
    SHA-256 of the content, whatever the number of chunks it was written in."""
    monkeypatch.setattr(storage, "CHUNK", 64)
    content = np.random.default_rng(chunks).bytes(64 * chunks - 5)
    store = storage.ArtifactStore(tmp_path, max_bytes=len(content))
    ref = store.put(io.BytesIO(content))
    assert ref.sha256 == hashlib.sha256(content).hexdigest() and ref.created
    assert ref.path.read_bytes() == content and ref.size_bytes == len(content)
    assert store.put(io.BytesIO(content)) == storage.ArtifactRef(ref.sha256, len(content),
                                                                 ref.path, created=False)
    with pytest.raises(PayloadTooLargeError):
        storage.ArtifactStore(tmp_path, max_bytes=len(content) - 1).put(io.BytesIO(content))
    assert blobs(tmp_path) == [ref.path]
