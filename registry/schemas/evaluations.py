"""Schemas: Validation results and the evaluations computed from them (issue #4)."""

from __future__ import annotations
