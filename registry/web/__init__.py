"""Server-rendered pages (Jinja templates in /templates, CSRF on every form).

Views parse the form through the models of ``registry/schemas/``, call one service function
inside ``unit_of_work()``, and render plain data built by ``registry/web/present.py``.
"""

from datetime import datetime

from flask import Blueprint

bp = Blueprint("web", __name__)


@bp.record_once
def _login_messages(state) -> None:
    manager = state.app.login_manager
    manager.login_message = "Sign in to see that page."
    manager.login_message_category = "info"


@bp.app_template_filter("when")
def _when(value: str | datetime | None, with_time: bool = True) -> str:
    """ISO timestamps as people read them, in UTC."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


@bp.app_context_processor
def _labels() -> dict:
    from registry.web.present import labels

    return labels()


# Each module registers its pages on bp when imported.
from registry.web import (  # noqa: E402,F401
    admin,
    catalogue,
    charts,
    devices,
    dossiers,
    energy,
    ethics,
    evaluations,
    monitoring,
    reviews,
    views,
)
