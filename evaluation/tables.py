"""Reading a validation file (CSV or Parquet) into a data frame, with errors that say what to fix.

pyarrow parses both formats (multithreaded, several times faster than pandas' CSV reader on
large files); every parsing failure becomes an :class:`EvaluationInputError` naming the file and
the likely cause (truncated, not UTF-8, not a table) instead of a parser traceback.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from evaluation.errors import EvaluationInputError

FORMATS = ("csv", "parquet")
PARQUET_MAGIC = b"PAR1"


def detect_format(name: str, head: bytes) -> str:
    """Return ``"parquet"`` or ``"csv"`` from the file's first bytes, else from its name.

    Examples
    --------
    >>> detect_format("results.bin", b"PAR1...")
    'parquet'
    >>> detect_format("results.csv", b"id,label")
    'csv'
    """
    if head.startswith(PARQUET_MAGIC) or name.lower().endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def read_table(source: str | Path | bytes, *, name: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, comma-separated, header row) or Parquet file into a data frame.

    Parameters
    ----------
    source : str, pathlib.Path or bytes
        A path, or the file's content.
    name : str, optional
        File name used in messages (and to tell the format when the content does not);
        defaults to the path.

    Returns
    -------
    pandas.DataFrame
        Rows numbered from 1 (the first row after the header), so that row numbers in
        validation messages match what a person counts in the file.

    Raises
    ------
    EvaluationInputError
        When the file is missing, empty, truncated, not UTF-8 or not a table.

    Examples
    --------
    >>> read_table(b"label,score\\n1,0.9\\n0,0.2\\n", name="x.csv").loc[1, "score"]
    np.float64(0.9)
    """
    if isinstance(source, bytes):
        content, label = source, name or "the file"
    else:
        path = Path(source)
        label = name or str(path)
        if not path.is_file():
            raise EvaluationInputError([f"file {label}: not found (or not a regular file)"])
        content = path.read_bytes()
    if not content.strip():
        raise EvaluationInputError(
            [f"file {label}: the file is empty; give a CSV with a header row or a Parquet file"]
        )
    kind = detect_format(label, content[:4])
    try:
        table = _parse(kind, content)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise EvaluationInputError([f"file {label}: {_explain(kind, str(error))}"]) from None
    # pyarrow reads bytes that are not valid UTF-8 as a binary column rather than failing.
    binary = [f.name for f in table.schema if pa.types.is_binary(f.type)]
    if binary and kind == "csv":
        raise EvaluationInputError(
            [
                f"file {label}: not UTF-8 encoded (column(s) {', '.join(map(repr, binary))} "
                "hold other bytes); save it as UTF-8 CSV"
            ]
        )
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _parse(kind: str, content: bytes) -> pa.Table:
    if kind == "parquet":
        return pq.read_table(pa.BufferReader(content))
    return pa_csv.read_csv(io.BytesIO(content))


def _explain(kind: str, detail: str) -> str:
    first_line = detail.strip().splitlines()[0] if detail.strip() else "unreadable"
    if kind == "parquet":
        return (
            "not a readable Parquet file; it may be truncated or corrupt, upload it again "
            f"({first_line})"
        )
    if "UTF8" in detail or "UTF-8" in detail:
        return f"not UTF-8 encoded; save it as UTF-8 CSV ({first_line})"
    if "Expected" in detail and "columns" in detail:
        return (
            "a row has a different number of fields from the header; the file may be "
            f"truncated or use another separator than ',' ({first_line})"
        )
    return f"not a readable CSV file ({first_line})"
