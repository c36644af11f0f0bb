"""Post-market monitoring of deployments (#7): configuration, batch uploads, their analysis as
jobs, labels that arrive later, the time series, the post-market status of a device, and what
the G6.5 gate item reads.

The statistics are the pure ``monitoring`` library's; this module loads the data, checks who may
do what, stores results and audits. Alerts live in ``registry.services.alerts``, incidents in
``registry.services.incidents``, the inbox in ``registry.services.notifications``.
"""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy import Select, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from monitoring.errors import MonitoringInputError
from registry import audit, auth, db, jobs, storage
from registry.auth import Actor, Permission, Role
from registry.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from registry.models import (
    AccessGrant,
    ApiToken,
    Artifact,
    Comparator,
    Deployment,
    Device,
    Job,
    Kpi,
    ModelVersion,
    Organisation,
    User,
    utcnow,
)
from registry.models.monitoring import (
    AlertStatus,
    BatchStatus,
    Incident,
    IncidentStatus,
    MonitoringAlert,
    MonitoringBatch,
    MonitoringConfig,
)
from registry.schemas.monitoring import BatchIn, MonitoringConfigIn, UploadTokenIn
from registry.services.common import snapshot

#: Column of the labels file holding the reference-standard outcome (0/1).
LABEL_COLUMN = "y_true"
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_DRIFT_TYPES = {"numeric": "numerical", "integer": "numerical", "categorical": "categorical",
                "boolean": "categorical"}


# --- who sees which deployment ----------------------------------------------------------------


def can_see_deployment(session: Session, actor: Actor, deployment: Deployment | None,
                       device: Device) -> bool:
    """Monitoring data is not public: the device's manufacturer, the deployment's hospital,
    organisations granted the device, and the registry-wide readers see it."""
    if actor.is_anonymous or actor.role is None:
        return False
    if actor.role in auth.SEES_ALL:
        return True
    if actor.role is Role.manufacturer:
        return device.manufacturer_id == actor.organisation_id
    if actor.role is Role.hospital:
        return deployment is not None and deployment.hospital_id == actor.organisation_id
    return session.exec(select(AccessGrant.id).where(
        AccessGrant.device_id == device.id,
        AccessGrant.organisation_id == actor.organisation_id)).first() is not None


def get_deployment(session: Session, actor: Actor, deployment_id: int,
                   permission: Permission = Permission.MONITORING_READ) -> Deployment:
    """The deployment if the actor sees it (else 404) and may do ``permission`` on it (else 403).

    A token narrowed to other deployments ("monitoring:upload:<id>") gets a 403.
    """
    if actor.is_anonymous:
        auth.require(actor, permission)
    deployment = session.get(Deployment, deployment_id)
    device = session.get(Device, deployment.device_id) if deployment else None
    if deployment is None or not can_see_deployment(session, actor, deployment, device):
        raise NotFoundError(f"deployment {deployment_id} not found (or not visible to you)")
    auth.require(actor, permission, device)
    narrowed = auth.deployment_scope(actor, permission)
    if narrowed is not None and deployment.id not in narrowed:
        raise PermissionDeniedError(
            f"this API token may {permission.value} for deployment(s) "
            f"{', '.join(map(str, sorted(narrowed)))} only, not {deployment.id}")
    return deployment


def visible_deployments(session: Session, actor: Actor, *, device: Device | None = None,
                        hospital_id: int | None = None) -> list[Deployment]:
    """Deployments whose monitoring the actor may read (optionally of one device or hospital)."""
    auth.require(actor, Permission.MONITORING_READ)
    query = select(Deployment)
    if device is not None:
        query = query.where(Deployment.device_id == device.id)
    if hospital_id is not None:
        query = query.where(Deployment.hospital_id == hospital_id)
    if actor.role is Role.hospital:
        query = query.where(Deployment.hospital_id == actor.organisation_id)
    elif actor.role is Role.manufacturer:
        query = query.where(Deployment.device_id.in_(
            select(Device.id).where(Device.manufacturer_id == actor.organisation_id)))
    elif actor.role not in auth.SEES_ALL:
        query = query.where(Deployment.device_id.in_(select(AccessGrant.device_id).where(
            AccessGrant.organisation_id == actor.organisation_id)))
    rows = list(session.exec(query.order_by(Deployment.id)))
    narrowed = auth.deployment_scope(actor, Permission.MONITORING_READ)
    return [d for d in rows if narrowed is None or d.id in narrowed]


# --- configuration ----------------------------------------------------------------------------


