"""The command channel on a real Redis: a web worker's order applied by the router's ACD and
answered; the router's refusal rebuilt on the worker; no router -> RouterUnreachable, and the
late order never applied; an order read by a router that died is reclaimed and applied by
another. Each test works under a key prefix of its own; the tests skip when Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from agent_ui.errors import ApiError
from agent_ui.web_acd import ChannelCommands
from cluster.commands import GROUP, RedisRouterCommands, RouterCommandServer, RouterUnreachable
from cti.acd import AcdService
from routing.agent_state import AgentState
from routing.commands import LoginAgent, LogoutAgent, PauseAgent, SetAgentReady
from routing.errors import InvalidTransition, UnknownAgent
from tests.routing.helpers import make_router

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisConnectionError, OSError):
        await client.aclose()
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"hotline-test:{uuid.uuid4().hex[:10]}:"
    try:
        yield client, prefix
    finally:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


@contextlib.asynccontextmanager
async def running(*tasks: RedisRouterCommands | RouterCommandServer) -> AsyncIterator[None]:
    started = [asyncio.create_task(t.run()) for t in tasks]
    try:
        for t in tasks:
            if isinstance(t, RouterCommandServer):
                await asyncio.wait_for(t.ready.wait(), 5)
        yield
    finally:
        for task in started:
            task.cancel()
        for task in started:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _acd() -> AcdService:
    return AcdService(make_router(mode="observe"), None, control=False)


async def test_an_order_from_a_worker_is_applied_by_the_router_and_answered(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    acd = _acd()
    worker = RedisRouterCommands(client, prefix=prefix)
    router = RouterCommandServer(client, acd.command, prefix=prefix)
    async with running(worker, router):
        await worker.command(LoginAgent(agent_id="a1"))
        assert acd.router.agent_state("a1") is AgentState.AVAILABLE
        await worker.command(PauseAgent(agent_id="a1", reason="lunch"))
        assert acd.router.agent_state("a1") is AgentState.PAUSED
        assert acd.router.snapshot(time.time()).agent("a1").reason == "lunch"
    assert router.applied == 2


async def test_the_routers_refusal_reaches_the_worker_as_the_same_error(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    acd = _acd()
    worker = RedisRouterCommands(client, prefix=prefix)
    async with running(worker, RouterCommandServer(client, acd.command, prefix=prefix)):
        with pytest.raises(InvalidTransition) as refused:
            await worker.command(SetAgentReady(agent_id="a1"))  # logged out: cannot become ready
        assert refused.value.agent_id == "a1" and refused.value.current is AgentState.LOGGED_OUT
        with pytest.raises(UnknownAgent, match="nobody"):
            await worker.command(LoginAgent(agent_id="nobody"))
    assert acd.router.agent_state("a1") is AgentState.LOGGED_OUT


async def test_no_router_is_unreachable_in_time_and_the_late_order_is_never_applied(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    acd = _acd()
    worker = RedisRouterCommands(client, prefix=prefix, timeout_s=0.3)
    async with running(worker):
        started = time.monotonic()
        with pytest.raises(RouterUnreachable, match="no router answered"):
            await worker.command(LoginAgent(agent_id="a1"))
        assert 0.25 <= time.monotonic() - started < 2.0
    router = RouterCommandServer(client, acd.command, prefix=prefix)  # comes up after the refusal
    async with running(router):
        for _ in range(100):
            if router.expired:
                break
            await asyncio.sleep(0.02)
    assert router.expired == 1 and router.applied == 0
    assert acd.router.agent_state("a1") is AgentState.LOGGED_OUT  # the agent was told 503


async def test_an_order_read_by_a_router_that_died_is_reclaimed_and_applied(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    acd = _acd()
    worker = RedisRouterCommands(client, prefix=prefix, timeout_s=5.0)
    dead = RouterCommandServer(client, acd.command, prefix=prefix, consumer="dead")
    async with running(worker):
        await dead._create_group()
        asking = asyncio.create_task(worker.command(LoginAgent(agent_id="a2")))
        read: object = None
        for _ in range(100):  # the dying router reads the order and never applies or acks it
            read = await client.xreadgroup(GROUP, "dead", {f"{prefix}in": ">"}, count=10, block=50)
            if read:
                break
        assert read, "the order never reached the stream"
        assert acd.router.agent_state("a2") is AgentState.LOGGED_OUT
        survivor = RouterCommandServer(client, acd.command, prefix=prefix, claim_idle_s=0.2)
        async with running(survivor):
            await asyncio.wait_for(asking, 5)  # answered, by the survivor
        assert survivor.reclaimed == 1 and survivor.applied == 1
    assert acd.router.agent_state("a2") is AgentState.AVAILABLE
    pending = await client.xpending(f"{prefix}in", GROUP)
    assert pending["pending"] == 0


async def test_two_routers_on_the_group_apply_each_order_once(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    acd = _acd()
    worker = RedisRouterCommands(client, prefix=prefix)
    one = RouterCommandServer(client, acd.command, prefix=prefix)
    two = RouterCommandServer(client, acd.command, prefix=prefix)
    async with running(worker, one, two):
        for _ in range(10):
            await asyncio.gather(worker.command(LoginAgent("a1")), worker.command(LoginAgent("a2")))
            await asyncio.gather(worker.command(PauseAgent("a1")), worker.command(PauseAgent("a2")))
            await asyncio.gather(worker.command(SetAgentReady("a1")), worker.command(SetAgentReady("a2")))
            await asyncio.gather(worker.command(LogoutAgent("a1")), worker.command(LogoutAgent("a2")))
    assert one.applied + two.applied == 80  # an order applied twice would have been refused


async def test_a_web_worker_answers_503_router_unreachable_when_no_router_replies(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    acd = _acd()
    channel = RedisRouterCommands(client, prefix=prefix, timeout_s=0.3)
    commands = ChannelCommands(channel)
    async with running(channel):
        with pytest.raises(ApiError) as refused:
            await commands.command(PauseAgent("a1"))
        assert refused.value.status == 503 and refused.value.error_id == "router_unreachable"
        async with running(RouterCommandServer(client, acd.command, prefix=prefix)):
            await commands.command(LoginAgent("a1"))  # a router up: the same seam applies it there
            with pytest.raises(InvalidTransition):  # and its refusal is not a 503
                await commands.command(LoginAgent("a1"))
    assert acd.router.agent_state("a1") is AgentState.AVAILABLE


async def test_an_order_its_router_applied_before_dying_unanswered_is_not_applied_again(
    redis: tuple[Redis, str],
) -> None:
    """#17: the dying leader applied the order and died before its reply and ack; the router
    that reclaims it must not apply it a second time (by the order's id). The asker hears that
    its order's fate is unknown (RouterUnreachable: the console says try again)."""
    client, prefix = redis
    applied: list[object] = []
    dying = asyncio.Event()

    async def apply_then_die(command: object) -> None:
        applied.append(command)
        dying.set()
        await asyncio.Event().wait()  # killed here: applied, neither answered nor acknowledged

    async def apply(command: object) -> None:
        applied.append(command)

    worker = RedisRouterCommands(client, prefix=prefix, timeout_s=5.0)
    dead = RouterCommandServer(client, apply_then_die, prefix=prefix, consumer="dead")
    async with running(worker):
        asking = asyncio.create_task(worker.command(PauseAgent(agent_id="a3", reason="lunch")))
        async with running(dead):
            await asyncio.wait_for(dying.wait(), 5)
        survivor = RouterCommandServer(client, apply, prefix=prefix, claim_idle_s=0.2)  # type: ignore[arg-type]
        async with running(survivor):
            with pytest.raises(RouterUnreachable, match="stopped while applying"):
                await asyncio.wait_for(asking, 5)
        assert survivor.reclaimed == 1 and survivor.repeated == 1 and survivor.applied == 0
    assert applied == [PauseAgent(agent_id="a3", reason="lunch")]  # once, by the router that died
    pending = await client.xpending(f"{prefix}in", GROUP)
    assert pending["pending"] == 0


async def test_an_order_read_again_after_its_answer_gets_the_same_answer_and_is_not_applied_again(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    acd = _acd()
    worker = RedisRouterCommands(client, prefix=prefix)
    router = RouterCommandServer(client, acd.command, prefix=prefix)
    async with running(worker, router):
        await worker.command(LoginAgent(agent_id="a2"))
        entries = await client.xrange(f"{prefix}in")
        _, fields = entries[-1]
        await client.xadd(f"{prefix}in", fields)  # the same order (its id) delivered once more

        async def answered_twice() -> bool:
            return router.repeated == 1

        async with asyncio.timeout(5):
            while not await answered_twice():  # noqa: ASYNC110 - the router's counter, over Redis
                await asyncio.sleep(0.02)
    assert router.applied == 1  # a second LoginAgent would have been refused: already signed in
    assert acd.router.agent_state("a2") is AgentState.AVAILABLE
