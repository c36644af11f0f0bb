"""API routes: Energy and carbon footprints of jobs and declared by manufacturers (issue #8)."""

from __future__ import annotations

from registry.api import bp  # noqa: F401