def get_config(session: Session, actor: Actor, deployment_id: int) -> MonitoringConfig:
    deployment = get_deployment(session, actor, deployment_id)
    config = config_of(session, deployment)
    if config is None:
        raise NotFoundError(f"monitoring is not configured for deployment {deployment_id}")
    return config


def config_of(session: Session, deployment: Deployment) -> MonitoringConfig | None:
    return session.exec(select(MonitoringConfig).where(
        MonitoringConfig.deployment_id == deployment.id)).first()


def configure_monitoring(session: Session, actor: Actor, deployment_id: int,
                         data: MonitoringConfigIn) -> MonitoringConfig:
    """Set (or replace) how a deployment is watched; every problem is listed at once.

    Raises InvalidInputError for a schema, rules or reference that do not hold together.
    """
    from monitoring.alerts import load_rules
    from monitoring.batch import BatchSchema

    deployment = get_deployment(session, actor, deployment_id, Permission.MONITORING_CONFIGURE)
    problems: list[str] = []
    schema = None
    try:
        schema = BatchSchema.from_dict(data.batch_schema)
    except MonitoringInputError as err:
        problems += [f"batch_schema: {p}" for p in err.problems]
    try:
        load_rules(data.rules)
    except MonitoringInputError as err:
        problems += list(err.problems)
    if schema is not None:
        names = {c.name for c in schema.columns}
        for field in ("score_column", "id_column"):
            if getattr(data, field) not in names:
                problems.append(f"{field} {getattr(data, field)!r} must be a column of the "
                                f"batch schema ({', '.join(sorted(names))})")
        for column in [data.site_column, *data.subgroup_columns]:
            if column and column not in names:
                problems.append(f"segment column {column!r} must be a column of the batch schema")
    if data.reference_artifact_id is not None:
        artifact = session.get(Artifact, data.reference_artifact_id)
        if artifact is None or artifact.organisation_id != actor.organisation_id:
            problems.append(f"reference_artifact_id {data.reference_artifact_id} is not one of "
                            "your uploads")
        elif PurePath(artifact.filename).suffix.lower() not in FORMATS:
            problems.append(f"reference_artifact_id {artifact.id} ({artifact.filename}) must be "
                            "a .csv or .parquet file")
    if data.reference_evaluation_id is not None:
        problem = _check_reference_evaluation(session, deployment, data.reference_evaluation_id)
        if problem:
            problems.append(problem)
    if problems:
        raise InvalidInputError("the monitoring configuration has problems: "
                                + "; ".join(problems))
    config = config_of(session, deployment)
    before = snapshot(config) if config else None
    if config is None:
        config = MonitoringConfig(deployment_id=deployment.id, created_by=actor.user_id)
    for name, value in data.model_dump().items():
        setattr(config, name, value)
    config.updated_at = utcnow()
    session.add(config)
    session.flush()
    audit.record(session, actor, "monitoring.configure", _AuditTarget(config, deployment),
                 {"before": before, "after": snapshot(config)})
    return config


class _AuditTarget:
    """Names a row in the audit trail with its device (so it shows in the device's history)."""

    def __init__(self, row, deployment: Deployment) -> None:
        self.__tablename__ = row.__tablename__
        self.id, self.device_id = row.id, deployment.device_id


def _check_reference_evaluation(session: Session, deployment: Deployment,
                                evaluation_id: int) -> str | None:
    try:
        from registry.models.evaluations import Evaluation
    except ImportError:  # the evaluations area is optional for monitoring
        return "reference_evaluation_id cannot be used: the evaluations area is not installed"
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.device_id != deployment.device_id:
        return f"reference_evaluation_id {evaluation_id} is not an evaluation of this device"
    if evaluation.model_version_id != deployment.model_version_id:
        return (f"evaluation {evaluation_id} concerns another model version than the deployed "
                "one; the reference must be the deployed version's validation data")
    return None


def reference_frame(session: Session, config: MonitoringConfig) -> pd.DataFrame:
    """The reference set: the configured artifact, else the deployed version's validation data
    (``registry.services.evaluations.reference_frame``)."""
    if config.reference_artifact_id is not None:
        return _artifact_frame(session, config.reference_artifact_id)
    from registry.models.evaluations import Evaluation
    from registry.services import evaluations

    frame = evaluations.reference_frame(session, session.get(Evaluation,
                                                             config.reference_evaluation_id))
    # The evaluations area names the mapped columns y_score, id, site; batches use the
    # deployment's own names.
    rename = {"y_score": config.score_column, "id": config.id_column}
    if config.site_column:
        rename["site"] = config.site_column
    return frame.rename(columns={k: v for k, v in rename.items() if v not in frame})


# --- reading uploads --------------------------------------------------------------------------


