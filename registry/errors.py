"""One error hierarchy for the registry; each class knows its HTTP status and problem type.

Imports nothing from Flask: services raise these, the edges (API, web, CLI) map them once.
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    status = 500
    slug = "internal"
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def extra(self) -> dict[str, Any]:
        """Members added to the problem document beyond the RFC 9457 core."""
        return {"errors": self.errors} if self.errors else {}


class ConfigError(RegistryError):
    slug, title = "config", "Invalid configuration"


class InvalidInputError(RegistryError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class NotAuthenticatedError(RegistryError):
    status, slug, title = 401, "not-authenticated", "Authentication required"


class PermissionDeniedError(RegistryError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFoundError(RegistryError):
    status, slug, title = 404, "not-found", "Not found"


class ConflictError(RegistryError):
    status, slug, title = 409, "conflict", "Conflict"


class GateNotMetError(ConflictError):
    slug, title = "gate-not-met", "Stage requirements not met"

    def __init__(self, detail: str, unmet: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.unmet = unmet

    def extra(self) -> dict[str, Any]:
        return {"unmet": self.unmet}


class PayloadTooLargeError(RegistryError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


# Every problem type the API can answer with; the OpenAPI document lists them.
PROBLEM_TYPES = [
    InvalidInputError,
    NotAuthenticatedError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    GateNotMetError,
    PayloadTooLargeError,
    RegistryError,
]
