"""Presence on a web worker (#17): its ACD holds no state, so when an agent's last console on
that worker goes, the agent's state is asked of the router and, after the grace, the router
logs the agent off; an agent who left signed out is not sent a log-off."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.redis_hub import RedisHub
from config.database import is_sqlite
from routing.agent_state import AgentState
from routing.commands import LoginAgent
from tests.crash.processes import eventually
from tests.roles.test_redis_commands import _own_keys
from tests.roles.test_redis_push import _built


async def test_an_agent_whose_last_console_on_a_web_worker_went_is_logged_off_by_the_router(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = _built(database_url, tmp_path, "router", key_prefix)
    web = _built(database_url, tmp_path, "web", key_prefix)
    for container in (router, web):
        _own_keys(container, key_prefix)
    web.presence.grace_s = 0.5
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(c.run()) for c in (router, web)]

            async def ready() -> bool:
                assert isinstance(web.hub, RedisHub) and router.command_server is not None
                return (
                    web.started.is_set() and web.hub.ready.is_set() and router.command_server.ready.is_set()
                )

            await eventually(ready, timeout=20, every=0.05)
            await web.presence.connected("1001")
            await web.acd.command(LoginAgent(agent_id="1001"))  # as the console's hello does
            assert router.acd.router.agent_state("1001") is AgentState.AVAILABLE
            await web.presence.disconnected("1001")  # the browser closed
            assert web.presence.pending("1001") is not None  # the router said signed in: the grace runs

            async def logged_off() -> bool:
                return router.acd.router.agent_state("1001") is AgentState.LOGGED_OUT

            await eventually(logged_off, timeout=10, every=0.05)
            await web.presence.connected("1002")  # never signed in: nothing to log off
            await web.presence.disconnected("1002")
            assert web.presence.pending("1002") is None
            for run in runs:
                run.cancel()
    finally:
        for container in (router, web):
            await container.aclose()