def read_table(stream: BinaryIO, filename: str, *,
               check_identifiers: bool = True) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Parquet upload with the registry's one reader (``registry.uploads``:
    size limit, encoding, truncation, direct identifiers refused); InvalidInputError says what
    is wrong. Returns the frame and its format."""
    from registry import uploads

    if PurePath(filename or "").suffix.lower() not in FORMATS:
        raise InvalidInputError(f"file {filename!r} must be a .csv or .parquet file")
    data = uploads.read_limited(stream, storage.get_store().max_bytes)
    read = uploads.load_table if check_identifiers else uploads.read_table
    return read(data, filename), uploads.detect_format(data, filename)


def _store_artifact(session: Session, actor: Actor, content: bytes, filename: str,
                    media_type: str) -> Artifact:
    # Not artifacts.upload_artifact: that one needs artifact:upload, which hospitals lack on
    # purpose (they upload monitoring data, not documents); the batch permission was checked.
    ref = storage.get_store().put(io.BytesIO(content))
    db.on_rollback(session, lambda: storage.get_store().discard(ref))
    artifact = Artifact(sha256=ref.sha256, size_bytes=ref.size_bytes,
                        filename=PurePath(filename).name[:255], media_type=media_type[:120],
                        organisation_id=actor.organisation_id, uploaded_by=actor.user_id)
    session.add(artifact)
    audit.record(session, actor, "artifact.upload", artifact,
                 {"after": {"sha256": ref.sha256, "size_bytes": ref.size_bytes,
                            "filename": artifact.filename}})
    return artifact


def _media_type(kind: str) -> str:
    return "text/csv" if kind == "csv" else "application/vnd.apache.parquet"


# --- batches ----------------------------------------------------------------------------------


def upload_batch(session: Session, actor: Actor, deployment_id: int, stream: BinaryIO,
                 filename: str, data: BatchIn) -> MonitoringBatch:
    """Validate a batch against the deployment's schema, store it and queue its analysis.

    Raises ConflictError when monitoring is not configured, InvalidInputError listing every
    problem of the file (nothing is stored then).
    """
    from monitoring.batch import validate_batch

    deployment = get_deployment(session, actor, deployment_id, Permission.MONITORING_UPLOAD)
    config = config_of(session, deployment)
    if config is None:
        raise ConflictError(f"monitoring is not configured for deployment {deployment_id}; the "
                            "manufacturer sets the batch schema and reference first")
    content = stream.read()
    frame, kind = read_table(io.BytesIO(content), filename)
    try:
        validation = validate_batch(frame, config.batch_schema)
    except MonitoringInputError as err:
        raise InvalidInputError(
            f"the batch does not match the schema of deployment {deployment_id}: "
            + "; ".join(err.problems),
            errors=[{"pointer": "#/file", "detail": p} for p in err.problems]) from None
    artifact = _store_artifact(session, actor, content, filename, _media_type(kind))
    batch = MonitoringBatch(
        deployment_id=deployment.id, device_id=deployment.device_id,
        period_start=data.period_start, period_end=data.period_end, artifact_id=artifact.id,
        file_format=kind, row_count=validation.n_rows, uploaded_by=actor.user_id,
        missing_rate=_mean(validation.missing_rates.values()))
    session.add(batch)
    audit.record(session, actor, "monitoring.batch.upload", batch,
                 {"after": snapshot(batch, ["deployment_id", "artifact_id", "row_count",
                                            "period_start", "period_end", "file_format"])})
    job = jobs.enqueue(session, actor, "monitoring.analyse_batch", {"batch_id": batch.id},
                       device_id=deployment.device_id)
    batch.job_id = job.id
    session.add(batch)
    return batch


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def get_batch(session: Session, actor: Actor, batch_id: int,
              permission: Permission = Permission.MONITORING_READ) -> MonitoringBatch:
    batch = session.get(MonitoringBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"batch {batch_id} not found")
    try:
        get_deployment(session, actor, batch.deployment_id, permission)
    except NotFoundError:
        raise NotFoundError(f"batch {batch_id} not found") from None
    return batch


def list_batches(session: Session, actor: Actor, deployment_id: int) -> list[MonitoringBatch]:
    """The deployment's batches in time order (the time series)."""
    get_deployment(session, actor, deployment_id)
    return list(session.exec(select(MonitoringBatch).where(
        MonitoringBatch.deployment_id == deployment_id).order_by(
        MonitoringBatch.received_at, MonitoringBatch.id)))


