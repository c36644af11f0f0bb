"""Production operations: backup, restore (issue #11)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
