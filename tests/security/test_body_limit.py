"""Oversized bodies get 413 without being read; an unsigned Twilio webhook gets 403 before its
body is read. Sent over a raw socket, so the test controls exactly what goes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from starlette.types import ASGIApp

from tests.harness import running_hotline
from tests.twilio.harness import twilio_hotline

HUGE = 300 * 1024 * 1024
CHUNK = b"a" * 65536


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def raw_post(base_url: str, path: str, headers: dict[str, str], *, chunked: bool) -> tuple[int, int]:
    """POST up to HUGE bytes until the server answers; (status, body bytes we got to send)."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0

    async def send() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < HUGE:
                frame = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
                writer.write(frame)
                await writer.drain()
                sent += len(CHUNK)

    sender = asyncio.create_task(send())
    try:
        async with asyncio.timeout(20):
            status_line = await reader.readline()
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(status_line.split()[1]), sent


@contextlib.asynccontextmanager
async def on_a_socket(app: ASGIApp) -> AsyncIterator[str]:
    """An app already running in-process (its lifespan entered), also served on a real port:
    the wire is what this test is about."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    async with asyncio.TaskGroup() as group:
        task = group.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        finally:
            server.should_exit = True


async def test_an_oversized_body_gets_413_without_being_read(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        before = rss_bytes()
        declared, sent_declared = await raw_post(hotline.base_url, "/api/auth/login", {}, chunked=False)
        streamed, sent_streamed = await raw_post(hotline.base_url, "/api/tickets", {}, chunked=True)
        grown = rss_bytes() - before
    assert declared == 413 and streamed == 413
    assert sent_declared < HUGE // 10 and sent_streamed < HUGE // 10  # the server stopped us early
    assert grown < 64 * 1024 * 1024, f"the server grew by {grown / 2**20:.0f} MiB"


async def test_an_unsigned_twilio_webhook_is_refused_before_its_body_is_read(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline, on_a_socket(hotline.transport.app) as url:
        before = rss_bytes()
        unsigned, sent_unsigned = await raw_post(url, "/twilio/voice", {}, chunked=True)
        signed, _ = await raw_post(url, "/twilio/voice", {"X-Twilio-Signature": "x" * 28}, chunked=False)
        grown = rss_bytes() - before
        published = hotline.container.bus.stats.published
    assert unsigned == 403 and sent_unsigned < HUGE // 10
    assert signed == 413  # a signature header does not buy a 300 MB read either
    assert grown < 64 * 1024 * 1024 and published == 0
