"""Router configuration: plain frozen data, read by the YAML loader in config/.

Times are seconds. Every field has a default that makes a working queue, so the
loader maps only what the call-center file sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from routing.errors import ConfigError
from routing.hours import BusinessHours, UtcOffsets

Strategy = Literal[
    "ring-all",
    "longest-idle",
    "round-robin",
    "fewest-calls",
    "least-talk-time",
    "random",
    "weighted-random",
    "linear",
]
STRATEGIES: frozenset[str] = frozenset(Strategy.__args__)  # type: ignore[attr-defined]

Mode = Literal["control", "observe"]

# Customer tier -> call priority (higher is served first). RouterConfig.tier_priority overrides it.
DEFAULT_TIER_PRIORITY: Mapping[str, int] = {
    "vip": 50,
    "strategic": 40,
    "profitable": 30,
    "ordinary": 20,
    "risk": 10,
}


@dataclass(frozen=True, slots=True)
class WideningStep:
    """After a call has waited `after_s` (since it reached Hotline), accept more agents.

    `min_proficiency`: every required skill is accepted from this proficiency on
    (a call asking billing>=80 accepts billing>=50 with `min_proficiency=50`);
    0 drops the skill requirement: any agent of the queue will do.
    `max_penalty`: agents up to this penalty (tier) may take the call from then on.
    None leaves the previous step's value. Before the first step a call needs its
    full skills and agents up to QueueConfig.initial_max_penalty (None: any; lower
    penalties are always tried first). Steps may only widen the pool.

    Example: "after 30 s accept proficiency >= 50, after 60 s anyone in the queue":
    (WideningStep(30, min_proficiency=50), WideningStep(60, min_proficiency=0)).
    """

    after_s: float
    min_proficiency: int | None = None
    max_penalty: int | None = None


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One ACD queue.

    Strategy and timers:
      strategy             how an agent is picked among the available ones (see routing.strategies)
      ring_timeout_s       ring an agent this long before trying the next one
      wrapup_s             after-call work before the agent is offered the next call
                           (AgentConfig.wrapup_s overrides it per agent)
      wrapup_ends          "timer": wrap-up ends after wrapup_s; "agent": it ends when the agent
                           says so (SetAgentReady: the console's "Done"), wrapup_s is the maximum
                           after which the agent shows as overdue (0: no maximum)
      max_misses           auto-pause an agent (reason "no-answer") after this many
                           unanswered rings in a row; None never auto-pauses
      weight               an agent in several queues serves the higher weight first
    Skills and priority:
      required_skills      skill -> minimum proficiency (1..100) every call of this queue needs, on top
                           of what its offer asks (the higher minimum wins); widening relaxes it too
      skill_widening       steps that widen the pool as a call waits (WideningStep)
      initial_max_penalty  before the first widening step, only agents up to this penalty; None: any
      priority_max_wait_s  after this wait a call is served before any newer call,
                           whatever their priority (no starvation); None: never
      ticket_owner_wait_s  a caller with an open ticket waits this long for its owner
      last_agent_wait_s    a repeat caller waits this long for the agent who last served them
      owner_routing        "queue" (default): the ticket owner and the last agent are preferred only
                           if they are members of this queue; "any_queue": whatever their queues
    Limits and exits:
      max_length           calls waiting at most; the next one goes to overflow_to or is rejected
      max_wait_s           a call waiting this long leaves the queue (RejectCall reason "timeout")
      overflow_after_s     a call waiting this long moves to `overflow_to`
      overflow_to          the overflow queue (also used when full or empty, if set)
      join_empty           accept calls when no member agent is logged in and unpaused
      leave_when_empty     remove waiting calls when the last unpaused member leaves
      exit_destination     where rejected calls go (voicemail, IVR); None: telephony default
      hours                business hours; None is always open
      after_hours_queue    closed: send calls to this queue (OverflowCall) ...
      after_hours_destination ... or else reject them towards this destination
      callback_on_abandon  a caller who hangs up while waiting keeps their place as a callback
    Statistics:
      service_level_s      T of the service level (answered within T)
      service_level_target the target fraction, used by Erlang C staffing
      short_abandon_s      abandons before this are not counted against the queue
      default_aht_s        handle time assumed for estimates until calls were measured
    """

    name: str
    strategy: Strategy = "longest-idle"
    ring_timeout_s: float = 15.0
    wrapup_s: float = 0.0
    wrapup_ends: Literal["timer", "agent"] = "timer"
    max_misses: int | None = 3
    weight: int = 0
    required_skills: Mapping[str, int] = field(default_factory=dict)
    skill_widening: tuple[WideningStep, ...] = ()
    initial_max_penalty: int | None = None
    priority_max_wait_s: float | None = None
    ticket_owner_wait_s: float = 30.0
    last_agent_wait_s: float = 15.0
    owner_routing: str = "queue"  # "queue" | "any_queue"
    max_length: int | None = None
    max_wait_s: float | None = None
    overflow_after_s: float | None = None
    overflow_to: str | None = None
    join_empty: bool = True
    leave_when_empty: bool = False
    exit_destination: str | None = None
    hours: BusinessHours | None = None
    after_hours_queue: str | None = None
    after_hours_destination: str | None = None
    callback_on_abandon: bool = False
    service_level_s: float = 20.0
    service_level_target: float = 0.8
    short_abandon_s: float = 5.0
    default_aht_s: float = 180.0


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """An agent. `queues` maps queue name -> penalty (0 is tried first); `skills` maps
    skill -> proficiency 0..100; `weight` is used by the weighted-random strategy."""

    id: str
    name: str = ""
    queues: Mapping[str, int] = field(default_factory=dict)
    skills: Mapping[str, int] = field(default_factory=dict)
    wrapup_s: float | None = None
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """The whole ACD. `mode`: "control" (Hotline connects calls) or "observe" (the PBX does).

    `seed` seeds the router's RNG (random strategies) unless one is injected:
    replaying the same events gives the same decisions. `kpi_window_s` is the
    rolling KPI window; `utc_offsets` places local midnight for "since midnight" KPIs.
    `observe_grace_s` is added to ring timeouts in observe mode before an agent whose
    end of ring was never reported is released. `choice_skills` maps an IVR choice (the menu
    entry the caller chose, OfferCall.ivr_choice) to the skills its calls need, as a queue's
    `required_skills` does.
    """

    mode: Mode = "control"
    queues: Sequence[QueueConfig] = ()
    agents: Sequence[AgentConfig] = ()
    seed: int = 0
    tier_priority: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TIER_PRIORITY))
    kpi_window_s: float = 900.0
    utc_offsets: UtcOffsets = field(default_factory=UtcOffsets)
    observe_grace_s: float = 5.0
    remember_events: int = 100_000
    choice_skills: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ConfigError naming the first inconsistency."""
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ConfigError("queue names must be unique")
        known = set(names)
        for q in self.queues:
            _validate_queue(q, known)
        ids = [a.id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ConfigError("agent ids must be unique")
        for a in self.agents:
            for qname in a.queues:
                if qname not in known:
                    raise ConfigError(f"agent {a.id!r} is in unknown queue {qname!r}")
            for skill, level in a.skills.items():
                if not 0 <= level <= 100:
                    raise ConfigError(f"agent {a.id!r}: proficiency of {skill!r} must be 0..100")
            if a.weight <= 0:
                raise ConfigError(f"agent {a.id!r}: weight must be positive")
        for choice, skills in self.choice_skills.items():
            _validate_required(f"IVR choice {choice!r}", skills)
        if self.mode not in ("control", "observe"):
            raise ConfigError(f"mode must be 'control' or 'observe', not {self.mode!r}")


def _validate_queue(q: QueueConfig, known: set[str]) -> None:
    if not all(isinstance(s, WideningStep) for s in q.skill_widening) or not (
        q.hours is None or isinstance(q.hours, BusinessHours)
    ):
        raise ConfigError(f"queue {q.name!r}: build nested fields with routing.loading.queue_config")
    if q.strategy not in STRATEGIES:
        raise ConfigError(f"queue {q.name!r}: unknown strategy {q.strategy!r}")
    for target in (q.overflow_to, q.after_hours_queue):
        if target is not None and target not in known:
            raise ConfigError(f"queue {q.name!r}: unknown target queue {target!r}")
    if q.overflow_after_s is not None and q.overflow_to is None:
        raise ConfigError(f"queue {q.name!r}: overflow_after_s needs overflow_to")
    steps = [s.after_s for s in q.skill_widening]
    if steps != sorted(steps) or any(s <= 0 for s in steps):
        raise ConfigError(f"queue {q.name!r}: skill_widening steps must have increasing after_s > 0")
    _validate_widening(q)
    _validate_required(f"queue {q.name!r}", q.required_skills)
    if q.ring_timeout_s <= 0:
        raise ConfigError(f"queue {q.name!r}: ring_timeout_s must be positive")
    if q.wrapup_s < 0:
        raise ConfigError(f"queue {q.name!r}: wrapup_s must not be negative")
    if q.wrapup_ends not in ("timer", "agent"):
        raise ConfigError(f"queue {q.name!r}: wrapup_ends must be timer or agent, got {q.wrapup_ends!r}")
    if q.max_misses is not None and q.max_misses < 1:
        raise ConfigError(f"queue {q.name!r}: max_misses must be at least 1")
    if q.owner_routing not in ("queue", "any_queue"):
        raise ConfigError(f"queue {q.name!r}: owner_routing must be 'queue' or 'any_queue'")


def _validate_widening(q: QueueConfig) -> None:
    cap: int | None = None
    max_penalty = q.initial_max_penalty
    for step in q.skill_widening:
        if step.min_proficiency is not None:
            if not 0 <= step.min_proficiency <= 100 or (cap is not None and step.min_proficiency > cap):
                raise ConfigError(f"queue {q.name!r}: widening min_proficiency must go down, within 0..100")
            cap = step.min_proficiency
        if step.max_penalty is not None:
            if max_penalty is None or step.max_penalty < max_penalty:
                raise ConfigError(
                    f"queue {q.name!r}: widening max_penalty must go up from initial_max_penalty"
                )
            max_penalty = step.max_penalty


def _validate_required(where: str, skills: Mapping[str, int]) -> None:
    for skill, level in skills.items():
        if not isinstance(level, int) or not 0 <= level <= 100:
            raise ConfigError(f"{where}: required proficiency of {skill!r} must be 0..100, got {level!r}")
