"""Patient-level tables uploaded to the registry (validation sets, production batches): read once,
checked, and refused with one message listing every problem before anything is stored.

``read_table(data, filename)`` reads CSV (UTF-8) or Parquet into a data frame and refuses an
empty, oversized, truncated, wrongly encoded or row-less file. ``check_identifiers(frame)``
refuses columns that carry direct identifiers: the files are pseudonymised patient data, so
names, e-mail addresses, phone numbers, French NIR (social security numbers with a valid key)
and exact birth dates have no business in them. ``load_table`` does both. The reader is
pyarrow's (the fastest here, stack notes); the checks look at column names and at a sample of
values, so they cost little next to the parse.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from registry.errors import InvalidInputError, PayloadTooLargeError

PARQUET_MAGIC = b"PAR1"
#: Values per column the content checks look at (the non-empty ones among the first rows).
SAMPLE_SIZE = 2000
FORMATS = ("csv", "parquet")
_ARROW_TEXT = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def read_limited(stream: io.RawIOBase | io.BufferedIOBase, max_bytes: int) -> bytes:
    """The whole stream, refused (413) once it exceeds ``max_bytes``: nothing is kept."""
    want = max_bytes + 1
    if stream.seekable():
        # Ask for what is there: read(max_bytes + 1) reserves the whole limit (a gigabyte) up
        # front, and shrinking that buffer costs several times the read of a typical file.
        here = stream.tell()
        want = min(want, max(stream.seek(0, io.SEEK_END) - here, 0) + 1)
        stream.seek(here)
    data = stream.read(want)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"file is larger than the limit of {max_bytes} bytes; split it or ask an "
            "administrator to raise DMD_MAX_UPLOAD_BYTES"
        )
    return data


def detect_format(data: bytes, filename: str) -> str:
    """``parquet`` when the name or the magic bytes say so, ``csv`` otherwise."""
    if data[:4] == PARQUET_MAGIC or filename.lower().endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def read_table(data: bytes, filename: str = "upload.csv", *, max_bytes: int | None = None
               ) -> pd.DataFrame:
    """Read an uploaded CSV or Parquet file; raise InvalidInputError saying what to fix."""
    if max_bytes is not None and len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"file is larger than the limit of {max_bytes} bytes; split it or ask an "
            "administrator to raise DMD_MAX_UPLOAD_BYTES"
        )
    if not data or data.isspace():  # strip() would copy the whole file to say the same
        raise InvalidInputError(f"{filename}: the file is empty; upload a file with a header "
                                "row and at least one data row")
    kind = detect_format(data, filename)
    table = _read_parquet(data, filename) if kind == "parquet" else _read_csv(data, filename)
    if table.num_rows == 0:
        raise InvalidInputError(f"{filename}: the file has column names but no data rows; "
                                "upload at least one row")
    names = table.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidInputError(f"{filename}: duplicated column names {duplicated}; give each "
                                "column a distinct name")
    # Text stays in Arrow memory (pandas' "string[pyarrow]"): converting a million strings to
    # Python objects would cost more than parsing the file.
    return table.to_pandas(types_mapper=_ARROW_TEXT.get)


def _read_parquet(data: bytes, filename: str) -> pa.Table:
    if data[:4] != PARQUET_MAGIC or data[-4:] != PARQUET_MAGIC:
        raise InvalidInputError(
            f"{filename}: not a complete Parquet file (the 'PAR1' marker is missing at its "
            f"{'start' if data[:4] != PARQUET_MAGIC else 'end'}); the upload was probably "
            "truncated: export the file again and upload it whole"
        )
    try:
        # ParquetFile, not read_table: read_table's dataset scanner hands its last reference to
        # the uploaded bytes to an Arrow thread, which may drop it during interpreter shutdown
        # and abort the process (SIGABRT after a CLI command had succeeded).
        return pq.ParquetFile(pa.BufferReader(data)).read()
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(f"{filename}: the Parquet file is corrupted ({exc}); export "
                                "it again") from None


def _read_csv(data: bytes, filename: str) -> pa.Table:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte order mark, as spreadsheet exports write it
    try:
        if not data.isascii():  # ASCII (most exports) is UTF-8: skip building a copy as str
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(
            f"{filename}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save the CSV as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet) and upload it again"
        ) from None
    if b"\x00" in data:
        raise InvalidInputError(f"{filename}: contains NUL bytes, so it is not a CSV text "
                                "file; upload a CSV or a Parquet file")
    try:
        # Arrow reads the bytes in place (a Python file object would copy them, under the GIL).
        return pacsv.read_csv(pa.BufferReader(data))
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns" in message:
            last = data.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
            truncated = not data.endswith(b"\n") and last in message.encode()
            hint = ("the last line is cut short: the upload looks truncated; upload the whole "
                    "file" if truncated else "every row needs as many fields as the header")
            raise InvalidInputError(f"{filename}: {message.splitlines()[0]}; {hint}") from None
        raise InvalidInputError(f"{filename}: cannot be read as CSV ({message.splitlines()[0]})"
                                ) from None


# --- direct identifiers -------------------------------------------------------------------------


def _normalise(name: str) -> str:
    plain = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


_NAME_COLUMNS = {
    "name", "names", "patient_name", "full_name", "fullname", "first_name", "firstname",
    "given_name", "forename", "last_name", "lastname", "family_name", "surname", "maiden_name",
    "nom", "prenom", "prenoms", "nom_prenom", "nom_patient", "prenom_patient", "patient_nom",
    "patient_prenom", "nom_de_naissance", "nom_naissance", "nom_usage", "nom_d_usage",
}
_EMAIL_COLUMN = re.compile(r"(^|_)(e_?mail|courriel|mail)(_|$)")
_PHONE_COLUMN = re.compile(r"(^|_)(phone|telephone|tel|mobile|portable|gsm)(_|$)")
_NIR_COLUMN = re.compile(r"(^|_)(nir|ssn|insee|num_secu|numero_secu|secu|social_security"
                         r"|securite_sociale|nss)(_|$)")
_BIRTH_COLUMN = re.compile(r"(^|_)(birth_?date|date_of_birth|dob|date_naissance|"
                           r"date_de_naissance|ddn|naissance|born|birthday)(_|$)")

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# French numbers: 0X XX XX XX XX, +33 X ..., 0033 X ..., with optional separators.
_PHONE = re.compile(r"^(?:\+33|0033|0)\s?[1-9](?:[\s.-]?\d{2}){4}$")
# NIR: sex (1, 2; 3, 4, 7, 8 for provisional numbers), year, month, department (2 digits or
# 2A/2B), commune, order number, then the 2-digit key.
_NIR = re.compile(r"^([1-478])(\d{2})(\d{2})(\d{2}|2[AB])(\d{3})(\d{3})(\d{2})$")
_NIR_SEPARATORS = re.compile(r"[\s.-]")
# A calendar day: 1956-03-14, 14/03/1956, 14-03-1956, 14.03.1956 (optionally with a time).
_FULL_DATE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4})([ T].*)?$")


def nir_key_is_valid(value: str) -> bool:
    """Whether ``value`` is a 15-character NIR whose key is 97 - (first 13 digits mod 97).

    Corsica's departments 2A and 2B count as 19 and 18 in the key (the number minus 1,000,000
    or 2,000,000), as the INSEE rule says.
    """
    text = str(value)
    if len(text) < 15:  # too short even before the separators go (upper() adds no digits)
        return False
    match = _NIR.match(_NIR_SEPARATORS.sub("", text).upper())
    if match is None:
        return False
    body = "".join(match.groups()[:6])
    if "2A" in body[5:7] or "2B" in body[5:7]:
        body = body[:5] + ("19" if body[5:7] == "2A" else "18") + body[7:]
    return 97 - int(body) % 97 == int(match.group(7))


def _sample(series: pd.Series) -> Counter[str]:
    """The sampled values and how often each occurs: each pattern is tried once per distinct
    value (a sex or site column has a handful) and the shares still count rows."""
    values = series.iloc[:SAMPLE_SIZE].dropna()
    return Counter(str(v).strip() for v in values.tolist())


def _share(values: Counter[str], test) -> float:
    total = values.total()
    return sum(n for v, n in values.items() if test(v)) / total if total else 0.0


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)


def _full_dates(series: pd.Series, values: Counter[str]) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    return _share(values, lambda v: bool(_FULL_DATE.match(v))) >= 0.5


def identifier_problems(frame: pd.DataFrame) -> list[str]:
    """One message per column that carries a direct identifier (empty: none found)."""
    problems = []
    for column in frame.columns:
        series = frame[column]
        key = _normalise(column)
        text = _is_text(series)
        integral = pd.api.types.is_integer_dtype(series)
        values = _sample(series) if (text or integral) else Counter()
        reason = None
        if key in _NAME_COLUMNS and text:
            reason = "looks like a person's name (column name)"
        elif _BIRTH_COLUMN.search(key) and (text or pd.api.types.is_datetime64_any_dtype(series)):
            if _full_dates(series, values):
                reason = ("holds exact birth dates; keep the year or an age band instead")
        elif text and values and _share(values, lambda v: bool(_EMAIL.match(v))) > 0:
            reason = "holds e-mail addresses"
        elif _EMAIL_COLUMN.search(key) and text:
            reason = "looks like an e-mail address column (column name)"
        elif text and values and _share(values, lambda v: bool(_PHONE.match(v))) >= 0.5:
            reason = "holds phone numbers"
        elif _PHONE_COLUMN.search(key) and text:
            reason = "looks like a phone number column (column name)"
        elif values and _share(values, nir_key_is_valid) >= 0.5:
            reason = "holds French social security numbers (NIR with a valid key)"
        if reason:
            problems.append(f"column {column!r} {reason}")
    return problems


def check_identifiers(frame: pd.DataFrame) -> None:
    """Refuse a frame with direct identifiers, naming every offending column at once."""
    problems = identifier_problems(frame)
    if problems:
        raise InvalidInputError(
            f"the file carries direct identifiers in {len(problems)} column(s): "
            + "; ".join(problems)
            + ". Validation files must be pseudonymised: remove these columns (or replace "
            "them by a pseudonym or an age band) and upload the file again",
            errors=[{"pointer": "#/file", "detail": p} for p in problems],
        )


def load_table(data: bytes, filename: str = "upload.csv", *, max_bytes: int | None = None
               ) -> pd.DataFrame:
    """``read_table`` then ``check_identifiers``: what every patient-level upload goes through."""
    frame = read_table(data, filename, max_bytes=max_bytes)
    check_identifiers(frame)
    return frame
