"""Web pages: Validation results and the evaluations computed from them (issue #4)."""

from __future__ import annotations

from registry.web import bp  # noqa: F401
