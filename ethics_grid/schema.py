"""The grid file's schema and the checks run on every load.

The structure is a JSON Schema (draft 2020-12) kept as a Python mapping, so the code
lists come from :mod:`ethics_grid.codes` instead of being written twice; the
registry can publish it with :func:`grid_json_schema`. Rules a JSON Schema cannot
state (unique ids, the declared count, the maturity levels, a mapping that points
at real criteria) are checked in :func:`check_grid_document`.

Every problem is reported as ``"<where>: field '<name>' <what is wrong>"``, where
``<where>`` is ``grid``, ``mapping_from``, ``document`` or
``criterion <id> (entry <n>)`` with ``n`` counted from 1.
"""

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ethics_grid.codes import (
    ALTAI_REQUIREMENTS,
    COMPUTED_EVIDENCE_KINDS,
    GRID_STAGES,
    LIFECYCLE_STAGES,
    MATURITY_LEVELS,
    PRINCIPLES,
)

_NON_EMPTY_TEXT = {"type": "string", "minLength": 1, "pattern": r"\S"}
_TEXT_LIST = {"type": "array", "items": _NON_EMPTY_TEXT}

_MATURITY_SCALE = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["level", "code", "label", "meaning"],
        "properties": {
            "level": {"type": "integer"},
            "code": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
            "label": _NON_EMPTY_TEXT,
            "meaning": _NON_EMPTY_TEXT,
        },
    },
}

_CRITERION = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "stage",
        "lifecycle_stage",
        "principle",
        "requirement",
        "evidence",
    ],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$"},
        "stage": {"enum": list(GRID_STAGES)},
        "lifecycle_stage": {"enum": list(LIFECYCLE_STAGES)},
        "principle": {"enum": list(PRINCIPLES)},
        "blocking": {"type": "boolean"},
        "requirement": _NON_EMPTY_TEXT,
        "evidence": {**_TEXT_LIST, "minItems": 1},
        "computed_evidence": {
            "type": "array",
            "items": {"enum": list(COMPUTED_EVIDENCE_KINDS)},
            "uniqueItems": True,
        },
        "altai": {
            "type": "array",
            "items": {"enum": list(ALTAI_REQUIREMENTS)},
            "uniqueItems": True,
        },
        "legal_refs": _TEXT_LIST,
        "maturity_scale": _MATURITY_SCALE,
    },
}

GRID_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "DMD Registry ethics grid",
    "type": "object",
    "additionalProperties": False,
    "required": ["grid", "criteria"],
    "properties": {
        "grid": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "id",
                "version",
                "source",
                "published",
                "criteria_count",
                "principles",
                "stages",
            ],
            "properties": {
                "id": _NON_EMPTY_TEXT,
                "version": {"type": "string", "pattern": r"^[0-9A-Za-z][0-9A-Za-z._-]*$"},
                "label": _NON_EMPTY_TEXT,
                "title": _NON_EMPTY_TEXT,
                "source": _NON_EMPTY_TEXT,
                "published": {"type": "boolean"},
                "published_on": {"type": ["string", "null"]},
                "criteria_count": {"type": "integer", "minimum": 1},
                "principles": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": list(PRINCIPLES)},
                },
                "stages": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": list(GRID_STAGES)},
                },
                "maturity_scale": _MATURITY_SCALE,
            },
        },
        "criteria": {"type": "array", "items": _CRITERION},
        "mapping_from": {
            "type": "object",
            "additionalProperties": False,
            "required": ["version", "ids"],
            "properties": {
                "version": {"type": "string", "minLength": 1},
                "ids": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "null"]},
                },
            },
        },
    },
}

# Where each section and field sorts in a problem list: document order, so a
# grid author reads the problems top to bottom.
_SECTION_RANK = {"document": 0, "grid": 1, "criteria": 2, "mapping_from": 3}
_FIELD_RANK = {
    name: rank
    for rank, name in enumerate(
        [
            "id",
            "version",
            "label",
            "title",
            "source",
            "published",
            "published_on",
            "criteria_count",
            "principles",
            "stage",
            "stages",
            "lifecycle_stage",
            "principle",
            "blocking",
            "requirement",
            "evidence",
            "computed_evidence",
            "altai",
            "legal_refs",
            "maturity_scale",
            "ids",
        ]
    )
}

