"""CodeCarbon wrapper measures real work; emissions.csv import rejects malformed files."""

import json
import time

import numpy as np
import pytest

from monitoring.energy import inference_per_1000, measure_energy, parse_codecarbon_csv
from monitoring.errors import MonitoringInputError


def _busy(seconds):
    a = np.random.default_rng(0).normal(size=(300, 300))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a = np.tanh(a @ a / 300)


def test_energy_is_positive_and_grows_with_work(capsys):
    with measure_energy(country_iso_code="FRA", measure_power_secs=0.5) as short:
        _busy(0.4)
    with measure_energy(country_iso_code="FRA", measure_power_secs=0.5) as long:
        _busy(1.6)
    s, lg = short.record, long.record
    assert 0 < s.energy_kwh < lg.energy_kwh
    assert lg.emissions_kg > 0 and lg.country == "FRA"
    assert lg.energy_kwh == pytest.approx(lg.cpu_kwh + (lg.gpu_kwh or 0) + lg.ram_kwh, rel=1e-6)
    assert lg.method and lg.caveats
    assert json.loads(json.dumps(lg.to_dict(), allow_nan=False))["source"] == "measured"
    # CodeCarbon's INFO / WARNING chatter is silenced inside the block.
    captured = capsys.readouterr()
    assert "codecarbon" not in captured.out + captured.err


def test_record_is_not_available_inside_the_block():
    with measure_energy() as m:
        with pytest.raises(RuntimeError, match="only after the with-block exits"):
            _ = m.record
    assert m.record.energy_kwh >= 0


def test_invalid_tracker_arguments():
    with pytest.raises(MonitoringInputError) as caught:
        with measure_energy(country_iso_code="France", tracking_mode="gpu"):
            pass
    assert caught.value.problems == (
        "country_iso_code must be a 3-letter ISO code such as 'FRA'. Got 'France' instead",
        "tracking_mode must be 'process' or 'machine'. Got 'gpu' instead",
    )


HEADER = (
    "timestamp,project_name,duration,emissions,energy_consumed,cpu_energy,gpu_energy,"
    "ram_energy,country_iso_code,tracking_mode"
)


def test_parse_codecarbon_csv_reads_rows():
    text = (
        HEADER + "\n"
        "2025-04-01T10:00:00,train,3600.5,1.2,21.5,15.0,5.0,1.5,FRA,machine\n"
        "2025-04-02T10:00:00,infer,10,0.0001,0.002,0.0015,,0.0005,FRA,process\n"
    )
    first, second = parse_codecarbon_csv(text.encode("utf-8-sig"))
    parsed = first.to_dict()
    expected = {"duration_s": 3600.5, "energy_kwh": 21.5, "gpu_kwh": 5.0, "emissions_kg": 1.2}
    assert {k: parsed[k] for k in expected} == expected
    assert second.gpu_kwh is None and second.tracking_mode == "process"
    assert first.source == "imported" and first.country == "FRA"


def test_parse_codecarbon_csv_names_missing_columns():
    with pytest.raises(MonitoringInputError) as caught:
        parse_codecarbon_csv("timestamp,duration,emissions\n2025-01-01T00:00:00,1,2\n")
    assert caught.value.problems == (
        "missing required column(s): 'energy_consumed', 'cpu_energy', 'ram_energy' "
        "(found: 'timestamp', 'duration', 'emissions')",
    )


def test_parse_codecarbon_csv_reads_old_mac_line_ends():
    rows = ("2025-04-01T10:00:00,train,3600.5,1.2,21.5,15.0,5.0,1.5,FRA,machine",
            "2025-04-02T10:00:00,infer,10,0.0001,0.002,0.0015,,0.0005,FRA,process")
    crlf = parse_codecarbon_csv("\r\n".join((HEADER, *rows)))
    assert parse_codecarbon_csv("\r".join((HEADER, *rows))) == crlf
    assert [r.energy_kwh for r in crlf] == [21.5, 0.002]


def test_parse_codecarbon_csv_names_the_line_the_csv_reader_refuses():
    # A field longer than the csv module's limit (what a binary file read as text gives).
    huge = "2025-04-01T10:00:00,a,1,2,3,4,5,6,FRA," + "x" * 200_000 + "\n"
    with pytest.raises(MonitoringInputError) as caught:
        parse_codecarbon_csv(HEADER + "\n" + huge)
    assert caught.value.problems[0].startswith("line 2: not valid CSV (field larger than")


def test_parse_codecarbon_csv_lists_every_bad_value():
    text = (
        HEADER + "\n"
        "2025-04-01T10:00:00,a,12,abc,0.1,0.05,0,0.05,FRA,machine\n"
        "yesterday,b,-3,0.1,,0.05,x,0.05,FRA,machine\n"
        "2025-04-01T10:00:00,c,1,0.1,nan,0.05,0,0.05,FRA,machine,extra\n"
    )
    with pytest.raises(MonitoringInputError) as caught:
        parse_codecarbon_csv(text)
    assert caught.value.problems == (
        "line 2, column 'emissions': 'abc' is not a number",
        "line 3, column 'duration': '-3' must be a finite number >= 0",
        "line 3, column 'energy_consumed': value is empty",
        "line 3, column 'gpu_energy': 'x' is not a number",
        "line 3, column 'timestamp': 'yesterday' is not an ISO 8601 date-time",
        "line 4: more values than header columns",
    )


@pytest.mark.parametrize(
    "data,problem",
    [
        (b"", "the file is empty: expected a header and at least one row"),
        ("  \n", "the file is empty: expected a header and at least one row"),
        (HEADER + "\n", "the file has a header but no data rows"),
        (b"\xff\xfe\x00", "the file is not UTF-8 text (byte 0 cannot be decoded)"),
    ],
)
def test_parse_codecarbon_csv_rejects_empty_or_undecodable_files(data, problem):
    with pytest.raises(MonitoringInputError) as caught:
        parse_codecarbon_csv(data)
    assert caught.value.problems == (problem,)


def test_inference_per_1000():
    assert inference_per_1000(0.5, 20_000) == pytest.approx(0.025)
    assert inference_per_1000(0.0, 1) == 0.0
    with pytest.raises(MonitoringInputError) as caught:
        inference_per_1000(-1.0, 0)
    assert caught.value.problems == (
        "energy_kwh must be a non-negative number. Got -1.0 instead",
        "n_predictions must be a positive integer. Got 0 instead",
    )
