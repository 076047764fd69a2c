"""MixMonitor files written as Asterisk writes them: header first, audio as the call goes, sizes at the end.

Asterisk's format_wav writes a 44-byte header with the RIFF and data sizes set
to 0 when MixMonitor opens the file, appends audio while the call lasts and
fills in the sizes only when it closes the file. A PBX killed mid-call leaves
exactly that: all the audio so far, sizes 0. The simulated PBX does the same
(rather than writing the whole file at hang-up), so killing its process
mid-call leaves the files a killed Asterisk leaves.

The audio is the simulator's usual signal (a 440 Hz tone in one-second beeps),
cut from one precomputed second, so a hundred recordings in progress cost
almost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

RATE = 8000
WIDTH = 2
_TICK_S = 0.2  # real seconds between appends


def _one_second(tone_hz: float = 440.0) -> bytes:
    samples = (
        int(6000 * math.sin(2 * math.pi * tone_hz * i / RATE)) if (i // (RATE // 2)) % 2 == 0 else 0
        for i in range(RATE)
    )
    return b"".join(struct.pack("<h", s) for s in samples)


_SECOND = _one_second()


def _header(data_bytes: int) -> bytes:
    """The canonical 44-byte PCM header (8 kHz, 16-bit, mono), as format_wav writes it."""
    riff = 36 + data_bytes if data_bytes else 0
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * WIDTH, WIDTH, 8 * WIDTH)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + (struct.pack("<I", data_bytes))
    )


@dataclass
class MixMonitorFile:
    """One file being recorded. `advance` appends audio up to a length; `close` writes the sizes."""

    path: Path
    written: int = 0  # audio bytes so far
    _out: BinaryIO | None = field(default=None, repr=False)

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.path.open("wb")
        self._out.write(_header(0))
        self._out.flush()

    def advance(self, seconds: float) -> None:
        """Append audio until the file holds `seconds` of it (flushed: a kill keeps what is written)."""
        if self._out is None:
            return
        target = int(max(0.0, seconds) * RATE) * WIDTH
        while self.written < target:
            offset = self.written % len(_SECOND)
            piece = _SECOND[offset : offset + (target - self.written)]
            self._out.write(piece)
            self.written += len(piece)
        self._out.flush()

    def close(self, seconds: float) -> None:
        if self._out is None:
            return
        self.advance(seconds)
        self._out.seek(0)
        self._out.write(_header(self.written))
        self._out.close()
        self._out = None


class MixMonitors:
    """The recordings in progress of one simulated PBX, each fed by its own task until closed."""

    def __init__(self, speed: float) -> None:
        self._speed = speed
        self._open: dict[str, tuple[MixMonitorFile, float]] = {}  # channel name -> (file, started)

    def start(self, channel: str, path: Path) -> MixMonitorFile:
        """Open the file now (zero sizes) and return it; `feed` keeps appending until `finish`."""
        self.finish(channel, 0.0)  # a second MixMonitor on one channel replaces the first
        file = MixMonitorFile(path)
        file.open()
        self._open[channel] = (file, time.monotonic())
        return file

    def recording(self, channel: str) -> bool:
        return channel in self._open

    async def feed(self, channel: str, stopped: Callable[[], float | None]) -> None:
        """Append what the call has said so far, every tick, until the file is finished."""
        while channel in self._open:
            file, started = self._open[channel]
            end = stopped() or time.monotonic()
            file.advance((end - started) * self._speed)
            await asyncio.sleep(_TICK_S)

    def close_all(self) -> None:
        """The PBX stops: every file is closed with what it holds and its sizes (a clean stop,
        unlike a kill, leaves finished files)."""
        for channel in list(self._open):
            file, _ = self._open[channel]
            self.finish(channel, file.written / (RATE * WIDTH))

    def finish(self, channel: str, seconds: float) -> bool:
        """Close the file with `seconds` of audio and its sizes; False if none was open."""
        entry = self._open.pop(channel, None)
        if entry is None:
            return False
        with contextlib.suppress(OSError):
            entry[0].close(seconds)
        return True
