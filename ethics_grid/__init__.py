"""Pure: data in, typed results out; no Flask, no database, no registry.

The ethics grid of DMD Registry: the 44 operational criteria of
``ethics_grid.md`` section 3 kept as versioned YAML data, and pure functions that
score a self-assessment, compare it with a review, carry it over to a new grid
version and prepare chart and export data.

Code vocabularies (see :mod:`ethics_grid.codes`):

- principles: ``BEN`` beneficence, ``NMAL`` non-maleficence, ``AUT`` autonomy,
  ``JUS`` justice / equity, ``ECO`` eco-responsibility;
- grid stages (the DNS guide's development steps): ``FRAMING``, ``DATA``,
  ``DESIGN``, ``INTERFACE``, ``EVALUATION``, ``DEPLOYMENT``, ``MONITORING``;
- lifecycle stages (lifecycle.md section 1): ``S1_NEEDS`` .. ``S7_POSTMARKET``.

Nothing here reads the environment, writes files or keeps state; the only I/O is
reading the grid files shipped inside this package.
"""

from ethics_grid.assessment import Answer, EvidenceRef, Review
from ethics_grid.charts import Heatmap, RadarPoint, heatmap_data, radar_data
from ethics_grid.codes import (
    EVIDENCE_KINDS,
    GRID_STAGES,
    LIFECYCLE_STAGES,
    MATURITY_LEVELS,
    PRINCIPLES,
)
from ethics_grid.errors import AssessmentError, EthicsGridError, GridError
from ethics_grid.export import ROW_FIELDS, to_rows
from ethics_grid.grid import (
    Criterion,
    Grid,
    IdMapping,
    MaturityLevel,
    available_versions,
    check_published,
    document_fingerprint,
    load_grid,
    parse_grid,
    parse_grid_yaml,
)
from ethics_grid.review import AgreementStats, ComparisonRow, ReviewComparison, compare_review
from ethics_grid.schema import grid_json_schema
from ethics_grid.scoring import (
    AssessmentScore,
    CriterionScore,
    GroupScore,
    Missing,
    blocking_below,
    missing_for_stage,
    score_assessment,
    score_criterion,
)
from ethics_grid.versioning import CarryOver, Dropped, Reanswer, carry_over

__all__ = [
    "EVIDENCE_KINDS",
    "GRID_STAGES",
    "LIFECYCLE_STAGES",
    "MATURITY_LEVELS",
    "PRINCIPLES",
    "ROW_FIELDS",
    "AgreementStats",
    "Answer",
    "AssessmentError",
    "AssessmentScore",
    "CarryOver",
    "ComparisonRow",
    "Criterion",
    "CriterionScore",
    "Dropped",
    "EthicsGridError",
    "EvidenceRef",
    "Grid",
    "GridError",
    "GroupScore",
    "Heatmap",
    "IdMapping",
    "MaturityLevel",
    "Missing",
    "RadarPoint",
    "Reanswer",
    "Review",
    "ReviewComparison",
    "available_versions",
    "blocking_below",
    "carry_over",
    "check_published",
    "compare_review",
    "document_fingerprint",
    "heatmap_data",
    "load_grid",
    "missing_for_stage",
    "parse_grid",
    "parse_grid_yaml",
    "grid_json_schema",
    "radar_data",
    "score_assessment",
    "score_criterion",
    "to_rows",
]
