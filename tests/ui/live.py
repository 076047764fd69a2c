"""Helpers for the UI tests over real HTTP and websockets (see tests.harness)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import websockets

from tests.harness import Hotline


async def open_socket(hotline: Hotline, client: httpx.AsyncClient, path: str) -> Any:
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return await websockets.connect(
        f"{hotline.ws_url}{path}", additional_headers={"Cookie": cookie}, open_timeout=5
    )


async def view_until(
    socket: Any,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 1.0,  # noqa: ASYNC109
) -> dict[str, Any]:
    """The first wallboard view (hello or update) for which `check` holds, within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") in ("hello", "wallboard") and check(message):
                return message  # type: ignore[no-any-return]


def agent_state(view: dict[str, Any], agent_id: str) -> str | None:
    return next((a["state"] for a in view["agents"] if a["id"] == agent_id), None)