_JSON_TYPE_NAMES = {
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def grid_json_schema() -> dict[str, Any]:
    """Return a copy of the grid file's JSON Schema.

    Returns
    -------
    dict
        JSON Schema (draft 2020-12) for one grid file; a deep copy the caller may
        change.

    Examples
    --------
    >>> grid_json_schema()["required"]
    ['grid', 'criteria']
    """
    return copy.deepcopy(GRID_SCHEMA)


def check_grid_document(document: Any) -> list[str]:
    """List every problem of a parsed grid file.

    Parameters
    ----------
    document : Any
        The grid file as parsed from YAML (a mapping when well formed). Dates in
        ``grid.published_on`` may be strings or :class:`datetime.date`.

    Returns
    -------
    list of str
        One message per problem, in document order; empty when the grid is valid.

    Examples
    --------
    >>> check_grid_document({"grid": {}, "criteria": []})[0]
    "grid: field 'id' is missing"
    """
    if not isinstance(document, Mapping):
        return [
            f"document: must be a mapping with 'grid' and 'criteria'; got {_describe(document)}"
        ]
    document = _normalised(document)
    keyed: list[tuple[tuple[Any, ...], str]] = []
    validator = Draft202012Validator(GRID_SCHEMA)
    for error in validator.iter_errors(document):
        keyed.extend(_from_schema_error(document, error))
    keyed.extend(_semantic_problems(document))
    seen: set[str] = set()
    problems = []
    for _, message in sorted(keyed, key=lambda item: item[0]):
        if message not in seen:
            seen.add(message)
            problems.append(message)
    return problems


def _normalised(document: Mapping[str, Any]) -> dict[str, Any]:
    # YAML turns an unquoted 2026-11-24 into a date; accept both spellings.
    result = dict(document)
    header = result.get("grid")
    if isinstance(header, Mapping) and isinstance(header.get("published_on"), dt.date):
        result["grid"] = {**header, "published_on": header["published_on"].isoformat()}
    return result


def _where(document: Mapping[str, Any], section: str, index: int | None) -> str:
    if section != "criteria" or index is None:
        return section
    criteria = document.get("criteria")
    entry = criteria[index] if isinstance(criteria, list) else None
    ident = entry.get("id") if isinstance(entry, Mapping) else None
    if isinstance(ident, str) and ident:
        return f"criterion {ident} (entry {index + 1})"
    return f"criterion entry {index + 1}"


def _sort_key(section: str, index: int | None, field: str) -> tuple[Any, ...]:
    top = field.split(".")[0].split("[")[0]
    return (
        _SECTION_RANK.get(section, 9),
        -1 if index is None else index,
        _FIELD_RANK.get(top, 99),
        field,
    )


def _field_name(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "boolean", str: "string", int: "integer", float: "number"}
    for kind, name in kinds.items():
        if type(value) is kind:
            return f"{name} {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _split_path(error: ValidationError) -> tuple[str, int | None, list[Any]]:
    path = list(error.absolute_path)
    if not path:
        return "document", None, []
    section = str(path[0])
    if section == "criteria" and len(path) > 1 and isinstance(path[1], int):
        return section, path[1], path[2:]
    return section, None, path[1:]


def _from_schema_error(
    document: Mapping[str, Any], error: ValidationError
) -> list[tuple[tuple[Any, ...], str]]:
    section, index, rest = _split_path(error)
    where = _where(document, section, index)
    keyword = error.validator
    instance = error.instance
    results: list[tuple[str, str]] = []
    if keyword == "required":
        for name in error.validator_value:
            if isinstance(instance, Mapping) and name not in instance:
                results.append((_field_name([*rest, name]), "is missing"))
    elif keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = error.schema.get("properties", {})
        for name in instance:
            if name not in known:
                results.append((_field_name([*rest, name]), "is not a known field"))
    else:
        results.append((_field_name(rest), _what(keyword, error)))
    output = []
    for field, what in results:
        label = f"{where}: field '{field}' {what}" if field else f"{where}: {what}"
        output.append((_sort_key(section, index, field), label))
    return output


def _what(keyword: str, error: ValidationError) -> str:
    value = error.instance
    rule = error.validator_value
    if keyword == "enum":
        return f"must be one of {', '.join(map(str, rule))}; got {_describe(value)}"
    if keyword == "type":
        types = [rule] if isinstance(rule, str) else list(rule)
        wanted = " or ".join(_JSON_TYPE_NAMES.get(name, name) for name in types)
        return f"must be {wanted}; got {_describe(value)}"
    if keyword in ("minLength", "pattern") and isinstance(value, str) and not value.strip():
        return "must not be empty"
    if keyword == "pattern":
        return f"must match {rule}; got {_describe(value)}"
    if keyword == "minItems":
        return f"must list at least {rule} item" + ("" if rule == 1 else "s")
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword == "minimum":
        return f"must be at least {rule}; got {_describe(value)}"
    # A keyword this table does not phrase: fall back on jsonschema's own words.
    return error.message


def _semantic_problems(document: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []

    def add(section: str, index: int | None, field: str, what: str) -> None:
        where = _where(document, section, index)
        problems.append((_sort_key(section, index, field), f"{where}: field '{field}' {what}"))

    header = document.get("grid")
    header = header if isinstance(header, Mapping) else {}
    criteria = document.get("criteria")
    criteria = criteria if isinstance(criteria, list) else []
    entries = [(i, c) for i, c in enumerate(criteria) if isinstance(c, Mapping)]

    # Unique ids: later entries are reported against the first one.
    first_entry: dict[str, int] = {}
    for index, entry in entries:
        ident = entry.get("id")
        if not isinstance(ident, str):
            continue
        if ident in first_entry:
            add("criteria", index, "id", f"duplicates entry {first_entry[ident] + 1}")
        else:
            first_entry[ident] = index

    count = header.get("criteria_count")
    if isinstance(count, int) and not isinstance(count, bool) and count != len(criteria):
        add(
            "grid",
            None,
            "criteria_count",
            f"declares {count} criteria; the file lists {len(criteria)}",
        )

    if header.get("published") is True and not header.get("published_on"):
        add("grid", None, "published_on", "is required when 'published' is true")
    published_on = header.get("published_on")
    if isinstance(published_on, str):
        try:
            dt.date.fromisoformat(published_on)
        except ValueError:
            add("grid", None, "published_on", f"must be a date YYYY-MM-DD; got {published_on!r}")

    for field, allowed in (("principles", PRINCIPLES), ("stages", GRID_STAGES)):
        declared = header.get(field)
        if not isinstance(declared, list) or not set(declared) <= set(allowed):
            continue
        own = field[:-1]  # "principles" -> "principle" on each criterion
        for index, entry in entries:
            value = entry.get(own)
            if value in allowed and value not in declared:
                add("criteria", index, own, f"{value!r} is not declared in grid.{field}")

    grid_scale = header.get("maturity_scale")
    _check_scale_levels(grid_scale, lambda what: add("grid", None, "maturity_scale", what))
    for index, entry in entries:
        scale = entry.get("maturity_scale")
        if scale is None and grid_scale is None:
            add(
                "criteria",
                index,
                "maturity_scale",
                "is missing and the grid declares no default scale",
            )
        else:
            _check_scale_levels(
                scale, lambda what, index=index: add("criteria", index, "maturity_scale", what)
            )

    mapping = document.get("mapping_from")
    if isinstance(mapping, Mapping):
        if mapping.get("version") == header.get("version"):
            add(
                "mapping_from", None, "version", "must name an earlier version, not this grid's own"
            )
        ids = mapping.get("ids")
        if isinstance(ids, Mapping):
            for old_id, new_id in ids.items():
                if isinstance(new_id, str) and new_id not in first_entry:
                    add(
                        "mapping_from",
                        None,
                        f"ids.{old_id}",
                        f"maps to {new_id!r}, which is not a criterion of this grid",
                    )
    return problems


def _check_scale_levels(scale: Any, report: Any) -> None:
    if not isinstance(scale, list):
        return
    levels = [item.get("level") for item in scale if isinstance(item, Mapping)]
    if levels != list(MATURITY_LEVELS):
        # Section 4 scores divide by 3: a scale with other levels would change
        # every percentage, so it needs a new scoring rule, not just new data.
        wanted = ", ".join(map(str, MATURITY_LEVELS))
        got = ", ".join(map(str, levels))
        report(f"must list levels {wanted} in order; got {got}")
