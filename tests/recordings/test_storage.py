"""Blob stores: content addressing, no overwrite, crash safety, ranged reads, S3 against moto."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recordings.errors import BlobNotFound
from recordings.storage import BlobStore, LocalStore, S3Store

REPO = Path(__file__).parents[2]


async def _put(store: BlobStore, data: bytes) -> str:
    with store.stage() as sink:
        sink.write(data)
        staged = sink.finish()
        return await store.put(staged)


async def _read(store: BlobStore, key: str, start: int = 0, stop: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, stop)])


async def test_a_blob_is_stored_under_its_sha256_read_only(store: LocalStore) -> None:
    data = os.urandom(300_000)
    key = await _put(store, data)
    path = store.path_of(key)
    assert key == hashlib.sha256(data).hexdigest()
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o444
    assert await store.size(key) == len(data) and await store.rehash(key) == key
    assert list(store.staging.iterdir()) == []


async def test_the_same_bytes_twice_make_one_blob_and_the_first_is_never_replaced(store: LocalStore) -> None:
    data = b"RIFF" + os.urandom(1000)
    key = await _put(store, data)
    inode = store.path_of(key).stat().st_ino
    assert await _put(store, data) == key
    assert store.path_of(key).stat().st_ino == inode
    assert list(store.keys()) == [key]


async def test_ranged_reads_return_exactly_the_bytes_asked_for(store: LocalStore) -> None:
    data = os.urandom(200_000)
    key = await _put(store, data)
    for start, stop in [(0, 1), (0, None), (65_535, 65_537), (199_999, None), (10, 150_000)]:
        assert await _read(store, key, start, stop) == data[start:stop]


async def test_missing_blobs_raise_blob_not_found(store: LocalStore) -> None:
    missing = "a" * 64
    with pytest.raises(BlobNotFound):
        await store.size(missing)
    with pytest.raises(BlobNotFound):
        await _read(store, missing)
    with pytest.raises(BlobNotFound):
        store.path_of("../../etc/passwd")
    await store.delete(missing)  # idempotent


CRASHER = """
import os, sys, time
from pathlib import Path
from recordings.storage import LocalStore

store = LocalStore(Path(sys.argv[1]))
sink = store.stage()
for _ in range(20):
    sink.write(os.urandom(100_000))
if sys.argv[2] == "before-publish":
    sink.finish()  # fsynced temp file, rename not yet done
else:
    sink._file.flush()  # half written
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("moment", ["mid-write", "before-publish"])
def test_a_crash_before_publishing_leaves_no_file_visible(tmp_path: Path, moment: str) -> None:
    root = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(root), moment],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    store = LocalStore(root)
    assert list(store.keys()) == []
    leftovers = list(store.staging.iterdir())
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == 2_000_000
    assert store.sweep_staging(older_than_s=3600) == 0  # could still be a running ingest
    assert store.sweep_staging(older_than_s=0) == 1
    assert list(store.staging.iterdir()) == []


# -- S3-compatible backend, against moto's server on 127.0.0.1 ---------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3(moto_url: str, tmp_path: Path) -> S3Store:
    store = S3Store(
        bucket=f"rec-{tmp_path.name[-20:].lower().replace('_', '-')}",
        staging_dir=tmp_path / "staging",
        endpoint_url=moto_url,
        access_key="testing",
        secret_key="testing",
    )
    store._client.create_bucket(Bucket=store.bucket)
    return store


async def test_s3_store_round_trips_ranges_and_deletes(s3: S3Store) -> None:
    data = os.urandom(150_000)
    key = await _put(s3, data)
    assert key == hashlib.sha256(data).hexdigest()
    assert await _put(s3, data) == key  # already there: not uploaded again
    assert await s3.size(key) == len(data) and await s3.rehash(key) == key
    assert await _read(s3, key, 1000, 1010) == data[1000:1010]
    assert await _read(s3, key, 149_990) == data[149_990:]
    assert list((s3.staging).iterdir()) == []
    await s3.delete(key)
    with pytest.raises(BlobNotFound):
        await s3.size(key)
