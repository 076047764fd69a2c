"""Read a recording's audio metadata with stdlib `wave` (PCM WAV only).

Also catches a file taken while the PBX was still writing it: MixMonitor fills
in the RIFF sizes when it closes the file, so a header that disagrees with the
file's length means "not finished" (or damaged) and the ingest is retried.
"""

from __future__ import annotations

import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from recordings.errors import InvalidAudio


@dataclass(frozen=True, slots=True)
class AudioInfo:
    format: str
    duration_s: float
    sample_rate: int
    channels: int
    sample_width: int


def read_wav_info(path: Path) -> AudioInfo:
    """Blocking (run in a thread). Raises InvalidAudio with what is wrong."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.getnframes()
    except (wave.Error, EOFError, struct.error) as exc:
        raise InvalidAudio(f"not a PCM WAV file stdlib wave can read: {exc}") from exc
    _check_data_chunk(path)
    if rate <= 0:
        raise InvalidAudio("WAV header has a zero sample rate")
    kind = "pcm_u8" if width == 1 else f"pcm_s{8 * width}le"
    return AudioInfo(
        format=f"wav/{kind}/{rate}Hz/{channels}ch",
        duration_s=round(frames / rate, 3),
        sample_rate=rate,
        channels=channels,
        sample_width=width,
    )


def _check_data_chunk(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as src:
        src.seek(12)  # "RIFF" <size> "WAVE"
        while header := src.read(8):
            if len(header) < 8:
                break
            name, length = header[:4], struct.unpack("<I", header[4:])[0]
            if name == b"data":
                end = src.tell() + length
                if end > size:
                    raise InvalidAudio(f"WAV data chunk declares {length} bytes but the file ends early")
                if size - end > 1 and not _only_chunks_follow(src, end, size):
                    raise InvalidAudio("WAV header is shorter than the data: file still being written?")
                return
            src.seek(length + (length & 1), 1)
    raise InvalidAudio("WAV file has no data chunk")


def _only_chunks_follow(src: BinaryIO, end: int, size: int) -> bool:
    """After the data chunk only well-formed chunks (LIST, id3, ...) may follow."""
    position = end + (end & 1)
    while position + 8 <= size:
        src.seek(position)
        header = src.read(8)
        if not header[:4].isascii() or not header[:4].strip(b" ").isalnum():
            return False
        position += 8 + struct.unpack("<I", header[4:])[0]
        position += position & 1
    return position == size or position == size + 1
