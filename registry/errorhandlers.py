"""Map every error once: RFC 9457 problem+json under /api, an HTML page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from registry.errors import InvalidInputError, RegistryError

logger = logging.getLogger(__name__)


def pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    """One entry per field problem, with a JSON pointer to the field."""
    out = []
    for err in exc.errors():
        pointer = "#/" + "/".join(str(p) for p in err["loc"]) if err["loc"] else "#"
        out.append({"pointer": pointer, "detail": err["msg"]})
    return out


def as_registry_error(exc: ValidationError) -> InvalidInputError:
    errors = pydantic_errors(exc)
    summary = "; ".join(f"{e['pointer'][2:] or 'body'}: {e['detail']}" for e in errors)
    return InvalidInputError(f"fix these fields: {summary}", errors=errors)


def problem(status: int, slug: str, title: str, detail: str, extra: dict | None = None):
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        **(extra or {}),
    }
    if request.path.startswith("/api/"):
        return body, status, {"Content-Type": "application/problem+json"}
    html = render_template("error.html", problem=body, request_id=g.get("request_id"))
    return html, status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def _registry(exc: RegistryError):
        if exc.status >= 500:
            logger.error("registry error: %s", exc.detail, exc_info=exc)
        return problem(exc.status, exc.slug, exc.title, exc.detail, exc.extra())

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        err = as_registry_error(exc)
        return problem(err.status, err.slug, err.title, err.detail, err.extra())

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _out_of_range(exc: Exception):
        # A value the database cannot hold (an id beyond its integer range, say) reaches the
        # driver only from a request: the caller's input, not a server failure.
        err = InvalidInputError("a value is out of range for the registry (e.g. an id larger "
                                "than 2147483647); check the numbers you sent")
        return problem(err.status, err.slug, err.title, err.detail)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        slug = (exc.name or "error").lower().replace(" ", "-")
        return problem(exc.code or 500, slug, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logger.error("unhandled error", exc_info=exc)
        return problem(500, "internal", "Internal error",
                       f"the server failed; quote request id {g.get('request_id')} when "
                       "reporting it")
