"""API routes: Batches, drift and performance, alerts, incidents (#7)."""

from __future__ import annotations

from registry.api import bp  # noqa: F401
