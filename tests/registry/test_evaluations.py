"""Evaluations in the registry: upload checks, the job, persisted numbers, KPI verdicts, gates,
access, audit and the retention of raw rows; on the real database and artifact store."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sqlmodel import func, select

from evaluation import KpiSpec, evaluate
from registry import audit, db, jobs, storage
from registry.auth import SYSTEM
from registry.errors import InvalidInputError, NotFoundError, PayloadTooLargeError
from registry.models import (
    Artifact,
    AuditEvent,
    Comparator,
    DatasetKind,
    Kpi,
    ModelVersion,
    Role,
    Stage,
    Task,
)
from registry.models.evaluations import Evaluation
from registry.schemas import WaiverIn
from registry.schemas.evaluations import EvaluationIn
from registry.services import devices, evaluations
from tests import factories


def validation_csv(rows: int = 500, seed: int = 3, **extra) -> bytes:
    """Calibrated scores from a latent risk, with a sex subgroup and two sites."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal(rows)
    risk = 1 / (1 + np.exp(-(-1.5 + 5.0 * latent)))
    frame = pd.DataFrame({
        "case": [f"c{i:04d}" for i in range(rows)],
        "sex": rng.choice(["F", "M"], rows),
        "centre": rng.choice(["Lyon", "Nantes"], rows),
        "truth": (rng.random(rows) < risk).astype(int),
        "p": np.round(risk, 4),
    })
    for name, values in extra.items():
        frame[name] = values[:rows] if isinstance(values, list) else values
    return frame.to_csv(index=False).encode()


RHYTHMS = ("NSR", "AF", "AFL")


