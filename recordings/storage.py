"""Blob stores for recording files: content-addressed, never overwritten.

A recording reaches a store in two steps. First it is *staged*: written to a
temp file in the store's staging folder while its SHA-256 is computed, then
fsynced (`StagingFile`). Then it is *published* under its hash (`put`). A crash
during staging or between the two steps leaves only a temp file in the staging
folder, never a half file under a key; `sweep_staging` removes such leftovers
at start-up. Because the key is the hash, publishing the same bytes twice is a
no-op and a stored blob is never replaced.

`LocalStore` (the default) keeps blobs in `<root>/objects/ab/cd/<sha256>`, read
only. `S3Store` (optional, needs boto3) keeps them in a bucket of any
S3-compatible service; boto3 is blocking, so every call runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from recordings.errors import BlobNotFound, StorageError

CHUNK = 1024 * 1024
READ_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class StagedBlob:
    path: Path
    sha256: str
    size: int


class StagingFile:
    """A temp file that hashes what is written to it. Use as a context manager.

    `reset()` starts over (a retried download); `finish()` fsyncs and returns the
    digest. Leaving the `with` block discards the temp file unless it was
    published (moved away) in the meantime.
    """

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.part"
        self._file: BinaryIO = self.path.open("xb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def reset(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self._hash = hashlib.sha256()
        self.size = 0

    def finish(self) -> StagedBlob:
        """Flush and fsync (blocking: call through `asyncio.to_thread`)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return StagedBlob(self.path, self._hash.hexdigest(), self.size)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def copy_file_into(source: Path, sink: StagingFile) -> None:
    """Blocking copy of a whole file into a staging file (run it in a thread)."""
    with source.open("rb") as src:
        while chunk := src.read(CHUNK):
            sink.write(chunk)


class BlobStore(Protocol):
    def stage(self) -> StagingFile: ...

    async def put(self, staged: StagedBlob) -> str:
        """Publish a staged blob under its hash and return the key (idempotent)."""
        ...

    async def size(self, key: str) -> int: ...

    def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, stop) in chunks. Raises BlobNotFound before the first chunk."""
        ...

    async def rehash(self, key: str) -> str:
        """SHA-256 of the stored bytes as they are now (for `hotline audit verify`)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; removing a missing blob is not an error."""
        ...

    def sweep_staging(self, older_than_s: float = 3600.0) -> int:
        """At start-up: remove staging files a crash left behind; returns how many."""
        ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.staging = root / "staging"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise BlobNotFound(f"not a blob key: {key!r}")
        return self.objects / key[:2] / key[2:4] / key

    def stage(self) -> StagingFile:
        return StagingFile(self.staging)

    async def put(self, staged: StagedBlob) -> str:
        try:
            await asyncio.to_thread(self._publish, staged)
        except OSError as exc:
            raise StorageError(f"cannot store blob {staged.sha256}: {exc}") from exc
        return staged.sha256

    def _publish(self, staged: StagedBlob) -> None:
        final = self.path_of(staged.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged.path, 0o444)
        try:
            # link() never replaces an existing name (rename() would): the first
            # copy of some content stays, a second identical one is dropped.
            os.link(staged.path, final)
        except FileExistsError:
            pass
        else:
            _fsync_dir(final.parent)
        staged.path.unlink()

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self.path_of(key).stat)).st_size
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    async def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = None if stop is None else stop - start
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def rehash(self, key: str) -> str:
        try:
            return await asyncio.to_thread(_sha256_of_file, self.path_of(key))
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete blob {key}: {exc}") from exc

    def keys(self) -> Iterator[str]:
        for path in self.objects.glob("*/*/*"):
            yield path.name

    def sweep_staging(self, older_than_s: float = 3600.0) -> int:
        return sweep_folder(self.staging, older_than_s)


def sweep_folder(folder: Path, older_than_s: float) -> int:
    """Remove temp files left by a crash. Younger files may belong to a running ingest."""
    cutoff, removed = time.time() - older_than_s, 0
    for path in folder.glob("*.part"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class S3Store:
    """Any S3-compatible object store (AWS, MinIO, Ceph...), path-style addressing.

    Objects are named `<prefix><sha256>`; the hash is also kept as object metadata.
    Staging happens on local disk (`staging_dir`) because the hash must be known
    before the key is.
    """

    def __init__(
        self,
        *,
        bucket: str,
        staging_dir: Path,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "recordings/",
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StorageError("the S3 backend needs boto3: pip install 'hotline[s3]'") from exc
        self.bucket, self.prefix, self.staging = bucket, prefix, staging_dir
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def stage(self) -> StagingFile:
        return StagingFile(self.staging)

    def sweep_staging(self, older_than_s: float = 3600.0) -> int:
        return sweep_folder(self.staging, older_than_s) if self.staging.exists() else 0

    async def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(getattr(self._client, method), **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                raise BlobNotFound(kwargs.get("Key", "?")) from exc
            raise StorageError(f"S3 {method} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {method} failed: {exc}") from exc

    async def put(self, staged: StagedBlob) -> str:
        key = staged.sha256
        try:
            await self._call("head_object", Bucket=self.bucket, Key=self._name(key))
        except BlobNotFound:
            with staged.path.open("rb") as body:
                await self._call(
                    "put_object",
                    Bucket=self.bucket,
                    Key=self._name(key),
                    Body=body,
                    ContentLength=staged.size,
                    ContentType="audio/wav",
                    Metadata={"sha256": key},
                )
        staged.path.unlink(missing_ok=True)
        return key

    async def size(self, key: str) -> int:
        head = await self._call("head_object", Bucket=self.bucket, Key=self._name(key))
        return int(head["ContentLength"])

    async def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        if stop is not None and stop <= start:
            return
        ranged = (
            {}
            if start == 0 and stop is None
            else {"Range": f"bytes={start}-{'' if stop is None else stop - 1}"}
        )
        response = await self._call("get_object", Bucket=self.bucket, Key=self._name(key), **ranged)
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def rehash(self, key: str) -> str:
        digest = hashlib.sha256()
        async for chunk in self.read(key):
            digest.update(chunk)
        return digest.hexdigest()

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=self._name(key))
