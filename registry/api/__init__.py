"""JSON API under /api/v1 (OpenAPI 3.1 at /api/v1/openapi.json, errors as problem+json)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from registry.api import views  # noqa: E402,F401  (registers the routes on bp)
