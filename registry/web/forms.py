"""Form input for the web pages: request.form -> the pydantic models the API uses.

An HTML form sends every value as text: blanks mean "not given" for numbers and choices, a
checkbox is present or absent, and free-text lists are comma separated. ``form_dict`` turns that
into the shape the models expect, so validation rules live only in ``registry/schemas/``.
"""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict

from registry.errorhandlers import pydantic_errors
from registry.errors import RegistryError

Errors = dict[str, list[str]]

# Fields whose list is typed as one text box ("IIa-123, IIa-124") rather than checkboxes.
TEXT_LISTS = {"certificate_numbers", "levels"}


def _accepts(annotation: Any, kind: type) -> bool:
    return annotation is kind or any(_accepts(arg, kind) for arg in get_args(annotation))


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(_is_list(arg) for arg in get_args(annotation))


def form_dict(model: type[BaseModel], form: MultiDict, fields: list[str] | None = None) -> dict:
    """The values of ``fields`` (default: all of the model's) as the model expects them."""
    data: dict[str, Any] = {}
    for name in fields or list(model.model_fields):
        annotation = model.model_fields[name].annotation
        if _is_list(annotation):
            values = form.getlist(name)
            if name in TEXT_LISTS:
                values = [part for value in values for part in re.split(r"[,\n]", value)]
            data[name] = [v.strip() for v in values if v.strip()]
        elif _accepts(annotation, bool):
            data[name] = form.get(name, "") in ("on", "true", "1", "yes")
        elif name in form:
            value = form.get(name, "")
            # A blank number or choice is "not given", a blank text is an empty text.
            data[name] = None if not value.strip() and not _accepts(annotation, str) else value
    return data


def _message(detail: str) -> str:
    return detail.removeprefix("Value error, ")


def validation_errors(exc: ValidationError) -> Errors:
    """Messages keyed by field name; problems of the whole form are under ''."""
    errors: Errors = {}
    for err in pydantic_errors(exc):
        field = err["pointer"][2:].split("/")[0] if len(err["pointer"]) > 2 else ""
        errors.setdefault(field, []).append(_message(err["detail"]))
    return errors


def registry_errors(exc: RegistryError) -> Errors:
    """A service's refusal, shown at the top of the form (plus any field-level details)."""
    errors: Errors = {"": [exc.detail]}
    for err in exc.errors:
        pointer = str(err.get("pointer", "#"))
        field = pointer[2:].split("/")[0] if len(pointer) > 2 else ""
        if field:
            errors.setdefault(field, []).append(_message(str(err.get("detail", ""))))
    return errors


def parse(model: type[BaseModel], form: MultiDict, fields: list[str] | None = None,
          **extra: Any) -> tuple[Any, Errors]:
    """Validate the form through ``model``; return (instance, {}) or (None, errors)."""
    try:
        return model.model_validate({**form_dict(model, form, fields), **extra}), {}
    except ValidationError as exc:
        return None, validation_errors(exc)
