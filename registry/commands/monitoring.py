"""Offline drift between two files (issue #7)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
