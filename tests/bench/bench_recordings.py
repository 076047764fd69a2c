"""Recording ingest throughput beside raw SHA-256 of the same bytes, in the same run.

Input: real-shaped MixMonitor files (RIFF WAV, 8 kHz 16-bit mono PCM; random
samples, which costs hashing and disk the same as speech), written to a
"PBX folder" in a temp directory on the same disk as the store. Figures are
MB/s (10^6 bytes) of recording data, best of several rounds:

* raw sha256 (memory): `hashlib.sha256(data)` over bytes already in memory,
  the ceiling for anything that must hash every byte.
* raw sha256 (file): read each file in 1 MiB chunks and hash: what any
  verifier pays, page cache warm.
* store: stage (read 1 MiB chunks, hash, write a temp file), fsync, link under
  the hash, fsync the folder: `LocalStore`, the hashing + storing path.
* ingest: the whole `RecordingService` path from a RECORDING_READY event to
  a committed row and audit entry (SQLite WAL): store + WAV header + database.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import statistics
import tempfile
import time
import wave
from datetime import timedelta
from pathlib import Path

from agent_ui.migrate import upgrade
from audit.log import AuditLog
from config.database import create_engine, session_factory, utcnow
from recordings.retention import RetentionPolicy
from recordings.service import RecordingService
from recordings.sources import LocalFileFetcher
from recordings.storage import LocalStore, copy_file_into
from routing.events import CallEvent, CallEventKind

RATE = 8000
MINUTES = 4  # a typical service call; 3.84 MB per file
FILES = 16
ROUNDS = 3


def make_wavs(folder: Path, count: int, salt: int) -> list[Path]:
    paths = []
    frames = RATE * 60 * MINUTES
    for i in range(count):
        path = folder / f"{salt}-{i}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(os.urandom(frames * 2))
        paths.append(path)
    return paths


def mb_per_s(total: int, seconds: float) -> float:
    return total / seconds / 1e6


def raw_memory(blobs: list[bytes]) -> float:
    started = time.perf_counter()
    for blob in blobs:
        hashlib.sha256(blob).hexdigest()
    return time.perf_counter() - started


def raw_file(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as src:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
        digest.hexdigest()
    return time.perf_counter() - started


async def store_files(store: LocalStore, paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with store.stage() as sink:
            await asyncio.to_thread(copy_file_into, path, sink)
            staged = await asyncio.to_thread(sink.finish)
            await store.put(staged)
    return time.perf_counter() - started


async def ingest_files(root: Path, pbx: Path, paths: list[Path], round_no: int) -> float:
    db = root / f"bench-{round_no}.db"
    url = f"sqlite+aiosqlite:///{db}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        service = RecordingService(
            sessions=sessions,
            store=LocalStore(root / f"ingest-{round_no}"),
            audit=AuditLog(),
            fetchers={"asterisk": LocalFileFetcher({"/var/spool/asterisk/monitor": pbx})},
            retention=RetentionPolicy(default=timedelta(days=90)),
        )
        started = time.perf_counter()
        for i, path in enumerate(paths):
            await service.handle(
                CallEvent(
                    call_id=f"call-{round_no}-{i}",
                    kind=CallEventKind.RECORDING_READY,
                    at=utcnow(),
                    event_id=f"ev-{round_no}-{i}",
                    source="asterisk",
                    queue="support",
                    detail=f"/var/spool/asterisk/monitor/{path.name}",
                )
            )
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-recordings-", dir=Path.cwd() / "var") as tmp:
        root = Path(tmp)
        pbx = root / "pbx"
        pbx.mkdir()
        rows: dict[str, list[float]] = {"memory": [], "file": [], "store": [], "ingest": []}
        total = 0
        for round_no in range(ROUNDS):
            paths = make_wavs(pbx, FILES, round_no)  # fresh bytes per round: no dedup shortcut
            blobs = [p.read_bytes() for p in paths]
            total = sum(len(b) for b in blobs)
            rows["memory"].append(mb_per_s(total, raw_memory(blobs)))
            rows["file"].append(mb_per_s(total, raw_file(paths)))
            rows["store"].append(mb_per_s(total, await store_files(LocalStore(root / f"s{round_no}"), paths)))
            rows["ingest"].append(mb_per_s(total, await ingest_files(root, pbx, paths, round_no)))
            for path in paths:
                path.unlink()
        per_file = total / FILES / 1e6
        print(f"{FILES} WAV files x {per_file:.2f} MB ({MINUTES} min, 8 kHz 16-bit mono), {ROUNDS} rounds")
        print(f"{'path':<52} {'best MB/s':>10} {'median':>8}")
        labels = {
            "memory": "raw hashlib.sha256, bytes in memory",
            "file": "raw hashlib.sha256, reading the files",
            "store": "LocalStore: hash + temp write + fsync + link",
            "ingest": "RecordingService ingest (store + WAV + DB + audit)",
        }
        for key, label in labels.items():
            print(f"{label:<52} {max(rows[key]):>10.0f} {statistics.median(rows[key]):>8.0f}")
        best_ingest = max(rows["ingest"])
        print(f"store / raw sha256 in memory: {max(rows['store']) / max(rows['memory']):.0%}")
        print(f"ingest / raw sha256 in memory: {best_ingest / max(rows['memory']):.0%}")
        print(f"ingest rate: {best_ingest * 1e6 / (total / FILES):.1f} recordings/s of {MINUTES} min")


def main() -> None:
    Path("var").mkdir(exist_ok=True)
    asyncio.run(run())


if __name__ == "__main__":
    main()
