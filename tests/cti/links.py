"""An AsteriskLink to a test's PBX (the simulated one or an AmiPeer) on 127.0.0.1.

The one set-up the cti tests share, so that an argument every link needs is added in one
place and each test names only what it is about (its agents, a CDR file, a small queue)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cti.asterisk import AsteriskLink
from cti.bus import EventBus


def link_to(
    port: int,
    secret: str,
    *,
    bus: EventBus | None = None,
    agents: dict[str, str] | None = None,
    default_queue: str = "support",
    **options: Any,
) -> AsteriskLink:
    """A link logging in as `hotline`; `options` are AsteriskLink's own (cdr_file, event_queue…)."""
    return AsteriskLink(
        host="127.0.0.1",
        port=port,
        username="hotline",
        secret=secret,
        bus=bus if bus is not None else EventBus(),
        agents=agents if agents is not None else {"1001": "Local/1001@agents/n"},
        default_queue=default_queue,
        **options,
    )


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Return once `check()` holds; TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the condition is plain state, nothing to await
            await asyncio.sleep(0.02)
