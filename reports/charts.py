"""Dossier charts as SVG, drawn with matplotlib's SVG backend: no browser at render time.

Plotly would need kaleido (a bundled Chromium) for static SVG; matplotlib writes vector SVG
directly and deterministically (fixed hash salt, no date), so the same data gives the same bytes
and the manifest can carry their hashes. Inputs are plain lists and dicts from the snapshot.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before any figure: never a GUI backend in a server

from matplotlib import rcParams  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

rcParams["svg.hashsalt"] = "dmd-dossier"  # stable element ids: identical data, identical SVG
rcParams["font.family"] = "DejaVu Sans"
rcParams["font.size"] = 8

WIDTH, HEIGHT = 4.6, 3.0  # inches; fits half an A4 page with margins
PALETTE = ("#1f5f99", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#5d6d7e")


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=(WIDTH, HEIGHT))
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=9)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, linewidth=0.3, alpha=0.6)
    return figure, axes


def _svg(figure: Figure) -> str:
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline SVG inside HTML must not carry the XML declaration or the DOCTYPE.
    return text[text.index("<svg"):]


def roc(curves: Sequence[dict[str, Any]]) -> str:
    """``curves``: {"label", "x" (false positive rate), "y" (true positive rate)} each."""
    figure, axes = _figure("ROC curve", "1 - specificity", "Sensitivity")
    axes.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle="--", label="chance")
    for i, curve in enumerate(curves):
        axes.plot(curve["x"], curve["y"], color=PALETTE[i % len(PALETTE)], linewidth=1.2,
                  label=curve["label"])
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.legend(loc="lower right", fontsize=7)
    return _svg(figure)


def calibration(bins: Sequence[dict[str, Any]], label: str) -> str:
    """``bins``: {"mean_predicted", "observed": {"estimate", "lower", "upper"}} each."""
    return _reliability(f"Calibration: {label}", "Mean predicted probability",
                        [("observed", bins)])


def class_calibration(curves: Sequence[dict[str, Any]], label: str) -> str:
    """Multiclass: ``curves``: {"label" (a class), "bins" (as :func:`calibration`)} each, the
    class's probability against the rest."""
    return _reliability(f"Calibration by class: {label}",
                        "Mean predicted probability of the class",
                        [(curve["label"], curve["bins"]) for curve in curves])


def _reliability(title: str, xlabel: str,
                 curves: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> str:
    figure, axes = _figure(title, xlabel, "Observed proportion (95% CI)")
    axes.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle="--", label="ideal")
    for i, (name, bins) in enumerate(curves):
        x = [b["mean_predicted"] for b in bins]
        y = [b["observed"]["estimate"] for b in bins]
        low = [b["observed"]["estimate"] - b["observed"]["lower"] for b in bins]
        high = [b["observed"]["upper"] - b["observed"]["estimate"] for b in bins]
        axes.errorbar(x, y, yerr=[low, high], fmt="o-", color=PALETTE[i % len(PALETTE)],
                      markersize=3, linewidth=1, capsize=2, label=name)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left", fontsize=7)
    return _svg(figure)


def subgroups(rows: Sequence[dict[str, Any]], metric: str, overall: float | None) -> str:
    """A forest plot; ``rows``: {"label", "estimate", "lower", "upper"} (bounds may be None)."""
    height = max(1.8, 0.9 + 0.3 * len(rows))
    figure = Figure(figsize=(WIDTH, height))
    axes = figure.add_subplot()
    axes.set_title(f"Subgroups: {metric} (95% CI)", fontsize=9)
    positions = list(range(len(rows)))[::-1]
    for y, row in zip(positions, rows, strict=True):
        if row["estimate"] is None:
            continue
        if row.get("lower") is not None and row.get("upper") is not None:
            axes.plot([row["lower"], row["upper"]], [y, y], color=PALETTE[0], linewidth=1.2)
        axes.plot([row["estimate"]], [y], "s", color=PALETTE[0], markersize=4)
    if overall is not None:
        axes.axvline(overall, color=PALETTE[1], linewidth=0.8, linestyle="--", label="overall")
        axes.legend(loc="lower right", fontsize=7)
    axes.set_yticks(positions, [row["label"] for row in rows])
    axes.set_xlabel(metric)
    axes.grid(True, axis="x", linewidth=0.3, alpha=0.6)
    return _svg(figure)


def decision_curve(curve: dict[str, Sequence[float]]) -> str:
    """``curve``: {"thresholds", "model", "treat_all", "treat_none"} (net benefit)."""
    figure, axes = _figure("Decision curve", "Threshold probability", "Net benefit")
    x = curve["thresholds"]
    axes.plot(x, curve["model"], color=PALETTE[0], linewidth=1.2, label="model")
    axes.plot(x, curve["treat_all"], color=PALETTE[1], linewidth=0.9, label="treat all")
    axes.plot(x, curve["treat_none"], color="#555555", linewidth=0.9, label="treat none")
    top = max([v for v in curve["model"] if v is not None] + [0.01])
    axes.set_ylim(-0.05 * max(top, 0.1), top * 1.15)
    axes.set_xlim(0, 1)
    axes.legend(loc="upper right", fontsize=7)
    return _svg(figure)


def series(title: str, labels: Sequence[str], lines: dict[str, Sequence[float | None]],
           ylabel: str) -> str:
    """A time series per line over ordered ``labels`` (e.g. monitoring batch periods)."""
    figure, axes = _figure(title, "", ylabel)
    x = list(range(len(labels)))
    for i, (name, values) in enumerate(lines.items()):
        points = [(xi, v) for xi, v in zip(x, values, strict=True) if v is not None]
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], "o-", markersize=2,
                      linewidth=1, color=PALETTE[i % len(PALETTE)], label=name)
    step = max(1, len(labels) // 8)
    axes.set_xticks(x[::step], [labels[i] for i in x[::step]], rotation=30, ha="right")
    if lines:
        axes.legend(loc="best", fontsize=7)
    return _svg(figure)
