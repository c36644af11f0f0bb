"""A dossier built from a hand-made snapshot, with throwaway keys: no database needed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from registry import signing
from reports import dossier, sealing

SECTION_TITLES = {"identity": "Identity and intended purpose", "evaluations": "Evaluations",
                  "monitoring": "Monitoring history", "energy": "Energy"}


def make_snapshot(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 400), 0, 1)
    fpr, tpr, _ = roc_curve(y, p)
    observed, predicted = calibration_curve(y, p, n_bins=5, strategy="quantile")
    bins = [{"mean_predicted": float(m), "observed": {"estimate": float(o),
             "lower": max(0.0, float(o) - 0.05), "upper": min(1.0, float(o) + 0.05)}}
            for o, m in zip(observed, predicted, strict=True)]
    thresholds = [round(t / 20, 2) for t in range(1, 20)]
    prevalence = float(y.mean())
    net = [float(((p >= t) & (y == 1)).mean() - ((p >= t) & (y == 0)).mean() * t / (1 - t))
           for t in thresholds]
    auc = float(roc_auc_score(y, p))
    blocks = {
        "identity": [{"type": "fields", "title": "", "rows": [["Code", "SNAP-1"],
                                                              ["Intended purpose", "triage"]]}],
        "evaluations": [
            {"type": "table", "title": "Metrics", "columns": ["Metric", "Value", "95% CI"],
             "rows": [["auc", auc, "0.700 to 0.800"]], "mono": []},
            {"type": "chart", "id": "roc", "kind": "roc", "caption": "ROC of version 1.0",
             "args": {"curves": [{"label": f"1.0 (AUC {auc:.3f})", "x": fpr.tolist(),
                                  "y": tpr.tolist()}]}},
            {"type": "chart", "id": "cal", "kind": "calibration", "caption": "Calibration",
             "args": {"bins": bins, "label": "1.0"}},
            {"type": "chart", "id": "sub", "kind": "subgroups", "caption": "Subgroups",
             "args": {"rows": [{"label": "sex=F", "estimate": 0.8, "lower": 0.7, "upper": 0.9},
                               {"label": "sex=M", "estimate": 0.75, "lower": None,
                                "upper": None}], "metric": "auc", "overall": 0.78}},
            {"type": "chart", "id": "dca", "kind": "decision_curve", "caption": "Net benefit",
             "args": {"curve": {"thresholds": thresholds, "model": net,
                                "treat_all": [prevalence - (1 - prevalence) * t / (1 - t)
                                              for t in thresholds],
                                "treat_none": [0.0] * len(thresholds)}}},
        ],
        "monitoring": [{"type": "chart", "id": "drift", "kind": "series", "caption": "AUC",
                        "args": {"title": "Estimated AUC", "labels": ["2026-01", "2026-02"],
                                 "lines": {"auc": [0.8, None]}, "ylabel": "AUC"}}],
    }
    sections = [{"key": key, "title": title, "recorded": key in blocks,
                 "blocks": blocks.get(key, []), "missing": "" if key in blocks else
                 "nothing yet."} for key, title in SECTION_TITLES.items()]
    return {"format": "dmd-dossier/1", "dossier_id": f"00000000-0000-4000-8000-{seed:012d}",
            "generated_at": "2026-11-24T20:00:00+00:00", "requested_by": "auditor@example.org",
            "device": {"code": "SNAP-1", "name": "Snapshot device", "manufacturer": "Maker"},
            "registry": {"key_id": "k", "audit_head": {"seq": 7, "hash": "a" * 64}},
            "artifacts": [], "sections": sections}


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    return signing.load_or_create(folder / "signing_key.pem"), sealing.load_or_create(folder)


@pytest.fixture(scope="session")
def built(keys):
    signer, sealer = keys
    return dossier.build(make_snapshot(), signer, sealer)
