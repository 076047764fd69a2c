"""Repair the WAV header a killed PBX leaves behind, from the file's length (as sox and ffmpeg do).

Asterisk's format_wav writes the RIFF and data chunk sizes as 0 when it opens a
file and fills them in when MixMonitor closes it. A PBX killed mid-call (power,
OOM, `kill -9`) never closes it: the audio is all there, the header says "no
data", and stdlib `wave` (rightly) refuses it, so without repair the ingest
would fail forever and the recording of a call would be lost. sox ("WAV header
data length is zero, assuming...") and ffmpeg read such a file to its end; we do
the same, once, and store a file with the sizes written in: the bytes handed to
auditors are a well-formed WAV.

Damage repaired (data must be the last chunk, as in MixMonitor files):
* `zero_size`: RIFF or data size 0 (the killed-PBX case);
* `unterminated`: a size of 0xFFFFFFFF (streaming writers);
* `truncated`: the data chunk declares more bytes than the file has.
A trailing partial sample frame is dropped. Anything else (no `fmt `, not
RIFF/WAVE, compressed formats) is not touched: the ingest fails as before.

Repairing a file that is still being written would archive half a call, so the
caller (RecordingService) only repairs once the file has not changed for a while.
The original bytes' SHA-256 and size go into the audit entry.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from recordings.storage import CHUNK, StagingFile

_UNSET = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class WavDamage:
    reason: str  # zero_size | unterminated | truncated
    data_offset: int  # where the audio bytes begin
    data_length: int  # audio bytes actually present, whole frames
    declared: int  # what the data chunk header said


def diagnose(path: Path) -> WavDamage | None:
    """The damage a repair can fix, or None (intact, or damaged beyond a header fix). Blocking."""
    size = path.stat().st_size
    with path.open("rb") as src:
        head = src.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        riff_size = struct.unpack("<I", head[4:8])[0]
        block_align = 0
        while header := src.read(8):
            if len(header) < 8:
                return None
            name, length = header[:4], struct.unpack("<I", header[4:])[0]
            if name == b"fmt ":
                fmt = src.read(min(length, 16))
                if len(fmt) < 16 or struct.unpack("<H", fmt[:2])[0] not in (1, 0xFFFE):  # PCM
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0]
                src.seek(length - 16 + (length & 1), 1)
            elif name == b"data":
                return _data_damage(src.tell(), length, size, riff_size, block_align)
            else:
                src.seek(length + (length & 1), 1)
    return None


def _data_damage(offset: int, declared: int, size: int, riff_size: int, block_align: int) -> WavDamage | None:
    if block_align <= 0:
        return None
    present = size - offset
    whole = present - present % block_align
    if whole <= 0:
        return None
    if declared == 0 or riff_size == 0:
        return WavDamage("zero_size", offset, whole, declared)
    if _UNSET in (declared, riff_size):
        return WavDamage("unterminated", offset, whole, declared)
    if declared > present:
        return WavDamage("truncated", offset, whole, declared)
    return None


def repair(path: Path, damage: WavDamage, sink: StagingFile) -> None:
    """Write the repaired WAV into `sink`: the same header with the sizes from the length. Blocking."""
    pad = damage.data_length & 1
    with path.open("rb") as src:
        header = bytearray(src.read(damage.data_offset))
        header[4:8] = struct.pack("<I", damage.data_offset + damage.data_length + pad - 8)
        header[damage.data_offset - 4 : damage.data_offset] = struct.pack("<I", damage.data_length)
        sink.write(bytes(header))
        left = damage.data_length
        while left > 0:
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{path} shrank while being repaired")
            sink.write(chunk)
            left -= len(chunk)
    if pad:
        sink.write(b"\x00")
