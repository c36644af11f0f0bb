"""Services: Batches, drift and performance, alerts, incidents (#7)."""

from __future__ import annotations

from sqlmodel import Session

from registry.models import Device, ModelVersion


def gate_facts(session: Session, device: Device, candidate: ModelVersion | None,
               accepted: set[int]) -> dict | None:
    """What this area's lifecycle gate items read (``GateContext.facts``); ``accepted`` holds
    the ids of the model versions whose evidence counts for the candidate version."""
    return None
