"""Rate limits on what attackers hammer: password sign-in, per client address and per account.

Flask-Limiter keeps the counters in memory (one process) or in Redis
(``DMD_RATELIMIT_STORAGE_URL``), which several gunicorn workers must share to count together.
"""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _account() -> str:
    return "login:" + request.form.get("email", "").strip().lower()


def login_limits(view):
    """Both limits apply to POSTs only: showing the sign-in form is never limited."""
    from flask import current_app

    def rate() -> str:
        return current_app.extensions["dmd"]["settings"].login_rate_limit

    view = limiter.limit(rate, methods=["POST"])(view)
    return limiter.limit(rate, methods=["POST"], key_func=_account)(view)
