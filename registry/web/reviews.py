"""Web pages: Submissions, assessments, questions, signed opinions (#5)."""

from __future__ import annotations

from registry.web import bp  # noqa: F401
