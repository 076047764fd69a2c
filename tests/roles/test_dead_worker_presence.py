"""A web worker killed with its consoles (#17): the router logs their agents off.

A killed worker runs no log-off timer. Each worker beats the agents it holds a console of into
Redis (cluster.presence_beat); the leader router reads every worker's beat into its own presence.
Here worker "a" beats once and dies (its set expires, as after a kill -9); worker "b" lives on
and holds a console of one of a's agents (that agent's browser moved): only the other agent is
logged off, after the expiry and the grace."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent_ui.bootstrap import build
from cluster.presence_beat import PresenceBeat
from config.database import is_sqlite
from config.settings import load_settings
from routing.agent_state import AgentState
from routing.commands import LoginAgent
from tests.crash.processes import eventually
from tests.roles.conftest import redis_url
from tests.roles.test_redis_push import SECRETS


async def test_the_agents_of_a_killed_web_worker_are_logged_off_by_the_router(
    database_url: str, tmp_path: Path, key_prefix: str, redis: Redis
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = build(
        load_settings(
            **SECRETS, database_url=database_url, role="router", redis_url=redis_url(),
            redis_prefix=key_prefix, recordings_dir=tmp_path / "router",
        )
    )  # fmt: skip
    router.presence.grace_s = 0.5
    dead = PresenceBeat(redis, lambda: ["1001", "1002"], prefix=key_prefix, worker="a", ttl_s=4.0)
    alive = PresenceBeat(redis, lambda: ["1002"], prefix=key_prefix, worker="b", ttl_s=4.0)
    try:
        async with asyncio.TaskGroup() as group:
            run = group.create_task(router.run())
            await eventually(lambda: _ready(router), timeout=30, every=0.05)
            for agent in ("1001", "1002"):
                await router.acd.command(LoginAgent(agent_id=agent))
            await dead.beat()  # a's last beat: it is killed right after
            beating = group.create_task(alive.run())

            async def seen() -> bool:
                return router.presence.consoles("1001") == 1 and router.presence.consoles("1002") == 2

            await eventually(seen, timeout=10, every=0.05)

            async def logged_off() -> bool:
                return router.acd.router.agent_state("1001") is AgentState.LOGGED_OUT

            await eventually(logged_off, timeout=15, every=0.05)
            assert router.acd.router.agent_state("1002") is AgentState.AVAILABLE  # still on b
            assert router.presence.consoles("1002") == 1
            for task in (beating, run):
                task.cancel()
    finally:
        with contextlib.suppress(Exception):
            await router.aclose()


async def _ready(router: object) -> bool:
    from agent_ui.bootstrap import Container

    assert isinstance(router, Container)
    return router.started.is_set() and router.command_server is not None and router.recovered.is_set()
