"""AMI wire format: split the byte stream into frames, parse frames, encode actions.

A frame is `Key: Value` lines ended by CRLF and terminated by an empty line.
Frames are split on bytes and decoded only when complete, so a multi-byte UTF-8
character cut across two TCP reads is never damaged (panoramisk's defect).
Repeated keys (`ChanVariable`, `Output`) keep every value. Lines without a colon
(old-style `Response: Follows` command output) are kept as `Output` values.
Nothing in here raises on bad input except `parse_frame` with `FrameError`, which
the connection logs, counts and skips.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar, overload

from cti.ami.errors import FrameError, HeaderInjection

_T = TypeVar("_T")

BANNER_PREFIX = b"Asterisk Call Manager/"
FRAME_END = b"\r\n\r\n"
END_COMMAND = b"--END COMMAND--"
MAX_FRAME_BYTES = 1 << 20  # a frame larger than 1 MiB is garbage, not a message


class AmiMessage(Mapping[str, str]):
    """One AMI message. `msg["Key"]` is the first value; `getall` returns every value.

    Stored as a plain dict of first values plus, only when a key repeats, a
    dict of the extra values: most messages have no repeated key, and the
    translator reads hundreds of thousands of fields a second.
    """

    __slots__ = ("_first", "_more")

    def __init__(self, first: dict[str, str], more: dict[str, list[str]] | None = None) -> None:
        self._first = first
        self._more = more

    @classmethod
    def of(cls, **fields: str) -> AmiMessage:
        return cls(dict(fields))

    @classmethod
    def from_lists(cls, fields: dict[str, list[str]]) -> AmiMessage:
        more = {k: v[1:] for k, v in fields.items() if len(v) > 1}
        return cls({k: v[0] for k, v in fields.items() if v}, more or None)

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, /, default: str) -> str: ...
    @overload
    def get(self, key: str, /, default: _T) -> str | _T: ...

    def get(self, key: str, /, default: object = None) -> object:
        return self._first.get(key, default)  # dict.get: Mapping.get's try/except is slow

    def __contains__(self, key: object) -> bool:
        return key in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, key: str) -> list[str]:
        if key not in self._first:
            return []
        more = self._more.get(key, ()) if self._more else ()
        return [self._first[key], *more]

    @property
    def event(self) -> str | None:
        return self._first.get("Event")

    @property
    def response(self) -> str | None:
        return self._first.get("Response")

    @property
    def action_id(self) -> str | None:
        return self._first.get("ActionID")

    def __repr__(self) -> str:
        return f"AmiMessage({masked(self)!r})"


SECRET_KEYS = frozenset({"Secret", "Key", "Password"})


def masked(message: Mapping[str, str]) -> dict[str, str]:
    """A copy safe to log: secrets replaced by asterisks."""
    return {k: ("********" if k in SECRET_KEYS else v) for k, v in message.items()}


class FrameSplitter:
    """Incremental splitter: feed bytes, get complete frames (as bytes).

    Handles the banner line (no blank line after it; also one before a later frame, as in a
    capture spanning a reconnect), CRLF CRLF terminators, and
    old-style `Response: Follows` frames whose body ends at `--END COMMAND--`.
    A buffer growing past MAX_FRAME_BYTES without a terminator is dropped and
    reported through `oversized`, so a peer spewing garbage cannot exhaust memory.
    """

    __slots__ = ("_buffer", "banner", "oversized")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.banner: str | None = None
        self.oversized = 0

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buffer
        buf += data
        if self.banner is None and buf.startswith(BANNER_PREFIX[: len(buf)]):
            end = buf.find(b"\r\n")
            if end < 0:
                return []
            self.banner = buf[:end].decode("utf-8", "replace")
            del buf[: end + 2]
        elif self.banner is None and buf:
            self.banner = ""  # no banner: a peer that starts talking at once
        frames: list[bytes] = []
        start = 0
        while True:
            end = buf.find(FRAME_END, start)
            if end < 0:
                break
            frame = bytes(buf[start:end])
            if frame.startswith(b"Response: Follows") and END_COMMAND not in frame:
                stop = buf.find(END_COMMAND, start)
                following = _next_message(buf, end)
                if 0 <= following < stop or (stop < 0 and following >= 0):
                    pass  # no --END COMMAND-- before the next message: a plain (broken) frame
                elif stop < 0:
                    break  # command output still arriving
                else:
                    end = buf.find(FRAME_END, stop)
                    if end < 0:
                        break
                    frame = bytes(buf[start:end])
            start = end + 4
            if frame[:1] in (b"\r", b"\n"):  # stray line ends between frames
                frame = frame.lstrip(b"\r\n")
            if frame.startswith(BANNER_PREFIX):  # a capture of a reconnect: the next link's banner
                _, _, frame = frame.partition(b"\r\n")
            if frame:
                frames.append(frame)
        if start:
            del buf[:start]
        if len(buf) > MAX_FRAME_BYTES:
            self.oversized += 1
            buf.clear()
        return frames


def _next_message(buf: bytearray, after: int) -> int:
    """Where the next `Event:`/`Response:` message starts after `after`, or -1."""
    found = [
        i for i in (buf.find(b"\r\n\r\nEvent: ", after), buf.find(b"\r\n\r\nResponse: ", after)) if i >= 0
    ]
    return min(found) if found else -1


def peek_name(frame: bytes) -> bytes | None:
    """The `Event:` name of a frame without parsing it (for cheap filtering)."""
    if frame.startswith(b"Event: "):
        end = frame.find(b"\r\n")
        return frame[7:end] if end >= 0 else frame[7:]
    return None


def parse_frame(frame: bytes) -> AmiMessage:
    """Parse one complete frame. Raises FrameError when it is not an AMI message.

    Lines are `Key: Value`; a line without a valid key (command output, noise)
    becomes an `Output` value. Bytes that are not UTF-8 are replaced, not lost.
    """
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8 (an old PBX in Latin-1, or line noise): keep what is readable.
        text = frame.decode("utf-8", "replace")
    lines = text.split("\r\n")
    if text.startswith("Event: "):
        # Fast path for the bulk of the stream: every line `Key: Value`, no key twice.
        # dict() raises ValueError on a line without ": "; then the careful path runs.
        try:
            fields = dict([line.split(": ", 1) for line in lines])
        except ValueError:
            pass
        else:
            if len(fields) == len(lines):
                return AmiMessage(fields)
    if "\n" in text and any("\n" in line for line in lines):
        lines = [line.rstrip("\r") for line in text.split("\n")]  # bare LF line ends
    first: dict[str, str] = {}
    more: dict[str, list[str]] | None = None
    for line in lines:
        colon = line.find(":")
        key = line[:colon] if colon > 0 else ""
        if not key or " " in key:
            key = key.strip()
            if not line or (not key and not line.strip()):
                continue
            if not key or " " in key or (not first and not key[0].isalpha()):
                if not first:
                    raise FrameError(f"not an AMI message: {line[:60]!r}")
                key, value = "Output", line
            else:
                value = line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
        else:
            value = line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
            if not first and not key[0].isalpha():
                raise FrameError(f"not an AMI message: {line[:60]!r}")
        if key in first:
            if more is None:
                more = {}
            more.setdefault(key, []).append(value)
        else:
            first[key] = value
    if not first:
        raise FrameError("empty frame")
    if "Event" not in first and "Response" not in first:
        raise FrameError(f"neither Event nor Response: {next(iter(first))!r}")
    return AmiMessage(first, more)


def encode_action(action: str, fields: Mapping[str, str | list[str]]) -> bytes:
    """Encode an action. CR/LF in any value is refused: it would inject headers or actions."""
    lines = [f"Action: {action}"]
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            text = str(item)
            if "\r" in text or "\n" in text or "\r" in key or "\n" in key:
                raise HeaderInjection(f"{action}: value of {key!r} contains a line break")
            lines.append(f"{key}: {text}")
    if "\r" in action or "\n" in action:
        raise HeaderInjection("action name contains a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