def upload_labels(session: Session, actor: Actor, batch_id: int, stream: BinaryIO,
                  filename: str) -> MonitoringBatch:
    """Attach labels that arrived after the batch (record id + ``y_true``) and queue the
    measurement that replaces the estimate. InvalidInputError when no id matches."""
    from monitoring.performance import join_labels

    batch = get_batch(session, actor, batch_id, Permission.MONITORING_UPLOAD)
    deployment = session.get(Deployment, batch.deployment_id)
    config = config_of(session, deployment)
    content = stream.read()
    labels, kind = read_table(io.BytesIO(content), filename)
    frame = _batch_frame(session, batch)
    try:
        joined = join_labels(frame, labels, id_column=config.id_column, label_column=LABEL_COLUMN)
    except MonitoringInputError as err:
        raise InvalidInputError("the labels file has problems: " + "; ".join(err.problems)) \
            from None
    if joined.n_matched == 0:
        raise InvalidInputError(
            f"no record id of the labels file matches batch {batch_id} (column "
            f"{config.id_column!r}; e.g. {', '.join(joined.orphan_label_examples) or 'none'})")
    artifact = _store_artifact(session, actor, content, filename, _media_type(kind))
    batch.labels_artifact_id, batch.labels_received_at = artifact.id, utcnow()
    session.add(batch)
    audit.record(session, actor, "monitoring.labels.upload", batch,
                 {"after": {"labels_artifact_id": artifact.id, "matched": joined.n_matched,
                            "unlabelled": joined.n_unlabelled}})
    jobs.enqueue(session, actor, "monitoring.measure_batch", {"batch_id": batch.id},
                 device_id=batch.device_id)
    return batch


def _batch_frame(session: Session, batch: MonitoringBatch) -> pd.DataFrame:
    return _artifact_frame(session, batch.artifact_id)


def _artifact_frame(session: Session, artifact_id: int) -> pd.DataFrame:
    artifact = session.get(Artifact, artifact_id)
    with storage.get_store().open(artifact.sha256) as stream:
        frame, _ = read_table(stream, artifact.filename, check_identifiers=False)
    return frame


def _kpi_targets(session: Session, device_id: int) -> list[dict[str, Any]]:
    """The device's declared KPIs that the monitoring metrics can check."""
    from monitoring.performance import BINARY_METRICS

    rows = session.exec(select(Kpi).where(Kpi.device_id == device_id).order_by(Kpi.id))
    return [{"metric": k.metric, "comparator": k.comparator.value, "threshold": k.threshold}
            for k in rows if k.metric in BINARY_METRICS and k.threshold is not None
            and k.comparator in (Comparator.ge, Comparator.le)]


# --- analysis (jobs) --------------------------------------------------------------------------


def analyse_batch(session: Session, actor: Actor, batch: MonitoringBatch) -> dict[str, Any]:
    """Drift against the reference, estimated performance, segments, alert rules; stores the
    results on the batch and raises alerts. Returns the headline numbers."""
    from monitoring.alerts import BatchSummary, evaluate_rules
    from monitoring.batch import validate_batch
    from monitoring.drift import detect_drift
    from monitoring.estimation import estimate_performance
    from monitoring.performance import compare_with_baseline
    from monitoring.segments import drift_by_segment
    from registry.services import alerts

    deployment = session.get(Deployment, batch.deployment_id)
    device = session.get(Device, deployment.device_id)
    config = config_of(session, deployment)
    current = _batch_frame(session, batch)
    reference = reference_frame(session, config)
    validation = validate_batch(current, config.batch_schema)
    kinds = {c["name"]: c["kind"] for c in config.batch_schema["columns"]}
    segment_columns = [c for c in [config.site_column, *config.subgroup_columns] if c]
    features = [name for name, kind in kinds.items() if kind in _DRIFT_TYPES
                and name not in (config.id_column, config.score_column, config.site_column)]
    drift_options = {
        "columns": features,
        "score_column": config.score_column if config.score_column in reference else None,
        "exclude": [config.id_column],
        "column_types": {n: _DRIFT_TYPES[kinds[n]] for n in features},
    }
    drift = detect_drift(reference, current, **drift_options)
    segments = drift_by_segment(
        reference, current, subgroup_columns=[c for c in config.subgroup_columns if c in current],
        site_column=config.site_column if config.site_column in current else None,
        **{**drift_options, "columns": [f for f in features if f not in segment_columns]})
    calibration = config.calibration or {}
    estimate = estimate_performance(
        current[config.score_column].to_numpy(), threshold=config.threshold,
        calibration_slope=calibration.get("slope"),
        calibration_intercept=calibration.get("intercept"), ece=calibration.get("ece"))
    kpis = _kpi_targets(session, device.id)
    comparison = None
    if estimate.offered:
        comparison = compare_with_baseline(estimate, _baseline(config, estimate), kpis)
    summary = BatchSummary.from_results(n_rows=len(current), drift=drift, comparison=comparison,
                                        missing_rates=validation.missing_rates)
    findings = evaluate_rules(config.rules, summary)
    raised = alerts.raise_alerts(session, actor, deployment, device, batch, findings)
    batch.results = {
        "drift": drift.to_dict(),
        "segments": segments.to_dict(),
        "estimate": estimate.to_dict(),
        "estimate_comparison": comparison.to_dict() if comparison else None,
        "missing_rates": dict(validation.missing_rates),
        "findings": [f.to_dict() for f in findings],
        "reference_rows": len(reference),
    }
    batch.drift_share = drift.drift_share
    batch.n_features_drifted = drift.n_features_drifted
    batch.status, batch.error, batch.analysed_at = BatchStatus.done, "", utcnow()
    session.add(batch)
    headline = {"batch_id": batch.id, "rows": len(current), "drift_share": drift.drift_share,
                "drifted": list(drift.drifted_features), "alerts": [a.id for a in raised],
                "estimate_offered": estimate.offered}
    audit.record(session, actor, "monitoring.batch.analyse", batch, {"after": headline})
    return headline


