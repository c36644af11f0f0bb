"""Offline evaluation of validation files: evaluate, compare (issue #4)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
