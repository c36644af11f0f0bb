"""Web pages: Issued PDF dossiers and their integrity records (issue #9)."""

from __future__ import annotations

from registry.web import bp  # noqa: F401
