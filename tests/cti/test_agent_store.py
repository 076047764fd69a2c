"""The ACD's kept sign-ins (cti.agent_store): what each order leaves in the table, and the restore.

The takeover itself is tests/cluster/test_takeover_agents.py; here the rows after each sign-in,
pause, ready and sign-out, that a restore into a fresh router gives the same states, and that
observe mode (the PBX owns membership there) writes nothing. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from config.callcenter import load_callcenter
from config.router import router_config
from config.settings import SAMPLE_CALLCENTER
from cti.acd import AcdService
from cti.agent_store import AgentSignInStore, SignIn
from routing import Router
from routing.agent_state import AgentState
from routing.commands import LoginAgent, LogoutAgent, PauseAgent, SetAgentReady


def _router(mode: str) -> Router:
    return Router(router_config(load_callcenter(SAMPLE_CALLCENTER), mode))


async def test_each_order_leaves_the_agent_s_sign_in_and_a_fresh_router_gets_it_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = AgentSignInStore(sessions)
    first = AcdService(_router("control"), None, control=True, clock=lambda: 100.0, sign_ins=store)
    await first.command(LoginAgent("1001"))
    await first.command(LoginAgent("1002", {"support": 2}))
    queues = tuple(sorted(first.router.agent_queues("1001").items()))
    assert queues, "the sample call center signs 1001 in to its configured queues"
    await first.command(PauseAgent("1002", "lunch"))
    assert await store.load() == {
        "1001": SignIn(queues, False, None), "1002": SignIn((("support", 2),), True, "lunch")
    }  # fmt: skip
    await first.command(SetAgentReady("1002"))
    await first.command(PauseAgent("1002", "training"))
    await first.command(LogoutAgent("1001"))
    assert await store.load() == {"1002": SignIn((("support", 2),), True, "training")}

    second = AcdService(_router("control"), None, control=True, clock=lambda: 200.0, sign_ins=store)
    assert await second.restore_sign_ins() == 1
    router = second.router
    assert [router.agent_state(a) for a in ("1001", "1002")] == [AgentState.LOGGED_OUT, AgentState.PAUSED]
    assert router.agent_queues("1002") == {"support": 2}
    assert [a.reason for a in router.snapshot(200.0).agents if a.agent_id == "1002"] == ["training"]
    await second.command(SetAgentReady("1002"))
    assert await store.load() == {"1002": SignIn((("support", 2),), False, None)}


async def test_observe_mode_keeps_nothing_the_pbx_owns_membership_there(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = AgentSignInStore(sessions)
    acd = AcdService(_router("observe"), None, control=False, clock=lambda: 100.0, sign_ins=store)
    await acd.command(LoginAgent("1001"))
    await acd.command(PauseAgent("1001", "lunch"))
    assert await store.load() == {}
    assert await acd.restore_sign_ins() == 0


async def test_an_agent_kept_in_wrap_up_is_restored_in_it_and_done_clears_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = AgentSignInStore(sessions)
    kept = SignIn((("support", 0),), False, None, (90.0, "support", "call-7"))
    await store.save("1001", kept)
    assert await store.load() == {"1001": kept}
    acd = AcdService(_router("control"), None, control=True, clock=lambda: 100.0, sign_ins=store)
    assert await acd.restore_sign_ins() == 1
    assert acd.router.agent_state("1001") is AgentState.WRAP_UP
    assert acd.router.agent_wrapup("1001") == (90.0, "support", "call-7")  # since it began, not now
    await acd.command(SetAgentReady("1001"))  # "Done"
    assert acd.router.agent_state("1001") is AgentState.AVAILABLE
    assert await store.load() == {"1001": SignIn((("support", 0),), False, None)}
