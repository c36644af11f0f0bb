"""Offline ``dmd-registry drift REFERENCE CURRENT``: the table, the JSON, the exit statuses
(0 pass, 1 drift with --fail-on-drift, 2 bad input) on real CSV and Parquet files; scores checked
against scipy."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from registry.cli import main


def _frames(n=2000, *, seed=0):
    """Reference and current: ``age`` shifted by half a SD, ``ward`` gains a category, ``lab``
    unchanged, ``score`` unchanged, ``case`` an id."""
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "case": np.arange(n),
            "age": rng.normal(60, 10, n),
            "ward": rng.choice(["icu", "er", "med"], n),
            "lab": rng.normal(5, 1, n),
            "score": rng.random(n),
        }
    )
    cur = pd.DataFrame(
        {
            "case": np.arange(n),
            "age": rng.normal(65, 10, n),
            "ward": rng.choice(["icu", "er", "med", "paeds"], n, p=[0.2, 0.3, 0.3, 0.2]),
            "lab": rng.normal(5, 1, n),
            "score": rng.random(n),
        }
    )
    cur.loc[cur.index[:100], "lab"] = np.nan
    return ref, cur


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.fixture(params=["csv", "parquet"])
def files(request, tmp_path):
    ref, cur = _frames()
    return (
        _write(ref, tmp_path / f"reference.{request.param}"),
        _write(cur, tmp_path / f"current.{request.param}"),
        ref,
        cur,
    )


def _run(*args):
    return CliRunner().invoke(main, ["drift", *map(str, args)], catch_exceptions=False)


def test_table_lists_every_column_with_test_score_and_verdict(files):
    ref_path, cur_path, ref, cur = files
    result = _run(ref_path, cur_path, "--exclude", "case")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line[:1].isalpha()}
    assert "Wasserstein distance (normed)" in rows["age"] and " yes " in rows["age"]
    assert "Jensen-Shannon distance" in rows["ward"] and "new categories: paeds" in rows["ward"]
    assert " no " in rows["lab"] and "5.0% missing" in rows["lab"]
    assert "case" not in rows
    expected = wasserstein_distance(ref.age, cur.age) / np.std(ref.age)
    assert f"{expected:.4g}" in rows["age"]
    assert "drifted: 2 of 4 tested columns (share 0.5" in result.output


def test_json_names_each_column_and_matches_scipy(files):
    ref_path, cur_path, ref, cur = files
    result = _run(ref_path, cur_path, "--json", "--exclude", "case", "--score-column", "score")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    columns = {c["column"]: c for c in data["columns"]}
    assert set(columns) == {"age", "ward", "lab"}
    assert data["prediction"]["column"] == "score" and data["prediction"]["drifted"] is False
    assert columns["age"]["score"] == pytest.approx(
        wasserstein_distance(ref.age, cur.age) / np.std(ref.age), rel=1e-9
    )
    keys = ["er", "icu", "med", "paeds"]
    p = ref.ward.value_counts().reindex(keys, fill_value=0) / len(ref)
    q = cur.ward.value_counts().reindex(keys, fill_value=0) / len(cur)
    assert columns["ward"]["score"] == pytest.approx(jensenshannon(p, q), rel=1e-9)
    assert columns["ward"]["new_categories"] == ["paeds"]
    assert columns["lab"]["missing_current"] == 100 and columns["lab"]["n_current"] == 1900
    assert data["drift_share"] == pytest.approx(2 / 3)
    assert data["exceeds_max_drift_share"] is True and data["max_drift_share"] == 0


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ([], 0),  # without --fail-on-drift drift is reported, not a failure
        (["--fail-on-drift"], 1),  # default 0: any drifted column fails
        (["--fail-on-drift", "--max-drift-share", "0.4"], 1),  # 0.5 > 0.4
        (["--fail-on-drift", "--max-drift-share", "0.5"], 0),  # 0.5 does not exceed 0.5
        (["--fail-on-drift", "--max-drift-share", "0.5", "--json"], 0),
        (["--fail-on-drift", "--json"], 1),
    ],
)
def test_fail_on_drift_exits_one_when_share_exceeds_the_maximum(files, options, status):
    ref_path, cur_path, *_ = files
    result = _run(ref_path, cur_path, "--exclude", "case", *options)
    assert result.exit_code == status, result.output


def test_no_drift_passes_with_fail_on_drift(tmp_path):
    ref, _ = _frames(seed=1)
    same, _ = _frames(seed=2)
    result = _run(
        _write(ref, tmp_path / "r.csv"), _write(same, tmp_path / "c.csv"), "--fail-on-drift"
    )
    assert result.exit_code == 0, result.output
    assert "drifted: 0 of 5 tested columns" in result.output


def test_column_type_override(files):
    ref_path, cur_path, *_ = files
    result = _run(ref_path, cur_path, "--json", "--column-type", "case=categorical")
    columns = {c["column"]: c for c in json.loads(result.output)["columns"]}
    assert columns["case"]["column_type"] == "categorical"
    assert columns["case"]["type_source"] == "declared"
    assert columns["age"]["type_source"] == "inferred"


def test_empty_column_is_reported_not_crashed_on(tmp_path):
    ref, cur = _frames(300)
    cur["lab"] = np.nan
    result = _run(_write(ref, tmp_path / "r.parquet"), _write(cur, tmp_path / "c.parquet"))
    assert result.exit_code == 0, result.output
    assert "skipped: column 'lab' is entirely missing in the current batch" in result.output
    assert "1 skipped" in result.output


@pytest.mark.parametrize(
    ("make", "options", "message"),
    [
        (lambda d: d / "absent.csv", [], "does not exist"),
        (lambda d: _bytes(d / "empty.csv", b""), [], "the file is empty"),
        (
            lambda d: _bytes(d / "x.parquet", b"PAR1 not really"),
            [],
            "CURRENT: x.parquet: not a complete Parquet file",
        ),
        (lambda d: _bytes(d / "other.csv", b"x,y\n1,2\n"), [], "no column in common"),
        (None, ["--max-drift-share", "1.5"], "--max-drift-share"),
        (None, ["--column-type", "age=text"], "NAME=numerical or NAME=categorical"),
        (None, ["--exclude", "nope"], "'nope' named in the options are not in both files"),
    ],
)
def test_bad_input_exits_two_with_a_clear_message(tmp_path, make, options, message):
    ref, cur = _frames(200)
    ref_path = _write(ref, tmp_path / "r.csv")
    cur_path = make(tmp_path) if make else _write(cur, tmp_path / "c.csv")
    result = CliRunner().invoke(main, ["drift", str(ref_path), str(cur_path), *options])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_nothing_testable_exits_two(tmp_path):
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    cur = pd.DataFrame({"a": [np.nan, np.nan]})
    result = _run(_write(ref, tmp_path / "r.parquet"), _write(cur, tmp_path / "c.parquet"))
    assert result.exit_code == 2
    assert "no column could be tested" in result.output
    assert "entirely missing in the current batch" in result.output


def _bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_command_runs_offline_without_importing_evidently(files):
    ref_path, cur_path, *_ = files
    code = (
        "import sys; from click.testing import CliRunner; from registry.cli import main; "
        f"r = CliRunner().invoke(main, ['drift', {str(ref_path)!r}, {str(cur_path)!r}]); "
        "assert r.exit_code == 0, r.output; "
        "assert not any(m.startswith('evidently') for m in sys.modules), 'evidently imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
