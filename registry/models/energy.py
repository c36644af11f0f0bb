"""Energy and carbon footprints of jobs and declared by manufacturers (issue #8)."""

from __future__ import annotations
