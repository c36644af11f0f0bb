"""Demo data: Validation results and the evaluations computed from them (issue #4).

Each demo device that leaves S3 gets an internal validation set and each that leaves S4 an
external one from two sites; both are generated here (seeded, so the demo is the same every
time), uploaded as CSV through the real service and evaluated at once, so the gates G3.3 and
G4.1-G4.4 pass on real numbers. Scores are calibrated probabilities drawn from a latent risk (the
rhythm classifier's class probabilities come first and the reference rhythm is drawn from them),
so discrimination, calibration and subgroup gaps are what a good model would show.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sqlmodel import Session

from registry.models import Stage
from registry.schemas.evaluations import EvaluationIn
from registry.services import devices, evaluations

#: Per device: the latent-risk slope (discrimination), prevalence, the operating threshold.
PROFILES = {
    "DEMO-01": {"slope": 5.0, "prevalence": 0.30, "threshold": 0.27},
    "DEMO-03": {"slope": 3.4, "prevalence": 0.40, "threshold": 0.08},
    "DEMO-06": {"slope": 1.7, "prevalence": 0.15, "threshold": 0.15},
    "DEMO-07": {"slope": 2.6, "prevalence": 0.25, "threshold": 0.25},
}
RHYTHMS = ["normal", "AF", "flutter", "AVB1"]
#: How the probability a rhythm classifier does not give the rhythm an ECG looks like spreads
#: (Dirichlet weights): little goes to AF, whose irregular RR intervals are rarely mistaken.
ERRORS = [1.0, 0.2, 1.0, 1.0]
SITES = {"external": ["CHU de Lyon", "CHU de Nantes"], "internal": ["development centre"]}


def validation_frame(spec: dict, *, rows: int, seed: int, sites: list[str]) -> pd.DataFrame:
    """Synthetic, pseudonymised validation results for the demo device ``spec``: an id, the
    declared subgroup variables, a site, the reference standard and the model's output."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"case_id": [f"{spec['code']}-{seed}-{i:05d}" for i in range(rows)]})
    for variable, levels, *_ in spec["subgroups"]:
        frame[variable] = rng.choice(levels, size=rows)
    frame["site"] = rng.choice(sites, size=rows)
    if spec["task"] == "multiclass":
        # The rhythm an ECG looks like gets most of the probability (AF 0.98 on average, the
        # others 0.95), the rest is spread as ERRORS says; the reference is drawn from these
        # probabilities, so they are calibrated, and the prediction is the most probable rhythm.
        looks = rng.choice(len(RHYTHMS), size=rows, p=[0.55, 0.25, 0.1, 0.1])
        certainty = rng.beta(np.where(looks == RHYTHMS.index("AF"), 60.0, 20.0), 1.0)
        probabilities = (certainty[:, None] * np.eye(len(RHYTHMS))[looks]
                         + (1 - certainty)[:, None] * rng.dirichlet(ERRORS, rows))
        truth = (rng.random(rows)[:, None] > probabilities.cumsum(axis=1)[:, :-1]).sum(axis=1)
        frame["rhythm"] = np.array(RHYTHMS)[truth]
        frame["predicted_rhythm"] = np.array(RHYTHMS)[probabilities.argmax(axis=1)]
        for code, rhythm in enumerate(RHYTHMS):
            frame[f"p_{rhythm}"] = np.round(probabilities[:, code], 4)
        return frame
    profile = PROFILES[spec["code"]]
    intercept = np.log(profile["prevalence"] / (1 - profile["prevalence"]))
    latent = rng.standard_normal(rows)
    risk = 1 / (1 + np.exp(-(intercept - 0.5 * profile["slope"] ** 2 / 4 + profile["slope"]
                             * latent)))
    frame["outcome"] = (rng.random(rows) < risk).astype(int)
    frame["score"] = np.round(risk, 4)
    return frame


def mapping(spec: dict, kind: str, site: str, groups: list[str]) -> EvaluationIn:
    common = dict(dataset_kind=kind, site=site, period_start="2025-01-01",
                  period_end="2025-12-31", group_columns=groups, site_column="site",
                  id_column="case_id")
    if spec["task"] == "multiclass":
        return EvaluationIn(label_column="rhythm", prediction_column="predicted_rhythm",
                            class_score_columns={r: f"p_{r}" for r in RHYTHMS}, **common)
    return EvaluationIn(label_column="outcome", score_column="score", positive_label="1",
                        threshold=PROFILES[spec["code"]]["threshold"], **common)


def upload(session: Session, demo, kind: str, *, rows: int, seed: int) -> None:
    spec = demo.spec
    device = devices.get_device(session, demo.maker, demo.code)
    version = devices.candidate_version(session, device)
    sites = SITES["internal" if kind == "internal" else "external"]
    frame = validation_frame(spec, rows=rows, seed=seed, sites=sites)
    groups = [variable for variable, *_ in spec["subgroups"]]
    site = "development centre" if kind == "internal" else " and ".join(sites)
    evaluations.submit_evaluation(
        session, demo.maker, demo.code, version.id, mapping(spec, kind, site, groups),
        io.BytesIO(frame.to_csv(index=False).encode()), f"{demo.code}-{kind}-validation.csv",
        synchronous=True)


def before_exit(session: Session, demo, stage: Stage) -> None:
    """Called before the demo device ``demo`` (registry.demo.DemoDevice) leaves ``stage``."""
    if demo.spec["task"] not in ("binary", "risk", "multiclass"):
        return
    if stage == Stage.S3_MODEL:
        upload(session, demo, "internal", rows=1200, seed=11)
    elif stage == Stage.S4_VALIDATION:
        upload(session, demo, "external", rows=3000, seed=22)


def after_seed(session: Session, demos: list) -> None:
    """DEMO-03 waits in S4: its external study is under way, with a first interim upload."""
    for demo in demos:
        if demo.code == "DEMO-03" and demo.spec["stage"] == Stage.S4_VALIDATION:
            upload(session, demo, "external", rows=400, seed=33)
