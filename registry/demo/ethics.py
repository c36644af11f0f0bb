"""Demo data: Ethics-grid self-assessments and their reviews (issue #6)."""

from __future__ import annotations

from sqlmodel import Session

from registry.models import Stage


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Called before the demo device ``demo`` (registry.demo.DemoDevice) leaves ``stage``."""


def after_seed(session: Session, demos: list) -> None:
    """Called once every demo device has reached its stage."""
