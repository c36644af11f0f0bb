"""Sections that the areas (evaluations, ethics, reviews, monitoring, energy, dossiers) add to
the device page, so device.html need not know every area.

An area decorates a function ``(session, actor, device) -> dict | None`` with ``@panel``; the
device page renders the panel's template with that dict as ``panel`` (None hides the section).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from registry.auth import Actor
from registry.models import Device

Build = Callable[[Session, Actor, Device], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    template: str
    order: int
    build: Build


PANELS: list[Panel] = []


def panel(template: str, *, order: int) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        PANELS.append(Panel(template, order, build))
        PANELS.sort(key=lambda p: p.order)
        return build

    return register


def device_panels(session: Session, actor: Actor, device: Device) -> list[dict[str, Any]]:
    shown = []
    for p in PANELS:
        data = p.build(session, actor, device)
        if data is not None:
            shown.append({"template": p.template, "data": data})
    return shown
