"""Sign-in and the agent websocket refuse what they must, with clear answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.harness import next_message, running_hotline


async def test_unknown_login_and_wrong_password_look_the_same_and_invalid_input_is_named(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url) as client:
            unknown = await client.post("/api/auth/login", json={"login": "9999", "password": "demo"})
            wrong = await client.post("/api/auth/login", json={"login": "1001", "password": "nope"})
            empty = await client.post("/api/auth/login", json={"login": "", "password": "demo"})
            me = await client.get("/api/auth/me")
        assert unknown.status_code == wrong.status_code == 401
        assert (
            unknown.json()
            == wrong.json()
            == {
                "error_id": "login_failed",
                "message": "wrong login or password, or the account is disabled",
            }
        )
        assert empty.status_code == 422
        assert empty.json()["error_id"] == "invalid_input"
        assert empty.json()["details"][0]["field"] == "body.login"
        assert me.status_code == 401 and me.json()["error_id"] == "not_authenticated"


async def test_agent_websocket_needs_an_agent_session(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        url = f"{hotline.ws_url}/ws/agent"
        with pytest.raises((InvalidStatus, websockets.ConnectionClosed)) as anonymous:
            async with websockets.connect(url) as ws:
                await ws.recv()
        supervisor = await hotline.sign_in("sup")
        cookie = "; ".join(f"{k}={v}" for k, v in supervisor.cookies.items())
        with pytest.raises((InvalidStatus, websockets.ConnectionClosed)) as forbidden:
            async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
                await ws.recv()
        await supervisor.aclose()
        for raised, code in ((anonymous, 4401), (forbidden, 4403)):
            exc = raised.value
            if isinstance(exc, InvalidStatus):
                assert exc.response.status_code == 403
            else:
                assert exc.rcvd is not None and exc.rcvd.code == code


async def test_console_ignores_malformed_commands_and_answers_with_an_error(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        agent = await hotline.sign_in("1001")
        async with await hotline.agent_socket(agent) as ws:
            assert (await next_message(ws, "hello"))["state"] == "available"
            await ws.send('{"type": "fly"}')
            assert (await next_message(ws, "error"))["error_id"] == "invalid_command"
            await ws.send('"not an object"')
            assert (await next_message(ws, "error"))["error_id"] == "invalid_message"
            await ws.send("{not json")
            assert (await next_message(ws, "error"))["error_id"] == "invalid_message"
            await ws.send('{"type": "pause", "reason": "lunch"}')
            state = await next_message(ws, "state")
            assert state["state"] == "paused" and state["reason"] == "lunch"
        await agent.aclose()
