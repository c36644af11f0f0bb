"""Offline evaluation of validation files: evaluate, compare (issue #4).

Both commands run the pure ``evaluation`` library on a local CSV or Parquet file: no server,
no database. Bad input ends with exit status 1 and every problem found, one per line.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import click

COMMANDS: list[click.Command] = []

#: Metrics shown after ``auc`` and the threshold metrics in the readable report.
SHOWN_AFTER = (
    "brier",
    "average_precision",
    "ece",
    "calibration_intercept",
    "calibration_slope",
    "oe_ratio",
)
#: Metrics shown per subgroup in the readable report (``--json`` has them all).
SUBGROUP_SHOWN = ("auc", "sensitivity", "specificity", "ppv", "npv")


def _fail(problems) -> click.ClickException:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    count = len(problems)
    head = f"{count} problem{'s' if count > 1 else ''} with the input"
    if any(re.search(r"\brows? \d", problem) for problem in problems):
        head += " (rows counted from 1, the first row after the header)"
    return click.ClickException(f"{head}:\n{lines}")


def _read(file: Path):
    """The file as a data frame, read as the registry reads uploads, rows numbered from 1."""
    import pandas as pd

    from registry.errors import InvalidInputError
    from registry.uploads import read_table

    if not file.is_file():
        raise _fail([f"file {file}: not found (or not a regular file)"])
    try:
        frame = read_table(file.read_bytes(), file.name)
    except InvalidInputError as error:
        raise _fail([error.detail]) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _matches(value, text: str) -> bool:
    """Whether a label value read from the file is the one typed on the command line."""
    if isinstance(value, bool):
        return text.strip().lower() in (("true", "1") if value else ("false", "0"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return str(value) == text


def _binary_labels(frame, label: str, positive: str) -> tuple[tuple, object]:
    """Declared ``(negative, positive)`` labels of ``label``, typed as in the file."""
    if label not in frame.columns or frame.empty:
        return (0, 1), 1  # the library reports the missing column, naming close matches
    values = [v.item() if hasattr(v, "item") else v for v in frame[label].dropna().unique()]
    hits = [v for v in values if _matches(v, positive)]
    shown = ", ".join(repr(v) for v in sorted(values, key=str)[:10])
    if not hits:
        raise _fail(
            [
                f"column {label!r}: no row has the positive value {positive!r} (values: "
                f"{shown}); check --positive or --label"
            ]
        )
    others = [v for v in values if v != hits[0]]
    if not others:
        raise _fail(
            [
                f"column {label!r}: only one class present ({hits[0]!r} in every row); "
                "AUC, sensitivity and specificity need positive and negative cases"
            ]
        )
    if len(others) > 1:
        raise _fail(
            [
                f"column {label!r}: {len(values)} distinct values ({shown}); a binary "
                "evaluation needs exactly two: recode the column"
            ]
        )
    return (others[0], hits[0]), hits[0]


def _is_probability(frame, score: str) -> bool:
    import numpy as np
    import pandas as pd

    if score not in frame.columns:
        return True
    # Missing, infinite and text values are the library's to report; judge the rest.
    values = pd.to_numeric(frame[score], errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    return bool(np.all((finite >= 0) & (finite <= 1)))


def _metric(result) -> dict:
    interval = result.interval
    return {
        "estimate": _number(result.value),
        "ci_low": _number(result.ci_low),
        "ci_high": _number(result.ci_high),
        "method": None if interval is None else interval.method,
    }


def _number(value):
    return None if value is None or not math.isfinite(value) else float(value)


def _report_json(report, positive) -> dict:
    from evaluation.results import to_plain

    out = {
        "n": report.n,
        "positive": positive,
        "labels": list(report.labels),
        "class_counts": report.class_counts,
        "threshold": report.threshold,
        "level": report.level,
        "library_version": report.library_version,
        "metrics": {name: _metric(result) for name, result in report.metrics.items()},
        "undefined": {
            name: result.undefined_reason
            for name, result in report.metrics.items()
            if result.undefined_reason
        },
        "calibration": None if report.calibration is None else report.calibration.to_dict(),
        "notes": list(report.notes),
    }
    if report.subgroups:
        out["subgroups"] = {
            column.column: {
                "minimum_rule": column.minimum_rule,
                "levels": {
                    level.level: {
                        "n": level.n,
                        "n_positive": level.n_positive,
                        "insufficient_data": level.insufficient_data,
                        "insufficient_reason": level.insufficient_reason,
                        "metrics": {k: _metric(v) for k, v in level.metrics.items()},
                        "gaps": to_plain(level.gaps),
                        "calibration": None
                        if level.calibration is None
                        else level.calibration.to_dict(),
                    }
                    for level in column.levels
                },
                "spread": {k: v.to_dict() for k, v in column.spread.items()},
            }
            for column in report.subgroups
        }
    return out


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _metric_line(name: str, result, width: int = 24) -> str:
    if result.value is None:
        return f"  {name:<{width}} undefined: {result.undefined_reason}"
    if result.interval is None:
        return f"  {name:<{width}} {_fmt(result.value)}"
    return (
        f"  {name:<{width}} {_fmt(result.value)}  [{_fmt(result.ci_low)}, "
        f"{_fmt(result.ci_high)}]  {result.interval.method}"
    )


def _ordered(metrics: dict) -> list[str]:
    from evaluation.binary import THRESHOLD_METRICS

    first = [n for n in ("auc", *THRESHOLD_METRICS, *SHOWN_AFTER) if n in metrics]
    return first + sorted(set(metrics) - set(first))


def _report_text(report, file: Path, label: str, score: str, positive) -> str:
    level = f"{report.level:.0%}"
    counts = ", ".join(f"{k}: {v}" for k, v in report.class_counts.items())
    lines = [
        f"Evaluation of {file.name}: {report.n} rows ({counts}); label {label!r}, "
        f"positive {positive!r}, score {score!r}",
        f"Threshold {report.threshold:g} (a case is positive when score >= threshold); "
        f"{level} intervals",
        "",
        f"  {'metric':<24} {'estimate':<8}  {level} interval{' ' * 9}method",
    ]
    lines += [_metric_line(name, report.metrics[name]) for name in _ordered(report.metrics)]
    if report.calibration is not None:
        lines += ["", "Calibration (quantile bins): mean predicted vs observed"]
        for b in report.calibration.bins:
            lines.append(
                f"  [{b.lower:.3f}, {b.upper:.3f}]  n={b.n:<7} predicted {b.mean_predicted:.3f}"
                f"  observed {b.observed.estimate:.3f} [{b.observed.lower:.3f}, "
                f"{b.observed.upper:.3f}]"
            )
    for column in report.subgroups:
        lines += ["", f"Subgroups by {column.column!r} ({column.minimum_rule})"]
        for group in column.levels:
            flag = (
                f"  INSUFFICIENT DATA: {group.insufficient_reason}"
                if (group.insufficient_data)
                else ""
            )
            lines.append(f" {group.level} (n={group.n}, positives={group.n_positive}){flag}")
            for name in SUBGROUP_SHOWN:
                if name in group.metrics:
                    gap = group.gaps.get(name)
                    suffix = "" if gap is None else f"  gap {gap:+.4f}"
                    lines.append(_metric_line(name, group.metrics[name], 22) + suffix)
        for name in (name for name in SUBGROUP_SHOWN if name in column.spread):
            spread = column.spread[name]
            ratio = "-" if spread.ratio is None else f"{spread.ratio:.3f}"
            lines.append(
                f"  {name}: worst {spread.worst_level} {spread.worst:.4f}, best "
                f"{spread.best_level} {spread.best:.4f}, worst/best {ratio}"
            )
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines)


@click.command("evaluate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--label", required=True, metavar="COL", help="Column of the reference standard.")
@click.option("--score", required=True, metavar="COL", help="Column of the model's score.")
@click.option("--positive", required=True, metavar="VALUE", help="Label of a positive case.")
@click.option(
    "--threshold",
    type=float,
    metavar="T",
    help="Operating threshold (score >= T is positive); default 0.5 for probabilities.",
)
@click.option("--group", "groups", multiple=True, metavar="COL", help="Subgroup column.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_command(file, label, score, positive, threshold, groups, as_json):
    """Evaluate a binary classifier from a CSV or Parquet FILE of scores and labels."""
    from evaluation import EvaluationInputError, evaluate

    frame = _read(file)
    labels, positive_value = _binary_labels(frame, label, positive)
    probability = _is_probability(frame, score)
    if not probability and threshold is None:
        raise _fail(
            [
                f"column {score!r}: scores outside [0, 1] are not probabilities; give "
                "the operating threshold with --threshold"
            ]
        )
    try:
        report = evaluate(
            frame,
            task="binary",
            columns={"y_true": label, "y_score": score},
            threshold=threshold,
            labels=labels,
            positive_label=positive_value,
            probability=probability,
            subgroup_columns=list(groups),
        )
    except EvaluationInputError as error:
        raise _fail(error.problems) from None
    if as_json:
        click.echo(json.dumps(_report_json(report, positive_value), allow_nan=False))
    else:
        click.echo(_report_text(report, file, label, score, positive_value))


@click.command("compare")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--label", required=True, metavar="COL", help="Column of the reference standard.")
@click.option(
    "--score",
    "scores",
    required=True,
    multiple=True,
    metavar="COL",
    help="Score column; give it twice (A then B).",
)
@click.option("--positive", required=True, metavar="VALUE", help="Label of a positive case.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def compare_command(file, label, scores, positive, as_json):
    """Compare the AUCs of two scores on the same cases (paired DeLong test)."""
    from evaluation import EvaluationInputError, validate_frame
    from evaluation.compare import compare_auc_delong
    from evaluation.validation import Columns

    if len(scores) != 2 or scores[0] == scores[1]:
        raise click.UsageError("give two different score columns: --score A --score B")
    frame = _read(file)
    labels, positive_value = _binary_labels(frame, label, positive)
    problems, arrays = [], []
    for score in scores:
        try:
            data = validate_frame(
                frame,
                task="binary",
                columns=Columns(y_true=label, y_score=score),
                labels=labels,
                positive_label=positive_value,
                probability=False,
            )
            arrays.append(data)
        except EvaluationInputError as error:
            problems += [p for p in error.problems if p not in problems]
    if problems:
        raise _fail(problems)
    a, b = arrays
    result = compare_auc_delong(a.y_true, a.y_score, b.y_score)
    out = {
        "auc_a": result.auc_a,
        "auc_b": result.auc_b,
        "difference": result.difference.estimate,
        "z": result.z,
        "p_value": result.p_value,
        "ci_low": result.difference.lower,
        "ci_high": result.difference.upper,
    }
    if as_json:
        click.echo(json.dumps(out, allow_nan=False))
        return
    z = "undefined (the difference has zero variance)" if result.z is None else f"{result.z:.4f}"
    click.echo(
        "\n".join(
            [
                f"Paired DeLong test on {file.name}: {result.n} rows, label {label!r}, "
                f"positive {positive_value!r}",
                f"  AUC A ({scores[0]}): {result.auc_a:.4f}",
                f"  AUC B ({scores[1]}): {result.auc_b:.4f}",
                f"  difference A - B: {out['difference']:.4f}  "
                f"95% CI [{out['ci_low']:.4f}, {out['ci_high']:.4f}]",
                f"  z = {z}, two-sided p = {result.p_value:.4g}",
            ]
        )
    )


COMMANDS += [evaluate_command, compare_command]


# --- registry side: retention of uploaded validation rows ---------------------------------------


@click.group("evaluations")
def evaluations_group() -> None:
    """Evaluations stored in the registry."""


@evaluations_group.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Retention period in days (default: DMD_RAW_RETENTION_DAYS).")
def purge_command(days: int | None) -> None:
    """Delete uploaded validation files older than the retention period; results, hashes and
    the audit trail stay."""
    from registry import db
    from registry.auth import SYSTEM
    from registry.commands import runtime
    from registry.services.evaluations import purge_raw_files

    settings, _ = runtime()
    retention = days or settings.raw_retention_days
    with db.unit_of_work() as session:
        purged = purge_raw_files(session, SYSTEM, retention_days=retention)
        ids = [e.id for e in purged]
    click.echo(f"{len(ids)} raw validation file(s) older than {retention} days deleted"
               + (f" (evaluations {', '.join(map(str, ids))})" if ids else ""))


COMMANDS.append(evaluations_group)
