"""HTTP Range parsing (RFC 9110): 206 ranges, 416 and ignored headers, plus a property test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recordings.errors import RangeNotSatisfiable
from recordings.ranges import ByteRange, parse_range, unsatisfiable_content_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 100, "bytes 0-99/1000")),
        ("bytes=0-0", (0, 1, "bytes 0-0/1000")),
        ("bytes=900-", (900, 1000, "bytes 900-999/1000")),
        ("bytes=900-5000", (900, 1000, "bytes 900-999/1000")),
        ("bytes=-100", (900, 1000, "bytes 900-999/1000")),
        ("bytes=-5000", (0, 1000, "bytes 0-999/1000")),
        ("bytes=999-999", (999, 1000, "bytes 999-999/1000")),
        ("BYTES = 10 - 19", (10, 20, "bytes 10-19/1000")),
    ],
)
def test_single_ranges_are_served_as_206(header: str, expected: tuple[int, int, str]) -> None:
    got = parse_range(header, 1000)
    assert got is not None and (got.start, got.stop, got.content_range) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=-0"])
def test_ranges_past_the_end_are_416(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, 1000)
    assert unsatisfiable_content_range(info.value.size) == "bytes */1000"


@pytest.mark.parametrize(
    "header", [None, "", "items=0-1", "bytes=5-1", "bytes=abc", "bytes=0-1,5-6", "bytes=-", "bytes=１-２"]
)
def test_other_range_headers_are_ignored_and_the_whole_file_is_served(header: str | None) -> None:
    assert parse_range(header, 1000) is None


def test_any_range_of_an_empty_file_is_416() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


@given(
    data=st.binary(min_size=1, max_size=300),
    first=st.one_of(st.none(), st.integers(0, 400)),
    last=st.one_of(st.none(), st.integers(0, 400)),
)
def test_a_served_range_is_exactly_the_slice_content_range_names(
    data: bytes, first: int | None, last: int | None
) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    try:
        got = parse_range(header, len(data))
    except RangeNotSatisfiable:
        assert (first is not None and first >= len(data)) or (first is None and last == 0)
        return
    if got is None:
        assert (first is None and last is None) or (first is not None and last is not None and last < first)
        return
    assert isinstance(got, ByteRange) and 0 <= got.start < got.stop <= len(data)
    served = data[got.start : got.stop]
    a, b = got.content_range.removeprefix("bytes ").split("/")[0].split("-")
    assert served == data[int(a) : int(b) + 1] and len(served) == got.length
    if first is None and last is not None:
        assert served == data[-last:]
    elif first is not None:
        assert served == data[first : None if last is None else last + 1]
