"""HTTP Range requests (RFC 9110 §14) for recording playback. Pure.

One byte range is served as 206 with `Content-Range: bytes a-b/size`. A range
that starts past the end (or a zero-length suffix) is 416 with
`Content-Range: bytes */size`. Anything else the RFC lets a server ignore
(another unit, bad syntax, several ranges) gets the whole file as 200: browsers
and players only ever ask for one range, and ignoring is always correct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recordings.errors import RangeNotSatisfiable

_SINGLE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    stop: int  # exclusive
    size: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{self.size}"


def unsatisfiable_content_range(size: int) -> str:
    return f"bytes */{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, or None for the whole file. Raises RangeNotSatisfiable (416)."""
    if not header:
        return None
    match = _SINGLE.fullmatch(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - suffix), size, size)
    start = int(first)
    if last != "" and int(last) < start:
        return None  # an invalid range-spec: ignore the header
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = size - 1 if last == "" else min(int(last), size - 1)
    return ByteRange(start, end + 1, size)
