"""API routes: Submissions, assessments, questions, signed opinions (#5)."""

from __future__ import annotations

from registry.api import bp  # noqa: F401
