"""The Flask application factory and the runtime wiring shared with the CLI and workers."""

from __future__ import annotations

import logging
import os
import re
import uuid

from flask import Flask, g, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from registry import db, health, jobs, signing, storage
from registry.api.openapi import MAX_ID
from registry.config import Settings, load_settings
from registry.logs import configure_logging
from registry.ratelimit import limiter
from registry.web import public_cache

logger = logging.getLogger(__name__)
csrf = CSRFProtect()
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def configure_runtime(settings: Settings) -> db.Database:
    """Wire the database, artifact store, signing key and job runner from settings."""
    # OpenBLAS threading on small products is slower than one thread on 2 cores (stack notes).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    database = db.Database(settings.resolved_database_url)
    db.set_database(database)
    storage.set_store(storage.ArtifactStore(settings.resolved_artifact_dir,
                                            settings.max_upload_bytes))
    signing.set_signer(signing.load_or_create(settings.signing_key_path))
    from reports import sealing  # the PDF sealing certificate lives next to the Ed25519 key

    sealing.set_sealer(sealing.load_or_create(settings.instance_dir))
    jobs.set_runner(jobs.Runner(settings.broker_url))
    from registry.services import notifications

    notifications.set_webhook_url(settings.alert_webhook_url)
    jobs.set_energy_country(settings.energy_country if settings.energy_tracking else None)
    import registry.tasks  # noqa: F401  (registers the task functions)

    return database


class DatabaseId(IntegerConverter):
    """``<int:...>`` in a route: an id a database integer column can hold (up to 2**31 - 1);
    a larger number is simply not found, instead of overflowing the driver (a 500)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_format)
    database = configure_runtime(settings)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(os.path.dirname(__file__), "web", "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "prod",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["dmd"] = {"settings": settings, "database": database}

    login = LoginManager(app)
    login.login_view = "web.login"

    @login.user_loader
    def _load(user_id: str):
        from registry.web.session import load_session_user

        # The current database, not the one captured here: tests rebind it to their transaction.
        return load_session_user(db.get_database(), user_id)

    csrf.init_app(app)
    app.config["RATELIMIT_STORAGE_URI"] = settings.ratelimit_storage_url
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)
    public_cache.init_app(app, settings.public_cache_seconds)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops,
                                x_proto=settings.proxy_hops, x_host=settings.proxy_hops)

    @app.before_request
    def _request_id() -> None:
        # A caller's id is kept only if it is short and plain (it ends up in the logs).
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]

    @app.after_request
    def _headers(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
        )
        return response

    from registry.api import bp as api_bp
    from registry.errorhandlers import register_error_handlers
    from registry.web import bp as web_bp

    app.url_map.converters["int"] = DatabaseId  # before the routes are registered
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(web_bp)
    app.register_blueprint(health.bp)
    csrf.exempt(health.bp)
    health.instrument(app)
    register_error_handlers(app)
    return app
