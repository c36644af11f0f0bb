"""Server-rendered pages (Jinja templates in /templates, CSRF on every form)."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from registry.web import views  # noqa: E402,F401  (registers the pages on bp)
