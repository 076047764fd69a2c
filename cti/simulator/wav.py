"""Write the recording of a simulated call: a real 8 kHz 16-bit mono PCM WAV (like MixMonitor's)."""

from __future__ import annotations

import math
import os
import struct
import wave
from pathlib import Path

RATE = 8000


def write_call_wav(path: Path, seconds: float, tone_hz: float = 440.0) -> None:
    """A tone with one-second beeps; written to a temp name and renamed, like a finished MixMonitor file."""
    frames = max(1, int(seconds * RATE))
    samples = bytearray()
    for i in range(frames):
        on = (i // (RATE // 2)) % 2 == 0
        value = int(6000 * math.sin(2 * math.pi * tone_hz * i / RATE)) if on else 0
        samples += struct.pack("<h", value)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(samples))
    os.replace(tmp, path)
