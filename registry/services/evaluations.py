"""Services: Validation results and the evaluations computed from them (issue #4).

A manufacturer uploads what a model version predicted on a validation set beside the ground
truth. ``submit_evaluation`` checks the file and the column mapping before anything is stored,
keeps the file as an artifact and queues the ``evaluation.run`` job; the job calls the pure
``evaluation`` library and stores its report, the library version, the parameters and the
verdict of every declared KPI. ``purge_raw_files`` deletes uploaded rows once the retention
period is over; results, hashes and the audit trail stay.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from registry import audit, auth, db, jobs, storage, uploads
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, NotFoundError
from registry.models import (
    Artifact,
    Device,
    Job,
    Kpi,
    ModelVersion,
    SubgroupVariable,
    Task,
    utcnow,
)
from registry.models.evaluations import Evaluation, EvaluationStatus
from registry.schemas.evaluations import EvaluationIn
from registry.services import artifacts, devices

#: The evaluation library's task for each device task (a risk score is judged as binary).
LIBRARY_TASKS = {Task.binary: "binary", Task.risk: "binary", Task.multiclass: "multiclass",
                 Task.ordinal: "multiclass", Task.regression: "regression"}

#: Arguments of ``evaluation.evaluate`` besides the data; stored with every evaluation.
DEFAULT_PARAMETERS: dict[str, Any] = {
    "level": 0.95, "interval_method": "wilson", "bootstrap_method": "bca", "seed": 0,
    "n_resamples": 2000, "min_subgroup_n": 30, "n_bins": 10,
}

MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


# --- submitting ---------------------------------------------------------------------------------


def submit_evaluation(
    session: Session, actor: Actor, code: str, version_id: int, data: EvaluationIn,
    stream: BinaryIO, filename: str, *, synchronous: bool = False,
) -> Evaluation:
    """Check and store a validation file for one model version, then evaluate it.

    Everything is checked before anything is written: the file (format, encoding, truncation,
    size, rows), direct identifiers, and the column mapping against the data (the evaluation
    library's own validation). The evaluation runs as a job after the commit, or at once in
    this transaction when ``synchronous`` (the demo seeding and the CLI).

    Raises InvalidInputError (422) listing every problem, PayloadTooLargeError (413),
    NotFoundError for a device or version the actor cannot see, PermissionDeniedError (403)
    for a device that is not the actor's.
    """
    device = devices.get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.EVALUATION_SUBMIT, device)
    version = devices.get_version(session, device, version_id)
    library_task = LIBRARY_TASKS.get(device.task)
    if library_task is None:
        raise InvalidInputError(
            f"device {code} has task '{device.task.value}', which the evaluation library does "
            "not evaluate; attach the evaluation report as a document instead")
    filename = filename or "upload.csv"
    raw = uploads.read_limited(stream, storage.get_store().max_bytes)
    frame = uploads.load_table(raw, filename)
    arguments = evaluation_arguments(library_task, data.column_mapping(), frame, [])
    _check_mapping(frame, library_task, arguments)
    file_format = uploads.detect_format(raw, filename)
    artifact = artifacts.upload_artifact(session, actor, io.BytesIO(raw), filename,
                                         MEDIA_TYPES[file_format])
    evaluation = Evaluation(
        device_id=device.id, model_version_id=version.id, dataset_kind=data.dataset_kind,
        site=data.site, period_start=data.period_start, period_end=data.period_end,
        task=library_task, artifact_id=artifact.id, sha256=artifact.sha256,
        size_bytes=artifact.size_bytes, filename=artifact.filename, file_format=file_format,
        row_count=len(frame), columns=data.column_mapping(),
        parameters=dict(DEFAULT_PARAMETERS), created_by=actor.user_id,
    )
    session.add(evaluation)
    session.flush()
    if not synchronous:
        job = jobs.enqueue(session, actor, "evaluation.run", {"evaluation_id": evaluation.id},
                           device_id=device.id)
        evaluation.job_id = job.id
    audit.record(session, actor, "evaluation.submit", evaluation, {"after": {
        "model_version": version.version, "dataset_kind": data.dataset_kind.value,
        "site": data.site, "sha256": evaluation.sha256, "rows": evaluation.row_count,
        "columns": evaluation.columns, "parameters": evaluation.parameters,
        "job_id": evaluation.job_id}})
    if synchronous:
        run_evaluation(session, actor, evaluation)
    return evaluation


def _check_mapping(frame: pd.DataFrame, library_task: str, arguments: dict[str, Any]) -> None:
    from evaluation import Columns, EvaluationInputError, check_frame

    try:
        check_frame(
            frame, task=library_task, columns=Columns.from_mapping(arguments["columns"]),
            labels=arguments["labels"],
            positive_label=arguments["positive_label"], probability=arguments["probability"],
            subgroup_columns=arguments["subgroup_columns"],
            site_column=arguments["site_column"])
    except EvaluationInputError as exc:
        raise InvalidInputError(
            f"the file does not fit the column mapping: {'; '.join(exc.problems)}",
            errors=[{"pointer": "#/columns", "detail": p} for p in exc.problems]) from None


def _like(series: pd.Series, value: Any) -> Any:
    """A label typed in a form ("1", "true", "AF") as the label column holds it."""
    if value is None or not isinstance(value, str):
        return value
    if pd.api.types.is_bool_dtype(series):
        return value.strip().lower() in ("1", "true", "yes")
    if pd.api.types.is_numeric_dtype(series):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def evaluation_arguments(library_task: str, mapping: dict[str, Any], frame: pd.DataFrame,
                         kpis: list[Kpi]) -> dict[str, Any]:
    """The keyword arguments of ``evaluation.evaluate`` for a stored column mapping."""
    from evaluation import KpiSpec

    label = frame[mapping["label"]] if mapping["label"] in frame else pd.Series(dtype=object)
    columns: dict[str, Any] = {"y_true": mapping["label"]}
    for key, name in (("y_score", "score"), ("y_pred", "prediction"), ("id", "id")):
        if mapping.get(name):
            columns[key] = mapping[name]
    if mapping.get("class_scores"):
        columns["class_scores"] = {_like(label, k): v for k, v in mapping["class_scores"].items()}
    labels, positive = None, 1
    # unique() first: dropna() would copy a million-row column to drop nothing.
    observed = [v for v in label.unique().tolist() if not pd.isna(v)]
    if library_task == "binary":
        positive = _like(label, mapping.get("positive"))
        if positive is None:
            positive = True if pd.api.types.is_bool_dtype(label) else 1
        others = [v for v in observed if v != positive]
        labels = (others[0] if others else (False if positive is True else 0), positive)
    names = sorted((str(v) for v in observed), key=str)
    return {
        "task": library_task, "columns": columns, "labels": labels, "positive_label": positive,
        "probability": bool(mapping.get("probability", True)),
        "threshold": mapping.get("threshold"), "subgroup_columns": list(mapping.get("groups")
                                                                         or []),
        "site_column": mapping.get("site"),
        "kpis": [_kpi_spec(KpiSpec, k, names if library_task == "multiclass" else [])
                 for k in kpis],
    }


def _kpi_spec(spec_type, kpi: Kpi, class_labels: list[str]):
    """A declared KPI as the library states it; a multiclass KPI named ``<class>_<metric>``
    ("af_sensitivity") is the one-vs-rest metric of that class."""
    metric, class_label = kpi.metric, None
    for label in class_labels:
        prefix = f"{label.lower()}_"
        if metric.lower().startswith(prefix):
            metric, class_label = metric[len(prefix):], label
            break
    return spec_type(metric=metric, comparator=kpi.comparator.value, threshold=kpi.threshold,
                     low=kpi.low, high=kpi.high, population=kpi.population or "overall",
                     dataset_kind=kpi.dataset_kind.value, primary=kpi.is_primary,
                     class_label=class_label)


# --- evaluating ---------------------------------------------------------------------------------


def run_evaluation(session: Session, actor: Actor, evaluation: Evaluation) -> Evaluation:
    """Evaluate the stored file with the library and persist the report and KPI verdicts.

    Input the library refuses ends the evaluation as ``failed`` with the library's message (the
    upload checks make this rare); the version is frozen once an evaluation is done.
    """
    from evaluation import LIBRARY_VERSION, EvaluationInputError, evaluate

    if evaluation.status in (EvaluationStatus.done, EvaluationStatus.failed):
        return evaluation  # a redelivered job: the work is already recorded
    if evaluation.artifact_id is None:
        raise ConflictError(f"evaluation {evaluation.id}: its file was deleted before it ran")
    evaluation.status = EvaluationStatus.running
    device = session.get(Device, evaluation.device_id)
    kpis = devices.kpis_of(session, device)
    try:
        frame = uploads.read_table(_raw_bytes(evaluation), evaluation.filename)
        arguments = evaluation_arguments(evaluation.task, evaluation.columns, frame, kpis)
        report = evaluate(frame, **arguments, **evaluation.parameters)
    except EvaluationInputError as exc:
        evaluation.status, evaluation.error = EvaluationStatus.failed, "; ".join(exc.problems)
    except InvalidInputError as exc:  # the stored file no longer reads (e.g. a newer reader)
        evaluation.status, evaluation.error = EvaluationStatus.failed, exc.detail
    else:
        evaluation.results = report.to_dict()
        evaluation.kpi_verdicts = [_verdict(k, v.to_dict()) for k, v in zip(
            kpis, report.kpis, strict=True)]
        evaluation.library_version = LIBRARY_VERSION
        evaluation.status = EvaluationStatus.done
    if evaluation.status == EvaluationStatus.done:
        version = session.get(ModelVersion, evaluation.model_version_id)
        devices.mark_evaluated(session, actor, version)
    _finish(session, actor, evaluation)
    return evaluation


def _finish(session: Session, actor: Actor, evaluation: Evaluation) -> None:
    """Record the end of an evaluation, done or failed (audited)."""
    evaluation.finished_at = utcnow()
    session.add(evaluation)
    audit.record(session, actor, f"evaluation.{evaluation.status.value}", evaluation, {"after": {
        "status": evaluation.status.value, "library_version": evaluation.library_version,
        "parameters": evaluation.parameters, "sha256": evaluation.sha256,
        "kpi_verdicts": [{k: v[k] for k in ("metric", "verdict", "estimate", "ci_low",
                                             "ci_high")} for v in evaluation.kpi_verdicts],
        "error": evaluation.error, "job_id": evaluation.job_id}})


def _verdict(kpi: Kpi, verdict: dict[str, Any]) -> dict[str, Any]:
    result = verdict.get("result") or {}
    interval = result.get("interval") or {}
    return {"kpi_id": kpi.id, "metric": kpi.metric, "comparator": kpi.comparator.value,
            "threshold": kpi.threshold, "low": kpi.low, "high": kpi.high,
            "dataset_kind": kpi.dataset_kind.value, "is_primary": kpi.is_primary,
            "verdict": verdict["verdict"], "estimate": result.get("value"),
            "ci_low": interval.get("lower"), "ci_high": interval.get("upper"),
            "rule": verdict["rule"], "point_estimate_meets": verdict["point_estimate_meets"]}


def follow_job(session: Session, actor: Actor, job: Job) -> None:
    """Keep an evaluation in step with its job (registry.jobs.RecordHook): failed with the
    job's reason when the job failed before the evaluation was recorded, queued again when the
    job is retried (audited)."""
    evaluation = session.get(Evaluation, job.arguments.get("evaluation_id"))
    if evaluation is None or evaluation.job_id != job.id:
        return
    if job.status == "failed" and evaluation.status in (EvaluationStatus.queued,
                                                        EvaluationStatus.running):
        evaluation.status, evaluation.error = EvaluationStatus.failed, job.error
        _finish(session, actor, evaluation)
    elif job.status == "queued" and evaluation.status == EvaluationStatus.failed:
        evaluation.status, evaluation.error = EvaluationStatus.queued, ""
        evaluation.finished_at = None
        session.add(evaluation)
        audit.record(session, actor, "evaluation.requeue", evaluation, {
            "after": {"status": "queued", "job_id": job.id, "attempt": job.attempts + 1}})


@jobs.task("evaluation.run", phase="validation", record=follow_job)
def evaluation_job(session: Session, actor: Actor, arguments: dict[str, Any]) -> dict[str, Any]:
    """The job of ``submit_evaluation``: in-process or on a Celery worker, the same function."""
    evaluation = session.get(Evaluation, arguments["evaluation_id"])
    if evaluation is None:
        raise NotFoundError(f"evaluation {arguments['evaluation_id']} not found")
    run_evaluation(session, actor, evaluation)
    return {"evaluation_id": evaluation.id, "status": evaluation.status.value}


# --- reading ------------------------------------------------------------------------------------


def _visible_device(session: Session, actor: Actor, device_id: int, ref: object) -> Device:
    auth.require(actor, Permission.DEVICE_READ)
    return auth.visible(session, actor, session.get(Device, device_id), ref)


def evaluations_of_device(session: Session, actor: Actor, device: Device) -> list[Evaluation]:
    """Every evaluation of the device's versions, newest first, for an actor who sees it."""
    _visible_device(session, actor, device.id, device.code)
    return list(session.exec(select(Evaluation).where(Evaluation.device_id == device.id)
                             .order_by(Evaluation.id.desc())))


