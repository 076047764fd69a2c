"""FIFO is by the caller's arrival, even when offers reach the router out of order."""

from __future__ import annotations

from routing import Router
from routing.commands import LoginAgent, OfferCall
from routing.config import AgentConfig, QueueConfig, RouterConfig, WideningStep
from routing.decisions import ConnectCall
from tests.routing.helpers import answer, connects, hang_up, login_all, make_router, offer


def test_a_call_offered_late_but_arrived_first_is_served_first() -> None:
    router = Router(
        RouterConfig(
            mode="control",
            queues=[QueueConfig(name="support")],
            agents=[AgentConfig(id="1001", queues={"support": 0})],
        )
    )
    # Both callers wait (nobody logged in); the earlier caller's customer lookup was slower.
    router.on_command(OfferCall("second", "support", arrived_at=101.0), now=102.0)
    router.on_command(OfferCall("first", "support", arrived_at=100.0), now=102.5)
    assert router.position("first", 103.0)[0] == 1  # type: ignore[index]
    assert router.position("second", 103.0)[0] == 2  # type: ignore[index]
    decisions = router.on_command(LoginAgent("1001"), now=104.0)
    connects = [d for d in decisions if isinstance(d, ConnectCall)]
    assert [c.call_id for c in connects] == ["first"]


def test_callers_arriving_at_the_same_time_keep_the_order_their_offers_were_published_in() -> None:
    """The desk's intake ran longer for the first caller: their offer came second. Equal arrival
    times, so only the place taken at publication (expect_offer) says who came first; and while
    the first caller's offer is on its way, the second is told place 2, not 1."""
    router = Router(
        RouterConfig(
            mode="control",
            queues=[QueueConfig(name="support")],
            agents=[AgentConfig(id="1001", queues={"support": 0})],
        )
    )
    router.expect_offer("first", "support", 100.0)
    router.expect_offer("second", "support", 100.0)
    router.on_command(OfferCall("second", "support", arrived_at=100.0), now=100.0)
    assert router.position("second", 100.0)[0] == 2  # type: ignore[index]
    router.on_command(OfferCall("first", "support", arrived_at=100.0), now=100.0)
    assert router.position("first", 100.0)[0] == 1  # type: ignore[index]
    assert router.position("second", 100.0)[0] == 2  # type: ignore[index]
    decisions = router.on_command(LoginAgent("1001"), now=101.0)
    assert [d.call_id for d in decisions if isinstance(d, ConnectCall)] == ["first"]


def test_an_arrival_time_in_the_future_is_taken_as_now() -> None:
    router = Router(RouterConfig(mode="control", queues=[QueueConfig(name="support")]))
    router.on_command(OfferCall("a", "support", arrived_at=50.0), now=10.0)
    router.on_command(OfferCall("b", "support", arrived_at=11.0), now=11.0)
    assert router.position("a", 12.0)[0] == 1  # type: ignore[index]
    assert router.position("b", 12.0)[0] == 2  # type: ignore[index]


def test_a_freed_agent_takes_the_older_call_when_a_younger_one_widens_in_the_same_tick() -> None:
    """Found by the property test. At 20.5 s the agent's ring timed out while the younger
    sales call reached its widening step in the same tick: the widened call went first
    and took the freed agent from the older call of the same queue."""
    widening = (WideningStep(20, min_proficiency=0),)
    queues = [
        QueueConfig(name="sales", ring_timeout_s=10, skill_widening=widening),
        QueueConfig(name="care", ring_timeout_s=10),
    ]
    router = make_router(queues, agents=[AgentConfig(id="a1", queues={"sales": 1, "care": 0})])
    offer(router, "c0", 0.0, queue="sales")
    offer(router, "c1", 0.5, queue="sales")
    offer(router, "c2", 0.5, queue="care")
    assert connects(router.on_command(LoginAgent("a1"), 0.5)) == [("c2", "a1")]
    assert connects(router.tick(10.5)) == [("c2", "a1")]  # missed; nobody else: it rings again
    assert connects(router.tick(20.0)) == []  # c0 widens; a1 is ringing
    assert connects(router.tick(20.5)) == [("c0", "a1")]  # missed again as c1 widens


def test_ring_all_leaves_out_an_agent_owed_an_older_call() -> None:
    """A call back from a ring timeout rings everyone again, but not the agent that an
    older call of the queue (arrived first, offered late) may go to: that agent takes it."""
    router = make_router(
        [QueueConfig(name="sales", strategy="ring-all", ring_timeout_s=10)],
        agents=[
            AgentConfig(id="f", queues={"sales": 0}, skills={"de": 60}),
            AgentConfig(id="g", queues={"sales": 0}),
        ],
    )
    login_all(router)
    assert sorted(connects(offer(router, "c1", 0.0, queue="sales"))) == [("c1", "f"), ("c1", "g")]
    offer(router, "c0", 5.0, queue="sales", arrived_at=-1.0, required_skills={"de": 50})
    assert sorted(connects(router.tick(10.0))) == [("c0", "f"), ("c1", "g")]


def test_a_freed_agent_takes_its_sticky_caller_before_a_call_that_widens_in_the_same_tick() -> None:
    """Sticky callers come first for the agent they wait for, as when it is freed alone."""
    queues = [QueueConfig(name="support", wrapup_s=5, skill_widening=(WideningStep(20, min_proficiency=0),))]
    router = make_router(queues, agents=[AgentConfig(id="a1", queues={"support": 0})])
    login_all(router)
    assert connects(offer(router, "c1", 0.0)) == [("c1", "a1")]
    answer(router, "c1", "a1", 0.5)
    hang_up(router, "c1", 1.0)  # wrap-up until 6.0
    offer(router, "s", 1.5, last_agent="a1")  # a repeat caller waits for a1 (15 s)
    offer(router, "w", 3.0, arrived_at=-14.0, required_skills={"x": 50})  # a1 may take it from 6.0
    assert connects(router.tick(6.0)) == [("s", "a1")]
