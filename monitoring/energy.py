"""Energy and carbon footprint of a computation, measured with CodeCarbon offline, or imported.

:func:`measure_energy` wraps CodeCarbon's ``OfflineEmissionsTracker``: no network, no file and no
API output of its own (``output_methods=[]``); the carbon intensity comes from the country given
(France by default). The result is an :class:`EnergyRecord` that says how it was measured: on
virtual machines without readable RAPL counters CodeCarbon *estimates* CPU power from the CPU's
TDP and load, and RAM power from installed memory; the record lists such caveats.

:func:`parse_codecarbon_csv` reads a manufacturer's ``emissions.csv`` into the same records.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError

#: Columns an ``emissions.csv`` must have (CodeCarbon 2.x and 3.x write all of them).
REQUIRED_CSV_COLUMNS = (
    "timestamp",
    "duration",
    "emissions",
    "energy_consumed",
    "cpu_energy",
    "ram_energy",
)

#: How CodeCarbon's CPU modes translate into a method people can read.
_CPU_METHODS = {
    "intel_rapl": "RAPL energy counters",
    "windows_emi": "Windows Energy Meter Interface (RAPL)",
    "intel_power_gadget": "Intel Power Gadget",
    "cpu_load": "estimated from TDP/CPU load",
    "constant": "estimated from a constant TDP",
}


@dataclass(frozen=True)
class EnergyRecord(PlainData):
    """Energy used by one computation and its emissions.

    Attributes
    ----------
    duration_s : float
        Wall-clock duration in seconds.
    energy_kwh : float
        Total energy (CPU + GPU + RAM) in kWh.
    cpu_kwh, gpu_kwh, ram_kwh : float or None
        Split by component; None where not known (e.g. no GPU tracked).
    emissions_kg : float
        kg CO2-equivalent, from the energy and the country's carbon intensity.
    country : str or None
        ISO 3166-1 alpha-3 code of the carbon intensity used.
    method : str
        How CPU energy was obtained, e.g. "estimated from TDP/CPU load" or "RAPL energy
        counters"; "imported from CodeCarbon emissions.csv" for imports.
    caveats : tuple of str
        What makes the figure an estimate or incomplete.
    tracking_mode : str or None
        CodeCarbon's "process" (this process's share) or "machine" (whole machine).
    cpu_model : str or None
    started_at : datetime or None
        Start time (UTC) when measured here; for imports the CSV timestamp as written (CodeCarbon
        writes the local time of the writer's machine, without an offset).
    source : {"measured", "imported"}
    """

    duration_s: float
    energy_kwh: float
    cpu_kwh: float | None
    gpu_kwh: float | None
    ram_kwh: float | None
    emissions_kg: float
    country: str | None
    method: str
    caveats: tuple[str, ...]
    tracking_mode: str | None = None
    cpu_model: str | None = None
    started_at: dt.datetime | None = None
    source: str = "measured"


class EnergyMeasurement:
    """Handle yielded by :func:`measure_energy`; ``record`` is set when the block exits."""

    def __init__(self) -> None:
        self._record: EnergyRecord | None = None

    @property
    def record(self) -> EnergyRecord:
        """The measurement, available after the ``with`` block.

        Raises
        ------
        RuntimeError
            If read inside the block, before the measurement is finished.
        """
        if self._record is None:
            raise RuntimeError("the energy record is available only after the with-block exits")
        return self._record


@contextmanager
def measure_energy(
    country_iso_code: str = "FRA",
    *,
    tracking_mode: str = "process",
    measure_power_secs: float = 1.0,
) -> Iterator[EnergyMeasurement]:
    """Measure the energy and emissions of the code inside the ``with`` block.

    Parameters
    ----------
    country_iso_code : str, default "FRA"
        ISO 3166-1 alpha-3 code whose grid carbon intensity converts energy to emissions.
    tracking_mode : {"process", "machine"}, default "process"
        Attribute CPU and RAM power to this process only, or count the whole machine.
    measure_power_secs : float, default 1.0
        Sampling interval of CodeCarbon's power monitor.

    Yields
    ------
    EnergyMeasurement
        Its ``record`` (an :class:`EnergyRecord`) is set when the block exits, also when the
        block raised (the exception then propagates).

    Raises
    ------
    MonitoringInputError
        If an argument is invalid.
    RuntimeError
        If CodeCarbon produced no measurement (it swallows its own errors).

    Notes
    -----
    CodeCarbon's first start in a process detects the hardware (1.6-3.9 s on the reference
    machine); later trackers start in about 0.01 s. Its logger is silenced inside the block:
    its INFO and WARNING lines print even at ``log_level="error"``, and what they say is
    reported in the record's ``caveats``.

    Examples
    --------
    >>> with measure_energy(country_iso_code="FRA") as m:  # doctest: +SKIP
    ...     sum(i * i for i in range(10**6))
    >>> m.record.energy_kwh > 0  # doctest: +SKIP
    True
    """
    problems = []
    if not isinstance(country_iso_code, str) or len(country_iso_code) != 3:
        problems.append(
            f"country_iso_code must be a 3-letter ISO code such as 'FRA'. "
            f"Got {country_iso_code!r} instead"
        )
    if tracking_mode not in ("process", "machine"):
        problems.append(
            f"tracking_mode must be 'process' or 'machine'. Got {tracking_mode!r} instead"
        )
    if not isinstance(measure_power_secs, int | float) or not measure_power_secs > 0:
        problems.append(
            f"measure_power_secs must be a positive number. Got {measure_power_secs!r} instead"
        )
    if problems:
        raise MonitoringInputError(problems)

    from codecarbon import OfflineEmissionsTracker

    measurement = EnergyMeasurement()
    codecarbon_logger = logging.getLogger("codecarbon")
    was_disabled = codecarbon_logger.disabled
    codecarbon_logger.disabled = True
    try:
        tracker = OfflineEmissionsTracker(
            country_iso_code=country_iso_code.upper(),
            output_methods=[],
            log_level="error",
            measure_power_secs=measure_power_secs,
            tracking_mode=tracking_mode,
        )
        started_at = dt.datetime.now(dt.UTC)
        tracker.start()
        try:
            yield measurement
        finally:
            tracker.stop()
            data = getattr(tracker, "final_emissions_data", None)
            if data is None:
                raise RuntimeError(
                    "CodeCarbon produced no measurement (its start or stop failed silently)"
                )
            measurement._record = _record_from_tracker(tracker, data, started_at)
    finally:
        codecarbon_logger.disabled = was_disabled


def _record_from_tracker(tracker: Any, data: Any, started_at: dt.datetime) -> EnergyRecord:
    method, caveats = _method_and_caveats(tracker)
    gpu_tracked = any(type(h).__name__ == "GPU" for h in getattr(tracker, "_hardware", []))
    return EnergyRecord(
        duration_s=float(data.duration),
        energy_kwh=float(data.energy_consumed),
        cpu_kwh=float(data.cpu_energy),
        gpu_kwh=float(data.gpu_energy) if gpu_tracked else None,
        ram_kwh=float(data.ram_energy),
        emissions_kg=float(data.emissions),
        country=data.country_iso_code or None,
        method=method,
        caveats=tuple(caveats),
        tracking_mode=data.tracking_mode,
        cpu_model=data.cpu_model or None,
        started_at=started_at,
        source="measured",
    )


def _method_and_caveats(tracker: Any) -> tuple[str, list[str]]:
    # CodeCarbon exposes no public "how was this measured"; its hardware list (private) holds
    # the CPU object and its mode. Read it defensively and say so when it cannot be read.
    hardware = list(getattr(tracker, "_hardware", []) or [])
    caveats: list[str] = []
    cpu = next((h for h in hardware if type(h).__name__ == "CPU"), None)
    apple = next((h for h in hardware if type(h).__name__ == "AppleSiliconChip"), None)
    if cpu is not None:
        mode = getattr(cpu, "_mode", None)
        method = _CPU_METHODS.get(mode, f"CodeCarbon CPU mode {mode!r}")
        if mode in ("cpu_load", "constant"):
            caveats.append("CPU power estimated: no hardware energy counters (RAPL) readable")
        if getattr(cpu, "_is_generic_tdp", False):
            caveats.append(
                "CPU model not in CodeCarbon's TDP table: a generic power per thread was used"
            )
    elif apple is not None:
        method = "Apple PowerMetrics"
    elif any(type(h).__name__ == "Raspberry" for h in hardware):
        method = "Raspberry Pi power management IC"
    else:
        method = "unknown (CodeCarbon hardware state not readable)"
        caveats.append("measurement method could not be read from CodeCarbon")
    if not any(type(h).__name__ in ("GPU", "AppleSiliconChip") for h in hardware):
        caveats.append("no GPU tracked: GPU energy unknown (none found or not supported)")
    if any(type(h).__name__ == "RAM" for h in hardware):
        caveats.append("RAM power estimated from installed memory, not measured")
    if getattr(tracker, "_tracking_mode", None) == "process":
        caveats.append("process mode: CPU and RAM power attributed to this process by its load")
    return method, caveats


def _rows(reader: csv.DictReader):
    """(line number, row) pairs; a malformed line is an input error that names it (the
    DictReader's own line_num is only updated after a successful read)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise MonitoringInputError(
                [f"line {reader.reader.line_num}: not valid CSV ({err})"]) from None
        yield reader.line_num, row


