"""The ACD router: takes events and commands with the time, returns decisions.

Pure and single-threaded: no I/O, no clock (every method takes `now`, a UTC epoch in
seconds), no threads. The service layer serialises calls into it (one task) and
executes the decisions it returns.

How a call is served (control mode): OfferCall/OFFERED -> the router picks an agent at
once (ConnectCall, agent reserved) or queues the call (CallQueued). Whenever an agent
becomes available, or a waiting call becomes eligible for more agents (skill widening,
end of a sticky-agent preference), `_dispatch` pairs them. Timers (ring timeout,
wrap-up end, widening, overflow, max wait) live in one heap; `tick(now)` runs the due
ones and `next_deadline()` says when to call it next.

In observe mode the PBX distributes calls: the router never orders anything and
follows RINGING/ANSWERED/... to keep agent states and KPIs.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, deque
from collections.abc import Iterable

from routing.agent_state import (
    BUSY,
    STAFFED,
    TRANSITIONS,
    WRAPUP_HOLD_REASON,
    AgentState,
    Trigger,
    next_state,
)
from routing.commands import (
    Command,
    ConnectRefused,
    LoginAgent,
    LogoutAgent,
    OfferCall,
    PauseAgent,
    RequestCallback,
    SetAgentReady,
    SetTelephonyUp,
)
from routing.config import QueueConfig, RouterConfig
from routing.decisions import (
    AgentStateChanged,
    CallQueued,
    CancelRing,
    ConnectCall,
    Decision,
    HandlingEnded,
    OverflowCall,
    PendingPauseChanged,
    PlaceCallback,
    RejectCall,
)
from routing.errors import (
    ConfigError,
    InvalidTransition,
    NotInThisMode,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from routing.events import FROM_RECORDS, AgentEvent, AgentEventKind, CallEvent, CallEventKind
from routing.hours import DAY_S
from routing.kpis import Kpis, compute_kpis, estimated_wait
from routing.model import Agent, Call, CallPhase, Requirement
from routing.snapshot import AgentView, QueueView, RouterSnapshot, WaitingCallView
from routing.stats import AgentStats, CallRecord, HandleRecord, Outcome, QueueStats, Stats
from routing.strategies import AvailableIndex, choose, primary_key
from routing.waiting import Entry, QueueLine, call_level, clean_head, entry_of, order_key, qualifies

# Enum members of the hot paths as module globals: on Python 3.11 every `AgentState.X`
# goes through EnumType's __getattr__ hook (~0.1 us, ten times a global), and one decision
# reads dozens of them.
AVAILABLE, RESERVED, ON_CALL = AgentState.AVAILABLE, AgentState.RESERVED, AgentState.ON_CALL
WRAP_UP, PAUSED, LOGGED_OUT = AgentState.WRAP_UP, AgentState.PAUSED, AgentState.LOGGED_OUT
WAITING, RINGING = CallPhase.WAITING, CallPhase.RINGING
CONNECTED, AFTER_AGENT = CallPhase.CONNECTED, CallPhase.AFTER_AGENT
RESERVE, ANSWER, CALL_ENDED, WRAPUP_ENDED = (
    Trigger.RESERVE,
    Trigger.ANSWER,
    Trigger.CALL_ENDED,
    Trigger.WRAPUP_ENDED,
)
MAX_EXPECTED = 10_000  # offers on their way to the router (expect_offer) kept at most
UNREACHABLE_DIAL = frozenset({"chanunavail", "congestion"})
"""RING_NO_ANSWER details (the PBX's DialStatus, lower case) that mean the phone cannot be rung."""
PHONE_UNREACHABLE = "phone-unreachable"  # the pause reason then
DIAL_CANCELLED = "cancel"  # RING_NO_ANSWER detail: the caller's side ended the Dial, not the agent

_GONE = frozenset({CallEventKind.ABANDONED, CallEventKind.LEFT_QUEUE, CallEventKind.HUNG_UP})

_CALL_TIMER = 0
_AGENT_TIMER = 1
Timer = tuple[float, int, int, str, int]  # (due, seq, kind, subject id, token)

# Call events that are not routing's business (recordings, IVR): accepted silently.
_NOT_ROUTING = frozenset(
    {
        CallEventKind.DTMF,
        CallEventKind.IVR_CHOICE,
        CallEventKind.RECORDING_STARTED,
        CallEventKind.RECORDING_PAUSED,
        CallEventKind.RECORDING_RESUMED,
        CallEventKind.RECORDING_READY,
    }
)


def _sooner(due: float | None, candidate: float, now: float) -> float | None:
    """`candidate` if it is in the future and before `due` (None: no due yet), else `due`."""
    return candidate if candidate > now and (due is None or candidate < due) else due


class RecentKeys:
    """The last `size` distinct keys remembered, the oldest forgotten first.

    A set and a deque: cheaper per key than an OrderedDict, and its occasional resizes
    cost less (the router remembers 100,000 event ids)."""

    __slots__ = ("keys", "order", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys: set[str] = set()
        self.order: deque[str] = deque()

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def add(self, key: str) -> bool:
        """Remember `key`; False if it is remembered already (it keeps its place)."""
        keys = self.keys
        if key in keys:
            return False
        keys.add(key)
        order = self.order
        order.append(key)
        if len(order) > self.size:
            keys.discard(order.popleft())
        return True


class Router:
    """One ACD: all queues and agents of a call center. See the module docstring."""

    def __init__(self, config: RouterConfig, rng: random.Random | None = None) -> None:
        config.validate()
        self.config = config
        self.mode = config.mode
        self._rng = rng if rng is not None else random.Random(config.seed)
        self._queues: dict[str, QueueConfig] = {q.name: q for q in config.queues}
        self._lines = {q.name: QueueLine(q) for q in config.queues}
        self._available = {q.name: AvailableIndex(q.strategy) for q in config.queues}
        self._staffed: dict[str, set[str]] = {q.name: set() for q in config.queues}
        self._by_order: list[Agent] = []
        self._agents: dict[str, Agent] = {}
        for i, a in enumerate(config.agents):
            agent = Agent(
                id=a.id,
                name=a.name,
                order=i,
                skills=dict(a.skills),
                configured_queues=dict(a.queues),
                weight=a.weight,
                wrapup_s=a.wrapup_s,
                held_skills=tuple(s for s, level in a.skills.items() if level > 0),
            )
            self._by_order.append(agent)
            self._agents[a.id] = agent
        self._max_weight = max((a.weight for a in self._by_order), default=1.0)
        self._calls: dict[str, Call] = {}
        self._preferred: dict[str, list[Entry]] = {}
        self._timers: list[Timer] = []
        self._seq = 0
        # Offers published, not yet here (the desk's intake runs first): call id -> (queue,
        # arrival, seq), their places in arrival order taken when published (`expect_offer`).
        self._expected: dict[str, tuple[str, float, int]] = {}
        self._newest_seq = 0  # the highest seq of a call let into a queue so far
        self._seen = RecentKeys(config.remember_events)  # event ids, for duplicates
        self._finished = RecentKeys(config.remember_events)  # ids of calls the router let go
        self._out: list[Decision] = []
        self._dirty_calls: list[Call] = []
        self._dirty_agents: list[Agent] = []
        self._to_index: list[Agent] = []  # became available, not yet in the indexes (see _flush_index)
        self._emptied: set[str] = set()
        self._telephony_up = True  # control mode: no call is offered while the link is down
        self._next_midnight = -math.inf  # the first call sets it (and `_started`)
        self._started: float | None = None
        self._stats = Stats(list(self._queues), list(self._agents))
        self._agent_stats = self._stats.agents
        self.ignored_events: Counter[str] = Counter()
        """Events that could not apply, by reason (duplicate, unknown-call, ...): for health pages."""

    # ------------------------------------------------------------------ public API

    def on_event(self, event: CallEvent | AgentEvent, now: float) -> list[Decision]:
        """Apply a PBX event. Never raises: what cannot apply is counted in `ignored_events`."""
        if now >= self._next_midnight:
            self._roll_day(now)
        if not self._seen.add(event.event_id):
            self.ignored_events["duplicate"] += 1
            return []
        if isinstance(event, CallEvent):
            self._on_call_event(event, now)
        else:
            self._on_agent_event(event, now)
        return self._finish(now)

    def on_command(self, command: Command, now: float) -> list[Decision]:
        """Apply an order from the service layer. Illegal orders raise and change nothing."""
        self._begin(now)
        if isinstance(command, OfferCall):
            self._offer(command, now, strict=True)
        elif isinstance(command, RequestCallback):
            self._request_callback(command, now)
        elif isinstance(command, LoginAgent):
            self._login(self._agent(command.agent_id), command, now)
        elif isinstance(command, LogoutAgent):
            self._logout(self._agent(command.agent_id), command.reason or "logout", now, strict=True)
        elif isinstance(command, SetAgentReady):
            self._ready(self._agent(command.agent_id), now, strict=True)
        elif isinstance(command, PauseAgent):
            self._pause(self._agent(command.agent_id), command.reason, now, strict=True)
        elif isinstance(command, ConnectRefused):
            self._connect_refused(command, now)
        elif isinstance(command, SetTelephonyUp):
            self._set_telephony_up(command.up)
        else:  # pragma: no cover - the Command union is closed
            raise TypeError(f"not a router command: {command!r}")
        return self._finish(now)

    def tick(self, now: float) -> list[Decision]:
        """Run every timer due at `now`: ring timeouts, wrap-up ends, widening, overflow, max wait."""
        if now >= self._next_midnight:
            self._roll_day(now)
        while self._timers and self._timers[0][0] <= now:
            _, _, kind, subject, token = heapq.heappop(self._timers)
            if kind == _CALL_TIMER:
                call = self._calls.get(subject)
                if call is not None and call.timer_token == token:
                    self._call_timer(call, now)
            else:
                agent = self._agents[subject]
                if agent.timer_token == token and agent.state is WRAP_UP:
                    if agent.wrapup_by_agent:  # the maximum passed: overdue, still theirs to end
                        agent.wrapup_overdue = True
                    else:
                        self._end_wrapup(agent, now)
        return self._finish(now)

    def reconfigure(self, config: RouterConfig, now: float) -> list[Decision]:
        """Apply a changed configuration to the running router: waiting calls keep their place,
        agents their state (and their call). Queues may change strategy, timers, hours, skills
        widening and routing options, and new ones may appear; agents their queues, skills,
        wrap-up and weight, and new ones may appear. Refused (ConfigError, nothing changed): a
        different mode, removing a queue that holds calls, removing an agent who is logged in.
        The next routing decision follows the new configuration; decisions it enables now (an
        agent who now has the skill a waiting call needs) are returned."""
        config.validate()
        if config.mode != self.mode:
            raise ConfigError(f"the mode is {self.mode}; changing it needs a restart")
        new_queues = {q.name: q for q in config.queues}
        for name in set(self._queues) - set(new_queues):
            if self._lines[name].calls:
                raise ConfigError(f"queue {name!r} still has calls: it can be removed once it is empty")
        new_agents = {a.id: a for a in config.agents}
        for agent_id in set(self._agents) - set(new_agents):
            if self._agents[agent_id].state is not LOGGED_OUT:
                raise ConfigError(f"agent {agent_id!r} is logged in: log them out before removing them")
        self._begin(now)
        self._flush_index()
        available = [a for a in self._by_order if a.index_keys]
        for agent in available:  # out of every index while the indexes are rebuilt
            self._unindex(agent)
        for name in set(self._queues) - set(new_queues):
            del self._queues[name], self._lines[name], self._available[name], self._staffed[name]
        for name, cfg in new_queues.items():
            old = self._queues.get(name)
            self._queues[name] = cfg
            self._available[name] = AvailableIndex(cfg.strategy)
            self._staffed.setdefault(name, set())
            self._stats.queues.setdefault(name, QueueStats())
            if old is None:
                self._lines[name] = QueueLine(cfg)
            else:
                self._reline(name, cfg, now)
        for agent_id in set(self._agents) - set(new_agents):
            del self._agents[agent_id]
        self._by_order = []
        for i, spec in enumerate(config.agents):
            member = self._agents.get(spec.id)
            if member is None:
                member = Agent(
                    id=spec.id, name=spec.name, order=i, skills={}, configured_queues={}, weight=1.0,
                    wrapup_s=None,
                )  # fmt: skip
                self._agents[spec.id] = member
                self._stats.agents.setdefault(spec.id, AgentStats())
            member.name, member.order, member.skills = spec.name, i, dict(spec.skills)
            member.configured_queues, member.weight, member.wrapup_s = (
                dict(spec.queues),
                spec.weight,
                spec.wrapup_s,
            )
            member.held_skills = tuple(skill for skill, level in spec.skills.items() if level > 0)
            member.group_cache.clear()
            self._by_order.append(member)
            if member.state is not LOGGED_OUT:
                self._set_queues(member, {q: p for q, p in spec.queues.items() if q in self._queues})
        self._max_weight = max((a.weight for a in self._by_order), default=1.0)
        self.config = config
        for agent in self._by_order:
            if agent.state is AVAILABLE and not agent.index_keys and not agent.phone_busy:
                self._index(agent)
                self._dirty_agents.append(agent)
        return self._finish(now)

    def _reline(self, name: str, cfg: QueueConfig, now: float) -> None:
        """The queue's waiting line under its new configuration, the same calls in the same order."""
        old = self._lines[name]
        line = self._lines[name] = QueueLine(cfg)
        for call in sorted(old.calls.values(), key=lambda c: (c.arrived_at, c.id)):
            line.add(call)
            if call.phase is WAITING:
                self._place(call, now)
                self._schedule_call(call, now)

    def next_deadline(self) -> float | None:
        """When `tick` must run next (None: no timer pending)."""
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def agent_state(self, agent_id: str) -> AgentState:
        return self._agent(agent_id).state

    def agent_wrapup(self, agent_id: str) -> tuple[float, str, str | None] | None:
        """In wrap-up: (since when, the queue of the call it follows, that call's id); else None."""
        agent = self._agent(agent_id)
        if agent.state is not WRAP_UP or agent.wrapup_of is None:
            return None
        return agent.since, agent.wrapup_of[0], agent.wrapup_of[1]

    def has_queue(self, name: str) -> bool:
        """Whether `name` is a queue of the configuration (a PBX may have queues Hotline does not)."""
        return name in self._queues

    def agent_queues(self, agent_id: str) -> dict[str, int]:
        """The queues (queue -> penalty) the agent is signed in to now (empty when logged out)."""
        return dict(self._agent(agent_id).queues)

    def snapshot(self, now: float) -> RouterSnapshot:
        """Frozen view of queues (waiting calls in serving order) and agents, for wallboards."""
        queues = []
        for name, line in self._lines.items():
            staffed = len(self._staffed[name])
            aht = self._recent_aht(name)
            calls = tuple(
                WaitingCallView(
                    call_id=c.id,
                    position=i,
                    waited_s=now - c.entered_at,
                    priority=c.priority,
                    tier=c.tier,
                    caller=c.caller,
                    ringing=tuple(c.ringing),
                    callback=c.is_callback,
                    preferred_agent=self._active_preference(c, now, drop=False),
                    estimated_wait_s=estimated_wait(i, staffed, aht),
                )
                for i, c in enumerate(line.ordered(now), start=1)
            )
            queues.append(
                QueueView(
                    name=name,
                    waiting=calls,
                    longest_wait_s=max((c.waited_s for c in calls), default=0.0),
                    agents_staffed=staffed,
                    agents_available=len(self._available[name]),
                )
            )
        agents = tuple(
            AgentView(
                agent_id=a.id,
                name=a.name,
                state=a.state,
                since=a.since,
                reason=a.reason,
                call_id=a.call_id,
                queues=tuple(sorted(a.queues.items())),
                answered=a.answered,
                missed=a.missed,
                talk_s=a.talk_s,
                misses_in_row=a.misses_in_row,
                phone_busy=a.phone_busy,
                pending_pause=a.pending_pause,
                wrapup_overdue=a.wrapup_overdue,
            )
            for a in self._by_order
        )
        return RouterSnapshot(
            at=now,
            mode=self.mode,
            queues=tuple(queues),
            agents=agents,
            ignored_events=tuple(sorted(self.ignored_events.items())),
        )

    def position(self, call_id: str, now: float) -> tuple[int, float] | None:
        """(1-based position, estimated wait in seconds) of a waiting call, for announcements.
        Callers who came earlier and whose offer is still on its way count as ahead."""
        call = self._calls.get(call_id)
        if call is None or call.phase not in (WAITING, RINGING):
            return None
        pos = self._lines[call.queue].position(call, now) + self._expected_ahead(call)
        return pos, estimated_wait(pos, len(self._staffed[call.queue]), self._recent_aht(call.queue))

    def expect_offer(self, call_id: str, queue: str, arrived_at: float) -> None:
        """An offer of `call_id` into `queue` was published and is on its way: its place in
        arrival order is taken now, not when it gets here.

        Each call's offer reaches the router behind the desk's intake of it (customer match and
        ticket: a database write), each call on its own bus shard, so a later caller's offer can
        get here first. Numbered on arrival here, two callers with the same arrival time (a clock
        that did not move on between them) were served and announced in the order their intakes
        ended; and while the earlier one's intake ran, the later one was told "place 1" and the
        earlier one a moment after it too. Until its offer comes, an expected call counts as
        ahead of later callers of its queue who are not above the ordinary priority."""
        known = self._calls.get(call_id)
        if call_id in self._expected or queue not in self._queues:
            return
        if known is not None and known.phase is not AFTER_AGENT:
            return  # already here (a repeated offer)
        self._seq += 1
        self._expected[call_id] = (queue, arrived_at, self._seq)
        if len(self._expected) > MAX_EXPECTED:  # offers that never came (a bug elsewhere): bounded
            del self._expected[next(iter(self._expected))]

    def _expected_ahead(self, call: Call) -> int:
        """Expected calls of `call`'s queue that came before it (see `expect_offer`)."""
        if not self._expected or call.priority > self.config.tier_priority.get("ordinary", 0):
            return 0
        mine = (call.arrived_at, call.seq)
        return sum(1 for q, at, seq in self._expected.values() if q == call.queue and (at, seq) < mine)

    def kpis(self, now: float) -> Kpis:
        """Per-queue and per-agent KPIs over the rolling window and since local midnight."""
        self._begin(now)
        midnight = self.config.utc_offsets.local_midnight(now)
        self._stats.prune(min(midnight, now - self.config.kpi_window_s))
        waiting = {
            name: [now - c.entered_at for c in line.calls.values() if not c.is_callback]
            for name, line in self._lines.items()
        }
        return compute_kpis(
            now=now,
            window_s=self.config.kpi_window_s,
            midnight=midnight,
            observed_s=now - (self._started if self._started is not None else now),
            queues=self._queues,
            stats=self._stats,
            agents=self._by_order,
            waiting=waiting,
            staffed={q: len(s) for q, s in self._staffed.items()},
            busy={q: sum(1 for a in s if self._agents[a].state in BUSY) for q, s in self._staffed.items()},
        )

    # ------------------------------------------------------------------ bookkeeping

    def _begin(self, now: float) -> None:
        if now >= self._next_midnight:
            self._roll_day(now)

    def _finish(self, now: float) -> list[Decision]:
        if self._emptied:
            self._empty_queues(now)
        if self._dirty_calls or self._dirty_agents:
            self._dispatch(now)
        if self._to_index:
            self._flush_index()
        out, self._out = self._out, []
        return out

    def _roll_day(self, now: float) -> None:
        """Local midnight passed: daily counters restart, workload-based indexes are rebuilt."""
        offsets = self.config.utc_offsets
        midnight = offsets.local_midnight(now)
        first = self._started is None
        if first:
            self._started = now
        self._next_midnight = offsets.local_midnight(midnight + DAY_S + 3 * 3600)
        if first:
            return
        self._flush_index()
        available = [a for a in self._by_order if a.state is AVAILABLE]
        for agent in available:
            self._unindex(agent)
        for agent in self._by_order:
            agent.answered = agent.missed = 0
            agent.talk_s = 0.0
        for agent in available:
            self._index(agent)
        self._stats.prune(min(midnight, now - self.config.kpi_window_s))

    def _agent(self, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def _schedule(self, due: float, kind: int, subject: str, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (due, self._seq, kind, subject, token))

    def _timer_live(self, timer: Timer) -> bool:
        _, _, kind, subject, token = timer
        if kind == _CALL_TIMER:
            call = self._calls.get(subject)
            return call is not None and call.timer_token == token
        agent = self._agents[subject]
        return agent.timer_token == token and agent.state is WRAP_UP

    def _recent_aht(self, queue: str) -> float:
        """Mean handle time of the queue's last 50 calls, for estimated waits."""
        recent = self._stats.queues[queue].recent_handle_s
        return sum(recent) / len(recent) if recent else self._queues[queue].default_aht_s

    # ------------------------------------------------------------------ agent states

    def _transition(
        self, agent: Agent, trigger: Trigger, now: float, reason: str | None, strict: bool
    ) -> bool:
        new = TRANSITIONS.get((agent.state, trigger))
        if new is None:
            if strict:
                raise InvalidTransition(agent.id, agent.state, trigger)
            self.ignored_events[f"agent-{agent.state.value}-cannot-{trigger.name.lower()}"] += 1
            return False
        self._set_state(agent, new, now, reason)
        return True

    def _set_state(self, agent: Agent, new: AgentState, now: float, reason: str | None) -> None:
        old = agent.state
        if new is old and (new is not PAUSED or reason == agent.reason):
            return  # a repeat (ready while available, same pause reason): nothing changes
        if old is AVAILABLE and agent.index_keys:  # not indexed if it took a call at once
            self._unindex(agent)
        if old is WRAP_UP:
            self._record_handle(agent, now)
            agent.wrapup_of = None
        if now > agent.since:
            self._agent_stats[agent.id].intervals.append((agent.since, now, old))
        was_staffed = old in STAFFED
        agent.state, agent.since, agent.reason = new, now, reason
        agent.timer_token += 1
        agent.wrapup_by_agent = agent.wrapup_overdue = False
        if new is AVAILABLE:
            agent.idle_since = now
            agent.call_id = None
            self._to_index.append(agent)
            self._dirty_agents.append(agent)
        elif new in (PAUSED, LOGGED_OUT):
            agent.call_id = None
        if (new in STAFFED) != was_staffed:
            self._restaff(agent, agent.queues, staffed=new in STAFFED)
        self._out.append(AgentStateChanged(agent.id, new, old, reason, now))

    def _restaff(self, agent: Agent, queues: Iterable[str], staffed: bool) -> None:
        for q in queues:
            members = self._staffed[q]
            if staffed:
                members.add(agent.id)
            else:
                members.discard(agent.id)
                if not members and self._queues[q].leave_when_empty:
                    self._emptied.add(q)

    def _flush_index(self) -> None:
        """Index the agents that became available. Deferred because a freed agent usually
        takes a waiting call at once: it is then never inserted into (and removed from)
        the sorted indexes. Runs before any index is read and at the end of every call."""
        pending, self._to_index = self._to_index, []
        for agent in pending:
            if agent.state is AVAILABLE and not agent.index_keys and not agent.phone_busy:
                self._index(agent)

    def _index(self, agent: Agent) -> None:
        for q, penalty in agent.queues.items():
            index = self._available[q]
            key = (penalty, primary_key(index.strategy, agent), agent.order)
            index.add(key, agent.held_skills)
            agent.index_keys[q] = key

    def _unindex(self, agent: Agent) -> None:
        for q, key in agent.index_keys.items():
            self._available[q].remove(key, agent.held_skills)
        agent.index_keys.clear()

    def _set_queues(self, agent: Agent, queues: dict[str, int]) -> None:
        """Change membership, keeping the indexes and staffed sets right."""
        available = agent.state is AVAILABLE
        staffed = agent.state in STAFFED
        if available:
            self._unindex(agent)
        if staffed:
            self._restaff(agent, [q for q in agent.queues if q not in queues], staffed=False)
        agent.queues = queues
        agent.queue_order = sorted(((-self._queues[q].weight, p), q, p) for q, p in queues.items())
        agent.group_cache.clear()
        if available:
            self._index(agent)
            self._dirty_agents.append(agent)
        if staffed:
            self._restaff(agent, queues, staffed=True)

    def _login(self, agent: Agent, command: LoginAgent, now: float) -> None:
        trigger = Trigger.LOGIN_PAUSED if command.paused else Trigger.LOGIN
        if next_state(agent.state, trigger) is None:
            raise InvalidTransition(agent.id, agent.state, trigger)
        queues = dict(agent.configured_queues if command.queues is None else command.queues)
        for q in queues:
            if q not in self._queues:
                raise UnknownQueue(q)
        self._set_queues(agent, queues)
        agent.misses_in_row = 0
        reason = (command.reason or "break") if command.paused else (command.reason or "login")
        if command.wrapup_since is not None and not command.paused:
            self._restore_wrapup(agent, command, now)
            return
        self._transition(agent, trigger, now, reason, strict=True)

    def _restore_wrapup(self, agent: Agent, command: LoginAgent, now: float) -> None:
        """Signed in straight into the wrap-up it was in (a new leader: cti.agent_store), ending
        as the queue's wrap-up ends from when it began. Its call's handling (talk, hold, wrap)
        was the old leader's to measure and is not recorded again here."""
        assert command.wrapup_since is not None
        queue = self._queues.get(command.wrapup_queue or "")
        if queue is None:
            raise UnknownQueue(str(command.wrapup_queue))
        since = min(now, command.wrapup_since)
        self._set_state(agent, WRAP_UP, now, "wrap-up restored")
        agent.since, agent.call_id = since, command.wrapup_call
        agent.wrapup_of = (queue.name, command.wrapup_call)
        wrapup = agent.wrapup_s if agent.wrapup_s is not None else queue.wrapup_s
        if queue.wrapup_ends == "agent":
            agent.wrapup_by_agent = True  # "Done" ends it; past the maximum it shows overdue
            if wrapup > 0:
                self._schedule(max(now, since + wrapup), _AGENT_TIMER, agent.id, agent.timer_token)
        else:
            self._schedule(max(now, since + wrapup), _AGENT_TIMER, agent.id, agent.timer_token)

    def _logout(self, agent: Agent, reason: str, now: float, strict: bool) -> None:
        if next_state(agent.state, Trigger.LOGOUT) is None:
            if strict:
                raise InvalidTransition(agent.id, agent.state, Trigger.LOGOUT)
            self.ignored_events[f"agent-{agent.state.value}-cannot-logout"] += 1
            return
        self._release_ring(agent, now, "agent-logged-out")
        self._transition(agent, Trigger.LOGOUT, now, reason, strict=True)
        self._set_queues(agent, {})
        self._drop_preferences_for(agent, now)

    def _pause(self, agent: Agent, reason: str, now: float, strict: bool) -> None:
        if next_state(agent.state, Trigger.PAUSE) is None:
            if agent.state is ON_CALL:
                # Asked during a call (by the agent, a supervisor or the PBX): the pause takes
                # effect when the call and its wrap-up end, as app_queue pauses a talking member.
                self._keep_pause(agent, reason, now)
                return
            if strict:
                raise InvalidTransition(agent.id, agent.state, Trigger.PAUSE)
            self.ignored_events[f"agent-{agent.state.value}-cannot-pause"] += 1
            return
        self._release_ring(agent, now, "agent-paused")
        self._transition(agent, Trigger.PAUSE, now, reason, strict=True)

    def _ready(self, agent: Agent, now: float, strict: bool) -> None:
        if agent.state is WRAP_UP and agent.wrapup_by_agent:
            self._end_wrapup(agent, now)  # "Done": a pause the PBX asked for during the call holds
            return
        if agent.state is ON_CALL and agent.pending_pause is not None:
            self._keep_pause(agent, None, now)  # changed their mind: available after this call
            return
        if next_state(agent.state, Trigger.READY) is not None:
            self._keep_pause(agent, None, now)
        if agent.state is PAUSED:
            agent.misses_in_row = 0
        self._transition(agent, Trigger.READY, now, "ready", strict)

    def _keep_pause(self, agent: Agent, reason: str | None, now: float) -> None:
        """Keep (or, with None, drop) a pause for after the call; said only when it changes."""
        if agent.pending_pause == reason:
            return
        agent.pending_pause = reason
        self._out.append(PendingPauseChanged(agent.id, reason, now))

    def _release_ring(self, agent: Agent, now: float, reason: str, requeue: bool = True) -> None:
        """The agent stops ringing for its call without having missed it (the caller
        changes nothing: no miss). The call waits again in its place if nobody else rings."""
        if agent.state is not RESERVED or agent.call_id is None:
            return
        call = self._calls.get(agent.call_id)
        if call is None or agent.id not in call.ringing:
            return
        call.ringing.remove(agent.id)
        if self.mode == "control":
            self._out.append(CancelRing(call.id, agent.id, call.queue, reason))
        if requeue and not call.ringing:
            self._requeue(call, now)

    def _end_wrapup(self, agent: Agent, now: float) -> None:
        if agent.pending_pause is not None:
            reason, agent.pending_pause = agent.pending_pause, None
            self._transition(agent, Trigger.PAUSE, now, reason, strict=False)
        elif not agent.queues and agent.configured_queues:
            self._transition(agent, Trigger.LOGOUT, now, "left all queues", strict=False)
        else:
            self._transition(agent, WRAPUP_ENDED, now, "wrap-up ended", strict=False)

    def _record_handle(self, agent: Agent, now: float) -> None:
        if agent.handled_queue is None:
            return
        record = HandleRecord(now, agent.handled_talk_s, agent.handled_hold_s, now - agent.since)
        queue_stats = self._stats.queues[agent.handled_queue]
        queue_stats.handles.append(record)
        queue_stats.recent_handle_s.append(record.talk_s + record.hold_s + record.wrap_s)
        self._agent_stats[agent.id].handles.append(record)
        if agent.handled_call_id is not None:
            self._out.append(
                HandlingEnded(
                    agent.handled_call_id,
                    agent.id,
                    agent.handled_queue,
                    record.talk_s,
                    record.hold_s,
                    record.wrap_s,
                    now,
                )
            )
        agent.handled_queue = agent.handled_call_id = None

    def _resync_to_available(self, agent: Agent, now: float) -> bool:
        """The PBX shows the agent taking a call: bring our state to available first."""
        state = agent.state
        if state is AVAILABLE:
            return True
        if state is WRAP_UP:
            trigger = WRAPUP_ENDED
        elif state is PAUSED:
            trigger = Trigger.READY
        elif state is LOGGED_OUT:
            trigger = Trigger.LOGIN
            self._set_queues(agent, dict(agent.configured_queues))
        else:
            return False
        self.ignored_events["resync"] += 1
        self._transition(agent, trigger, now, "pbx", strict=False)
        return True

    # ------------------------------------------------------------------ calls

    def _offer(self, command: OfferCall, now: float, strict: bool) -> None:
        expected = self._expected.pop(command.call_id, None)
        known = self._calls.get(command.call_id)
        if known is not None and known.phase is not AFTER_AGENT:
            return  # idempotent
        if command.call_id in self._finished and known is None:
            if not strict:
                self.ignored_events["finished-call"] += 1
            return
        if command.queue not in self._queues:
            if strict:
                raise UnknownQueue(command.queue)
            self.ignored_events["unknown-queue"] += 1
            return
        if known is not None:
            del self._calls[known.id]  # transferred back into a queue: a new queue visit
        priority = command.priority
        if priority is None:
            tiers = self.config.tier_priority
            priority = tiers.get(command.tier, tiers.get("ordinary", 0))
        if expected is not None and expected[0] == command.queue:
            seq = expected[2]  # the place in arrival order taken when the offer was published
        else:
            self._seq += 1
            seq = self._seq
        arrived = now if command.arrived_at is None else min(command.arrived_at, now)
        call = Call(
            id=command.call_id,
            queue=command.queue,
            caller=command.caller,
            priority=priority,
            tier=command.tier,
            required=self._required(command),
            arrived_at=arrived,
            seq=seq,
            entered_at=arrived,
        )
        call.preferences = self._preferences(command, now)
        self._admit(call, command.queue, now)

    def _required(self, command: OfferCall) -> Requirement:
        """The call's skill requirement: the offer's, the queue's and its IVR choice's, the higher
        minimum winning. Fixed when the call is offered: a later configuration change moves the
        agents, not what a waiting caller asked for."""
        needs: dict[str, int] = {}
        sources = [command.required_skills, self._queues[command.queue].required_skills]
        if command.ivr_choice is not None:
            sources.append(self.config.choice_skills.get(command.ivr_choice, {}))
        for skills in sources:
            for skill, level in skills.items():
                needs[skill] = max(needs.get(skill, 0), int(level))
        return tuple(sorted((s, v) for s, v in needs.items() if v > 0))

    def _preferences(self, command: OfferCall, now: float) -> list[tuple[str, float]]:
        if command.preferred_agent is None and command.ticket_owner is None and command.last_agent is None:
            return []
        cfg = self._queues[command.queue]
        out: list[tuple[str, float]] = []
        until = now
        if command.preferred_agent is not None:
            until = (
                command.preferred_until
                if command.preferred_until is not None
                else now + cfg.ticket_owner_wait_s
            )
            out.append((command.preferred_agent, until))
        # The ticket owner and the last agent are the caller's history, not this call's queue:
        # by default they are preferred only if they serve this queue (a billing call does not go
        # to a support-only agent because of an open support ticket). `owner_routing: any_queue`.
        if command.ticket_owner is not None and self._may_prefer(command.ticket_owner, cfg):
            until = max(until, now) + cfg.ticket_owner_wait_s
            out.append((command.ticket_owner, until))
        if command.last_agent is not None and self._may_prefer(command.last_agent, cfg):
            until = max(until, now) + cfg.last_agent_wait_s
            out.append((command.last_agent, until))
        seen: set[str] = set()
        kept = []
        for agent_id, until in out:
            if agent_id in self._agents and agent_id not in seen:
                seen.add(agent_id)
                kept.append((agent_id, until))
        return kept

    def _may_prefer(self, agent_id: str, cfg: QueueConfig) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None:
            return False
        return (
            cfg.owner_routing == "any_queue"
            or cfg.name in agent.configured_queues
            or cfg.name in agent.queues
        )

    def _admit(self, call: Call, queue: str, now: float) -> None:
        """Let `call` into `queue`, unless closed, full or empty (control mode: then exit)."""
        cfg = self._queues[queue]
        call.visited.append(queue)
        if self.mode == "control":
            if cfg.hours is not None and not cfg.hours.is_open(now):
                self._refuse(call, cfg, "closed", cfg.after_hours_queue, cfg.after_hours_destination, now)
                return
            if cfg.max_length is not None and len(self._lines[queue].calls) >= cfg.max_length:
                self._refuse(call, cfg, "full", cfg.overflow_to, cfg.exit_destination, now)
                return
            if not cfg.join_empty and not self._staffed[queue]:
                self._refuse(call, cfg, "no-agents", cfg.overflow_to, cfg.exit_destination, now)
                return
        self._enter(call, queue, now)

    def _refuse(
        self, call: Call, cfg: QueueConfig, reason: str, to_queue: str | None, dest: str | None, now: float
    ) -> None:
        self._stats.queues[cfg.name].rejected.append(now)
        self._leave(call, cfg, reason, to_queue, dest, now)

    def _leave(
        self, call: Call, cfg: QueueConfig, reason: str, to_queue: str | None, dest: str | None, now: float
    ) -> None:
        """The call goes on to `to_queue` (OverflowCall) or out (RejectCall)."""
        if to_queue is not None and to_queue not in call.visited:
            self._out.append(OverflowCall(call.id, cfg.name, to_queue, reason))
            self._admit(call, to_queue, now)
            return
        self._out.append(RejectCall(call.id, cfg.name, reason, dest))
        self._forget(call)

    def _enter(self, call: Call, queue: str, now: float) -> None:
        line = self._lines[queue]
        # In its first queue a call waits since it arrived: a caller the router learns of late (a
        # router taking over, adopting the PBX's waiting callers) keeps the wait it has, and with
        # it its overflow and maximum-wait deadlines. A queue it overflows to counts from now.
        entered = call.arrived_at if len(call.visited) == 1 else now
        call.queue, call.entered_at, call.phase = queue, min(entered, now), WAITING
        line.add(call)
        self._calls[call.id] = call
        newest = call.arrived_at == now and call.seq > self._newest_seq  # else one came before it
        self._newest_seq = max(self._newest_seq, call.seq)
        if not call.is_callback:
            self._stats.queues[queue].arrivals.append(now)
        if self.mode == "control" and self._telephony_up:
            self._try_assign(call, now)  # before indexing it: most calls are connected at once
        if call.phase is WAITING:
            self._place(call, now)
            self._schedule_call(call, now)
            pos = line.position_of_new(call, now) if newest else line.position(call, now)
            pos += self._expected_ahead(call)
            ewt = estimated_wait(pos, len(self._staffed[queue]), self._recent_aht(queue))
            self._out.append(CallQueued(call.id, queue, pos, ewt, call.priority))

    def _forget(self, call: Call) -> None:
        call.line_token += 1
        call.timer_token += 1
        self._lines[call.queue].discard(call)
        if self._calls.get(call.id) is call:
            del self._calls[call.id]
        self._finished.add(call.id)

    def _unline(self, call: Call) -> None:
        """Out of the waiting indexes (ringing or connected), still known."""
        call.line_token += 1
        call.timer_token += 1

    def _active_preference(self, call: Call, now: float, drop: bool = True) -> str | None:
        prefs = call.preferences
        i = 0
        while i < len(prefs):
            agent_id, until = prefs[i]
            if until > now and self._agents[agent_id].state is not LOGGED_OUT:
                break
            i += 1
        if drop and i:
            del prefs[:i]
        return prefs[i][0] if i < len(prefs) else None

    def _place(self, call: Call, now: float) -> None:
        """Index a waiting call: for its preferred agent if any, else for the queue."""
        call.line_token += 1
        preferred = self._active_preference(call, now) if call.preferences else None
        if preferred is not None:
            heapq.heappush(self._preferred.setdefault(preferred, []), entry_of(call))
        else:
            self._lines[call.queue].index(call, now)

    def _schedule_call(self, call: Call, now: float) -> None:
        """One timer per waiting call, at its next change: widening, preference end, overflow, max wait."""
        call.timer_token += 1
        if self.mode != "control":
            return
        cfg = self._queues[call.queue]
        levels = self._lines[call.queue].levels
        due: float | None = None  # the earliest of the changes still to come
        level = call_level(call, now, levels)
        if level + 1 < len(levels):
            due = _sooner(due, call.arrived_at + levels[level + 1].after_s, now)
        if call.preferences:
            due = _sooner(due, call.preferences[0][1], now)
        if call.original_call_id is None:  # not a callback
            if cfg.overflow_after_s is not None and cfg.overflow_to not in call.visited:
                due = _sooner(due, call.entered_at + cfg.overflow_after_s, now)
            if cfg.max_wait_s is not None:
                due = _sooner(due, call.entered_at + cfg.max_wait_s, now)
        if due is not None:
            self._schedule(due, _CALL_TIMER, call.id, call.timer_token)

    def _call_timer(self, call: Call, now: float) -> None:
        if call.phase is RINGING:
            self._ring_timeout(call, now)
            return
        if call.phase is not WAITING:
            return
        cfg = self._queues[call.queue]
        waited = now - call.entered_at
        if not call.is_callback and cfg.max_wait_s is not None and waited >= cfg.max_wait_s:
            self._record(call, Outcome.TIMED_OUT, now)
            self._leave(call, cfg, "timeout", None, cfg.exit_destination, now)
            return
        if (
            not call.is_callback
            and cfg.overflow_after_s is not None
            and cfg.overflow_to is not None
            and waited >= cfg.overflow_after_s
            and cfg.overflow_to not in call.visited
        ):
            self._record(call, Outcome.OVERFLOWED, now)
            self._lines[call.queue].discard(call)
            self._unline(call)
            self._leave(call, cfg, "wait", cfg.overflow_to, cfg.exit_destination, now)
            return
        if call.preferences and call.preferences[0][1] <= now:
            self._place(call, now)  # the preference ended: index the call for the queue
        else:
            self._lines[call.queue].widened(call, now)
        self._schedule_call(call, now)
        self._dirty_calls.append(call)

    def _record(self, call: Call, outcome: Outcome, now: float) -> None:
        if not call.is_callback:
            self._stats.queues[call.queue].calls.append(CallRecord(now, outcome, now - call.entered_at))

    # ------------------------------------------------------------------ assignment

    def _connect_refused(self, command: ConnectRefused, now: float) -> None:
        """The link could not ring the agent: no miss; the agent is free, the call waits again."""
        agent = self._agent(command.agent_id)
        call = self._calls.get(command.call_id)
        if agent.state is not RESERVED or agent.call_id != command.call_id or call is None:
            self.ignored_events["connect-refused-not-ringing"] += 1
            return
        if agent.id in call.ringing:
            call.ringing.remove(agent.id)
        self._transition(agent, Trigger.RING_ENDED, now, command.reason, strict=False)
        if call.phase is RINGING and not call.ringing:
            self._requeue(call, now)

    def _set_telephony_up(self, up: bool) -> None:
        if up == self._telephony_up:
            return
        self._telephony_up = up
        if up:  # offer what waited meanwhile, to whoever is free
            self._dirty_calls.extend(c for c in self._calls.values() if c.phase is WAITING)
            self._dirty_agents.extend(a for a in self._by_order if a.state is AVAILABLE)

    @property
    def telephony_up(self) -> bool:
        return self._telephony_up

    def _dispatch(self, now: float) -> None:
        """Pair waiting calls with available agents (control mode), until nothing changes."""
        if self.mode != "control" or not self._telephony_up:
            self._dirty_calls.clear()
            self._dirty_agents.clear()
            return
        while self._dirty_calls or self._dirty_agents:
            calls, self._dirty_calls = self._dirty_calls, []
            if len(calls) > 1:
                calls.sort(key=lambda c: order_key(c, now, self._queues[c.queue].priority_max_wait_s))
            for call in calls:
                if call.phase is WAITING:
                    self._try_assign(call, now, changed=True)
            agents, self._dirty_agents = self._dirty_agents, []
            for agent in agents:
                if agent.state is AVAILABLE and not agent.phone_busy:
                    self._serve(agent, now)

    def _try_assign(self, call: Call, now: float, changed: bool = False) -> None:
        """Ring the best available agent(s) for `call`, if any.

        A `changed` call (widened, requeued after a miss, preference over) goes before
        freed agents, so that a missed call tries the next agent first. But the agent it
        picks may have been freed just now and be owed another call (`_owed_call`: its
        sticky caller, or an older call of the queue it may serve): that agent then takes
        the call it is owed, and `call` tries the other agents. A new call needs no such
        check: an available agent is owed nothing, or it would be ringing.
        """
        preferred = self._active_preference(call, now) if call.preferences else None
        if preferred is not None:
            agent = self._agents[preferred]
            if agent.state is AVAILABLE and not agent.phone_busy:
                self._ring(call, [agent], now)
            return
        self._flush_index()
        available = self._available[call.queue]
        if not available.keys:
            return  # nobody to choose from (a busy center: the common case for a new call)
        line = self._lines[call.queue]
        level = line.levels[call_level(call, now, line.levels)]
        required = call.required
        cap = level.min_proficiency
        needed = [skill for skill, need in required if need > 0 and (cap is None or cap > 0)]

        def accept(agent: Agent, penalty: int) -> bool:
            return qualifies(agent, penalty, required, level)

        chosen = choose(
            available,
            self._by_order,
            accept,
            level.max_penalty,
            self._rng,
            self._max_weight,
            needed,
        )
        if chosen and changed:
            if len(chosen) == 1:
                owed = self._owed_call(chosen[0], call, now)
                if owed is not None:
                    self._ring(owed, chosen, now)
                    self._dirty_calls.append(call)  # try the other available agents
                    return
            else:  # ring-all: an agent owed another call takes it after (dirty), the rest ring
                owing = [agent for agent in chosen if self._owed_call(agent, call, now) is not None]
                if owing:
                    self._dirty_agents.extend(owing)
                    chosen = [agent for agent in chosen if agent not in owing]
        if chosen:
            self._ring(call, chosen[:1] if call.is_callback else chosen, now)

    def _owed_call(self, agent: Agent, call: Call, now: float) -> Call | None:
        """The call `agent` should take instead of `call`, as `_serve` would choose within
        `call`'s queue: its own sticky caller, else an older call it may serve."""
        sticky = self._sticky_caller(agent)
        if sticky is not None:
            return sticky
        found = self._lines[call.queue].best_for(agent, agent.queues[call.queue], now)
        return found[1] if found is not None and found[1] is not call else None

    def _sticky_caller(self, agent: Agent) -> Call | None:
        """The oldest live call waiting for `agent` in particular; a heap left with none is dropped."""
        heap = self._preferred.get(agent.id)
        if not heap:
            return None
        head = clean_head(heap)
        if head is None:
            del self._preferred[agent.id]
        return head

    def _serve(self, agent: Agent, now: float) -> None:
        """A freed agent takes its next call: its sticky callers first, then its queues."""
        sticky = self._sticky_caller(agent)
        if sticky is not None:
            heapq.heappop(self._preferred[agent.id])
            self._ring(sticky, [agent], now)
            return
        best: tuple[tuple[int, int, int, int, float, int], Call] | None = None
        for rank, q, penalty in agent.queue_order:
            if best is not None and best[0][:2] < rank:
                break  # queues are in (weight, penalty) order: the rest cannot win
            line = self._lines[q]
            if not line.groups:
                continue
            found = line.best_for(agent, penalty, now)
            if found is not None:
                key = (*rank, *found[0])
                if best is None or key < best[0]:
                    best = (key, found[1])
        if best is not None:
            self._ring(best[1], [agent], now)

    def _ring(self, call: Call, agents: list[Agent], now: float) -> None:
        cfg = self._queues[call.queue]
        self._unline(call)
        call.phase = RINGING
        call.ringing = [a.id for a in agents]
        call.ring_started = now
        self._schedule(now + cfg.ring_timeout_s, _CALL_TIMER, call.id, call.timer_token)
        callback = call.original_call_id is not None
        for agent in agents:
            self._transition(agent, RESERVE, now, f"offered {call.id}", strict=True)
            agent.call_id = call.id
            if callback:
                number = call.callback_number or ""
                self._out.append(
                    PlaceCallback(
                        call.id, call.original_call_id or "", agent.id, call.queue, number, cfg.ring_timeout_s
                    )
                )
            else:
                self._out.append(ConnectCall(call.id, agent.id, call.queue, cfg.ring_timeout_s))

    def _requeue(self, call: Call, now: float) -> None:
        """Back to waiting in its old place (same arrival time and sequence)."""
        call.phase = WAITING
        call.ringing = []
        self._place(call, now)
        self._schedule_call(call, now)
        self._dirty_calls.append(call)

    def _ring_timeout(self, call: Call, now: float) -> None:
        for agent_id in list(call.ringing):
            agent = self._agents[agent_id]
            if self.mode == "control":
                self._out.append(CancelRing(call.id, agent_id, call.queue, "timeout"))
            self._missed(agent, call, now)
        call.ringing = []
        self._requeue(call, now)

    def _missed(self, agent: Agent, call: Call, now: float) -> None:
        """`agent` let `call` ring out: count it, maybe auto-pause, drop a preference for it."""
        if agent.id in call.ringing:
            call.ringing.remove(agent.id)
        agent.missed += 1
        agent.misses_in_row += 1
        self._stats.agents[agent.id].misses.append(now)
        call.preferences = [p for p in call.preferences if p[0] != agent.id]
        limit = self._queues[call.queue].max_misses
        if self.mode == "control" and limit is not None and agent.misses_in_row >= limit:
            agent.misses_in_row = 0
            self._transition(agent, Trigger.AUTO_PAUSE, now, "no-answer", strict=False)
        else:
            self._transition(agent, Trigger.RING_ENDED, now, "no answer", strict=False)

    def _ring_called_off(self, agent: Agent, call: Call, now: float) -> None:
        """The Dial ended CANCEL: the caller's side ended it (the caller hung up while it rang;
        their HUNG_UP follows) before the agent could answer. Not the agent's miss, and the
        caller's preference for them stands if the call goes on."""
        call.ringing.remove(agent.id)
        self._transition(agent, Trigger.RING_ENDED, now, "ring called off", strict=False)

    def _unreachable(self, agent: Agent, call: Call, now: float) -> None:
        """Control mode: the agent's phone could not be rung at all (the dial failed at once).
        Not the agent's miss: the call goes on to the next agent now, and the agent is paused
        with reason "phone-unreachable" (on the wallboard) until they are ready again."""
        call.ringing.remove(agent.id)
        call.preferences = [p for p in call.preferences if p[0] != agent.id]
        agent.misses_in_row = 0
        self._transition(agent, Trigger.AUTO_PAUSE, now, PHONE_UNREACHABLE, strict=False)

    def _drop_preferences_for(self, agent: Agent, now: float) -> None:
        """Calls waiting for a logged-out agent fall back at once."""
        for _, _, _, token, call in self._preferred.pop(agent.id, []):
            if token == call.line_token and call.phase is WAITING:
                self._place(call, now)
                self._schedule_call(call, now)
                self._dirty_calls.append(call)

    def _empty_queues(self, now: float) -> None:
        """leave_when_empty: the last unpaused agent left: waiting callers go on or out."""
        emptied, self._emptied = self._emptied, set()
        if self.mode != "control":
            return
        for q in emptied:
            if self._staffed[q]:
                continue
            cfg = self._queues[q]
            for call in list(self._lines[q].calls.values()):
                if call.phase is WAITING and not call.is_callback:
                    self._record(call, Outcome.TIMED_OUT, now)
                    self._lines[q].discard(call)
                    self._unline(call)
                    self._leave(call, cfg, "no-agents", cfg.overflow_to, cfg.exit_destination, now)

    def _request_callback(self, command: RequestCallback, now: float) -> None:
        if self.mode != "control":
            raise NotInThisMode("callbacks need control mode: in observe mode the PBX holds the queue")
        call = self._calls.get(command.call_id)
        if call is None or call.phase not in (WAITING, RINGING) or call.is_callback:
            raise UnknownCall(command.call_id)
        number = command.number or call.caller
        if not number:
            raise UnknownCall(command.call_id)
        for agent_id in list(call.ringing):
            agent = self._agents[agent_id]
            self._release_ring(agent, now, "callback", requeue=False)
            self._transition(agent, Trigger.RING_ENDED, now, "caller chose a callback", strict=False)
        self._record(call, Outcome.CALLBACK, now)
        self._convert_to_callback(call, number, command.callback_id, now)

    def _convert_to_callback(self, call: Call, number: str, callback_id: str | None, now: float) -> None:
        """The caller hangs up but keeps their place: a callback entry replaces the call."""
        self._forget(call)
        callback = Call(
            id=callback_id or f"{call.id}:callback",
            queue=call.queue,
            caller=number,
            priority=call.priority,
            tier=call.tier,
            required=call.required,
            arrived_at=call.arrived_at,
            seq=call.seq,
            entered_at=call.entered_at,
            preferences=list(call.preferences),
            visited=list(call.visited),
            callback_number=number,
            original_call_id=call.id,
        )
        line = self._lines[call.queue]
        line.add(callback)
        self._calls[callback.id] = callback
        self._place(callback, now)
        self._schedule_call(callback, now)
        self._dirty_calls.append(callback)

    # ------------------------------------------------------------------ PBX events

    def _on_call_event(self, event: CallEvent, now: float) -> None:
        kind = event.kind
        if kind in _NOT_ROUTING:
            return
        if kind is CallEventKind.OFFERED:
            self._offer(
                OfferCall(
                    event.call_id,
                    event.queue or "",
                    caller=event.caller,
                    arrived_at=event.at.timestamp(),
                    ivr_choice=event.ivr_choice,
                ),
                now,
                strict=False,
            )
            return
        call = self._calls.get(event.call_id)
        if (
            call is None
            and self.mode == "observe"
            and kind in (CallEventKind.RINGING, CallEventKind.ANSWERED)
        ):
            call = self._adopt(event, now)
        if call is None:
            self.ignored_events["finished-call" if event.call_id in self._finished else "unknown-call"] += 1
            return
        # The talk and hold figures are measured on the facts' own times when these are older than
        # `now`: a re-login's resync tells an answer or an end that happened while the link was
        # down, and the call's figures must not count the outage. Everything else runs on `now`.
        happened = min(now, event.at.timestamp())
        if kind in _GONE:  # ABANDONED, LEFT_QUEUE, HUNG_UP
            self._on_gone(call, kind, now, happened)
        elif kind is CallEventKind.ANSWERED:
            if event.detail == FROM_RECORDS:
                self._answered_on_record(call, event.agent, now, happened)
            else:
                self._on_answered(call, event.agent, now, happened)
        elif kind is CallEventKind.RINGING:
            self._on_ringing(call, event.agent, now)
        elif kind is CallEventKind.RING_NO_ANSWER:
            self._on_no_answer(call, event.agent, now, event.detail)
        elif kind is CallEventKind.HELD:
            if call.phase is CONNECTED and call.hold_started is None:
                call.hold_started = happened
        elif kind is CallEventKind.UNHELD:
            if call.hold_started is not None:
                call.hold_s += max(0.0, happened - call.hold_started)
                call.hold_started = None
        else:  # AGENT_COMPLETED, TRANSFERRED
            if call.phase is CONNECTED:
                self._end_agent_leg(call, now, happened)
            else:
                self.ignored_events[f"{kind.value}-while-{call.phase.value}"] += 1

    def _adopt(self, event: CallEvent, now: float) -> Call | None:
        """Observe mode: a call we never saw offered (AMI reconnect): take it in from here."""
        if event.queue not in self._queues or event.call_id in self._finished:
            return None
        self._offer(
            OfferCall(event.call_id, event.queue, caller=event.caller, arrived_at=event.at.timestamp()),
            now,
            strict=False,
        )
        return self._calls.get(event.call_id)

    def _event_agent(self, agent_id: str | None) -> Agent | None:
        if agent_id is None:
            return None
        agent = self._agents.get(agent_id)
        if agent is None:
            self.ignored_events["unknown-agent"] += 1
        return agent

    def _on_ringing(self, call: Call, agent_id: str | None, now: float) -> None:
        if self.mode == "control":
            if agent_id not in call.ringing:
                self.ignored_events["ringing-not-offered"] += 1
            return
        agent = self._event_agent(agent_id)
        if agent is None or agent.id in call.ringing:
            return
        if call.phase not in (WAITING, RINGING) or not self._resync_to_available(agent, now):
            self.ignored_events["ringing-cannot-apply"] += 1
            return
        cfg = self._queues[call.queue]
        if call.phase is WAITING or (call.ringing and cfg.strategy != "ring-all"):
            # Unless the queue rings all, the PBX rings one agent at a time: a second agent
            # ringing means the first one's ring ended and its event was lost or is late.
            for other_id in call.ringing:
                other = self._agents[other_id]
                if other.state is RESERVED and other.call_id == call.id:
                    self._transition(other, Trigger.RING_ENDED, now, "rang elsewhere", strict=False)
            self._unline(call)
            call.phase = RINGING
            call.ringing = []
            call.ring_started = now
            self._schedule(
                now + cfg.ring_timeout_s + self.config.observe_grace_s, _CALL_TIMER, call.id, call.timer_token
            )
        call.ringing.append(agent.id)
        self._transition(agent, RESERVE, now, f"offered {call.id}", strict=False)
        agent.call_id = call.id

    def _on_no_answer(self, call: Call, agent_id: str | None, now: float, detail: str | None = None) -> None:
        if call.phase is not RINGING:
            self.ignored_events["no-answer-not-ringing"] += 1
            return
        if agent_id is None and len(call.ringing) == 1:
            agent_id = call.ringing[0]
        if agent_id not in call.ringing:
            self.ignored_events["no-answer-not-ringing"] += 1
            return
        if self.mode == "control" and detail in UNREACHABLE_DIAL:
            self._unreachable(self._agents[agent_id], call, now)
        elif detail == DIAL_CANCELLED:
            self._ring_called_off(self._agents[agent_id], call, now)
        else:
            self._missed(self._agents[agent_id], call, now)
        if not call.ringing:
            self._requeue(call, now)

    def _on_answered(
        self, call: Call, agent_id: str | None, now: float, happened: float | None = None
    ) -> None:
        if agent_id is None and len(call.ringing) == 1:
            agent_id = call.ringing[0]
        agent = self._event_agent(agent_id)
        if agent is None:
            if agent_id is None:
                self.ignored_events["answered-without-agent"] += 1
            return
        if call.phase not in (WAITING, RINGING):
            self.ignored_events[f"answered-while-{call.phase.value}"] += 1
            return
        ringing_here = agent.id in call.ringing and agent.state is RESERVED
        if not ringing_here and not self._resync_to_available(agent, now):
            self.ignored_events["answered-by-busy-agent"] += 1
            return
        for other in list(call.ringing):
            if other != agent.id:
                self._release_ring(self._agents[other], now, "answered-elsewhere", requeue=False)
                self._transition(self._agents[other], Trigger.RING_ENDED, now, "answered elsewhere", False)
        self._unline(call)
        self._lines[call.queue].discard(call)
        call.phase, call.ringing, call.agent = CONNECTED, [], agent.id
        call.answered_at = now if happened is None else happened
        self._transition(agent, ANSWER, now, f"on {call.id}", strict=False)
        agent.call_id = call.id
        agent.misses_in_row = 0
        agent.answered += 1
        self._stats.agents[agent.id].answers.append(now)
        self._record(call, Outcome.ANSWERED, now)

    def _answered_on_record(self, call: Call, agent_id: str | None, now: float, happened: float) -> None:
        """A call that is over, told from the PBX's records (FROM_RECORDS): answered by
        `agent_id` then. It counts as answered, but the agent's state stays as it is now (no
        ring, call or wrap-up for a call their console never showed)."""
        if call.phase not in (WAITING, RINGING):
            self.ignored_events[f"answered-while-{call.phase.value}"] += 1
            return
        for other in list(call.ringing):  # offered to someone meanwhile (control mode): taken back
            self._release_ring(self._agents[other], now, "answered-elsewhere", requeue=False)
            self._transition(self._agents[other], Trigger.RING_ENDED, now, "answered elsewhere", False)
        self._unline(call)
        self._lines[call.queue].discard(call)
        call.phase, call.ringing, call.agent, call.answered_at = CONNECTED, [], agent_id, happened
        self._record(call, Outcome.ANSWERED, now)

    def _end_agent_leg(self, call: Call, now: float, happened: float | None = None) -> None:
        """`happened`: when the agent leg ended, on the event's time (`now` when not older)."""
        ended = now if happened is None else happened
        call.phase = AFTER_AGENT
        agent = self._agents.get(call.agent or "")
        if call.hold_started is not None:
            call.hold_s += max(0.0, ended - call.hold_started)
            call.hold_started = None
        if agent is None or agent.call_id != call.id or agent.state is not ON_CALL:
            return
        talk = max(0.0, ended - call.answered_at - call.hold_s)
        agent.talk_s += talk
        agent.handled_queue, agent.handled_talk_s, agent.handled_hold_s = call.queue, talk, call.hold_s
        agent.handled_call_id = call.id
        self._transition(agent, CALL_ENDED, now, f"after {call.id}", strict=False)
        if agent.state is WRAP_UP:
            agent.wrapup_of = (call.queue, call.id)
        queue = self._queues[call.queue]
        wrapup = agent.wrapup_s if agent.wrapup_s is not None else queue.wrapup_s
        if queue.wrapup_ends == "agent" and agent.state is WRAP_UP:
            agent.wrapup_by_agent = True  # SetAgentReady ("Done") ends it; wrapup_s is the maximum
            if wrapup > 0:
                self._schedule(now + wrapup, _AGENT_TIMER, agent.id, agent.timer_token)
        elif wrapup > 0:
            self._schedule(now + wrapup, _AGENT_TIMER, agent.id, agent.timer_token)
        else:
            self._end_wrapup(agent, now)

    def _on_gone(self, call: Call, kind: CallEventKind, now: float, happened: float | None = None) -> None:
        """ABANDONED, LEFT_QUEUE or HUNG_UP."""
        if call.phase is CONNECTED:
            self._end_agent_leg(call, now, happened)
        if call.phase is AFTER_AGENT:
            if kind is CallEventKind.HUNG_UP:
                self._forget(call)
            return
        for agent_id in list(call.ringing):
            agent = self._agents[agent_id]
            self._release_ring(agent, now, "caller-gone", requeue=False)
            self._transition(agent, Trigger.RING_ENDED, now, "caller gone", strict=False)
        call.ringing = []
        if call.is_callback:
            self._forget(call)  # the callback failed (no answer, busy): the service layer may retry
            return
        cfg = self._queues[call.queue]
        abandoned = kind is not CallEventKind.LEFT_QUEUE
        self._record(call, Outcome.ABANDONED if abandoned else Outcome.TIMED_OUT, now)
        if abandoned and cfg.callback_on_abandon and call.caller and self.mode == "control":
            self._convert_to_callback(call, call.caller, None, now)
        else:
            self._forget(call)

    def _on_agent_event(self, event: AgentEvent, now: float) -> None:
        agent = self._event_agent(event.agent)
        if agent is None:
            return
        kind = event.kind
        if kind is AgentEventKind.JOINED_QUEUE:
            if event.queue not in self._queues:
                self.ignored_events["unknown-queue"] += 1
                return
            if event.queue not in agent.queues:
                penalty = agent.configured_queues.get(event.queue, 0)
                self._set_queues(agent, {**agent.queues, event.queue: penalty})
            if agent.state is LOGGED_OUT:
                self._transition(agent, Trigger.LOGIN, now, "pbx", strict=False)
        elif kind is AgentEventKind.LEFT_QUEUE:
            if event.queue not in agent.queues:
                self.ignored_events["left-queue-not-member"] += 1
                return
            rest = {q: p for q, p in agent.queues.items() if q != event.queue}
            if rest or agent.state in (ON_CALL, WRAP_UP):
                self._set_queues(agent, rest)
            else:
                self._logout(agent, "pbx", now, strict=False)
        elif kind is AgentEventKind.PAUSED:
            if event.detail == WRAPUP_HOLD_REASON:  # our own wrap-up hold, echoed: not a pause
                self.ignored_events["wrap-up-hold-echo"] += 1
                return
            self._pause(agent, event.detail or "pbx", now, strict=False)
        elif kind is AgentEventKind.UNPAUSED:
            if agent.state is PAUSED:
                self._ready(agent, now, strict=False)
            else:
                self._keep_pause(agent, None, now)
        elif kind is AgentEventKind.DEVICE_STATE and self.mode == "control":
            self._phone_state(agent, event.detail, now)
        # Observe mode: app_queue skips members whose phone is in use (ringinuse=no) itself.

    def _phone_state(self, agent: Agent, state: str | None, now: float) -> None:
        """The PBX's word on the agent's phone (control mode). While it is in use, ringing
        or unreachable outside a call of ours (a personal or outbound call, say), the agent
        is not offered calls; when it is idle again, the agent is, at once."""
        if state not in ("idle", "in_use", "ringing", "unavailable"):
            self.ignored_events["device-state-unknown"] += 1
            return
        busy = state != "idle"
        if busy == agent.phone_busy:
            return
        agent.phone_busy = busy
        if agent.state is not AVAILABLE:
            return  # our own call, wrap-up or a pause: the flag counts from the next availability
        if busy:
            if agent.index_keys:
                self._unindex(agent)
        else:
            self._to_index.append(agent)
            self._dirty_agents.append(agent)
