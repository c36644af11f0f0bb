"""Schemas: Ethics-grid self-assessments and their reviews (issue #6)."""

from __future__ import annotations
