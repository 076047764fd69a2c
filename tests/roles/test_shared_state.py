"""Shared state is wired by role: sign-in counts in Redis, center-wide jobs only where the ACD runs."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from agent_ui.bootstrap import Container, build
from agent_ui.errors import ApiError
from agent_ui.models import Role
from agent_ui.sessions import SESSION_CACHE_S
from agent_ui.shared_throttle import RedisThrottle
from agent_ui.throttle import MemoryThrottle
from agent_ui.web_acd import WebAcd
from cluster.leadership import LEASE_S
from config.database import is_sqlite
from config.settings import load_settings
from routing.agent_state import AgentState
from routing.commands import LoginAgent
from tests.crash.processes import eventually
from tests.roles.conftest import IN_PROCESS_LEASE, redis_url

SECRETS = {"session_secret": "s" * 32, "ami_secret": "a-real-secret", "pbx": "none"}


def _built(database_url: str, tmp_path: Path, role: str) -> Container:
    return build(
        load_settings(
            **SECRETS, database_url=database_url, role=role, redis_url=redis_url(),
            recordings_dir=tmp_path / "recordings", **(IN_PROCESS_LEASE if role == "router" else {}),
        )
    )  # fmt: skip


async def test_one_process_keeps_its_sign_in_counts_in_memory_and_runs_every_job(
    database_url: str, tmp_path: Path
) -> None:
    container = _built(database_url, tmp_path, "all")
    try:
        assert isinstance(container.auth.throttle, MemoryThrottle)
        assert container.redis is None
        container.install_jobs()
        jobs = {job.id for job in container.scheduler.get_jobs()}
        assert "center-config-follow" in jobs
        assert jobs - {"center-config-follow"}  # retention, SLA, …: here, the one process
    finally:
        await container.aclose()


@pytest.mark.parametrize("role", ["router", "web"])
async def test_router_and_web_processes_count_sign_ins_in_redis(
    database_url: str, tmp_path: Path, role: str
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    container = _built(database_url, tmp_path, role)
    try:
        assert isinstance(container.auth.throttle, RedisThrottle)
        assert container.redis is not None
    finally:
        await container.aclose()


async def test_a_web_worker_runs_no_center_wide_job_and_the_router_runs_them_all(
    database_url: str, tmp_path: Path
) -> None:
    """Retention, checkpoints, the SLA worker, notices and the replay purge run once cluster-wide:
    in the router (the leader). A web worker only follows the stored configuration."""
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    web, router = _built(database_url, tmp_path, "web"), _built(database_url, tmp_path, "router")
    one = _built(database_url, tmp_path, "all")
    try:
        for container in (web, router, one):
            container.install_jobs()
        web_jobs = {job.id for job in web.scheduler.get_jobs()}
        router_jobs = {job.id for job in router.scheduler.get_jobs()}
        assert web_jobs == {"center-config-follow"}
        assert router_jobs == {job.id for job in one.scheduler.get_jobs()}
    finally:
        for container in (web, router, one):
            await container.aclose()


async def test_a_web_worker_has_no_pbx_link_and_sends_orders_to_the_router_never_to_a_router_of_its_own(
    database_url: str, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    container = build(
        load_settings(
            session_secret="s" * 32, ami_secret="a-real-secret", pbx="asterisk", mode="control",
            database_url=database_url, role="web", redis_url=redis_url(), recordings_dir=tmp_path / "rec",
        )
    )  # fmt: skip
    try:
        assert container.link is None and container.recovery is None
        assert isinstance(container.acd, WebAcd)
        assert container.acd.router.config.queues  # the center's configuration, for the pages
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(container.run())
            await asyncio.wait_for(container.started.wait(), 5)
            assert container.bus.stats.published == 0
            with pytest.raises(ApiError) as refused:
                await container.acd.command(LoginAgent(agent_id="1001"))
            assert refused.value.status == 503 and refused.value.error_id == "router_unreachable"
            assert container.router.agent_state("1001") is AgentState.LOGGED_OUT  # not applied here
            runner.cancel()
    finally:
        await container.aclose()


async def test_a_session_ended_on_one_web_worker_holds_on_another_within_the_session_cache(
    database_url: str, tmp_path: Path
) -> None:
    """Sessions live in the shared database: a cookie from one worker is honoured by another, and
    a sign-out on one holds on the other once its kept copy is older than `SESSION_CACHE_S`."""
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    one, other = _built(database_url, tmp_path, "web"), _built(database_url, tmp_path, "web")
    login = f"agent-{uuid.uuid4().hex[:8]}"
    try:
        await one.accounts.add(
            login=login, name="Two Workers", role=Role.AGENT, password="Tw0-workers-one-db!", actor="test",
            must_change=False,
        )  # fmt: skip
        user, token = await one.auth.sign_in(login, "Tw0-workers-one-db!", source_ip="192.0.2.7")
        seen = await other.auth.resolve(token)  # kept by the other worker from here
        await one.auth.sign_out(user, source_ip="192.0.2.7")
        assert await one.auth.resolve(token) is None  # where it ended: at once
        ended_at = time.monotonic()
        while await other.auth.resolve(token) is not None:
            assert time.monotonic() - ended_at < SESSION_CACHE_S + 1.0, "still signed in on the other worker"
            await asyncio.sleep(0.05)
    finally:
        await one.aclose()
        await other.aclose()
    assert seen is not None and seen.login == login


async def test_a_standby_router_runs_no_scheduled_job_until_it_is_elected(
    database_url: str, tmp_path: Path
) -> None:
    """Center-wide jobs run once cluster-wide: in the elected router. A standby has none scheduled
    (not even the configuration follower: it applies the center when it takes over)."""
    if is_sqlite(database_url):
        pytest.skip("--role router|web is refused on SQLite (tests/roles/test_roles.py)")
    routers = [_built(database_url, tmp_path / str(n), "router") for n in range(2)]
    try:
        async with asyncio.TaskGroup() as group:
            runs = [group.create_task(router.run()) for router in routers]

            def elected() -> Container | None:
                return next((r for r in routers if r.elector and r.elector.leadership), None)

            async def leading() -> bool:  # elected, its jobs installed and the scheduler started
                leader = elected()
                return leader is not None and leader.scheduler.running

            await eventually(leading, timeout=20, every=0.05)
            leader = elected()
            standby = next(r for r in routers if r is not leader)
            assert leader is not None
            await asyncio.sleep(2 * LEASE_S)  # the standby keeps polling meanwhile
            leader_jobs = {job.id for job in leader.scheduler.get_jobs()}
            standby_jobs = [job.id for job in standby.scheduler.get_jobs()]
            standby_running = standby.scheduler.running
            for run in runs:
                run.cancel()
    finally:
        for router in routers:
            await router.aclose()
    assert {"center-config-follow", "recordings.retention"} <= leader_jobs
    assert standby_jobs == [] and not standby_running
