"""WSGI entry point for production servers: ``gunicorn -c registry/gunicorn_conf.py
registry.wsgi:app``. Settings come from the DMD_* environment variables."""

from registry.app import create_app

app = create_app()
