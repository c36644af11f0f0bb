"""Schemas: Public catalogue, use-case scores, problem reports (issue #10)."""

from __future__ import annotations
