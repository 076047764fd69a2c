"""Websocket endpoints: `/ws/agent` (one agent's pops, state and commands) and `/ws/supervisor`.

The session cookie authenticates the socket (same as the pages), and keeps doing so: a
socket whose session ends (sign-out, a disabled account, a changed role) is closed with
4401 at once when that happens in this process, else within `auth.recheck_s` (the session
is looked up again). The Origin of the handshake is checked by `agent_ui.middleware`. A console that
reconnects passes `?after=<last seq seen>&epoch=<epoch from its hello>` and is
sent what it missed; an epoch from another server process means its numbers are
meaningless, so it gets the hello (which carries the pop in progress and, as `seq`,
the channel's newest seq, which the console resumes after) and no backlog.
Messages may reach the console before its hello (the greeting waits for the router).
A wallboard needs no backlog: every wallboard message is complete, and
the hello carries the current one, narrowed to the supervisor's queues.
Messages from the browser are small JSON commands (`ready`, `pause`); anything
else gets an `error` message back and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from agent_ui.auth import SESSION_COOKIE, Authenticator, authenticator, connection_user
from agent_ui.console import ConsoleService
from agent_ui.deps import Center, Console, HubDep, Wallboard, container_of
from agent_ui.hub import Channel, PushHub
from agent_ui.models import Role
from agent_ui.sessions import CLOSE_SESSION_ENDED, OpenSocket, SessionUser
from agent_ui.wallboard import CHANNEL as SUPERVISORS
from agent_ui.wallboard import WallboardService

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_AGENT = 4404
CLOSE_TOO_BIG = 1009  # RFC 6455: a message too big to process
# Browser commands are a few dozen bytes ({"type": "pause", "reason": ...}). A longer message is
# refused unparsed: parsing megabytes of JSON here would stall the loop that carries the calls.
# `hotline serve` also gives uvicorn this limit (ws_max_size), so such a frame is not even buffered.
WS_MAX_MESSAGE_BYTES = 64 * 1024

Transform = Callable[[dict[str, Any]], dict[str, Any] | None]


async def _sender(websocket: WebSocket, sub: Channel, transform: Transform | None = None) -> None:
    while True:
        message = await sub.queue.get()
        if message is None:
            await websocket.close(code=1013)  # try again later: we cut a slow reader
            return
        out = message if transform is None else transform(message)
        if out is not None:
            await websocket.send_json(out)


def _after(websocket: WebSocket, epoch: str) -> int | None:
    raw = websocket.query_params.get("after")
    if websocket.query_params.get("epoch") != epoch:
        return None
    return int(raw) if raw is not None and raw.isdigit() else None


async def _watch(websocket: WebSocket, auth: Authenticator, user: SessionUser, opened: OpenSocket) -> None:
    """Close the socket with 4401 once its session no longer holds."""
    token = websocket.cookies.get(SESSION_COOKIE)
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(auth.recheck_s):  # not wait_for: see cluster.cancellation
                await opened.ended.wait()
        if opened.ended.is_set():
            break
        now = await auth.resolve(token)
        if now is None or now.role != user.role:
            break
    with contextlib.suppress(RuntimeError):  # the browser hung up first
        await websocket.close(code=CLOSE_SESSION_ENDED, reason="session ended")


async def _serve(
    websocket: WebSocket,
    sub: Channel,
    transform: Transform | None,
    session: _AgentSession | _SupervisorSession,
    user: SessionUser,
) -> None:
    """`session.start()` (the hello), then forward the subscription while answering commands."""
    auth = authenticator(websocket)
    with auth.sockets.opened(user) as opened:
        await _forward(websocket, sub, transform, session, _watch(websocket, auth, user, opened))


async def _forward(
    websocket: WebSocket,
    sub: Channel,
    transform: Transform | None,
    session: _AgentSession | _SupervisorSession,
    watch: Coroutine[Any, Any, None],
) -> None:
    sender = asyncio.create_task(_sender(websocket, sub, transform), name=f"ws-send-{sub.key}")
    watcher = asyncio.create_task(watch, name=f"ws-watch-{sub.key}")
    try:
        await session.start()
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000), received.get("reason"))
            text = received.get("text")
            if text is not None and len(text) > WS_MAX_MESSAGE_BYTES:
                await websocket.close(code=CLOSE_TOO_BIG, reason="message too big")
                return
            try:
                message = json.loads(text) if text is not None else None  # a binary frame: invalid
            except ValueError:
                message = None  # answered as an invalid message; the socket stays open
            reply = await session.command(message)
            if reply is not None:
                await websocket.send_json(reply)
    except WebSocketDisconnect:
        pass
    finally:
        session.hub.unsubscribe(sub)
        for task in (sender, watcher):
            task.cancel()
        for task in (sender, watcher):
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


class _AgentSession:
    def __init__(
        self, websocket: WebSocket, console: ConsoleService, hub: PushHub, agent_id: str, head: int | None
    ) -> None:
        self.websocket, self.console, self.agent_id = websocket, console, agent_id
        self.hub, self.head = hub, head

    async def start(self) -> None:
        hello = await self.console.greet(self.agent_id)
        if self.head is not None:  # no catch-up: the hello stands for everything up to `head`
            hello = {**hello, "seq": self.head}
        await self.websocket.send_json(hello)

    async def command(self, message: object) -> dict[str, Any] | None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return {"type": "error", "error_id": "invalid_message", "message": 'expected {"type": ...}'}
        try:
            reply: dict[str, Any] | None = await self.console.agent_command(self.agent_id, message)
        except ValueError as exc:
            return {"type": "error", "error_id": "invalid_command", "message": str(exc)}
        return reply


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket, console: Console, hub: HubDep) -> None:
    user = await connection_user(websocket)
    if user is None:
        await websocket.close(code=CLOSE_NOT_AUTHENTICATED)
        return
    if user.role != Role.AGENT or user.agent_id is None:
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    agent_id = user.agent_id
    if not console.knows_agent(agent_id):
        await websocket.close(code=CLOSE_UNKNOWN_AGENT, reason="agent not in the call-center file")
        return
    await websocket.accept()
    after = _after(websocket, console.epoch)
    sub = hub.subscribe(f"agent:{agent_id}", after_seq=after)
    head = await hub.head(sub.key) if after is None else None  # read after subscribing (hub.head)
    presence = container_of(websocket).presence
    await presence.connected(agent_id)
    try:
        await _serve(websocket, sub, None, _AgentSession(websocket, console, hub, agent_id, head), user)
    finally:
        await presence.disconnected(agent_id)  # the last console gone: logged off after the grace


class _SupervisorSession:
    def __init__(
        self,
        websocket: WebSocket,
        board: WallboardService,
        hub: PushHub,
        agents: set[str],
        queues: frozenset[str],
        epoch: str,
    ) -> None:
        self.websocket, self.board, self.queues, self.epoch = websocket, board, queues, epoch
        self.hub = hub
        self.agents = agents

    def transform(self, message: dict[str, Any]) -> dict[str, Any] | None:
        kind = message.get("type")
        if kind == "wallboard":
            narrowed: dict[str, Any] = self.board.narrowed(message, self.queues)
            return narrowed
        if kind == "state":
            return message if message.get("agent") in self.agents else None
        if kind == "queued":
            return message if message.get("queue") in self.queues else None
        return message

    async def start(self) -> None:
        await self.board.refresh_alerts()
        view = self.board.narrowed(await self.board.current_view(), self.queues)
        await self.websocket.send_json({**view, "type": "hello", "epoch": self.epoch})

    async def command(self, message: object) -> dict[str, Any] | None:
        if isinstance(message, dict) and message.get("type") == "ping":
            return {"type": "pong"}
        return {"type": "error", "error_id": "invalid_message", "message": "the wallboard takes no commands"}


@router.websocket("/ws/supervisor")
async def supervisor_socket(
    websocket: WebSocket, center: Center, board: Wallboard, console: Console, hub: HubDep
) -> None:
    user = await connection_user(websocket)
    if user is None:
        await websocket.close(code=CLOSE_NOT_AUTHENTICATED)
        return
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    await websocket.accept()
    queues = center.supervised_queues(user.login)
    agents = {a.id for a in center.agents if set(a.queues) & queues}
    session = _SupervisorSession(websocket, board, hub, agents, queues, console.epoch)
    sub = hub.subscribe(SUPERVISORS)
    await _serve(websocket, sub, session.transform, session, user)
