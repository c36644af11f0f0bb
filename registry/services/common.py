"""Small helpers shared by the services."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

T = TypeVar("T")


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


def reused(session: Session, key: tuple, load: Callable[[], T]) -> T:
    """``load()`` once per unit of work until the next write: the device page's panels ask for
    the same device, versions and deployments several times. Pending changes (which a query
    would autoflush first) and every flush or rollback drop what was kept."""
    if session.new or session.dirty or session.deleted:
        session.info.pop("reused", None)
        return load()
    kept = session.info.setdefault("reused", {})
    if key not in kept:
        kept[key] = load()
    value = kept[key]
    return list(value) if isinstance(value, list) else value


def reused_many(session: Session, kind: str, ids: Iterable[int],
                load: Callable[[list[int]], dict[int, T]]) -> dict[int, T]:
    """:func:`reused` for a batch keyed by id: ``load(missing ids)`` reads only what this unit
    of work has not kept yet, so a dashboard's batch and a page's single reads share rows."""
    ids = list(dict.fromkeys(ids))
    if session.new or session.dirty or session.deleted:
        session.info.pop("reused", None)
        return load(ids)
    kept = session.info.setdefault("reused", {})
    missing = [i for i in ids if (kind, i) not in kept]
    if missing:
        for i, value in load(missing).items():
            kept[(kind, i)] = value
    return {i: list(v) if isinstance(v := kept[(kind, i)], list) else v for i in ids}


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_soft_rollback")
def _forget_reused(session: Session, *_: Any) -> None:
    session.info.pop("reused", None)
