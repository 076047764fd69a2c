"""--role web sends a console's orders to --role router over Redis: an agent signed in and
paused on a web worker is signed in and paused in the router's ACD, and the state change the
router publishes comes back to that console through the Redis hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent_ui.bootstrap import Container
from cluster.redis_hub import RedisHub
from config.database import is_sqlite
from routing.agent_state import AgentState
from routing.commands import LoginAgent, PauseAgent
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