def rhythm_csv(rows: int = 600, seed: int = 7) -> bytes:
    """Calibrated class probabilities of three rhythms (the reference rhythm is drawn from
    them), the most probable one as the prediction, with a sex subgroup and two sites."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet([0.5, 0.3, 0.3], rows)
    truth = (rng.random(rows)[:, None] > p.cumsum(axis=1)[:, :-1]).sum(axis=1)
    frame = pd.DataFrame({
        "case": [f"r{i:04d}" for i in range(rows)],
        "sex": rng.choice(["F", "M"], rows),
        "centre": rng.choice(["Lyon", "Nantes"], rows),
        "rhythm": np.array(RHYTHMS)[truth],
        "predicted": np.array(RHYTHMS)[p.argmax(axis=1)],
    })
    for code, rhythm in enumerate(RHYTHMS):
        frame[f"p_{rhythm}"] = np.round(p[:, code], 4)
    return frame.to_csv(index=False).encode()


#: Overrides of MAPPING for rhythm_csv, the class probabilities as a form sends them.
RHYTHM_MAPPING = dict(label_column="rhythm", score_column=None, positive_label=None,
                      threshold=None, prediction_column="predicted",
                      class_score_columns="NSR=p_NSR, AF=p_AF, AFL=p_AFL")

MAPPING = dict(dataset_kind="external", site="Lyon and Nantes", label_column="truth",
               score_column="p", positive_label="1", threshold=0.5, group_columns=["sex"],
               site_column="centre", id_column="case")


def submit(session, actor, device, data: bytes, filename="valid.csv", **overrides):
    version = devices.candidate_version(session, device)
    return evaluations.submit_evaluation(
        session, actor, device.code, version.id, EvaluationIn(**{**MAPPING, **overrides}),
        io.BytesIO(data), filename, synchronous=True)


@pytest.fixture
def maker(session):
    return factories.actor_for(Role.manufacturer)


@pytest.fixture
def device(session, maker):
    return factories.DeviceFactory(manufacturer_id=maker.organisation_id)


def counts(session) -> tuple[int, int]:
    return (session.exec(select(func.count()).select_from(Evaluation)).one(),
            session.exec(select(func.count()).select_from(Artifact)).one())


def blobs() -> list:
    root = storage.get_store().root
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the job and the numbers ------------------------------------------------------------------


def test_job_evaluates_and_persists_what_the_library_computes(connection):
    data = validation_csv()
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
        version = devices.candidate_version(s, device)
        queued = evaluations.submit_evaluation(
            s, maker, device.code, version.id, EvaluationIn(**MAPPING), io.BytesIO(data),
            "valid.csv")
        assert queued.status == "queued" and queued.job_id
        evaluation_id, job_id, version_id = queued.id, queued.job_id, version.id
        kpi = s.exec(select(Kpi).where(Kpi.device_id == device.id)).one()
        spec = KpiSpec("auc", ">=", threshold=kpi.threshold, population=kpi.population or
                       "overall", dataset_kind="external", primary=True)
    jobs.get_runner().wait(job_id)
    frame = pd.read_csv(io.BytesIO(data))
    direct = evaluate(frame, task="binary", columns={"y_true": "truth", "y_score": "p",
                                                     "id": "case"},
                      labels=(0, 1), positive_label=1, threshold=0.5, subgroup_columns=["sex"],
                      site_column="centre", kpis=[spec], **evaluations.DEFAULT_PARAMETERS)
    with db.unit_of_work() as s:
        stored = s.get(Evaluation, evaluation_id)
        assert stored.status == "done", stored.error
        assert stored.results == json.loads(json.dumps(direct.to_dict()))
        assert stored.library_version == direct.library_version
        assert stored.parameters == evaluations.DEFAULT_PARAMETERS
        # An independent check of the headline number.
        auc = roc_auc_score(frame["truth"], frame["p"])
        assert stored.results["metrics"]["auc"]["value"] == pytest.approx(auc, abs=1e-12)
        verdict = stored.kpi_verdicts[0]
        interval = direct.metrics["auc"].interval
        assert (verdict["metric"], verdict["estimate"], verdict["ci_low"], verdict["ci_high"]) \
            == ("auc", direct.metrics["auc"].value, interval.lower, interval.upper)
        assert verdict["verdict"] == ("met" if interval.lower >= 0.9 else
                                      "not_met" if interval.upper < 0.9 else "inconclusive")
        assert s.get(ModelVersion, version_id).evaluated_at is not None
        actions = [e.action for e in s.exec(select(AuditEvent).where(
            AuditEvent.object_type == "evaluation", AuditEvent.object_id == str(evaluation_id))
            .order_by(AuditEvent.seq))]
        assert actions == ["evaluation.submit", "evaluation.done"]
        assert audit.verify(s).ok


def test_kpi_verdicts_follow_the_interval(session, maker, device):
    for metric, threshold in (("sensitivity", 0.2), ("specificity", 0.99), ("ppv", 0.75)):
        session.add(Kpi(device_id=device.id, metric=metric, comparator=Comparator.ge,
                        threshold=threshold, dataset_kind=DatasetKind.external))
    session.add(Kpi(device_id=device.id, metric="word_error_rate", comparator=Comparator.le,
                    threshold=0.1, dataset_kind=DatasetKind.external))
    session.flush()
    evaluation = submit(session, maker, device, validation_csv(rows=800))
    by_metric = {v["metric"]: v for v in evaluation.kpi_verdicts}
    for v in by_metric.values():
        if v["ci_low"] is None:
            continue
        bound = v["threshold"]
        expected = ("met" if v["ci_low"] >= bound else "not_met" if v["ci_high"] < bound
                    else "inconclusive")
        assert v["verdict"] == expected, v
        assert v["rule"].startswith(v["verdict"])
    assert by_metric["sensitivity"]["verdict"] == "met"
    assert by_metric["specificity"]["verdict"] == "not_met"
    assert by_metric["word_error_rate"]["verdict"] == "inconclusive"
    assert "not computed" in by_metric["word_error_rate"]["rule"]


# --- upload checks: a clear 422, nothing left behind -------------------------------------------

GOOD = validation_csv(rows=300)
BAD_UPLOADS = {
    "empty": (b"", "valid.csv", "empty"),
    "header only": (b"case,sex,centre,truth,p\n", "valid.csv", "no data rows"),
    "truncated csv": (GOOD[: len(GOOD) // 2].rsplit(b",", 1)[0], "valid.csv", "truncated"),
    "latin-1": ("case,sex,centre,truth,p\nc1,Fé,Lyon,1,0.9\nc2,M,Lyon,0,0.1\n".encode("latin-1"),
                "valid.csv", "not UTF-8"),
    "truncated parquet": (b"PAR1" + b"\x00" * 64, "valid.parquet", "truncated"),
    "missing column": (GOOD.replace(b"truth", b"label", 1), "valid.csv", "'truth'"),
    "score out of range": (GOOD.replace(b",0.", b",1.", 3), "valid.csv", "[0, 1]"),
    "e-mail": (validation_csv(rows=300, contact=["a@b.fr"] * 300), "valid.csv", "e-mail"),
    "birth date": (validation_csv(rows=300, date_naissance="1956-03-14"), "valid.csv",
                   "birth dates"),
    "phone": (validation_csv(rows=300, tel="06 12 34 56 78"), "valid.csv", "phone"),
    "NIR": (validation_csv(rows=300, secu="184127511600126"), "valid.csv", "NIR"),
    "names": (validation_csv(rows=300, nom="Dupont"), "valid.csv", "'nom'"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_upload_is_refused_and_leaves_nothing(session, maker, device, case):
    data, filename, words = BAD_UPLOADS[case]
    before, files = counts(session), blobs()
    with pytest.raises(InvalidInputError) as refused:
        with db.unit_of_work() as s:
            submit(s, maker, device, data, filename)
    assert words in refused.value.detail
    assert counts(session) == before and blobs() == files


def test_oversized_upload_is_refused_and_leaves_nothing(session, maker, device):
    too_big = validation_csv(rows=300) * 20
    assert len(too_big) > storage.get_store().max_bytes
    with pytest.raises(PayloadTooLargeError, match="larger than the limit"):
        with db.unit_of_work() as s:
            submit(s, maker, device, too_big)
    assert counts(session) == (0, 0) and blobs() == []


def test_identifier_columns_are_all_named_at_once(session, maker, device):
    data = validation_csv(rows=300, courriel="x@y.org", nom="Martin", dob="1956-03-14")
    with pytest.raises(InvalidInputError) as refused:
        submit(session, maker, device, data)
    for column in ("courriel", "nom", "dob"):
        assert f"'{column}'" in refused.value.detail
    assert len(refused.value.errors) == 3


def test_parquet_upload_is_evaluated_like_csv(session, maker, device):
    frame = pd.read_csv(io.BytesIO(validation_csv()))
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    evaluation = submit(session, maker, device, buffer.getvalue(), "valid.parquet")
    from_csv = submit(session, maker, device, validation_csv(), "valid.csv")
    assert evaluation.file_format == "parquet" and evaluation.status == "done"
    assert evaluation.results["metrics"] == from_csv.results["metrics"]


# --- the lifecycle gate ------------------------------------------------------------------------


def _unmet(session, maker, device) -> set[str]:
    return {u.id for u in devices.gate_status(session, maker, device.code)}


def test_internal_evaluation_satisfies_g3_3(session, maker, device):
    device.stage = Stage.S3_MODEL
    assert "G3.3" in _unmet(session, maker, device)
    submit(session, maker, device, validation_csv(), dataset_kind="internal")
    assert "G3.3" not in _unmet(session, maker, device)


def test_external_evaluation_satisfies_g4_1_to_g4_4(session, maker, device):
    device.stage = Stage.S4_VALIDATION
    assert {"G4.1", "G4.2", "G4.3", "G4.4"} <= _unmet(session, maker, device)
    submit(session, maker, device, validation_csv(rows=600), dataset_kind="internal")
    assert {"G4.1", "G4.2"} <= _unmet(session, maker, device)  # the KPI is on external data
    evaluation = submit(session, maker, device, validation_csv(rows=600))
    assert evaluation.kpi_verdicts[0]["verdict"] == "met"
    assert {"G4.1", "G4.2", "G4.3", "G4.4"}.isdisjoint(_unmet(session, maker, device))


def test_multiclass_class_probabilities_are_calibrated_and_satisfy_g4_4(session, maker):
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id,
                                     task=Task.multiclass, stage=Stage.S4_VALIDATION)
    without = submit(session, maker, device, rhythm_csv(), **{**RHYTHM_MAPPING,
                                                              "class_score_columns": {}})
    assert without.results["calibration"] is None
    assert "G4.4" in _unmet(session, maker, device)
    data = rhythm_csv()
    evaluation = submit(session, maker, device, data, **RHYTHM_MAPPING)
    assert evaluation.status == "done", evaluation.error
    direct = evaluate(pd.read_csv(io.BytesIO(data)), task="multiclass", columns={
        "y_true": "rhythm", "y_pred": "predicted", "id": "case",
        "class_scores": {r: f"p_{r}" for r in RHYTHMS}}, subgroup_columns=["sex"],
        site_column="centre", **evaluations.DEFAULT_PARAMETERS)
    stored = evaluation.results
    assert stored["calibration"] == json.loads(json.dumps(direct.calibration.to_dict()))
    assert sorted(stored["calibration"]["per_class"]) == sorted(RHYTHMS)
    assert stored["metrics"]["multiclass_brier"] == direct.metrics["multiclass_brier"].to_dict()
    assert "G4.4" not in _unmet(session, maker, device)


def test_primary_kpi_not_met_with_confidence_keeps_g4_2(session, maker, device):
    device.stage = Stage.S4_VALIDATION
    kpi = session.exec(select(Kpi).where(Kpi.device_id == device.id)).one()
    kpi.threshold = 0.97
    session.add(kpi)
    submit(session, maker, device, validation_csv(rows=600))
    unmet = {u.id: u.detail for u in devices.gate_status(session, maker, device.code)}
    assert "primary KPI auc >= 0.97" in unmet["G4.2"]
    assert "G4.1" not in unmet


def test_subgroup_missing_from_the_mapping_keeps_g4_3(session, maker, device):
    device.stage = Stage.S4_VALIDATION
    submit(session, maker, device, validation_csv(rows=600), group_columns=[])
    unmet = {u.id: u.detail for u in devices.gate_status(session, maker, device.code)}
    assert "'sex'" in unmet["G4.3"]


def test_evaluation_of_an_older_version_does_not_count(session, maker, device):
    device.stage = Stage.S4_VALIDATION
    submit(session, maker, device, validation_csv(rows=600))
    from registry.schemas import ModelVersionIn

    assert len(devices.gate_context(session, device).facts["evaluations"]["evaluations"]) == 1
    devices.create_model_version(session, maker, device.code, ModelVersionIn(
        version="2.0", change_type="architecture", change_description="new backbone"))
    assert devices.gate_context(session, device).facts["evaluations"] == {"evaluations": []}


def test_reviewer_waiver_still_satisfies_an_evaluation_item(session, maker, device):
    device.stage = Stage.S4_VALIDATION
    reviewer = factories.actor_for(Role.reviewer)
    factories.grant(session, device, reviewer.organisation_id)
    devices.waive_gate_item(session, reviewer, device.code, WaiverIn(
        gate_item="G4.1", justification="pivotal external study reviewed on paper"))
    assert "G4.1" not in _unmet(session, maker, device)


# --- access ------------------------------------------------------------------------------------


def test_only_the_manufacturer_submits_and_others_do_not_see(session, maker, device):
    evaluation = submit(session, maker, device, validation_csv())
    other = factories.actor_for(Role.manufacturer)
    with pytest.raises(NotFoundError):
        submit(session, other, device, validation_csv())
    with pytest.raises(NotFoundError):
        evaluations.evaluations_of_device(session, other, device)
    with pytest.raises(NotFoundError):
        evaluations.evaluations_of_version(session, other, evaluation.model_version_id)
    device.is_published = True
    from registry.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        submit(session, other, device, validation_csv())
    reviewer = factories.actor_for(Role.reviewer)
    factories.grant(session, device, reviewer.organisation_id)
    with pytest.raises(PermissionDeniedError):
        submit(session, reviewer, device, validation_csv())
    assert [e.id for e in evaluations.evaluations_of_device(session, reviewer, device)] == [
        evaluation.id]


# --- retention and the monitoring reference ----------------------------------------------------


def test_reference_frame_renames_the_mapped_columns(session, maker, device):
    evaluation = submit(session, maker, device, validation_csv())
    frame = evaluations.reference_frame(session, evaluation)
    assert list(frame.columns) == ["id", "sex", "site", "y_true", "y_score"]
    assert len(frame) == evaluation.row_count == 500


def test_purge_deletes_raw_rows_and_keeps_results_hashes_and_chain(connection):
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
        old = submit(s, maker, device, validation_csv(seed=1))
        fresh = submit(s, maker, device, validation_csv(seed=2))
        old.created_at = datetime.now(UTC) - timedelta(days=400)
        s.add(old)
        old_id, fresh_id, sha = old.id, fresh.id, old.sha256
        results = json.loads(json.dumps(old.results))
    path = storage.get_store().path_for(sha)
    assert path.exists()
    with db.unit_of_work() as s:
        purged = evaluations.purge_raw_files(s, SYSTEM, retention_days=365)
        assert [e.id for e in purged] == [old_id]
    assert not path.exists()
    with db.unit_of_work() as s:
        kept = s.get(Evaluation, old_id)
        assert kept.artifact_id is None and kept.raw_purged_at is not None
        assert kept.sha256 == sha and kept.results == results
        assert s.get(Evaluation, fresh_id).artifact_id is not None
        assert audit.verify(s).ok
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "evaluation.purge_raw")
                      ).one().object_id == str(old_id)
        from registry.errors import ConflictError

        with pytest.raises(ConflictError, match="retention"):
            evaluations.reference_frame(s, kept)


# --- direct identifiers: the NIR key rule ------------------------------------------------------


def _nir(body: str) -> str:
    """A NIR with the key computed by hand: 97 - (number mod 97), Corsica 2A/2B as 19/18."""
    number = int(body.replace("2A", "19").replace("2B", "18"))
    return f"{body}{97 - number % 97:02d}"


@pytest.mark.parametrize("body", ["1841275116001", "18502" "2A" "004" "017",
                                  "1650599350042", "29009" "2B" "001123", "2781199123456"])
def test_nir_with_a_valid_key_is_refused_and_a_wrong_key_is_not(body):
    from registry.uploads import identifier_problems, nir_key_is_valid

    valid = _nir(body)
    wrong = valid[:-2] + f"{(int(valid[-2:]) + 1) % 97:02d}"
    assert nir_key_is_valid(valid) and not nir_key_is_valid(wrong)
    assert nir_key_is_valid(f"{valid[0]} {valid[1:3]} {valid[3:5]} {valid[5:7]} {valid[7:10]} "
                            f"{valid[10:13]} {valid[13:]}")
    refused = identifier_problems(pd.DataFrame({"ref": [valid] * 5}))
    assert refused == ["column 'ref' holds French social security numbers (NIR with a valid key)"]
    assert identifier_problems(pd.DataFrame({"ref": [wrong] * 5})) == []


def test_pseudonymous_ids_years_and_age_bands_are_accepted():
    from registry.uploads import identifier_problems

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "patient_id": rng.integers(10**14, 10**15, 500),  # 15-digit pseudonyms, ~1% valid keys
        "birth_year": rng.integers(1930, 2000, 500),
        "date_naissance": rng.integers(1930, 2000, 500).astype(str),  # a year only
        "age_band": rng.choice(["50-59", "60-69"], 500),
        "exam_date": "2025-03-14",
        "site_name": "CHU de Lyon",
    })
    assert identifier_problems(frame) == []


def test_a_stored_file_that_no_longer_reads_ends_the_evaluation_as_failed(connection):
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
        version = devices.candidate_version(s, device)
        queued = evaluations.submit_evaluation(
            s, maker, device.code, version.id, EvaluationIn(**MAPPING),
            io.BytesIO(validation_csv()), "valid.csv")
        evaluation_id, job_id, version_id = queued.id, queued.job_id, version.id
        # The blob is damaged between the upload and the job (a disk fault, say).
        storage.get_store().path_for(queued.sha256).write_bytes(b"case,sex\nc1")
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as s:
        failed = s.get(Evaluation, evaluation_id)
        assert failed.status == "failed" and "truncated" in failed.error
        assert failed.results is None and s.get(ModelVersion, version_id).evaluated_at is None
        assert s.exec(select(AuditEvent.action).where(
            AuditEvent.object_type == "evaluation",
            AuditEvent.object_id == str(evaluation_id))).all() == [
            "evaluation.submit", "evaluation.failed"]


def test_an_infinite_threshold_is_refused_at_the_edge():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="finite number"):
        EvaluationIn(**{**MAPPING, "threshold": "inf"})
