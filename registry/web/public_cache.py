"""A few seconds' cache of the public pages anonymous visitors read (the catalogue).

Every anonymous visitor gets the same catalogue page, so one rendering can serve them all for a
few seconds; that is most of what a national catalogue serves. Signed-in users always get a
fresh page: their header and forms are their own, and they must see their own changes at once.
A change reaches anonymous visitors within ``public_cache_seconds`` (0 turns the cache off).
"""

from __future__ import annotations

import threading
import time
from functools import wraps

from cachetools import TTLCache
from flask import current_app, make_response, request, session
from flask_login import current_user

MAX_PAGES = 1024  # distinct URLs kept per worker process (filters x offsets)


class PublicPageCache:
    def __init__(self, seconds: int, timer=time.monotonic) -> None:
        self.seconds = seconds
        self._pages = TTLCache(maxsize=MAX_PAGES, ttl=seconds, timer=timer) if seconds else None
        self._lock = threading.Lock()  # TTLCache is not thread-safe; gunicorn runs threads

    def get(self, key: str):
        with self._lock:
            return self._pages.get(key)

    def put(self, key: str, page) -> None:
        with self._lock:
            self._pages[key] = page


def init_app(app, seconds: int) -> None:
    app.extensions["public_page_cache"] = PublicPageCache(seconds)


def _anonymous_get() -> bool:
    return (request.method == "GET" and "Authorization" not in request.headers
            and not session.get("_flashes") and not current_user.is_authenticated)


def cached_for_anonymous(view):
    """Serve an anonymous GET of ``view`` from the cache while it is fresh (200s only)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        cache: PublicPageCache = current_app.extensions["public_page_cache"]
        if not cache.seconds or not _anonymous_get():
            return view(*args, **kwargs)
        key = request.full_path
        page = cache.get(key)
        if page is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            page = (response.get_data(), response.mimetype)
            cache.put(key, page)
        response = make_response(page[0])
        response.mimetype = page[1]
        # Shared caches may keep it as long as we do; a cookie (a signed-in user) varies it.
        response.headers["Cache-Control"] = f"public, max-age={cache.seconds}"
        response.vary.add("Cookie")
        return response

    return wrapper
