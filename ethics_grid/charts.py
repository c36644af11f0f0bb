"""Numbers for the registry to draw: a radar per principle and a stage x principle heat map.

No plotting here: the registry's ``reports/charts.py`` and the web pages draw
these values. Every value is a section-4 percentage in [0, 1], or None where the
cell has no applicable criterion, so an empty cell is never drawn as a zero.
"""

from dataclasses import dataclass

from ethics_grid.codes import (
    LIFECYCLE_STAGES,
    MAX_MATURITY,
    PRINCIPLE_LABELS,
)
from ethics_grid.scoring import AssessmentScore


@dataclass(frozen=True)
class RadarPoint:
    """One axis of the radar chart.

    Attributes
    ----------
    principle : str
        Principle code.
    label : str
        Principle name for the axis.
    value : float or None
        The principle's ``pct``; None when it has no applicable criterion.
    n_applicable : int
        Criteria behind the value.
    """

    principle: str
    label: str
    value: float | None
    n_applicable: int


@dataclass(frozen=True)
class Heatmap:
    """A stage x principle matrix of percentages.

    Attributes
    ----------
    stage_axis : str
        ``"grid"`` (FRAMING ..) or ``"lifecycle"`` (S1_NEEDS ..).
    stages : tuple of str
        Row codes.
    principles : tuple of str
        Column codes.
    values : tuple of tuple of (float or None)
        ``values[i][j]`` is the pct of the criteria of ``stages[i]`` and
        ``principles[j]``; None where there is no applicable criterion.
    counts : tuple of tuple of int
        Criteria per cell (applicable or not).
    method : str
        How a cell is computed.
    """

    stage_axis: str
    stages: tuple[str, ...]
    principles: tuple[str, ...]
    values: tuple[tuple[float | None, ...], ...]
    counts: tuple[tuple[int, ...], ...]
    method: str

    def value(self, stage: str, principle: str) -> float | None:
        """Return the cell for a stage and a principle (ValueError when unknown)."""
        return self.values[self.stages.index(stage)][self.principles.index(principle)]


def radar_data(score: AssessmentScore) -> tuple[RadarPoint, ...]:
    """Return the radar chart values, one per principle.

    Parameters
    ----------
    score : AssessmentScore
        From :func:`ethics_grid.scoring.score_assessment`.

    Returns
    -------
    tuple of RadarPoint
        In the grid's principle order.

    Examples
    --------
    >>> from ethics_grid.assessment import Answer
    >>> from ethics_grid.grid import load_grid
    >>> from ethics_grid.scoring import score_assessment
    >>> points = radar_data(score_assessment(load_grid(), {"ETH-01": Answer(3)}))
    >>> points[0].principle, points[0].value  # 3 / (3 * 8)
    ('BEN', 0.125)
    """
    return tuple(
        RadarPoint(
            principle=group.key,
            label=PRINCIPLE_LABELS.get(group.key, group.key),
            value=group.pct,
            n_applicable=group.n_applicable,
        )
        for group in score.by_principle
    )


def heatmap_data(score: AssessmentScore, *, stage_axis: str = "grid") -> Heatmap:
    """Return the stage x principle matrix of percentages.

    Parameters
    ----------
    score : AssessmentScore
        From :func:`ethics_grid.scoring.score_assessment`.
    stage_axis : {"grid", "lifecycle"}, default "grid"
        Rows by grid stage (the DNS guide's steps) or by lifecycle stage
        (``S5_REGULATORY`` then shows an empty row).

    Returns
    -------
    Heatmap

    Raises
    ------
    ValueError
        When ``stage_axis`` is neither ``"grid"`` nor ``"lifecycle"``.

    Examples
    --------
    >>> from ethics_grid.assessment import Answer
    >>> from ethics_grid.grid import load_grid
    >>> from ethics_grid.scoring import score_assessment
    >>> cells = heatmap_data(score_assessment(load_grid(), {"ETH-02": Answer(3)}))
    >>> cells.value("FRAMING", "NMAL"), cells.value("DATA", "BEN")  # (3 + 0) / 6; no criteria
    (0.5, None)
    """
    if stage_axis == "grid":
        stages = tuple(group.key for group in score.by_stage)
        attribute = "stage"
    elif stage_axis == "lifecycle":
        stages = LIFECYCLE_STAGES
        attribute = "lifecycle_stage"
    else:
        raise ValueError(f"stage_axis must be 'grid' or 'lifecycle'; got {stage_axis!r}")
    principles = tuple(group.key for group in score.by_principle)
    values = []
    counts = []
    for stage in stages:
        row_values = []
        row_counts = []
        for principle in principles:
            cell = [
                s
                for s in score.criteria
                if getattr(s, attribute) == stage and s.principle == principle
            ]
            applicable = [s for s in cell if not s.not_applicable]
            total = sum(s.maturity or 0 for s in applicable)
            row_values.append(total / (MAX_MATURITY * len(applicable)) if applicable else None)
            row_counts.append(len(cell))
        values.append(tuple(row_values))
        counts.append(tuple(row_counts))
    return Heatmap(
        stage_axis=stage_axis,
        stages=stages,
        principles=principles,
        values=tuple(values),
        counts=tuple(counts),
        method=score.method,
    )
