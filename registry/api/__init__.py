"""JSON API under /api/v1 (OpenAPI 3.1 at /api/v1/openapi.json, errors as problem+json)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Each area registers its routes on bp when imported.
from registry.api import (  # noqa: E402,F401
    catalogue,
    dossiers,
    energy,
    ethics,
    evaluations,
    monitoring,
    reviews,
    views,
)