def _baseline(config: MonitoringConfig, performance) -> dict[str, float]:
    available = {m.metric for m in performance.metrics}
    return {k: float(v) for k, v in (config.baseline or {}).items() if k in available}


def measure_batch(session: Session, actor: Actor, batch: MonitoringBatch) -> dict[str, Any]:
    """Performance measured against the labels (replacing the estimate), per subgroup and
    site too; KPI rules are evaluated on it."""
    from monitoring.alerts import BatchSummary, evaluate_rules
    from monitoring.performance import binary_performance, compare_with_baseline, join_labels
    from monitoring.segments import performance_by_segment
    from registry.services import alerts

    deployment = session.get(Deployment, batch.deployment_id)
    device = session.get(Device, deployment.device_id)
    config = config_of(session, deployment)
    labels = _artifact_frame(session, batch.labels_artifact_id)
    joined = join_labels(_batch_frame(session, batch), labels, id_column=config.id_column,
                         label_column=LABEL_COLUMN)
    frame = joined.frame
    measured = binary_performance(frame[LABEL_COLUMN].to_numpy(),
                                  frame[config.score_column].to_numpy(),
                                  threshold=config.threshold)
    comparison = compare_with_baseline(measured, _baseline(config, measured),
                                       _kpi_targets(session, device.id))
    segments = performance_by_segment(
        frame, label_column=LABEL_COLUMN, score_column=config.score_column,
        threshold=config.threshold,
        subgroup_columns=[c for c in config.subgroup_columns if c in frame],
        site_column=config.site_column if config.site_column in frame else None)
    kpi_rules = [r for r in config.rules if r.get("kind") == "kpi_not_met"]
    summary = BatchSummary.from_results(n_rows=len(frame), comparison=comparison,
                                        missing_rates={})
    findings = evaluate_rules(kpi_rules, summary)
    raised = alerts.raise_alerts(session, actor, deployment, device, batch, findings)
    batch.measured = {"labels_artifact_id": batch.labels_artifact_id,
                      "performance": measured.to_dict(), "comparison": comparison.to_dict(),
                      "segments": segments.to_dict(), "join": joined.to_dict(),
                      "findings": [f.to_dict() for f in findings]}
    if batch.status is BatchStatus.done:
        batch.error = ""  # an earlier measurement's failure (see _fail)
    session.add(batch)
    headline = {"batch_id": batch.id, "labelled": joined.n_matched,
                "alerts": [a.id for a in raised]}
    audit.record(session, actor, "monitoring.batch.measure", batch, {"after": headline})
    return headline


ANALYSE, MEASURE = "monitoring.analyse_batch", "monitoring.measure_batch"


def follow_job(session: Session, actor: Actor, job: Job) -> None:
    """Keep a batch in step with its analysis or measurement job (registry.jobs.RecordHook):
    the failure is kept on the batch when the job failed before its result was recorded, and
    the batch is queued again (or its measurement failure cleared) when the job is retried."""
    batch = session.get(MonitoringBatch, job.arguments.get("batch_id"))
    if batch is None:
        return
    if job.name == ANALYSE and batch.job_id != job.id:
        return
    if job.status == "failed":
        pending = batch.status is BatchStatus.queued if job.name == ANALYSE else \
            (batch.measured or {}).get("labels_artifact_id") != batch.labels_artifact_id
        if pending:
            _fail(session, actor, batch, job.error, measuring=job.name == MEASURE)
    elif job.status == "queued":
        if job.name == ANALYSE and batch.status is BatchStatus.failed:
            batch.status, batch.error = BatchStatus.queued, ""
        elif job.name == MEASURE and batch.status is BatchStatus.done:
            batch.error = ""
        else:
            return
        session.add(batch)
        audit.record(session, actor, "monitoring.batch.requeue", batch, {"after": {
            "status": batch.status.value, "job": job.name, "job_id": job.id}})


