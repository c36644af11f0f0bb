"""Offline drift between two files (issue #7).

``dmd-registry drift REFERENCE CURRENT`` runs the pure ``monitoring`` library on two local CSV or
Parquet files: no server, no database, no Evidently import. Exit status: 0 when the check passes,
1 when ``--fail-on-drift`` is given and the share of drifted columns exceeds ``--max-drift-share``,
2 on bad input (unreadable file, unknown option value, nothing to compare), so a pipeline can
tell drift from a broken call.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

COMMANDS: list[click.Command] = []


class BadInput(click.ClickException):
    """Bad input: exit status 2, kept apart from 1 (drift found with --fail-on-drift)."""

    exit_code = 2


def _read(path: Path, role: str):
    # The registry's one reader of CSV/Parquet uploads (pyarrow; says what to fix).
    from registry.errors import RegistryError
    from registry.uploads import read_table

    try:
        return read_table(path.read_bytes(), path.name)
    except RegistryError as error:
        raise BadInput(f"{role}: {error.detail}") from None
    except OSError as error:
        raise BadInput(f"{role}: cannot read {path}: {error.strerror}") from None


def _parse_types(pairs: tuple[str, ...]) -> dict[str, str]:
    from monitoring.drift import COLUMN_TYPES

    types, problems = {}, []
    for pair in pairs:
        name, _, kind = pair.partition("=")
        if not name or kind not in COLUMN_TYPES:
            problems.append(f"--column-type {pair!r}: write NAME=numerical or NAME=categorical")
        types[name] = kind
    if problems:
        raise BadInput("; ".join(problems))
    return types


def _cell(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _note(entry) -> str:
    if entry.skipped_reason:
        return f"skipped: {entry.skipped_reason}"
    notes = []
    if entry.new_categories:
        shown = ", ".join(entry.new_categories[:5]) + (
            ", ..." if len(entry.new_categories) > 5 else ""
        )
        notes.append(f"new categories: {shown} ({entry.new_category_share:.1%} of rows)")
    if entry.missing_current:
        notes.append(f"{entry.missing_rate_current:.1%} missing")
    notes.extend(entry.caveats)
    return "; ".join(notes)


def _table(result) -> str:
    header = ("column", "type", "test", "score", "threshold", "drifted", "n ref", "n cur", "note")
    entries = [*result.columns, *((result.prediction,) if result.prediction else ())]
    rows = [
        (
            entry.column + (" (prediction)" if entry.role == "prediction" else ""),
            _cell(entry.column_type),
            _cell(entry.method_label),
            _cell(entry.score),
            _cell(entry.threshold),
            _cell(entry.drifted),
            str(entry.n_reference),
            str(entry.n_current),
            _note(entry),
        )
        for entry in entries
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in (header, *rows)
    ]
    return "\n".join(line.rstrip() for line in lines)


@click.command("drift")
@click.argument("reference", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("current", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--fail-on-drift",
    is_flag=True,
    help="Exit with status 1 when the share of drifted columns exceeds --max-drift-share.",
)
@click.option(
    "--max-drift-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    metavar="S",
    help="Largest share of drifted columns tolerated with --fail-on-drift (0: none).",
)
@click.option(
    "--column-type",
    "column_types",
    multiple=True,
    metavar="NAME=TYPE",
    help="Override an inferred column type (numerical or categorical); repeatable.",
)
@click.option("--exclude", multiple=True, metavar="NAME", help="Column not to test; repeatable.")
@click.option(
    "--score-column",
    metavar="NAME",
    help="The model's score column: tested as prediction drift, not counted in the share.",
)
def drift(
    reference: Path,
    current: Path,
    as_json: bool,
    fail_on_drift: bool,
    max_drift_share: float,
    column_types: tuple[str, ...],
    exclude: tuple[str, ...],
    score_column: str | None,
) -> None:
    """Test each column of CURRENT for drift from REFERENCE (CSV or Parquet files, offline).

    Up to 1,000 reference rows: K-S p-value (numerical) or two-sample chi-square p-value
    (categorical) at 0.05; above: Evidently 0.7's normed Wasserstein or Jensen-Shannon distance
    at 0.1, computed directly. Exit status: 0 pass, 1 drift share above --max-drift-share with
    --fail-on-drift, 2 bad input.
    """
    from monitoring.drift import detect_drift
    from monitoring.errors import MonitoringInputError

    types = _parse_types(column_types)
    ref_frame, cur_frame = _read(reference, "REFERENCE"), _read(current, "CURRENT")
    shared = [c for c in ref_frame.columns if c in cur_frame.columns]
    if not shared:
        raise BadInput(
            "REFERENCE and CURRENT have no column in common (reference: "
            f"{', '.join(map(str, ref_frame.columns[:10]))}; current: "
            f"{', '.join(map(str, cur_frame.columns[:10]))})"
        )
    unknown = [
        n for n in (*types, *exclude, *([score_column] if score_column else [])) if n not in shared
    ]
    if unknown:
        raise BadInput(
            f"column(s) {', '.join(map(repr, unknown))} named in the options are not in both files"
        )
    try:
        result = detect_drift(
            ref_frame, cur_frame, column_types=types, exclude=exclude, score_column=score_column
        )
    except MonitoringInputError as error:
        raise BadInput(str(error)) from None
    only_current = [str(c) for c in cur_frame.columns if c not in ref_frame.columns]
    exceeds = None if result.drift_share is None else result.drift_share > max_drift_share

    if as_json:
        click.echo(
            json.dumps(
                {
                    "reference_file": str(reference),
                    "current_file": str(current),
                    **result.to_dict(),
                    "columns_only_in_current": only_current,
                    "max_drift_share": max_drift_share,
                    "exceeds_max_drift_share": exceeds,
                },
                indent=2,
            )
        )
    else:
        click.echo(f"reference: {reference} ({result.n_reference_rows} rows)")
        click.echo(f"current:   {current} ({result.n_current_rows} rows)")
        click.echo("")
        click.echo(_table(result))
        click.echo("")
        if only_current:
            click.echo(f"not tested (only in CURRENT): {', '.join(only_current)}")
        if result.drift_share is not None:
            click.echo(
                f"drifted: {result.n_features_drifted} of {result.n_features_tested} tested "
                f"columns (share {result.drift_share:.3g}; max tolerated {max_drift_share:g})"
                + (f", {result.n_features_skipped} skipped" if result.n_features_skipped else "")
            )
    if result.drift_share is None:
        raise BadInput("no column could be tested for drift (see the reasons above)")
    if fail_on_drift and exceeds:
        if not as_json:
            click.echo(
                f"FAIL: drift share {result.drift_share:.3g} exceeds {max_drift_share:g}", err=True
            )
        raise SystemExit(1)


COMMANDS.append(drift)
