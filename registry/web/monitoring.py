"""Web pages: Batches, drift and performance, alerts, incidents (#7)."""

from __future__ import annotations

from registry.web import bp  # noqa: F401