@jobs.task(ANALYSE, phase="monitoring", record=follow_job)
def _analyse_batch_job(session: Session, actor: Actor, arguments: dict[str, Any]) -> dict:
    return _run(session, actor, arguments["batch_id"], analyse_batch)


@jobs.task(MEASURE, phase="monitoring", record=follow_job)
def _measure_batch_job(session: Session, actor: Actor, arguments: dict[str, Any]) -> dict:
    return _run(session, actor, arguments["batch_id"], measure_batch)


def _run(session: Session, actor: Actor, batch_id: int, step) -> dict[str, Any]:
    batch = session.get(MonitoringBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"batch {batch_id} not found")
    if step is analyse_batch and batch.status is not BatchStatus.queued:
        # Analysed already (a redelivered job, or the demo running it inline): counting the
        # same batch twice would inflate the alerts.
        return {"batch_id": batch_id, "status": batch.status.value}
    if step is measure_batch and (batch.measured or {}).get("labels_artifact_id") \
            == batch.labels_artifact_id:
        return {"batch_id": batch_id, "measured": "already, with these labels"}
    try:
        with session.begin_nested():
            return step(session, actor, batch)
    except (MonitoringInputError, InvalidInputError) as exc:
        # Data that cannot be analysed is the sender's to fix: keep the reason on the batch.
        detail = "; ".join(exc.problems) if isinstance(exc, MonitoringInputError) else exc.detail
        _fail(session, actor, batch, detail, measuring=step is measure_batch)
        return {"batch_id": batch_id, "failed": detail}


def _fail(session: Session, actor: Actor, batch: MonitoringBatch, detail: str, *,
          measuring: bool) -> None:
    """Keep why the batch's analysis failed, or why measuring it against its labels did (audited).

    A failed measurement leaves an analysed batch done (its drift and estimate stand) with the
    reason in ``error``; it never overwrites the reason of a failed analysis.
    """
    if measuring:
        detail = f"measuring against the labels failed: {detail}"
    else:
        batch.status = BatchStatus.failed
    if not measuring or batch.status is not BatchStatus.failed:
        batch.error = detail[:4000]
    session.add(batch)
    audit.record(session, actor, "monitoring.batch.fail", batch, {"after": {
        "status": batch.status.value, "error": detail}})


# --- status and overviews ---------------------------------------------------------------------

HIGH = ("high", "critical")


def postmarket_status(session: Session, device: Device) -> dict[str, Any]:
    """ok / watch / action_needed from open alerts and incidents (not_monitored when no
    deployment is configured), with the reasons, for the device page and lists."""
    from registry.services import incidents

    status = _statuses(session, [device.id])[device.id]
    return {"device_code": device.code, **status,
            "periodic_report": incidents.periodic_report(session, device)}


def _statuses(session: Session, device_ids: list[int]) -> dict[int, dict[str, Any]]:
    # Three queries whatever the number of devices (the device list shows one per row).
    from registry.services import incidents

    active = (AlertStatus.open, AlertStatus.acknowledged)
    alerts: dict[int, list[MonitoringAlert]] = {i: [] for i in device_ids}
    for alert in session.exec(select(MonitoringAlert).where(
            MonitoringAlert.device_id.in_(device_ids), MonitoringAlert.status.in_(active))):
        alerts[alert.device_id].append(alert)
    open_incidents: dict[int, list[Incident]] = {i: [] for i in device_ids}
    for incident in session.exec(select(Incident).where(
            Incident.device_id.in_(device_ids), Incident.status != IncidentStatus.closed)):
        open_incidents[incident.device_id].append(incident)
    configured = set(session.exec(select(Deployment.device_id).join(
        MonitoringConfig, MonitoringConfig.deployment_id == Deployment.id).where(
        Deployment.device_id.in_(device_ids))).all())
    now = utcnow()
    result = {}
    for device_id in device_ids:
        found, opened = alerts[device_id], open_incidents[device_id]
        overdue = [i for i in opened if incidents.clock(i, now)["overdue"]]
        unreported = [i for i in opened if i.serious and i.status is IncidentStatus.open]
        severe = [a for a in found if a.severity in HIGH and a.status is AlertStatus.open]
        reasons = []
        if overdue:
            reasons.append(f"{len(overdue)} serious incident(s) past the reporting deadline")
        if unreported:
            reasons.append(f"{len(unreported)} serious incident(s) to report to the authority")
        if severe:
            reasons.append(f"{len(severe)} open high-severity alert(s): "
                           + ", ".join(sorted({a.rule_id for a in severe})))
        if overdue or unreported or severe:
            status = "action_needed"
        elif found or opened:
            status = "watch"
            reasons.append(f"{len(found)} active alert(s), {len(opened)} open incident(s)")
        else:
            status = "ok" if device_id in configured else "not_monitored"
        result[device_id] = {"status": status, "reasons": reasons, "open_alerts": len(found),
                             "open_incidents": len(opened), "overdue_incidents": len(overdue)}
    return result


