"""FIFO is by the caller's arrival, even when offers reach the router out of order."""

from __future__ import annotations

from routing import Router
from routing.commands import LoginAgent, OfferCall
from routing.config import AgentConfig, QueueConfig, RouterConfig
from routing.decisions import ConnectCall


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


def test_an_arrival_time_in_the_future_is_taken_as_now() -> None:
    router = Router(RouterConfig(mode="control", queues=[QueueConfig(name="support")]))
    router.on_command(OfferCall("a", "support", arrived_at=50.0), now=10.0)
    router.on_command(OfferCall("b", "support", arrived_at=11.0), now=11.0)
    assert router.position("a", 12.0)[0] == 1  # type: ignore[index]
    assert router.position("b", 12.0)[0] == 2  # type: ignore[index]
