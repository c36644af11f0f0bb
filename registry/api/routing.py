"""A route table for the JSON API: each route declares its input, output and permission, so the
OpenAPI document and the access-matrix tests are generated from what the server really does.

An upload route is ``multipart``: the wrapper hands the view the file part (``upload``) and, with
a ``form`` model, the other form fields validated into it (``data``), as ``form_fields`` reads
them; the OpenAPI document describes the same parts from the same model.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, request
from pydantic import BaseModel

from registry.auth import Permission

#: The multipart part every upload route reads its file from.
FILE_FIELD = "file"


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str
    summary: str
    permission: Permission | None  # None: public or any signed-in user (see ``public``)
    public: bool
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # a pydantic model, list[model], or None for non-JSON responses
    status: int
    tag: str
    multipart: bool = False
    form: type[BaseModel] | None = None  # the fields sent beside the file (multipart)

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", "/api/v1" + self.rule)


ROUTES: list[Route] = []


def api_route(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str,
    permission: Permission | None,
    response: Any = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    public: bool = False,
    tag: str = "registry",
    multipart: bool = False,
    form: type[BaseModel] | None = None,
) -> Callable:
    """Register a view; it receives ``data`` (validated body, query or form) when one is
    declared, and ``upload`` (the file part) when the route is multipart (a ``form`` makes it
    so)."""
    multipart = multipart or form is not None

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs):
            if not public and permission is not None:
                _require_credentials()
            if body is not None:
                kwargs["data"] = body.model_validate(_json_body())
            elif query is not None:
                kwargs["data"] = query.model_validate(request.args.to_dict())
            if multipart:
                kwargs["upload"] = _file_part()
                if form is not None:
                    kwargs["data"] = form.model_validate(form_fields(form))
            return view(**kwargs)

        bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
        ROUTES.append(Route(method, rule, f"{bp.name}.{view.__name__}", summary, permission,
                            public, body, query, response, status, tag, multipart, form))
        return wrapper

    return decorate


def _require_credentials() -> None:
    """Answer 401 before validating a body nobody is allowed to send anonymously."""
    from flask_login import current_user

    from registry.errors import NotAuthenticatedError

    if not request.headers.get("Authorization") and not current_user.is_authenticated:
        raise NotAuthenticatedError("sign in or send an API token (Authorization: Bearer ...)")


def _is_list_field(model: type[BaseModel], name: str) -> bool:
    """Whether a form field takes every value sent under its name (a list) or just one."""
    field = model.model_fields.get(name)
    return field is not None and typing.get_origin(field.annotation) is list


def form_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The multipart form fields as ``model`` validates them: a list field gets every value sent
    under its name, any other field its first; an empty value counts as not sent (a form's
    blank field). Names the model does not know are passed on for it to refuse."""
    fields: dict[str, Any] = {}
    for name, values in request.form.lists():
        sent = [v for v in values if v != ""]
        if sent:
            fields[name] = sent if _is_list_field(model, name) else sent[0]
    return fields


def _file_part():
    from registry.errors import InvalidInputError

    upload = request.files.get(FILE_FIELD)
    if upload is None:
        raise InvalidInputError(f"send the file as multipart/form-data in a field named "
                                f"'{FILE_FIELD}'")
    return upload


def _json_body() -> Any:
    from registry.errors import InvalidInputError

    if not request.is_json:
        raise InvalidInputError("send a JSON body with Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInputError("the request body is not valid JSON")
    if not isinstance(data, dict):
        raise InvalidInputError("the JSON body must be an object")
    return data
