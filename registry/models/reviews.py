"""Submissions, assessments, questions, signed opinions (#5)."""

from __future__ import annotations
