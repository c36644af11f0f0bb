"""A route table for the JSON API: each route declares its input, output and permission, so the
OpenAPI document and the access-matrix tests are generated from what the server really does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, request
from pydantic import BaseModel

from registry.auth import Permission


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
) -> Callable:
    """Register a view; it receives ``data`` (validated body or query) when one is declared."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs):
            if not public and permission is not None:
                _require_credentials()
            if body is not None:
                kwargs["data"] = body.model_validate(_json_body())
            elif query is not None:
                kwargs["data"] = query.model_validate(request.args.to_dict())
            return view(**kwargs)

        bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
        ROUTES.append(Route(method, rule, f"{bp.name}.{view.__name__}", summary, permission,
                            public, body, query, response, status, tag, multipart))
        return wrapper

    return decorate


def _require_credentials() -> None:
    """Answer 401 before validating a body nobody is allowed to send anonymously."""
    from flask_login import current_user

    from registry.errors import NotAuthenticatedError

    if not request.headers.get("Authorization") and not current_user.is_authenticated:
        raise NotAuthenticatedError("sign in or send an API token (Authorization: Bearer ...)")


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
