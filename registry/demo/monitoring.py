"""Demo data: monitoring configured before S6 is left; weekly batches for deployed devices (the
last one at one site visibly drifted, raising alerts) and a serious incident on its clock."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session

from registry.models import Stage, utcnow
from registry.schemas.monitoring import BatchIn, IncidentIn, MonitoringConfigIn
from registry.services import artifacts, devices, incidents
from registry.services import monitoring as service

SCHEMA = {"id_column": "record_id", "columns": [
    {"name": "record_id", "kind": "text"}, {"name": "age", "kind": "numeric"},
    {"name": "sex", "kind": "categorical"}, {"name": "density", "kind": "categorical"},
    {"name": "score", "kind": "numeric"}]}
RULES = [
    {"id": "drift-share", "kind": "drift_share_above", "severity": "high", "level": 0.4},
    {"id": "key-features", "kind": "feature_drifted", "severity": "medium",
     "columns": ["age", "score"]},
    {"id": "volume", "kind": "volume_outside", "severity": "low", "min_rows": 100,
     "max_rows": 5000},
    {"id": "missing", "kind": "missing_rate_above", "severity": "medium", "level": 0.05},
]


def _frame(n: int, seed: int, *, shift: float = 0.0, prefix: str = "r") -> pd.DataFrame:
    """Exams with the patient's age, sex, breast density and the model's calibrated score;
    ``shift`` moves the population (older patients, denser breasts, higher scores)."""
    rng = np.random.default_rng(seed)
    density = ["a", "b", "c", "d"]
    weights = [0.1, 0.4, 0.4, 0.1] if not shift else [0.05, 0.2, 0.45, 0.3]
    return pd.DataFrame({
        "record_id": [f"{prefix}{seed}-{i}" for i in range(n)],
        "age": rng.normal(61 + shift, 6.5, n).round(1),
        "sex": rng.choice(["F", "M"], n, p=[0.99, 0.01]),
        "density": rng.choice(density, n, p=weights),
        "score": rng.beta(1.2 + shift / 10, 12, n).round(4),
    })


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _configure(session: Session, demo) -> None:
    device = devices.get_device(session, demo.maker, demo.code)
    for deployment in devices.deployments_of(session, device):
        if service.config_of(session, deployment) is not None:
            continue
        reference = artifacts.upload_artifact(
            session, demo.maker, io.BytesIO(_csv(_frame(800, seed=deployment.id, prefix="v"))),
            f"{demo.code}-validation.csv", "text/csv")
        service.configure_monitoring(session, demo.maker, deployment.id, MonitoringConfigIn(
            batch_schema=SCHEMA, reference_artifact_id=reference.id, rules=RULES,
            subgroup_columns=["density"], threshold=0.2,
            calibration={"slope": 0.97, "intercept": 0.02},
            baseline={"sensitivity": 0.87, "specificity": 0.9},
            contacts="post-market surveillance team, pms@" + demo.code.lower() + ".example"))


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Configure monitoring of the demo deployments before S6 is left (gate item G6.5)."""
    if stage == Stage.S6_DEPLOYMENT:
        _configure(session, demo)


def after_seed(session: Session, demos: list) -> None:
    """Six weekly batches per deployed device; the last at the first site drifted; one serious
    incident with its reporting deadline."""
    now = utcnow()
    first = True
    for demo in demos:
        if demo.spec["stage"] != Stage.S7_POSTMARKET:
            continue
        _configure(session, demo)
        device = devices.get_device(session, demo.maker, demo.code)
        for deployment in devices.deployments_of(session, device):
            hospital = next(a for slug, a in demo.actors.items()
                            if slug.startswith(("chu-", "ch-"))
                            and a.organisation_id == deployment.hospital_id)
            for week in range(6):
                drifted = first and week == 5
                frame = _frame(600, seed=100 * deployment.id + week, shift=9 if drifted else 0,
                               prefix=f"w{week}-")
                batch = service.upload_batch(
                    session, hospital, deployment.id, io.BytesIO(_csv(frame)),
                    f"week-{week + 1}.csv",
                    BatchIn(period_start=now - timedelta(weeks=6 - week),
                            period_end=now - timedelta(weeks=5 - week)))
                batch.received_at = now - timedelta(weeks=5 - week)
                service._run(session, hospital, batch.id, service.analyse_batch)
                if week < 4:  # labels arrive weeks later: only the older batches have them
                    rng = np.random.default_rng(week)
                    labels = pd.DataFrame({"record_id": frame["record_id"], "y_true": (
                        rng.random(len(frame)) < frame["score"] * 3).astype(int)})
                    service.upload_labels(session, hospital, batch.id,
                                          io.BytesIO(_csv(labels)), f"labels-{week + 1}.csv")
                    service._run(session, hospital, batch.id, service.measure_batch)
            first = False
    for demo in demos:
        if demo.spec["stage"] == Stage.S7_POSTMARKET:
            device = devices.get_device(session, demo.maker, demo.code)
            incidents.report_incident(session, demo.maker, demo.code, IncidentIn(
                title="Interval cancer missed on a dense-breast exam at the Lyon site",
                description="Reported by the screening centre; the exam scored below the "
                            "recall threshold. Causal link under investigation.",
                serious=True, category="mdr_other_serious_incident", severity="high",
                awareness_at=datetime.now(UTC) - timedelta(days=4),
                deployment_id=devices.deployments_of(session, device)[0].id))
            break
