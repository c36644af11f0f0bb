"""What the other areas add to the catalogue and the national view, read through their tables.

Each function is the one place where the catalogue reads another area (evaluations #4, reviews
#5, monitoring #7, energy #8). It returns plain, public-safe data (no patient-level rows, no free
text written for reviewers), and an empty answer while that area has nothing to give.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from registry.auth import Actor
from registry.models import Device


def evaluation_summaries(session: Session, device: Device) -> list[dict[str, Any]]:
    """Published evaluation results of a device, each with its interval (#4)."""
    return []


def opinion_summaries(session: Session, device: Device) -> list[dict[str, Any]]:
    """Signed review opinions on a device (#5)."""
    return []


def safety_notices(session: Session, device: Device) -> list[dict[str, Any]]:
    """Open alerts and incidents of a device, as the public may see them (#7)."""
    return []


def safety_available() -> bool:
    """Whether the monitoring area (#7) records alerts and incidents yet."""
    return False


def safety_by_place(session: Session) -> list[dict[str, Any]]:
    """Open alerts, open and overdue incidents per (region, site) of the deployments (#7)."""
    return []


def footprint_totals(session: Session) -> dict[str, Any]:
    """Registry-wide energy and emissions totals (#8)."""
    return {"available": False}


def open_incident(session: Session, actor: Actor, device: Device, report: Any,
                  data: Any) -> str | None:
    """Open an incident from a problem report through the monitoring area (#7); returns its
    reference, or None while no incident service exists (the request is then recorded)."""
    return None
