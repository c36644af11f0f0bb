"""Demo data: Energy and carbon footprints of jobs and declared by manufacturers (issue #8)."""

from __future__ import annotations

from sqlmodel import Session

from registry.models import Stage


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Called before the demo device ``demo`` (registry.demo.DemoDevice) leaves ``stage``."""


def after_seed(session: Session, demos: list) -> None:
    """Called once every demo device has reached its stage."""
