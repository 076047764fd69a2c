"""A supervisor greeted on a web worker (#17) sees the router's state: the web worker's own ACD
holds none (nobody signed in, nobody waiting), so its wallboard greeting is the router's last
published view, read back from Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.redis_hub import RedisHub
from config.database import is_sqlite
from routing.commands import LoginAgent, PauseAgent
from tests.crash.processes import eventually
from tests.roles.test_redis_commands import _own_keys
from tests.roles.test_redis_push import _built


def _states(view: dict[str, Any]) -> dict[str, str]:
    return {a["id"]: a["state"] for a in view["agents"]}


async def test_a_supervisor_on_a_web_worker_is_greeted_with_the_routers_agents(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = _built(database_url, tmp_path, "router", key_prefix)
    web = _built(database_url, tmp_path, "web", key_prefix)
    for container in (router, web):
        _own_keys(container, key_prefix)
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(c.run()) for c in (router, web)]

            async def ready() -> bool:
                assert isinstance(web.hub, RedisHub)
                return web.started.is_set() and web.hub.ready.is_set() and router.started.is_set()

            await eventually(ready, timeout=20, every=0.05)
            await router.acd.command(LoginAgent(agent_id="1001"))
            await router.acd.command(LoginAgent(agent_id="1002"))
            await router.acd.command(PauseAgent(agent_id="1002", reason="lunch"))

            async def greeted_with_the_routers_state() -> bool:
                states = _states(await web.wallboard.current_view())
                return states.get("1001") == "available" and states.get("1002") == "paused"

            await eventually(greeted_with_the_routers_state, timeout=10, every=0.1)
            own = _states(web.wallboard.view())  # what the greeting was before: this worker's empty ACD
            for run in runs:
                run.cancel()
    finally:
        for container in (router, web):
            await container.aclose()
    assert own.get("1001") == "logged_out"
