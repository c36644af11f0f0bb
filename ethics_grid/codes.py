"""Code vocabularies shared by the grid files, the schema and the scoring.

Every tuple is ordered: that order is the display order of tables and charts.

Principles are the five CENS principles (ethics_grid.md sections 1 and 3).

Grid stages are the development steps of the DNS ethics guide, under the codes
ethics_grid.md section 3 gives them. They are what a criterion's ``stage`` holds in
the YAML, so the official DNS list can later be loaded with the same schema.

Lifecycle stages are the registry's seven device stages (lifecycle.md section 1).
Each criterion also names the lifecycle stage whose exit gate needs it answered.
The default correspondence follows lifecycle.md section 1: framing = S1, data = S2,
algorithm construction = S3, evaluation = S4, interfaces and deployment = S6,
follow-up = S7. ``S5_REGULATORY`` has no criteria of its own: gate G5.8 checks the
whole grid instead.
"""

PRINCIPLES: tuple[str, ...] = ("BEN", "NMAL", "AUT", "JUS", "ECO")
"""Principle codes, in the order of ethics_grid.md section 3."""

PRINCIPLE_LABELS: dict[str, str] = {
    "BEN": "beneficence",
    "NMAL": "non-maleficence",
    "AUT": "autonomy",
    "JUS": "justice / equity",
    "ECO": "eco-responsibility",
}

GRID_STAGES: tuple[str, ...] = (
    "FRAMING",
    "DATA",
    "DESIGN",
    "INTERFACE",
    "EVALUATION",
    "DEPLOYMENT",
    "MONITORING",
)
"""The DNS guide's development steps, as codes (ethics_grid.md section 3)."""

GRID_STAGE_LABELS: dict[str, str] = {
    "FRAMING": "framing",
    "DATA": "data collection",
    "DESIGN": "construction of the algorithm",
    "INTERFACE": "development of the interfaces",
    "EVALUATION": "evaluation",
    "DEPLOYMENT": "deployment and training",
    "MONITORING": "follow-up and continuous improvement",
}

LIFECYCLE_STAGES: tuple[str, ...] = (
    "S1_NEEDS",
    "S2_DATA",
    "S3_MODEL",
    "S4_VALIDATION",
    "S5_REGULATORY",
    "S6_DEPLOYMENT",
    "S7_POSTMARKET",
)
"""Registry lifecycle stage codes, spelled as lifecycle.md section 1 proposes."""

DEFAULT_LIFECYCLE_STAGE: dict[str, str] = {
    "FRAMING": "S1_NEEDS",
    "DATA": "S2_DATA",
    "DESIGN": "S3_MODEL",
    # The UI work can start in S3, but the interface is checked with the site
    # integration, so its criteria gate the exit of S6 (lifecycle.md section 1).
    "INTERFACE": "S6_DEPLOYMENT",
    "EVALUATION": "S4_VALIDATION",
    "DEPLOYMENT": "S6_DEPLOYMENT",
    "MONITORING": "S7_POSTMARKET",
}
"""The correspondence grid_v3.yaml uses; documentation only, each criterion states its own."""

MATURITY_LEVELS: tuple[int, ...] = (0, 1, 2, 3)
"""Maturity levels of ethics_grid.md section 4; scores divide by the top level."""

MAX_MATURITY: int = MATURITY_LEVELS[-1]

EVIDENCE_EXPECTED_FROM: int = 2
"""Lowest maturity that needs evidence attached.

Section 4 defines 1 as "no implementation evidence", 2 as "evidence incomplete"
and 3 as "evidence attached and reviewed", so from 2 upwards some evidence must be
there.
"""

BLOCKING_MIN_MATURITY: int = 2
"""Blocking criteria must reach this maturity to pass gate G5 (ethics_grid.md section 4)."""

ALTAI_REQUIREMENTS: tuple[str, ...] = ("A1", "A2", "A3", "A4", "A5", "A6", "A7")
"""EU ALTAI requirement codes (ethics_grid.md section 2)."""

COMPUTED_EVIDENCE_KINDS: tuple[str, ...] = (
    "alert",
    "calibration",
    "deployment",
    "energy_record",
    "evaluation",
    "incident",
    "kpi",
    "model_version",
    "monitoring_batch",
    "subgroup_analysis",
)
"""Records the registry computes or holds that can serve as evidence for a criterion."""

EVIDENCE_KINDS: tuple[str, ...] = ("artifact", "link", *COMPUTED_EVIDENCE_KINDS)
"""Kinds an answer's evidence reference may have: an uploaded file (by its registry id), an
external link, or a registry record."""

VERDICTS: tuple[str, ...] = ("agree", "disagree")
"""A reviewer's verdict on one criterion."""
