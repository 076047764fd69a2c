"""Where recording files come from: a folder shared with the PBX, or an HTTP URL.

A fetcher writes the bytes at a source location into a `StagingFile` (which
hashes them on the way). Asterisk and the simulator hand us a path as the PBX
sees it (MixMonitor's file name); `LocalFileFetcher` maps the PBX's folder to
ours and refuses anything outside the mapped folders, so a forged or mistyped
event cannot make us copy `/etc/shadow` into the archive. Twilio hands us a URL
that needs the account's credentials and may answer 404 for a while after the
status callback: `HttpRecordingDownloader` retries with exponential backoff. Which
URL and credentials a location needs is the source's business (`locate`: for
Twilio, cti.twilio.media.TwilioMedia.locate, which refuses any other host).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

import httpx

from recordings.errors import SourceUnavailable
from recordings.storage import StagingFile, copy_file_into

Locate = Callable[[str], tuple[str, tuple[str, str] | None]]
"""Location at the source -> (URL to GET, basic-auth credentials). Raises ValueError to refuse it."""


class RecordingFetcher(Protocol):
    async def fetch(self, location: str, sink: StagingFile) -> None:
        """Write the whole recording into `sink`. Raises SourceUnavailable (retry later)."""
        ...

    async def idle_s(self, location: str) -> float | None:
        """Seconds since the file last changed at the source; None if it never grows there
        (finished media over HTTP). A damaged header is only repaired once a file is idle."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: first_s, first_s*factor, ... capped at max_s."""

    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 600.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        base = min(self.max_s, self.first_s * self.factor ** max(0, attempt - 1))
        return base * (1 - self.jitter + 2 * self.jitter * rng())


class LocalFileFetcher:
    """Copies files from folders shared with (or copied from) the PBX.

    `folders` maps a folder as the PBX names it to where this host sees it, e.g.
    `{"/var/spool/asterisk/monitor": Path("/srv/pbx-monitor")}`. A path in a
    local folder itself is accepted too (the simulator writes straight into ours).
    """

    def __init__(self, folders: Mapping[str, Path]) -> None:
        self._folders = {PurePosixPath(pbx): local.resolve() for pbx, local in folders.items()}

    def resolve(self, location: str) -> Path:
        wanted = PurePosixPath(location)
        for pbx, local in self._folders.items():
            for prefix in (pbx, PurePosixPath(local)):
                if wanted.is_relative_to(prefix):
                    candidate = (local / wanted.relative_to(prefix)).resolve()
                    if candidate.is_relative_to(local):
                        return candidate
        raise SourceUnavailable(f"{location!r} is not inside a recordings folder shared with the PBX")

    async def fetch(self, location: str, sink: StagingFile) -> None:
        path = self.resolve(location)
        try:
            await asyncio.to_thread(copy_file_into, path, sink)
        except OSError as exc:
            sink.reset()
            raise SourceUnavailable(f"cannot read {location}: {exc.strerror or exc}") from exc

    async def idle_s(self, location: str) -> float | None:
        try:
            changed = (await asyncio.to_thread(self.resolve(location).stat)).st_mtime
        except OSError as exc:
            raise SourceUnavailable(f"cannot read {location}: {exc.strerror or exc}") from exc
        return max(0.0, time.time() - changed)


_PERMANENT = frozenset({400, 401, 403, 405, 410})


class HttpRecordingDownloader:
    """Downloads a recording over HTTP(S) with the caller's httpx client.

    Each attempt starts the file over. 404, 408, 429, 5xx and transport errors are
    retried up to `attempts` times with `backoff`; 401/403 (bad credentials) and
    other permanent answers stop at once. Either way the caller gets
    SourceUnavailable and `RecordingService.retry_failed` tries again later, so a
    recording is fetched eventually. Credentials never appear in errors.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        auth: tuple[str, str] | None = None,
        url_suffix: str = "",
        locate: Locate | None = None,
        attempts: int = 6,
        backoff: Backoff = Backoff(first_s=1.0, max_s=30.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`locate` (if given) decides the URL and credentials of each location; else `auth` and
        `url_suffix` (added when the URL's path has no extension) apply to every location."""
        self._client, self._auth, self._suffix, self._locate = client, auth, url_suffix, locate
        self._attempts, self._backoff, self._sleep = max(1, attempts), backoff, sleep

    def url_for(self, location: str) -> tuple[str, tuple[str, str] | None]:
        if self._locate is not None:
            try:
                return self._locate(location)
            except ValueError as exc:
                raise SourceUnavailable(str(exc)) from exc
        path = httpx.URL(location).path
        url = location if not self._suffix or PurePosixPath(path).suffix else location + self._suffix
        return url, self._auth

    async def fetch(self, location: str, sink: StagingFile) -> None:
        (url, auth), problem = self.url_for(location), ""
        for attempt in range(1, self._attempts + 1):
            sink.reset()
            try:
                async with self._client.stream("GET", url, auth=auth) as response:
                    if response.status_code == 200:
                        async for chunk in response.aiter_bytes():
                            sink.write(chunk)
                        return
                    problem = f"HTTP {response.status_code}"
                    if response.status_code in _PERMANENT:
                        break
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < self._attempts:
                await self._sleep(self._backoff.delay(attempt))
        sink.reset()
        raise SourceUnavailable(f"cannot download {url}: {problem}")

    async def idle_s(self, location: str) -> float | None:
        return None  # what an HTTP server hands out is the finished file
