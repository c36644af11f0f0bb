"""Turn result dataclasses into plain JSON data (dict, list, str, int, float, bool, None)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from typing import Any


def to_plain(value: Any) -> Any:
    """Convert ``value`` recursively into data that ``json.dumps`` accepts without a custom encoder.

    Dataclasses become dicts (fields whose metadata has ``"plain": False`` are left out, so a
    result can carry a data frame for the caller without putting it into JSON), tuples become
    lists, enums their value, datetimes ISO 8601 strings, numpy scalars Python numbers and
    non-finite floats ``None`` (JSON has no NaN).

    Examples
    --------
    >>> import datetime as dt
    >>> to_plain({"a": (1, float("nan")), "t": dt.datetime(2025, 1, 2, tzinfo=dt.UTC)})
    {'a': [1, None], 't': '2025-01-02T00:00:00+00:00'}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if field.metadata.get("plain", True)
        }
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_plain(item) for item in items]
    # numpy scalars without importing numpy here: they expose .item() returning a Python scalar.
    if hasattr(value, "item") and callable(value.item):
        return to_plain(value.item())
    raise TypeError(f"cannot convert {type(value).__name__} to plain JSON data")


class PlainData:
    """Mixin giving a frozen result dataclass its ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON data (see :func:`to_plain`)."""
        return to_plain(self)
