"""An empty registry app on a fresh SQLite file, for the benches that time pages in-process."""

from __future__ import annotations

import tempfile
from pathlib import Path


def empty_app(name: str):
    """A migrated registry in a new temporary folder and the Flask app serving it."""
    from registry import migrate
    from registry.app import create_app
    from registry.config import load_settings

    folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    url = f"sqlite:///{folder / 'registry.db'}"
    migrate.upgrade(url)
    return create_app(load_settings(instance_dir=folder, env="test", database_url=url,
                                    broker_url=None, artifact_dir=folder / "artifacts"))
