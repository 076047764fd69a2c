"""What a signed-in browser may send on a websocket: small JSON text commands. A binary frame is
answered as an invalid message (the socket stays open); a message over `WS_MAX_MESSAGE_BYTES` is
refused with close code 1009 before it is parsed, so no console can stall the event loop that
also carries the calls (a 14 MB frame held /api/health for 1.8 s)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from agent_ui.ws import WS_MAX_MESSAGE_BYTES
from tests.harness import next_message, running_hotline
from tests.ui.live import open_socket


async def _reply(ws: websockets.ClientConnection, kind: str) -> dict[str, object]:
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message  # type: ignore[no-any-return]


async def test_a_binary_frame_is_an_invalid_message_and_the_socket_stays_open(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        sup = await hotline.sign_in("sup")
        async with (
            await hotline.agent_socket(alice) as ws,
            await open_socket(hotline, sup, "/ws/supervisor") as wall,
        ):
            await next_message(ws, "hello")
            await next_message(wall, "hello")
            for socket in (ws, wall):
                await socket.send(b"\x00\x01 not text")
                assert (await _reply(socket, "error"))["error_id"] == "invalid_message"
            await ws.send(json.dumps({"type": "pause", "reason": "break"}))
            assert (await _reply(ws, "state"))["state"] == "paused"  # still served
            await wall.send(json.dumps({"type": "ping"}))
            assert (await _reply(wall, "pong"))["type"] == "pong"
        await alice.aclose()
        await sup.aclose()


async def test_a_message_over_the_limit_closes_the_socket_with_1009_unparsed(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        async with await hotline.agent_socket(alice) as ws:
            await next_message(ws, "hello")
            big = json.dumps({"type": "pause", "reason": "x" * WS_MAX_MESSAGE_BYTES})
            await ws.send(big)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        async with await hotline.agent_socket(alice) as again:  # the console reconnects
            await next_message(again, "hello")
        await alice.aclose()
