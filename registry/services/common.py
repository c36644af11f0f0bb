"""Small helpers shared by the services."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import SQLModel


def plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def snapshot(row: SQLModel, fields: list[str] | None = None) -> dict[str, Any]:
    data = row.model_dump()
    return {k: plain(v) for k, v in data.items() if fields is None or k in fields}


def apply_changes(row: SQLModel, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set ``changes`` on ``row``; return {"before": ..., "after": ...} of what really changed."""
    before, after = {}, {}
    for name, value in changes.items():
        old = getattr(row, name)
        if plain(old) != plain(value):
            before[name], after[name] = plain(old), plain(value)
            setattr(row, name, value)
    return {"before": before, "after": after}
