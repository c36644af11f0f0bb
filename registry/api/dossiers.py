"""API routes: Issued PDF dossiers and their integrity records (issue #9)."""

from __future__ import annotations

from registry.api import bp  # noqa: F401
