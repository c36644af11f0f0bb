"""Who is calling: a bearer token (API) or a signed-in session (web), else anonymous."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlmodel import Session

from registry import auth
from registry.auth import Actor
from registry.errors import NotAuthenticatedError


def current_actor(session: Session) -> Actor:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticatedError("use 'Authorization: Bearer <token>'")
        return auth.actor_for_token(session, token.strip())
    if current_user.is_authenticated:
        # Cookies ride along with cross-site requests; the API accepts them for reads only, and
        # the web pages (CSRF-protected) for writes.
        if request.path.startswith("/api/") and request.method not in ("GET", "HEAD"):
            raise NotAuthenticatedError("API writes need a bearer token, not a session cookie")
        return current_user.actor
    return auth.ANONYMOUS