def postmarket_statuses(session: Session, device_ids: list[int]) -> dict[int, str]:
    """The status of many devices at once (the device list)."""
    return {i: s["status"] for i, s in _statuses(session, list(device_ids)).items()}


def visible_statuses(session: Session, actor: Actor, devices: list[Device]) -> dict[int, str]:
    """The post-market status of the listed devices whose monitoring the actor may read
    (monitoring is not public: others get no entry)."""
    if actor.is_anonymous or not auth.allows(actor, Permission.MONITORING_READ) or not devices:
        return {}
    ids = [d.id for d in devices]
    if actor.role in auth.SEES_ALL:
        shown = set(ids)
    elif actor.role is Role.manufacturer:
        shown = {d.id for d in devices if d.manufacturer_id == actor.organisation_id}
    elif actor.role is Role.hospital:
        shown = set(session.exec(select(Deployment.device_id).where(
            Deployment.hospital_id == actor.organisation_id,
            Deployment.device_id.in_(ids))).all())
    else:
        shown = set(session.exec(select(AccessGrant.device_id).where(
            AccessGrant.organisation_id == actor.organisation_id,
            AccessGrant.device_id.in_(ids))).all())
    return postmarket_statuses(session, sorted(shown)) if shown else {}


def get_status(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    from registry.services import devices

    device = devices.get_device(session, actor, code)
    auth.require(actor, Permission.MONITORING_READ)
    if not can_see_deployment(session, actor, None, device) and actor.role is not Role.hospital:
        raise NotFoundError(f"device {code} not found (or not visible to you)")
    return postmarket_status(session, device)


def deployments_overview(session: Session, actor: Actor, *, device: Device | None = None,
                         hospital_id: int | None = None) -> list[dict[str, Any]]:
    """One row per deployment the actor may read: configured or not, batches, last drift,
    open alerts and incidents, and the device's post-market status.

    A fixed number of statements however many deployments (one per kind of row, and per
    IN_LIST_SIZE deployments): the overview lists every deployment of a manufacturer."""
    from registry.services.devices import rows_in

    shown = visible_deployments(session, actor, device=device, hospital_id=hospital_id)
    if not shown:
        return []
    ids = [d.id for d in shown]
    devices = {d.id: d for d in rows_in(session, select(Device), Device.id,
                                        {d.device_id for d in shown})}
    statuses = _statuses(session, sorted(devices))
    versions = dict(rows_in(session, select(ModelVersion.id, ModelVersion.version),
                            ModelVersion.id, {d.model_version_id for d in shown}))
    hospitals = dict(rows_in(session, select(Organisation.id, Organisation.name),
                             Organisation.id, {d.hospital_id for d in shown}))
    configured = set(rows_in(session, select(MonitoringConfig.deployment_id),
                             MonitoringConfig.deployment_id, ids))
    batches = _count_by_deployment(session, MonitoringBatch, ids)
    last = {row.deployment_id: row for row in rows_in(session, _latest_batches(),
                                                      Deployment.id, ids)}
    open_alerts = _count_by_deployment(session, MonitoringAlert, ids, MonitoringAlert.status.in_(
        (AlertStatus.open, AlertStatus.acknowledged)))
    open_incidents = _count_by_deployment(session, Incident, ids,
                                          Incident.status != IncidentStatus.closed)
    rows = []
    for deployment in shown:
        dev, latest = devices[deployment.device_id], last.get(deployment.id)
        rows.append({
            "deployment_id": deployment.id, "device_code": dev.code, "device_name": dev.name,
            "hospital_id": deployment.hospital_id, "hospital": hospitals[deployment.hospital_id],
            "site": deployment.site, "version": versions[deployment.model_version_id],
            "configured": deployment.id in configured,
            "status": statuses[dev.id]["status"], "batches": batches.get(deployment.id, 0),
            "last_batch_at": latest.received_at if latest else None,
            "last_drift_share": latest.drift_share if latest else None,
            "open_alerts": open_alerts.get(deployment.id, 0),
            "open_incidents": open_incidents.get(deployment.id, 0),
        })
    return rows


def _count_by_deployment(session: Session, model, ids: list[int], *conditions) -> dict[int, int]:
    """{deployment id: number of its ``model`` rows meeting ``conditions``} (absent for none)."""
    from registry.services.devices import rows_in

    query = select(model.deployment_id, func.count()).where(*conditions).group_by(
        model.deployment_id)
    return dict(rows_in(session, query, model.deployment_id, ids))


def _latest_batches() -> Select:
    """Each deployment's latest batch (received last; the higher id on a tie, as the time series
    orders them): its deployment id, receipt time and drift share, one index probe each."""
    later = aliased(MonitoringBatch)
    latest_id = select(later.id).where(later.deployment_id == Deployment.id).order_by(
        later.received_at.desc(), later.id.desc()).limit(1).correlate(Deployment)
    return select(MonitoringBatch.deployment_id, MonitoringBatch.received_at,
                  MonitoringBatch.drift_share).select_from(Deployment).join(
        MonitoringBatch, MonitoringBatch.id == latest_id.scalar_subquery())


def list_drift_shares(session: Session, actor: Actor) -> dict[int, list[tuple[Any, float]]]:
    """{deployment id: (received_at, drift_share) of each analysed batch, in time order} for
    every deployment the actor may read: the drift chart across sites, in one statement per
    IN_LIST_SIZE deployments."""
    from registry.services.devices import rows_in

    found: dict[int, list] = {d.id: [] for d in visible_deployments(session, actor)}
    query = select(MonitoringBatch.deployment_id, MonitoringBatch.received_at,
                   MonitoringBatch.drift_share).where(
        MonitoringBatch.drift_share.is_not(None)).order_by(
        MonitoringBatch.deployment_id, MonitoringBatch.received_at, MonitoringBatch.id)
    for deployment_id, received_at, share in rows_in(session, query,
                                                     MonitoringBatch.deployment_id, found):
        found[deployment_id].append((received_at, share))
    return found


# --- deployment-scoped tokens -----------------------------------------------------------------


def create_upload_token(session: Session, actor: Actor, deployment_id: int,
                        data: UploadTokenIn, default_lifetime_days: int) -> tuple[str,
                                                                                  ApiToken]:
    """A token that may only upload batches and labels to (and read) this one deployment,
    for the machine at the site that pushes them. Needs a password session."""
    deployment = get_deployment(session, actor, deployment_id, Permission.MONITORING_UPLOAD)
    if actor.scopes is not None:
        raise PermissionDeniedError("sign in with a password to create tokens (not with a token)")
    from datetime import timedelta

    scopes = [f"{Permission.MONITORING_READ.value}:{deployment.id}",
              f"{Permission.MONITORING_UPLOAD.value}:{deployment.id}"]
    lifetime = timedelta(days=data.lifetime_days or default_lifetime_days)
    clear, row = auth.new_token(session.get(User, actor.user_id), data.name, scopes, lifetime)
    session.add(row)
    audit.record(session, actor, "token.create", row,
                 {"after": snapshot(row, ["name", "prefix", "scopes", "expires_at"])})
    return clear, row


# --- the lifecycle gate -----------------------------------------------------------------------


def gate_facts(session: Session, device: Device, candidate: ModelVersion | None,
               accepted: set[int]) -> dict | None:
    return gate_facts_many(session, [device], {device.id: candidate},
                           {device.id: accepted})[device.id]


def gate_facts_many(session: Session, devices: list[Device],
                    candidates: dict[int, ModelVersion | None],
                    accepted: dict[int, set[int]]) -> dict[int, dict]:
    """What G6.5 ("monitoring configured") reads, per device id: the deployments of the
    candidate version (or of versions whose evidence counts for it) that have a monitoring
    configuration."""
    from registry.services.devices import rows_in

    configured: dict[int, list[int]] = {d.id: [] for d in devices}
    query = select(Deployment.id, Deployment.device_id, Deployment.model_version_id).join(
        MonitoringConfig, MonitoringConfig.deployment_id == Deployment.id)
    for deployment_id, device_id, version_id in rows_in(
            session, query, Deployment.model_version_id, set().union(*accepted.values())):
        if version_id in accepted.get(device_id, ()):
            configured[device_id].append(deployment_id)
    return {i: {"configured_deployments": sorted(ids)} for i, ids in configured.items()}
