"""Schemas: Validation results and the evaluations computed from them (issue #4)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from registry.models import DatasetKind
from registry.schemas.core import In, Out

_COLUMN = Field(default=None, min_length=1, max_length=200)


class EvaluationIn(In):
    """What a validation file is and how its columns map to the evaluation's inputs.

    Sent as multipart form fields beside the file; lists may be comma separated
    (``group_columns=age_band, sex``) and ``class_score_columns`` as ``AF=p_af, N=p_n``.
    """

    dataset_kind: DatasetKind
    site: str = Field(default="", max_length=200)
    period_start: date | None = None
    period_end: date | None = None
    label_column: str = Field(min_length=1, max_length=200,
                              description="Column of the reference standard (ground truth)")
    score_column: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Binary and risk tasks: the model's score (a probability unless "
                    "probability=false)")
    prediction_column: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Multiclass: the predicted class; regression: the predicted value")
    class_score_columns: dict[str, str] = Field(
        default_factory=dict, description="Multiclass: class label -> probability column",
        # What a form sends, parsed by _split_text_lists; the OpenAPI document shows this form.
        json_schema_extra={"x-form": {
            "type": "string", "title": "Class Score Columns",
            "description": "Multiclass: each class label with its probability column, comma "
                           "separated (AF=p_af, N=p_n)"}})
    positive_label: str | None = Field(default=None, max_length=200,
                                       description="Binary: the label of a positive case")
    threshold: float | None = Field(default=None, allow_inf_nan=False,
                                    description="Binary operating threshold")
    probability: bool = True
    group_columns: list[str] = Field(default_factory=list, max_length=20,
                                     description="Subgroup columns (age band, sex, ...)")
    site_column: str | None = _COLUMN
    id_column: str | None = _COLUMN

    @model_validator(mode="before")
    @classmethod
    def _split_text_lists(cls, values: Any) -> Any:
        # A form sends "a, b" for a list and "AF=p_af, N=p_n" for the class score columns.
        if not isinstance(values, dict):
            return values
        values = dict(values)
        groups = values.get("group_columns")
        if isinstance(groups, str):
            groups = [groups]
        if isinstance(groups, list):
            values["group_columns"] = [p.strip() for g in groups for p in re.split(r"[,\n]", g)
                                       if p.strip()]
        scores = values.get("class_score_columns")
        if isinstance(scores, str):
            pairs = [p.strip() for p in re.split(r"[,\n]", scores) if p.strip()]
            bad = [p for p in pairs if "=" not in p]
            if bad:
                raise ValueError(f"class_score_columns: write each as label=column; got {bad}")
            values["class_score_columns"] = {
                k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}
        for name in ("period_start", "period_end", "score_column", "prediction_column",
                     "site_column", "id_column", "positive_label", "threshold"):
            if isinstance(values.get(name), str) and not values[name].strip():
                values[name] = None
        return values

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end must be on or after period_start")
        return self

    def column_mapping(self) -> dict[str, Any]:
        """The mapping as stored on the evaluation (``Evaluation.columns``)."""
        return {"label": self.label_column, "score": self.score_column,
                "prediction": self.prediction_column, "class_scores": self.class_score_columns,
                "positive": self.positive_label, "threshold": self.threshold,
                "probability": self.probability, "groups": self.group_columns,
                "site": self.site_column, "id": self.id_column}


class KpiVerdictOut(Out):
    model_config = ConfigDict(extra="ignore")
    kpi_id: int | None = None
    metric: str
    comparator: str
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    dataset_kind: str | None = None
    is_primary: bool = False
    verdict: str
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rule: str


class EvaluationOut(Out):
    id: int
    device_id: int
    model_version_id: int
    dataset_kind: DatasetKind
    site: str
    period_start: date | None
    period_end: date | None
    task: str
    status: str
    error: str
    artifact_id: int | None
    sha256: str
    size_bytes: int
    filename: str
    file_format: str
    row_count: int
    job_id: str | None
    columns: dict[str, Any]
    parameters: dict[str, Any]
    library_version: str
    kpi_verdicts: list[KpiVerdictOut]
    created_by: int
    created_at: datetime
    finished_at: datetime | None
    raw_purged_at: datetime | None


class EvaluationDetailOut(EvaluationOut):
    results: dict[str, Any] | None = Field(
        description="The evaluation library's report (EvaluationReport.to_dict())")