def parse_codecarbon_csv(data: bytes | str) -> list[EnergyRecord]:
    """Read a CodeCarbon ``emissions.csv`` into energy records.

    Parameters
    ----------
    data : bytes or str
        File content; bytes are decoded as UTF-8 (a byte-order mark is accepted).

    Returns
    -------
    list of EnergyRecord
        One per data row, ``source="imported"``.

    Raises
    ------
    MonitoringInputError
        For an empty or undecodable file, missing required columns
        (:data:`REQUIRED_CSV_COLUMNS`), and every bad value (not a number, negative, NaN),
        each named by line and column.

    Examples
    --------
    >>> text = ("timestamp,duration,emissions,energy_consumed,cpu_energy,gpu_energy,ram_energy\\n"
    ...         "2025-01-01T10:00:00,12.5,0.0001,0.002,0.0015,0,0.0005\\n")
    >>> record = parse_codecarbon_csv(text)[0]
    >>> record.energy_kwh, record.gpu_kwh
    (0.002, 0.0)
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise MonitoringInputError(
                [f"the file is not UTF-8 text (byte {err.start} cannot be decoded)"]
            ) from None
    elif isinstance(data, str):
        data = data.removeprefix("\ufeff")
    else:
        raise MonitoringInputError(
            [f"data must be the CSV file as bytes or str. Got {type(data).__name__} instead"]
        )
    if not data.strip():
        raise MonitoringInputError(["the file is empty: expected a header and at least one row"])

    # newline="": the csv module reads \r, \n and \r\n line ends itself, and a lone \r inside
    # a quoted field stays data instead of crashing the reader.
    reader = csv.DictReader(io.StringIO(data, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as err:
        raise MonitoringInputError(
            [f"line {reader.reader.line_num}: not valid CSV ({err})"]) from None
    header = [name.strip() for name in (fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
    if missing:
        raise MonitoringInputError(
            [
                "missing required column(s): "
                + ", ".join(repr(c) for c in missing)
                + f" (found: {', '.join(repr(c) for c in header)})"
            ]
        )

    problems: list[str] = []
    records: list[EnergyRecord] = []
    for line, row in _rows(reader):
        if None in row:
            problems.append(f"line {line}: more values than header columns")
            continue
        values = {}
        for column in ("duration", "emissions", "energy_consumed", "cpu_energy", "ram_energy"):
            values[column] = _number(row.get(column), line, column, problems, required=True)
        gpu = _number(row.get("gpu_energy"), line, "gpu_energy", problems, required=False)
        timestamp = _timestamp(row.get("timestamp"), line, problems)
        if any(v is None for v in values.values()):
            continue
        tracking_mode = (row.get("tracking_mode") or "").strip() or None
        records.append(
            EnergyRecord(
                duration_s=values["duration"],
                energy_kwh=values["energy_consumed"],
                cpu_kwh=values["cpu_energy"],
                gpu_kwh=gpu,
                ram_kwh=values["ram_energy"],
                emissions_kg=values["emissions"],
                country=(row.get("country_iso_code") or "").strip() or None,
                method="imported from CodeCarbon emissions.csv",
                caveats=(
                    "declared by the manufacturer; the file does not say whether CPU power was "
                    "measured (RAPL) or estimated from TDP",
                ),
                tracking_mode=tracking_mode,
                cpu_model=(row.get("cpu_model") or "").strip() or None,
                started_at=timestamp,
                source="imported",
            )
        )
    if not records and not problems:
        problems.append("the file has a header but no data rows")
    if problems:
        raise MonitoringInputError(problems)
    return records


def inference_per_1000(energy_kwh: float, n_predictions: int) -> float:
    """Energy per 1,000 predictions, in kWh.

    Parameters
    ----------
    energy_kwh : float
        Energy measured over a run, ``>= 0``.
    n_predictions : int
        Predictions made in that run, ``> 0``.

    Raises
    ------
    MonitoringInputError
        If ``energy_kwh`` is negative or not finite, or ``n_predictions`` is not a positive
        integer.

    Examples
    --------
    >>> inference_per_1000(0.002, 500)
    0.004
    """
    problems = []
    if (
        isinstance(energy_kwh, bool)
        or not isinstance(energy_kwh, int | float)
        or not math.isfinite(energy_kwh)
        or energy_kwh < 0
    ):
        problems.append(f"energy_kwh must be a non-negative number. Got {energy_kwh!r} instead")
    if isinstance(n_predictions, bool) or not isinstance(n_predictions, int) or n_predictions <= 0:
        problems.append(f"n_predictions must be a positive integer. Got {n_predictions!r} instead")
    if problems:
        raise MonitoringInputError(problems)
    return energy_kwh * 1000 / n_predictions


def _number(raw: str | None, line: int, column: str, problems: list[str], *, required: bool):
    text = (raw or "").strip()
    if not text:
        if required:
            problems.append(f"line {line}, column {column!r}: value is empty")
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"line {line}, column {column!r}: {text!r} is not a number")
        return None
    if not math.isfinite(value) or value < 0:
        problems.append(f"line {line}, column {column!r}: {text!r} must be a finite number >= 0")
        return None
    return value


def _timestamp(raw: str | None, line: int, problems: list[str]) -> dt.datetime | None:
    text = (raw or "").strip()
    if not text:
        problems.append(f"line {line}, column 'timestamp': value is empty")
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"line {line}, column 'timestamp': {text!r} is not an ISO 8601 date-time")
        return None
    # CodeCarbon writes datetime.now() of the writer's machine without an offset; the zone is
    # unknowable from the file, so a naive value is kept naive rather than guessed.
    return moment
