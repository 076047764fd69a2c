"""Invariants over random sequences of arrivals, answers, no-answers, hang-ups, pauses and
logins, with duplicated and out-of-order events (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import AgentConfig, AgentState, QueueConfig, Router, RouterConfig, RoutingError, WideningStep
from routing.agent_state import TRANSITIONS
from routing.commands import LoginAgent, LogoutAgent, OfferCall, PauseAgent, SetAgentReady
from routing.decisions import AgentStateChanged, ConnectCall, Decision
from routing.events import AgentEventKind, CallEvent, CallEventKind

from .helpers import agent_event, call_event

AGENTS = [f"a{i}" for i in range(5)]
RING_S = 10.0
WRAP_S = 7.0
ALLOWED = {(old, new) for (old, _), new in TRANSITIONS.items()}
CALL_KINDS = [
    CallEventKind.RINGING,
    CallEventKind.ANSWERED,
    CallEventKind.ANSWERED,
    CallEventKind.RING_NO_ANSWER,
    CallEventKind.HUNG_UP,
    CallEventKind.HUNG_UP,
    CallEventKind.ABANDONED,
    CallEventKind.AGENT_COMPLETED,
    CallEventKind.HELD,
    CallEventKind.UNHELD,
    CallEventKind.LEFT_QUEUE,
]


def build(strategy: str, mode: str) -> Router:
    queues = [
        QueueConfig(
            name="sales",
            strategy=strategy,  # type: ignore[arg-type]
            ring_timeout_s=RING_S,
            wrapup_s=WRAP_S,
            skill_widening=(WideningStep(20, min_proficiency=0),),
            max_misses=2,
        ),
        QueueConfig(name="care", strategy="longest-idle", ring_timeout_s=RING_S, wrapup_s=WRAP_S),
    ]
    agents = [
        AgentConfig(
            id=a, queues={"sales": i % 2, "care": 0} if i % 2 else {"sales": 0}, skills={"de": 20 * i}
        )
        for i, a in enumerate(AGENTS)
    ]
    return Router(RouterConfig(mode=mode, queues=queues, agents=agents))  # type: ignore[arg-type]


@dataclass
class World:
    router: Router
    now: float = 0.0
    states: dict[str, AgentState] = field(
        default_factory=lambda: dict.fromkeys(AGENTS, AgentState.LOGGED_OUT)
    )
    queue_of: dict[str, str] = field(default_factory=dict)
    skills_of: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    sent: list[CallEvent] = field(default_factory=list)
    ring_all: bool = False

    def apply(self, decisions: list[Decision]) -> None:
        for d in decisions:
            if isinstance(d, AgentStateChanged):
                assert d.previous is self.states[d.agent_id], f"{d} but we knew {self.states[d.agent_id]}"
                assert (d.previous, d.state) in ALLOWED, d
                self.states[d.agent_id] = d.state
        for agent, state in self.states.items():
            assert self.router.agent_state(agent) is state, f"{agent}: decisions said {state}"


def check_invariants(
    world: World, before: dict[str, tuple[str, int, float]], decisions: list[Decision]
) -> None:
    router, now = world.router, world.now
    snap = router.snapshot(now)
    ringing: dict[str, list[str]] = {}
    talking: dict[str, list[str]] = {}
    for a in snap.agents:
        if a.state is AgentState.RESERVED:
            assert a.call_id is not None
            ringing.setdefault(a.call_id, []).append(a.agent_id)
            assert now - a.since < RING_S + router.config.observe_grace_s, f"{a.agent_id} stuck ringing"
            if router.mode == "control":
                assert now - a.since < RING_S, f"{a.agent_id} stuck ringing"
        elif a.state is AgentState.ON_CALL:
            assert a.call_id is not None
            talking.setdefault(a.call_id, []).append(a.agent_id)
        elif a.state is AgentState.WRAP_UP:
            assert now - a.since < WRAP_S, f"{a.agent_id} stuck in wrap-up"
    for call_id, agents in talking.items():
        assert len(agents) == 1, f"{call_id} connected to {agents}"
        assert call_id not in ringing, f"{call_id} talking and ringing"
    for call_id, agents in ringing.items():
        if len(agents) > 1:
            assert world.ring_all and world.queue_of.get(call_id) == "sales", f"{call_id} offered to {agents}"
    deadline = router.next_deadline()
    assert deadline is None or deadline > now
    # Ticket owners and last agents are preferred only within the call's queue (owner_routing
    # "queue", the default): no call is offered to an agent who is not a member of its queue.
    members = {a.id: set(a.queues) for a in router.config.agents}  # configured, and joined at the PBX:
    for view in snap.agents:
        members[view.agent_id] |= {q for q, _ in view.queues}
    for d in decisions:
        if isinstance(d, ConnectCall) and d.call_id in world.queue_of:
            assert world.queue_of[d.call_id] in members[d.agent_id], f"{d} outside the queue"
    # FIFO within a priority: a connected call had no older waiting call of the same queue,
    # priority and skills that is still waiting now.
    still_waiting = {
        c.call_id for q in snap.queues for c in q.waiting if not c.ringing and c.preferred_agent is None
    }
    for d in decisions:
        if isinstance(d, ConnectCall) and d.call_id in before:
            queue, priority, waited = before[d.call_id]
            for other, (q2, p2, w2) in before.items():
                if (
                    other in still_waiting
                    and (q2, p2) == (queue, priority)
                    and world.skills_of[other] == world.skills_of[d.call_id]
                    and w2 > waited
                ):
                    raise AssertionError(f"{d.call_id} served before older {other}")


def waiting_before(world: World) -> dict[str, tuple[str, int, float]]:
    snap = world.router.snapshot(world.now)
    return {
        c.call_id: (q.name, c.priority, c.waited_s)
        for q in snap.queues
        for c in q.waiting
        if not c.ringing and c.preferred_agent is None
    }


def step(world: World, data: st.DataObject) -> None:
    router = world.router
    op = data.draw(
        st.sampled_from(
            [
                "offer",
                "offer",
                "event",
                "event",
                "pbx",
                "pbx",
                "pbx",
                "replay",
                "agent",
                "agent_event",
                "time",
                "time",
            ]
        )
    )
    before = waiting_before(world)
    decisions: list[Decision] = []
    if op == "offer":
        call_id = f"c{len(world.queue_of)}"
        queue = data.draw(st.sampled_from(["sales", "care"]))
        skills = data.draw(st.sampled_from([(), (("de", 50),)]))
        world.queue_of[call_id] = queue
        world.skills_of[call_id] = skills
        command = OfferCall(
            call_id,
            queue,
            caller="+4930123",
            tier=data.draw(st.sampled_from(["vip", "ordinary", "ordinary"])),
            required_skills=dict(skills),
            last_agent=data.draw(st.none() | st.sampled_from(AGENTS)),
            ticket_owner=data.draw(st.none() | st.sampled_from(AGENTS)),
        )
        decisions = router.on_command(command, world.now)
    elif op == "event" and world.queue_of:
        call_id = data.draw(st.sampled_from([*sorted(world.queue_of), "ghost"]))
        kind = data.draw(st.sampled_from(CALL_KINDS))
        agent = data.draw(st.none() | st.sampled_from([*AGENTS, "stranger"]))
        event = call_event(call_id, kind, agent, queue=world.queue_of.get(call_id, "nowhere"))
        world.sent.append(event)
        decisions = router.on_event(event, world.now)
    elif op == "pbx":
        # What a well-behaved PBX would say next about a ringing or talking agent.
        busy = [
            a for a in router.snapshot(world.now).agents if a.call_id and a.state is not AgentState.WRAP_UP
        ]
        if busy:
            a = data.draw(st.sampled_from(busy))
            assert a.call_id is not None
            if a.state is AgentState.RESERVED:
                kind = data.draw(
                    st.sampled_from([CallEventKind.ANSWERED] * 3 + [CallEventKind.RING_NO_ANSWER])
                )
            else:
                kind = data.draw(st.sampled_from([CallEventKind.HUNG_UP, CallEventKind.AGENT_COMPLETED]))
            event = call_event(a.call_id, kind, a.agent_id)
            world.sent.append(event)
            decisions = router.on_event(event, world.now)
    elif op == "replay" and world.sent:
        event = data.draw(st.sampled_from(world.sent))
        assert router.on_event(event, world.now) == []
    elif op == "agent":
        agent = data.draw(st.sampled_from(AGENTS))
        command = data.draw(
            st.sampled_from(
                [
                    LoginAgent(agent),
                    LoginAgent(agent, paused=True),
                    LogoutAgent(agent),
                    PauseAgent(agent, "break"),
                ]
                + [SetAgentReady(agent)] * 2
            )
        )
        agents_before = router.snapshot(world.now).agents
        try:
            decisions = router.on_command(command, world.now)
        except RoutingError:
            assert router.snapshot(world.now).agents == agents_before, "a refused command changed agents"
    elif op == "agent_event":
        agent = data.draw(st.sampled_from([*AGENTS, "stranger"]))
        kind = data.draw(st.sampled_from(list(AgentEventKind)))
        queue = data.draw(st.sampled_from(["sales", "care", "nowhere"]))
        decisions = router.on_event(agent_event(agent, kind, queue=queue, detail="x"), world.now)
    elif op == "time":
        target = world.now + data.draw(st.sampled_from([0.5, 3.0, 8.0, 15.0, 40.0]))
        while (deadline := router.next_deadline()) is not None and deadline <= target:
            world.now = deadline
            ticked = router.tick(deadline)
            world.apply(ticked)
            check_invariants(world, before, ticked)
            before = waiting_before(world)
        world.now = target
        decisions = router.tick(target)
    world.apply(decisions)
    check_invariants(world, before, decisions)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategy=st.sampled_from(["longest-idle", "round-robin", "random", "ring-all", "fewest-calls"]),
    data=st.data(),
)
def test_random_operations_keep_the_control_mode_invariants(strategy: str, data: st.DataObject) -> None:
    world = World(build(strategy, "control"), ring_all=strategy == "ring-all")
    for _ in range(data.draw(st.integers(10, 50))):
        step(world, data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_operations_keep_the_observe_mode_invariants(data: st.DataObject) -> None:
    world = World(build("longest-idle", "observe"), ring_all=True)
    for _ in range(data.draw(st.integers(10, 50))):
        step(world, data)
    router = world.router
    assert not any(isinstance(d, ConnectCall) for d in router.tick(world.now + 1000))
