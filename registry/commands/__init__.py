"""Command groups of ``dmd-registry``, one module per area; ``registry/cli.py`` assembles them.

Each module lists its click commands in ``COMMANDS``. Helpers shared by commands live here so the
area modules never import ``registry.cli`` (which imports them).
"""

from __future__ import annotations

import click

from registry.errors import ConfigError


def settings(**overrides):
    from registry.config import load_settings

    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise click.ClickException(exc.detail) from None


def runtime():
    """Settings and a configured database/runner for commands that work on a registry."""
    from registry.app import configure_runtime
    from registry.logs import configure_logging

    current = settings()
    configure_logging(current.log_format)
    return current, configure_runtime(current)
