"""The national view for authorities: the strategy's theme x stage matrix from real devices,
devices by class and AI Act category, safety by region and site, and footprint totals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from registry import auth
from registry.auth import Actor, Permission
from registry.models import Device, Stage, Theme
from registry.services import catalogue_sources as sources

STAGES = list(Stage)


def theme_stage_matrix(session: Session) -> dict[str, Any]:
    """Devices per (primary theme, current stage); ``reached`` counts a device at every stage
    up to its current one, as the strategy's Annex 4 reads progress (use_cases.md section 1)."""
    counts = {(theme, stage): n for theme, stage, n in session.exec(
        select(Device.theme, Device.stage, func.count(Device.id))
        .group_by(Device.theme, Device.stage)).all()}
    matrix = []
    for theme in Theme:
        at = [counts.get((theme, stage), 0) for stage in STAGES]
        matrix.append({"theme": theme.value, "at": at,
                       "reached": [sum(at[i:]) for i in range(len(at))], "total": sum(at)})
    column_totals = [sum(row["at"][i] for row in matrix) for i in range(len(STAGES))]
    return {"stages": [s.value for s in STAGES], "matrix": matrix,
            "column_totals": column_totals, "total": sum(column_totals)}


def by_class_and_category(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Device.regulation, Device.risk_class, Device.ai_act_category,
               func.count(Device.id))
        .group_by(Device.regulation, Device.risk_class, Device.ai_act_category)).all()
    out = []
    for regulation, risk_class, category, n in rows:
        label = f"{regulation.value} {risk_class}" if risk_class else f"{regulation.value} (none)"
        out.append({"risk_class": label,
                    "ai_act_category": category.value if category else "undeclared",
                    "count": n})
    return sorted(out, key=lambda r: (r["risk_class"], r["ai_act_category"]))


def national_view(session: Session, actor: Actor) -> dict[str, Any]:
    """Everything the national page shows. Raises PermissionDeniedError unless authority/admin."""
    auth.require(actor, Permission.NATIONAL_READ)
    published = session.exec(select(func.count(Device.id)).where(
        Device.is_published.is_(True))).one()
    return {
        **theme_stage_matrix(session),
        "published": published,
        "by_class_and_category": by_class_and_category(session),
        "safety_available": sources.safety_available(),
        "safety_by_place": sources.safety_by_place(session),
        "footprint": sources.footprint_totals(session),
    }
