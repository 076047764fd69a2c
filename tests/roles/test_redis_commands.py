"""--role web sends a console's orders to --role router over Redis: an agent signed in and
paused on a web worker is signed in and paused in the router's ACD, and the state change the
router publishes comes back to that console through the Redis hub."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_ui.bootstrap import Container
from agent_ui.errors import ApiError
from cluster.redis_hub import RedisHub
from config.database import is_sqlite
from routing.agent_state import AgentState
from routing.commands import LoginAgent, PauseAgent
from routing.events import CallEvent, CallEventKind
from tests.crash.processes import eventually
from tests.roles.test_redis_push import _built


def _own_keys(container: Container, prefix: str) -> None:
    """This test's key prefix for the command channel too (parallel runs share the server)."""
    if container.commands is not None:
        container.commands.prefix = f"{prefix}cmd:"
    if container.command_server is not None:
        container.command_server.prefix = f"{prefix}cmd:"


async def test_a_pause_on_a_web_worker_reaches_the_router_and_its_state_comes_back(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = _built(database_url, tmp_path, "router", key_prefix)
    web = _built(database_url, tmp_path, "web", key_prefix)
    assert router.command_server is not None and router.commands is None
    assert web.commands is not None and web.command_server is None
    for container in (router, web):
        _own_keys(container, key_prefix)
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(c.run()) for c in (router, web)]

            async def ready() -> bool:
                assert isinstance(web.hub, RedisHub) and router.command_server is not None
                return (
                    web.started.is_set() and web.hub.ready.is_set() and router.command_server.ready.is_set()
                )

            await eventually(ready, timeout=20, every=0.05)
            sub = web.hub.subscribe("agent:1001")
            await web.acd.command(LoginAgent(agent_id="1001"))  # as the console's hello does
            await web.acd.command(PauseAgent(agent_id="1001", reason="lunch"))
            assert router.acd.router.agent_state("1001") is AgentState.PAUSED
            states: list[str] = []
            while len(states) < 2:
                message = await asyncio.wait_for(sub.queue.get(), 5)
                assert message is not None
                if message["type"] == "state":
                    states.append(message["state"])
            assert states == ["available", "paused"]
            for run in runs:
                run.cancel()
    finally:
        for container in (router, web):
            await container.aclose()


async def test_a_second_console_on_another_web_worker_is_greeted_with_the_routers_state(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    """Issue #17: a web worker's own ACD memory is empty, so its greeting comes from the router:
    signed in and paused through worker A, a console on worker B sees paused (lunch) and sends
    no second sign-in; the call the router popped to the agent passes B's own-call check."""
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = _built(database_url, tmp_path, "router", key_prefix)
    web_a = _built(database_url, tmp_path / "a", "web", key_prefix)
    web_b = _built(database_url, tmp_path / "b", "web", key_prefix)
    containers = (router, web_a, web_b)
    for container in containers:
        _own_keys(container, key_prefix)
    server = router.command_server
    assert server is not None
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(c.run()) for c in containers]

            async def ready() -> bool:
                return web_a.started.is_set() and web_b.started.is_set() and server.ready.is_set()

            await eventually(ready, timeout=20, every=0.05)
            first = await web_a.console.greet("1001")  # signed out: the greeting signs them in
            assert first["state"] == "available" and "calls" not in first
            assert router.acd.router.agent_state("1001") is AgentState.AVAILABLE
            await web_a.acd.command(PauseAgent(agent_id="1001", reason="lunch"))
            orders = server.applied
            assert orders == 2  # the sign-in and the pause
            second = await web_b.console.greet("1001")
            assert (second["state"], second["reason"]) == ("paused", "lunch")
            assert second["epoch"] == web_b.console.epoch
            assert server.applied == orders  # no second sign-in sent
            assert router.acd.router.agent_state("1001") is AgentState.PAUSED

            await router.console.handle(
                CallEvent(
                    call_id="c-17",
                    kind=CallEventKind.RINGING,
                    at=datetime.now(UTC),
                    event_id="e-17",
                    agent="1001",
                    caller="+15550100",
                )
            )
            assert not web_b.console.popped_to("1001", "c-17")
            assert await web_b.console.popped_to_anywhere("1001", "c-17")
            assert not await web_b.console.popped_to_anywhere("1001", "c-other")
            third = await web_b.console.greet("1001")
            assert third["pop"] is not None and third["pop"]["call_id"] == "c-17"
            for run in runs:
                run.cancel()
    finally:
        for container in containers:
            await container.aclose()


async def test_without_a_router_the_greeting_says_unknown_and_the_own_call_check_503(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    web = _built(database_url, tmp_path, "web", key_prefix)
    _own_keys(web, key_prefix)
    assert web.commands is not None
    web.commands.timeout_s = 0.3
    try:
        async with asyncio.TaskGroup() as group:
            run = group.create_task(web.run())
            await eventually(_started(web), timeout=20, every=0.05)
            hello = await web.console.greet("1001")
            assert hello["state"] == "unknown" and hello["router_unreachable"] is True
            with pytest.raises(ApiError) as refused:
                await web.console.popped_to_anywhere("1001", "c-17")
            assert (refused.value.status, refused.value.error_id) == (503, "router_unreachable")
            run.cancel()
    finally:
        await web.aclose()


def _started(container: Container) -> Callable[[], Awaitable[bool]]:
    async def started() -> bool:
        return container.started.is_set()

    return started


async def test_done_on_a_web_worker_ends_the_wrap_up_in_the_router(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    """Found running `--role router` + `--role web` against a real Asterisk 22.10.1: the wrap-up
    form's Done (POST /api/console/calls/{id}/wrapup, 204) asked the web worker's own router,
    which holds no state, whether the agent was in wrap-up, so it never told the router: every
    agent stayed in wrap-up (control mode offered them nothing) and no call got its handle time."""
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = _built(database_url, tmp_path, "router", key_prefix)
    web = _built(database_url, tmp_path, "web", key_prefix)
    for container in (router, web):
        _own_keys(container, key_prefix)
    server = router.command_server
    assert server is not None
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(c.run()) for c in (router, web)]

            async def ready() -> bool:
                return web.started.is_set() and server.ready.is_set()

            await eventually(ready, timeout=20, every=0.05)
            await web.console.greet("1001")  # signed in through the web worker
            now = datetime.now(UTC)
            for n, (kind, agent) in enumerate(
                [
                    (CallEventKind.OFFERED, None),
                    (CallEventKind.RINGING, "1001"),
                    (CallEventKind.ANSWERED, "1001"),
                    (CallEventKind.HUNG_UP, None),
                ]
            ):  # observe mode: the PBX's queue gives the call to 1001, who talks and hangs up
                event = CallEvent(
                    call_id="c-wrap", kind=kind, at=now, event_id=f"e-wrap-{n}", agent=agent, queue="support"
                )
                await router.acd.handle(event)
            assert router.acd.router.agent_state("1001") is AgentState.WRAP_UP

            await web.console.end_wrapup("1001")  # the web worker's "Done"
            assert router.acd.router.agent_state("1001") is AgentState.AVAILABLE
            await web.console.end_wrapup("1001")  # again: not in wrap-up any more, nothing sent
            assert router.acd.router.agent_state("1001") is AgentState.AVAILABLE
            for run in runs:
                run.cancel()
    finally:
        for container in (router, web):
            await container.aclose()
