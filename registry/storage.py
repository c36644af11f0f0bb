"""Content-addressed artifact store: files named by their SHA-256, written atomically, deduplicated.

A blob is written (temp file, fsync, atomic rename) before the row that references it is
committed; if the transaction then rolls back, the blob is removed unless another row already
referenced the same content. A blob no row references is harmless, but we do not leave them
behind on our own failures.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from registry.errors import InvalidInputError, PayloadTooLargeError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArtifactRef:
    sha256: str
    size_bytes: int
    path: Path
    created: bool  # False when identical content was already stored


class ArtifactStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInputError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO) -> ArtifactRef:
        """Store ``stream``; refuse empty or oversized content without leaving a file behind."""
        self.root.mkdir(parents=True, exist_ok=True)
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PayloadTooLargeError(
                            f"file is larger than the limit of {self.max_bytes} bytes; "
                            "split it or ask an administrator to raise DMD_MAX_UPLOAD_BYTES"
                        )
                    out.write(chunk)
                out.flush()
                # Hash the written file back from the page cache while a second thread waits
                # for the disk (both release the GIL): the hash costs no time beside the fsync.
                with ThreadPoolExecutor(1) as syncer, tmp.open("rb") as written:
                    syncing = syncer.submit(os.fsync, out.fileno())
                    sha = hashlib.file_digest(written, "sha256").hexdigest()
                    syncing.result()
            if size == 0:
                raise InvalidInputError("file is empty; upload a file with content")
            final = self.path_for(sha)
            if final.exists():
                tmp.unlink()
                return ArtifactRef(sha, size, final, created=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # atomic on POSIX: readers see no file or the whole file
            return ArtifactRef(sha, size, final, created=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def sweep(self, known: set[str], older_than_s: float) -> list[Path]:
        """Remove what a killed process left behind: temporary upload files, and blobs that no
        artifact row names. Only files older than ``older_than_s`` go: a younger one may belong
        to a transaction that is still running."""
        removed: list[Path] = []
        if not self.root.exists():
            return removed
        cutoff = time.time() - older_than_s
        for path in self.root.rglob("*"):
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            orphan_blob = len(path.name) == 64 and path.name not in known
            if path.name.startswith(".upload-") or orphan_blob:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def discard(self, ref: ArtifactRef) -> None:
        """Undo a ``put`` whose transaction failed (only if this put created the blob)."""
        if ref.created:
            ref.path.unlink(missing_ok=True)


_current: ArtifactStore | None = None


def set_store(store: ArtifactStore) -> None:
    global _current
    _current = store


def get_store() -> ArtifactStore:
    if _current is None:
        raise RuntimeError("no artifact store configured: call create_app() first")
    return _current
