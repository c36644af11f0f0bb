"""API routes: Public catalogue, use-case scores, problem reports (issue #10)."""

from __future__ import annotations

from registry.api import bp  # noqa: F401
