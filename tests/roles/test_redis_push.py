"""--role router and --role web share the live push through Redis: what the router's console
publishes (an agent's state, a pop) reaches a console subscribed on a web worker, numbered as
a console reconnecting to another worker expects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent_ui.bootstrap import Container, build
from cluster.redis_hub import RedisHub
from config.database import is_sqlite
from config.settings import load_settings
from routing.commands import LoginAgent
from tests.crash.processes import eventually
from tests.roles.conftest import redis_url

SECRETS = {"session_secret": "s" * 32, "ami_secret": "a-real-secret", "pbx": "none"}


def _built(database_url: str, tmp_path: Path, role: str, prefix: str) -> Container:
    container = build(
        load_settings(
            **SECRETS, database_url=database_url, role=role, redis_url=redis_url(),
            recordings_dir=tmp_path / role,
        )
    )  # fmt: skip
    assert isinstance(container.hub, RedisHub)
    container.hub.prefix = prefix  # keys of this test's own: parallel runs share the server
    return container


async def test_an_agents_state_changed_by_the_router_reaches_their_console_on_a_web_worker(
    database_url: str, tmp_path: Path, key_prefix: str, redis: object
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    router = _built(database_url, tmp_path, "router", key_prefix)
    web = _built(database_url, tmp_path, "web", key_prefix)
    assert isinstance(router.hub, RedisHub) and isinstance(web.hub, RedisHub)
    assert not router.hub.read and web.hub.read
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(c.run()) for c in (router, web)]

            async def ready() -> bool:
                assert isinstance(web.hub, RedisHub)
                return router.scheduler.running and web.started.is_set() and web.hub.ready.is_set()

            await eventually(ready, timeout=20, every=0.05)
            sub = web.hub.subscribe("agent:1001")
            await router.acd.command(LoginAgent(agent_id="1001"))
            message = await asyncio.wait_for(sub.queue.get(), 5)
            assert message is not None and message["type"] == "state" and message["seq"] >= 1
            assert web.console.epoch == await web.hub.shared_epoch()  # one numbering, whichever worker
            for run in runs:
                run.cancel()
    finally:
        for container in (router, web):
            await container.aclose()