def evaluations_of_version(session: Session, actor: Actor, version_id: int) -> list[Evaluation]:
    """The evaluations of one model version, newest first."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFoundError(f"model version {version_id} not found")
    _visible_device(session, actor, version.device_id, f"of model version {version_id}")
    return list(session.exec(select(Evaluation).where(Evaluation.model_version_id == version_id)
                             .order_by(Evaluation.id.desc())))


def get_evaluation(session: Session, actor: Actor, code: str, evaluation_id: int) -> Evaluation:
    device = devices.get_device(session, actor, code)
    auth.require(actor, Permission.DEVICE_READ)
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None or evaluation.device_id != device.id:
        raise NotFoundError(f"evaluation {evaluation_id} not found on device {code}")
    return evaluation


def _raw_bytes(evaluation: Evaluation) -> bytes:
    with storage.get_store().open(evaluation.sha256) as handle:
        return handle.read()


def reference_frame(session: Session, evaluation: Evaluation) -> pd.DataFrame:
    """The stored validation rows, the mapped columns renamed ``y_true``, ``y_score``,
    ``y_pred``, ``site`` and ``id`` (group and other columns keep their names): monitoring's
    drift reference. Raises ConflictError once the retention period has deleted the file."""
    if evaluation.artifact_id is None:
        raise ConflictError(
            f"evaluation {evaluation.id}: its raw rows were deleted on "
            f"{evaluation.raw_purged_at:%Y-%m-%d} (retention period); upload a new reference")
    frame = uploads.read_table(_raw_bytes(evaluation), evaluation.filename)
    mapping = evaluation.columns
    rename = {mapping[key]: name for key, name in (
        ("label", "y_true"), ("score", "y_score"), ("prediction", "y_pred"), ("site", "site"),
        ("id", "id")) if mapping.get(key)}
    return frame.rename(columns=rename)


# --- retention ----------------------------------------------------------------------------------


def purge_raw_files(session: Session, actor: Actor, *, retention_days: int,
                    now: datetime | None = None) -> list[Evaluation]:
    """Delete the uploaded rows of evaluations older than ``retention_days``.

    The evaluation keeps its results, its file's SHA-256 and size, and the audit trail; the
    artifact row goes, and the blob too once no other row names the same content (the store is
    content-addressed). The blob is unlinked only after the commit.
    """
    if actor.user_id is not None:
        auth.require(actor, Permission.ORGANISATION_MANAGE)  # admins; the CLI runs as system
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    due = session.exec(select(Evaluation).where(
        Evaluation.artifact_id.is_not(None), Evaluation.created_at < cutoff,
        Evaluation.status.in_([EvaluationStatus.done, EvaluationStatus.failed]))).all()
    for evaluation in due:
        artifact = session.get(Artifact, evaluation.artifact_id)
        evaluation.artifact_id = None
        evaluation.raw_purged_at = utcnow()
        session.add(evaluation)
        session.flush()
        if artifact is not None:
            try:
                with session.begin_nested():
                    session.delete(artifact)
            except IntegrityError:
                pass  # another row (evidence, a dossier) still cites this upload: keep it
        still_named = session.exec(select(Artifact.id).where(
            Artifact.sha256 == evaluation.sha256)).first()
        if still_named is None:
            path = storage.get_store().path_for(evaluation.sha256)
            db.after_commit(session, lambda path=path: path.unlink(missing_ok=True))
        audit.record(session, actor, "evaluation.purge_raw", evaluation, {
            "before": {"artifact_id": artifact.id if artifact else None},
            "after": {"artifact_id": None, "sha256": evaluation.sha256,
                      "retention_days": retention_days}})
    return list(due)


# --- the lifecycle gate -------------------------------------------------------------------------


def gate_facts(session: Session, device: Device, candidate: ModelVersion | None,
               accepted: set[int]) -> dict | None:
    return gate_facts_many(session, [device], {device.id: candidate},
                           {device.id: accepted})[device.id]


def gate_facts_many(session: Session, batch: list[Device],
                    candidates: dict[int, ModelVersion | None],
                    accepted: dict[int, set[int]]) -> dict[int, dict]:
    """What gate items G3.3 and G4.1-G4.4 read, per device id: the done evaluations of the
    accepted versions, each with its dataset kind, KPI verdicts, the gap of every declared
    subgroup variable and whether calibration was computed."""
    ids = [d.id for d in batch]
    declared = devices.by_device(session, SubgroupVariable, batch)
    done: dict[int, list[Evaluation]] = {i: [] for i in ids}
    query = select(Evaluation).where(Evaluation.status == EvaluationStatus.done)
    for e in devices.rows_in(session, query, Evaluation.model_version_id,
                             set().union(*accepted.values())):
        if e.model_version_id in accepted.get(e.device_id, ()):
            done[e.device_id].append(e)
    return {i: {"evaluations": [{
        "id": e.id, "model_version_id": e.model_version_id, "dataset_kind": e.dataset_kind.value,
        "n": (e.results or {}).get("n"), "level": (e.results or {}).get("level"),
        "kpi_verdicts": e.kpi_verdicts,
        "subgroup_gaps": _subgroup_gaps(e.results or {}, declared[i]),
        "calibrated": bool((e.results or {}).get("calibration")),
    } for e in sorted(done[i], key=lambda e: e.id)]} for i in ids}


def _subgroup_gaps(results: dict[str, Any], declared: list[SubgroupVariable]
                   ) -> dict[str, dict[str, float | None]]:
    """{variable: {gap metric: best - worst among levels with enough data}} for the declared
    variables the report analysed (a gap is None when fewer than two levels can be compared)."""
    from evaluation.kpi import METRIC_ALIASES

    analysed = {c["column"]: c for c in results.get("subgroups") or []}
    gaps: dict[str, dict[str, float | None]] = {}
    for variable in declared:
        column = analysed.get(variable.variable)
        if column is None:
            continue
        metric = variable.gap_metric
        gaps[variable.variable] = {}
        if not metric:
            continue
        name = METRIC_ALIASES.get(metric, (metric, ""))[0]
        values = []
        for level in column["levels"]:
            if level.get("insufficient_data"):
                continue
            found = (level.get("metrics") or {}).get(name)
            if found is None:  # "<class>_<metric>" of a multiclass report
                for label, per in (level.get("per_class") or {}).items():
                    if name.lower().startswith(f"{str(label).lower()}_"):
                        found = per.get(name[len(str(label)) + 1:])
            if found is not None and found.get("value") is not None:
                values.append(found["value"])
        gaps[variable.variable][metric] = max(values) - min(values) if len(values) > 1 else None
    return gaps
