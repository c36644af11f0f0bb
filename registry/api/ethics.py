"""API routes: Ethics-grid self-assessments and their reviews (issue #6)."""

from __future__ import annotations

from registry.api import bp  # noqa: F401
