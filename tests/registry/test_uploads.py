"""registry.uploads: reading an upload under the size limit, and the direct-identifier checks
on the sample of values they look at."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from registry.errors import InvalidInputError, PayloadTooLargeError
from registry.uploads import SAMPLE_SIZE, identifier_problems, load_table, read_limited


class Unseekable(io.RawIOBase):
    """A request body: read in pieces, no size known in advance."""

    def __init__(self, data: bytes, piece: int = 7) -> None:
        self._data, self._at, self._piece = data, 0, piece

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        piece = self._data[self._at:self._at + min(len(buffer), self._piece)]
        buffer[:len(piece)] = piece
        self._at += len(piece)
        return len(piece)


@pytest.mark.parametrize("open_stream", [
    io.BytesIO,
    lambda data: io.BufferedReader(Unseekable(data)),
], ids=["seekable", "unseekable"])
@pytest.mark.parametrize("size", [0, 1, 99, 100])
def test_read_limited_returns_what_is_there_up_to_the_limit(open_stream, size):
    data = bytes(range(size))
    assert read_limited(open_stream(data), 100) == data


@pytest.mark.parametrize("open_stream", [
    io.BytesIO,
    lambda data: io.BufferedReader(Unseekable(data)),
], ids=["seekable", "unseekable"])
def test_read_limited_refuses_one_byte_over_the_limit(open_stream):
    with pytest.raises(PayloadTooLargeError, match="larger than the limit of 100 bytes"):
        read_limited(open_stream(b"x" * 101), 100)


def test_read_limited_reads_a_file_from_where_it_stands(tmp_path):
    path = tmp_path / "upload.csv"
    path.write_bytes(b"skipped\n" + b"a,b\n1,2\n")
    with path.open("rb") as stream:
        stream.seek(8)
        assert read_limited(stream, 8) == b"a,b\n1,2\n"
        stream.seek(7)
        with pytest.raises(PayloadTooLargeError):
            read_limited(stream, 8)
        stream.seek(100)  # past the end: nothing to read, as a plain read says
        assert read_limited(stream, 8) == b""


@pytest.mark.parametrize("data", [b"", b" ", b"\r\n\t \n\x0b\x0c"])
def test_an_empty_or_blank_file_is_refused_as_empty(data):
    with pytest.raises(InvalidInputError, match=r"v.csv: the file is empty; upload a file"):
        load_table(data, "v.csv")


def test_non_ascii_csv_is_read_and_bad_utf8_is_located():
    frame = load_table("id,site\n1,Besançon\n2,Orléans\n".encode(), "v.csv")
    assert frame["site"].tolist() == ["Besançon", "Orléans"]
    with pytest.raises(InvalidInputError, match=r"not UTF-8 text \(byte 0xe7 on line 3\)"):
        load_table("id,site\n1,Lyon\n2,Besançon\n".encode("latin-1"), "v.csv")


# --- the sample: shares count rows, not distinct values ----------------------------------------

VALID_NIR = "185057800608491"  # 1 85 05 78 006 084 + key 91


def test_the_sample_weighs_each_value_by_its_rows():
    """A repeated identifier is half the sample though one value among hundreds: refused; the
    same value once among as many distinct others is not."""
    others = [f"P{i:05d}" for i in range(SAMPLE_SIZE // 2)]
    repeated = pd.DataFrame({"ref": [VALID_NIR] * (SAMPLE_SIZE // 2) + others})
    assert identifier_problems(repeated) == [
        "column 'ref' holds French social security numbers (NIR with a valid key)"]
    once = pd.DataFrame({"ref": [VALID_NIR] + others})
    assert identifier_problems(once) == []
    phones = pd.DataFrame({"contact": ["06 12 34 56 78"] * 600 + others[:400]})
    assert identifier_problems(phones) == ["column 'contact' holds phone numbers"]
    phones = pd.DataFrame({"contact": ["06 12 34 56 78"] * 400 + others[:600]})
    assert identifier_problems(phones) == []


def test_a_bad_column_among_a_million_rows_is_found_from_its_first_rows():
    """The checks read the first SAMPLE_SIZE non-empty values: a column of identifiers is one
    from its first row on, so the sample finds it in a file of any length."""
    n = 1_000_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "case_id": np.arange(n),
        "sex": rng.choice(["F", "M"], n),
        "ref": np.tile(["278119912345608", "165059935004223"], n // 2),  # keys 08 and 23
        "contact": np.where(np.arange(n) % 3 == 0, None, "marie.durand@example.fr"),
    })
    assert identifier_problems(frame) == [
        "column 'ref' holds French social security numbers (NIR with a valid key)",
        "column 'contact' holds e-mail addresses",
    ]


def test_integer_ids_of_nir_length_are_checked_by_their_key():
    """The length test skips short values only: a 15-digit integer NIR is still refused."""
    frame = pd.DataFrame({"patient": np.full(50, int(VALID_NIR)), "age": np.arange(50)})
    assert identifier_problems(frame) == [
        "column 'patient' holds French social security numbers (NIR with a valid key)"]
