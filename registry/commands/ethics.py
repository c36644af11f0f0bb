"""Ethics grid export (issue #6): ``dmd-registry ethics export DEVICE --format json|csv``.

An operator command on the configured database (like ``audit export``): it reads the device's
latest submitted self-assessment with its reviews (the draft when nothing is submitted yet) and
writes one row per criterion of the grid, with the columns of ``ethics_grid.ROW_FIELDS``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

COMMANDS: list[click.Command] = []


@click.group()
def ethics() -> None:
    """Ethics-grid self-assessments."""


@ethics.command("export")
@click.argument("device")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True, help="json: header and rows; csv: one row per criterion.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file instead of standard output.")
def export(device: str, fmt: str, output: str | None) -> None:
    """Export DEVICE's ethics self-assessment (DEVICE is the device code)."""
    from sqlmodel import select

    from ethics_grid import ROW_FIELDS
    from registry.commands import runtime
    from registry.errors import InvalidInputError
    from registry.models import Device
    from registry.services import ethics as service

    _, database = runtime()
    with database.unit_of_work() as session:
        row = session.exec(select(Device).where(Device.code == device)).first()
        if row is None:
            raise click.ClickException(f"no device with code '{device}'")
        try:
            header, rows = service.export_rows(session, row)
        except InvalidInputError as exc:
            raise click.ClickException(exc.detail) from None
    if fmt == "json":
        text = json.dumps({**header, "criteria": rows}, indent=1, ensure_ascii=False) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
        writer.writeheader()
        # Free-text answers go into spreadsheets: formula-looking cells are neutralised.
        from registry.services.exports import safe_cell

        writer.writerows({k: safe_cell(v) for k, v in r.items()} for r in rows)
        text = buffer.getvalue()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rows)} criteria of assessment {header['assessment']} "
                   f"({header['status']}) to {output}", err=True)
    else:
        click.echo(text, nl=False)


COMMANDS.append(ethics)
