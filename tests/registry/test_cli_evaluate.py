"""Offline ``dmd-registry evaluate`` and ``compare``: numbers checked against scikit-learn,
statsmodels and a slow DeLong; bad files end with a clear message and a non-zero status."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn import metrics as skm
from statsmodels.stats.proportion import proportion_confint

from registry.cli import main
from tests.evaluation.test_compare import slow_paired_delong
from tests.evaluation.test_intervals import logit_interval_by_hand, textbook_delong_variance

Z95 = 1.959963984540054


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    y = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "case": np.arange(n),
            "outcome": np.where(y, "poor", "good"),
            "p": np.round(np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1), 3),
            "q": np.round(rng.normal(size=n) + 0.6 * y, 2),
            "sex": rng.choice(["F", "M"], n),
        }
    )


@pytest.fixture(params=["csv", "parquet"])
def path(request, frame, tmp_path) -> Path:
    target = tmp_path / f"validation.{request.param}"
    if request.param == "csv":
        frame.to_csv(target, index=False)
    else:
        frame.to_parquet(target)
    return target


EVALUATE = "evaluate {} --label outcome --score p --positive poor"
COMPARE = "compare {} --label outcome --score p --score q --positive poor"


def argv(template: str, path: Path, extra: str = "") -> list[str]:
    return [str(path) if a == "{}" else a for a in f"{template} {extra}".split()]


def run(template: str, path: Path, extra: str = ""):
    return CliRunner().invoke(main, argv(template, path, extra))


def subprocess_run(template: str, path: Path, extra: str = ""):
    executable = Path(sys.executable).with_name("dmd-registry")
    return subprocess.run(
        [executable, *argv(template, path, extra)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def evaluate_json(path: Path, extra: str = "") -> dict:
    result = run(EVALUATE, path, f"--json {extra}")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_evaluate_json_metrics_match_sklearn_and_statsmodels(path, frame):
    out = evaluate_json(path, "--threshold 0.45")
    y, p = (frame["outcome"] == "poor").to_numpy(), frame["p"].to_numpy()
    metrics = out["metrics"]
    for name in ("auc", "sensitivity", "specificity", "ppv", "npv", "accuracy", "brier"):
        assert set(metrics[name]) == {"estimate", "ci_low", "ci_high", "method"}, name
    auc = skm.roc_auc_score(y, p)
    assert metrics["auc"]["estimate"] == pytest.approx(auc, abs=1e-14)
    low, high = logit_interval_by_hand(auc, textbook_delong_variance(y, p), 0.95)
    assert (metrics["auc"]["ci_low"], metrics["auc"]["ci_high"]) == pytest.approx(
        (low, high), abs=1e-12
    )
    assert metrics["auc"]["method"] == "delong-logit"
    assert metrics["brier"]["estimate"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-15)
    called = p >= 0.45
    tp, tn = int(np.sum(called & y)), int(np.sum(~called & ~y))
    low, high = proportion_confint(tp, int(y.sum()), method="wilson")
    assert metrics["sensitivity"]["estimate"] == pytest.approx(skm.recall_score(y, called))
    assert (metrics["sensitivity"]["ci_low"], metrics["sensitivity"]["ci_high"]) == pytest.approx(
        (low, high), abs=1e-12
    )
    assert metrics["specificity"]["estimate"] == pytest.approx(tn / int((~y).sum()))
    assert metrics["ppv"]["estimate"] == pytest.approx(skm.precision_score(y, called))
    assert metrics["accuracy"]["estimate"] == pytest.approx(skm.accuracy_score(y, called))
    assert out["threshold"] == 0.45 and out["positive"] == "poor" and out["n"] == len(frame)
    assert {"bins", "ece", "slope", "intercept"} <= set(out["calibration"])
    assert "subgroups" not in out


def test_evaluate_subgroups_are_recomputed_per_level(path, frame):
    out = evaluate_json(path, "--group sex")
    levels = out["subgroups"]["sex"]["levels"]
    assert set(levels) == {"F", "M"}
    for level, group in levels.items():
        rows = frame[frame["sex"] == level]
        y = (rows["outcome"] == "poor").to_numpy()
        assert group["n"] == len(rows)
        assert group["metrics"]["auc"]["estimate"] == pytest.approx(
            skm.roc_auc_score(y, rows["p"]), abs=1e-14
        )
        assert group["gaps"]["auc"] == pytest.approx(
            group["metrics"]["auc"]["estimate"] - out["metrics"]["auc"]["estimate"], abs=1e-14
        )
    assert "fewer than 30" in out["subgroups"]["sex"]["minimum_rule"]


def test_evaluate_readable_report_names_metrics_and_intervals(path):
    result = run(EVALUATE, path, "--group sex")
    assert result.exit_code == 0, result.output
    assert "auc" in result.output and "delong" in result.output and "wilson" in result.output
    assert "Subgroups by 'sex'" in result.output
    assert "Threshold 0.5 (a case is positive when score >= threshold)" in result.output


def test_compare_json_matches_slow_paired_delong(path, frame):
    result = run(COMPARE, path, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"auc_a", "auc_b", "difference", "z", "p_value", "ci_low", "ci_high"}
    y = (frame["outcome"] == "poor").to_numpy()
    auc_a, auc_b, z, p_value = slow_paired_delong(y, frame["p"].to_numpy(), frame["q"].to_numpy())
    assert (out["auc_a"], out["auc_b"]) == pytest.approx((auc_a, auc_b), abs=1e-14)
    assert out["auc_a"] == pytest.approx(skm.roc_auc_score(y, frame["p"]), abs=1e-14)
    assert out["z"] == pytest.approx(z, rel=1e-10)
    assert out["p_value"] == pytest.approx(p_value, rel=1e-9)
    se = (auc_a - auc_b) / z
    assert out["ci_low"] == pytest.approx(auc_a - auc_b - Z95 * se, abs=1e-12)
    readable = run(COMPARE, path)
    assert readable.exit_code == 0 and "Paired DeLong test" in readable.output


def test_positive_value_is_matched_to_the_column_type(tmp_path):
    target = tmp_path / "numeric.csv"
    pd.DataFrame({"y": [0, 1, 0, 1, 1, 0], "s": [0.1, 0.8, 0.3, 0.6, 0.4, 0.5]}).to_csv(
        target, index=False
    )
    result = run("evaluate {} --label y --score s --positive 1 --json", target)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["metrics"]["auc"]["estimate"] == pytest.approx(
        skm.roc_auc_score([0, 1, 0, 1, 1, 0], [0.1, 0.8, 0.3, 0.6, 0.4, 0.5])
    )


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    target = tmp_path / name
    target.write_bytes(content)
    return target


@pytest.mark.parametrize(
    "name,content,score,message",
    [
        (
            "missing.csv",
            b"outcome,score\n1,0.2\n0,0.4\n",
            "--score p",
            "column 'p' (score, y_score) not found",
        ),
        (
            "nan.csv",
            b"outcome,p\n1,0.2\n0,NaN\n1,0.7\n",
            "--score p",
            "column 'p': 1 missing value (row 2)",
        ),
        (
            "inf.csv",
            b"outcome,p\n1,0.2\n0,inf\n1,0.7\n",
            "--score p",
            "column 'p': 1 infinite value",
        ),
        ("text.csv", b"outcome,p\n1,0.2\n0,high\n", "--score p", "expected numbers"),
        ("one.csv", b"outcome,p\n1,0.2\n1,0.4\n", "--score p", "only one class present"),
        ("three.csv", b"outcome,p\n1,0.2\n0,0.4\n2,0.5\n", "--score p", "3 distinct values"),
        (
            "absent.csv",
            b"outcome,p\n0,0.2\n0,0.4\n",
            "--score p",
            "no row has the positive value '1'",
        ),
        ("empty.csv", b"", "--score p", "the file is empty"),
        ("header.csv", b"outcome,p\n", "--score p", "the file has column names but no data rows"),
        ("ragged.csv", b"outcome,p\n1,0.2\n0\n", "--score p", "Expected 2 columns, got 1"),
        (
            "latin1.csv",
            "outcome,p,name\n1,0.2,\xe9\n0,0.4,a\n".encode("latin-1"),
            "--score p",
            "not UTF-8 text (byte 0xe9 on line 2)",
        ),
        ("cut.parquet", b"PAR1" + b"\0" * 40, "--score p", "not a complete Parquet file"),
        ("logit.csv", b"outcome,p\n1,2.5\n0,-1.0\n", "--score p", "give the operating threshold"),
    ],
)
def test_bad_input_exits_nonzero_with_a_clear_message(tmp_path, name, content, score, message):
    target = write(tmp_path, name, content)
    result = run("evaluate {} --label outcome --positive 1", target, score)
    assert result.exit_code == 1
    assert message in result.output


def test_truncated_parquet_and_missing_file_are_refused(tmp_path, frame):
    whole = tmp_path / "whole.parquet"
    frame.to_parquet(whole)
    cut = write(tmp_path, "cut.parquet", whole.read_bytes()[: whole.stat().st_size // 2])
    for target in (cut, tmp_path / "absent.csv"):
        result = run(COMPARE, target)
        assert result.exit_code == 1
        assert "not a complete Parquet file" in result.output or "not found" in result.output


def test_compare_reports_problems_of_both_scores_and_needs_two(tmp_path):
    target = write(tmp_path, "c.csv", b"outcome,a,b\n1,0.2,x\n0,NaN,0.3\n1,0.5,0.9\n")
    result = run("compare {} --label outcome --score a --score b --positive 1", target)
    assert result.exit_code == 1
    assert "column 'a': 1 missing value" in result.output
    assert "column 'b': expected numbers" in result.output
    once = run("compare {} --label outcome --score a --positive 1", target)
    assert once.exit_code == 2 and "give two different score columns" in once.output


def test_real_subprocess_prints_json_and_fails_cleanly(tmp_path, frame):
    target = tmp_path / "validation.csv"
    frame.to_csv(target, index=False)
    done = subprocess_run(EVALUATE, target, "--json")
    assert done.returncode == 0, done.stderr
    y = (frame["outcome"] == "poor").to_numpy()
    out = json.loads(done.stdout)
    assert out["metrics"]["auc"]["estimate"] == pytest.approx(
        skm.roc_auc_score(y, frame["p"]), abs=1e-14
    )
    compared = subprocess_run(COMPARE, target, "--json")
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["auc_b"] == pytest.approx(
        skm.roc_auc_score(y, frame["q"]), abs=1e-14
    )
    failed = subprocess_run("evaluate {} --label outcom --score p --positive poor", target)
    assert failed.returncode == 1
    assert "column 'outcom' (reference standard, y_true) not found; did you mean 'outcome'?" in (
        failed.stderr
    )
    assert "Traceback" not in failed.stderr
