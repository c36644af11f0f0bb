"""The OpenAPI 3.1 document, built from the route table and the pydantic models it names."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from pydantic import BaseModel
from werkzeug.exceptions import default_exceptions

from registry.errors import PROBLEM_TYPES

REF = "#/components/schemas/{model}"
# Largest id a route's <int:...> matches (a PostgreSQL integer column; registry.app.DatabaseId).
MAX_ID = 2**31 - 1


def _schema(model: type[BaseModel], mode: str, components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    name = model.__name__ if mode == "validation" else f"{model.__name__}"
    components.setdefault(name, schema)
    return {"$ref": REF.format(model=name)}


def _multipart_schema(route, components: dict[str, Any]) -> dict[str, Any]:
    """The parts an upload route reads: the file, and each field of its form model as the
    route's form reader hands it over (routing.form_fields): a list field as repeated parts, any
    other as one text part, a blank one as not sent (so none is ever null). A field whose text
    form differs from its parsed value says so under ``x-form`` in its JSON schema."""
    from registry.api.routing import FILE_FIELD

    properties: dict[str, Any] = {FILE_FIELD: {
        "type": "string", "contentMediaType": "application/octet-stream",
        "description": "The uploaded file"}}
    schema: dict[str, Any] = {"type": "object", "required": [FILE_FIELD],
                              "properties": properties}
    if route.form is None:
        return schema
    form = route.form.model_json_schema(ref_template=REF)
    for name, definition in form.pop("$defs", {}).items():
        components.setdefault(name, definition)
    for name, field in form["properties"].items():
        field = field.pop("x-form", None) or field
        # A form field is sent or not; "or null" has no text form.
        branches = [b for b in field.get("anyOf", ()) if b.get("type") != "null"]
        if len(branches) == 1:
            field = {**{k: v for k, v in field.items() if k not in ("anyOf", "default")},
                     **branches[0]}
        properties[name] = field
    schema["required"] += form.get("required", [])
    if "additionalProperties" in form:
        schema["additionalProperties"] = form["additionalProperties"]
    if form.get("description"):
        schema["description"] = form["description"]
    return schema


def _response_schema(response: Any, components: dict[str, Any]) -> dict[str, Any] | None:
    if response is None:
        return None
    if typing.get_origin(response) is list:
        (item,) = typing.get_args(response)
        return {"type": "array", "items": _schema(item, "serialization", components)}
    return _schema(response, "serialization", components)


# The registry's own problems, and the HTTP ones Flask raises before a view runs (malformed
# request, no such address or method, body over the request limit, not JSON); registry.errorhandlers
# names those after the exception.
PROBLEM_URIS = [f"/problems/{p.slug}" for p in PROBLEM_TYPES] + [
    "/problems/" + default_exceptions[code]().name.lower().replace(" ", "-")
    for code in (400, 405, 413, 415)]

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "enum": PROBLEM_URIS},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong and how to fix it"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object",
            "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}}}},
        "unmet": {"type": "array", "items": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                           "detail": {"type": "string"}}}},
    },
}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": REF.format(
                model="Problem")}}}}


@cache
def openapi_document() -> dict[str, Any]:
    from registry.api.routing import ROUTES

    components: dict[str, Any] = {"Problem": PROBLEM}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        op: dict[str, Any] = {
            "operationId": route.endpoint.split(".")[-1],
            "summary": route.summary,
            "tags": [route.tag],
            "responses": {},
        }
        if route.permission is not None:
            op["description"] = f"Needs permission `{route.permission.value}`."
        if not route.public:
            op["security"] = [{"bearer": []}, {"session": []}]
        params = []
        for name in _path_params(route.rule):
            schema = ({"type": "integer", "minimum": 0, "maximum": MAX_ID}
                      if f"<int:{name}>" in route.rule else {"type": "string"})
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        if route.query is not None:
            for name, field in route.query.model_fields.items():
                schema = route.query.model_json_schema()["properties"][name]
                params.append({"name": name, "in": "query", "required": False,
                               "schema": schema, "description": field.description or ""})
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _schema(route.body, "validation", components)}}}
        if route.multipart:
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": _multipart_schema(route, components)}}}
        schema = _response_schema(route.response, components)
        success: dict[str, Any] = {"description": "Success"}
        if schema is not None:
            success["content"] = {"application/json": {"schema": schema}}
        elif route.status != 204:
            success["content"] = {"*/*": {}}
        op["responses"][str(route.status)] = success
        for status, text in (("401", "Not signed in"), ("403", "Not allowed"),
                             ("404", "Not found or not visible to you"),
                             ("405", "Method not allowed at this address (e.g. a malformed id)"),
                             ("409", "Conflict, or lifecycle gate not met"),
                             ("413", "Too large"), ("422", "Invalid input")):
            op["responses"][status] = _problem_response(text)
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DMD Registry API",
            "version": "1",
            "description": "Registry of AI-enabled digital medical devices: lifecycle, evidence, "
                           "evaluation and audit. Errors are RFC 9457 problem documents.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token created in the web UI or the CLI"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "A web session (read-only on the API)"},
            },
        },
    }


def _path_params(rule: str) -> list[str]:
    import re

    return re.findall(r"<(?:\w+:)?(\w+)>", rule)
