"""Router decision latency at call-center scale, beside a naive linear scan.

Scenario (seeded, reproducible): 2,000 agents in 10 queues (a primary queue at penalty 0
and a backup queue at penalty 1), 20 skills (3 per agent, proficiency 40..100), every
call needs one skill at >= 60, widening to >= 50 after 30 s and to anyone after 60 s,
five caller tiers, wrap-up 5 s. Saturated: every agent busy and 1,000 calls waiting.
Each measured step is one router call as the service layer makes it:

  hang-up                 HUNG_UP of a talking agent's call -> wrap-up starts
  wrap-up end->next call  tick() at the wrap-up deadline -> available -> the best waiting
                          call it may take -> ConnectCall (the ACD's main decision)
  answer                  ANSWERED for that call
  offer                   OfferCall of a new caller -> queued with position and estimated wait
  other timers            tick() for widening steps

and, with 1,000 agents idle, `offer->agent`: OfferCall -> an available agent (ConnectCall).

Baseline: the same decisions by linear scan (every waiting call for a freed agent,
every agent for an offered call), on the same data, in the same run.
"""

from __future__ import annotations

import gc
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from routing import AgentConfig, QueueConfig, Router, RouterConfig, WideningStep
from routing.commands import LoginAgent, OfferCall
from routing.decisions import ConnectCall, Decision
from routing.events import CallEvent, CallEventKind

N_AGENTS = 2_000
N_SKILLS = 20
N_QUEUES = 10
N_WAITING = 1_000
STEPS = 20_000
WRAPUP_S = 5.0
# Steps before measuring. A running router has served every agent from each of its queues:
# after 6,000 steps 2.4 % of the next 3,000 decisions still filled an agent's group cache for
# its backup queue (a once-per-process cost, ~60 extra lines), enough to make the p99;
# after 20,000, 0.4 %.
WARM_UP = 20_000
TIERS = ["vip", "strategic", "profitable", "ordinary", "ordinary", "ordinary", "risk"]
WIDENING = (WideningStep(30, min_proficiency=50), WideningStep(60, min_proficiency=0))
AT = __import__("datetime").datetime(2025, 1, 1)


@dataclass
class Bench:
    router: Router
    rng: random.Random
    now: float = 0.0
    seq: int = 0
    talking: dict[str, str] | None = None  # agent -> call
    skills: dict[str, str] | None = None  # call -> required skill

    def event(self, call_id: str, kind: CallEventKind, agent: str | None = None) -> CallEvent:
        self.seq += 1
        return CallEvent(call_id=call_id, kind=kind, at=AT, event_id=f"e{self.seq}", agent=agent)

    def offer(self) -> tuple[str, OfferCall]:
        self.seq += 1
        call_id = f"c{self.seq}"
        skill = f"s{self.rng.randrange(N_SKILLS)}"
        assert self.skills is not None
        self.skills[call_id] = skill
        queue = f"q{self.rng.randrange(N_QUEUES)}"
        return call_id, OfferCall(
            call_id, queue, caller="+861380000", tier=self.rng.choice(TIERS), required_skills={skill: 60}
        )


def build(seed: int = 1, wrapup_s: float = WRAPUP_S) -> Bench:
    rng = random.Random(seed)
    queues = [QueueConfig(name=f"q{i}", wrapup_s=wrapup_s, skill_widening=WIDENING) for i in range(N_QUEUES)]
    agents = []
    for i in range(N_AGENTS):
        primary, backup = rng.sample(range(N_QUEUES), 2)
        skills = {f"s{s}": rng.randint(40, 100) for s in rng.sample(range(N_SKILLS), 3)}
        agents.append(AgentConfig(id=f"a{i}", queues={f"q{primary}": 0, f"q{backup}": 1}, skills=skills))
    router = Router(RouterConfig(queues=queues, agents=agents), rng=random.Random(seed))
    return Bench(router=router, rng=rng, talking={}, skills={})


def answer_all(
    bench: Bench, decisions: list[Decision], samples: dict[str, list[float]] | None = None
) -> None:
    """The PBX answers every ConnectCall at once (timed as `answer` when samples are given)."""
    assert bench.talking is not None
    for d in decisions:
        if isinstance(d, ConnectCall):
            event = bench.event(d.call_id, CallEventKind.ANSWERED, d.agent_id)
            if samples is None:
                bench.router.on_event(event, bench.now)
            else:
                timed(samples, "answer", lambda: bench.router.on_event(event, bench.now))  # noqa: B023
            bench.talking[d.agent_id] = d.call_id


def saturate(bench: Bench, n_waiting: int = N_WAITING) -> None:
    """Every agent talking, `n_waiting` calls waiting, all older than the last widening step."""
    router = bench.router
    for i in range(N_AGENTS):
        router.on_command(LoginAgent(f"a{i}"), 0.0)
    bench.now = 1.0
    for _ in range(N_AGENTS + n_waiting):
        _, command = bench.offer()
        answer_all(bench, router.on_command(command, bench.now))
    bench.now += 61.0  # past every widening step: the waiting calls may go to any agent
    answer_all(bench, router.tick(bench.now))
    bench.now += WRAPUP_S
    assert bench.talking is not None
    while len(bench.talking) < N_AGENTS or waiting_count(router, bench.now) < n_waiting:
        _, command = bench.offer()
        answer_all(bench, router.on_command(command, bench.now))


def waiting_count(router: Router, now: float) -> int:
    return sum(len(q.waiting) for q in router.snapshot(now).queues)


def timed(samples: dict[str, list[float]], name: str, fn: Callable[[], list[Decision]]) -> list[Decision]:
    t0 = time.thread_time_ns()
    out = fn()
    samples.setdefault(name, []).append((time.thread_time_ns() - t0) / 1000)
    return out


def run_timers(bench: Bench, samples: dict[str, list[float]]) -> None:
    """Call tick() at each deadline, as the service's timer loop does."""
    router = bench.router
    while (deadline := router.next_deadline()) is not None and deadline <= bench.now:
        t0 = time.thread_time_ns()
        decisions = router.tick(deadline)
        elapsed = (time.thread_time_ns() - t0) / 1000
        name = (
            "wrap-up end->next call" if any(isinstance(d, ConnectCall) for d in decisions) else "other timers"
        )
        samples.setdefault(name, []).append(elapsed)
        answer_all(bench, decisions, samples)


def run_saturated(bench: Bench, samples: dict[str, list[float]], steps: int = STEPS) -> None:
    """An agent hangs up (wrap-up starts); timers end wrap-ups, each freed agent gets the
    next call and answers it; a new caller arrives."""
    router, rng = bench.router, bench.rng
    assert bench.talking is not None
    for _ in range(steps):
        bench.now += 0.05
        agent = rng.choice(tuple(bench.talking))
        hung = bench.event(bench.talking.pop(agent), CallEventKind.HUNG_UP)
        answer_all(bench, timed(samples, "hang-up", lambda: router.on_event(hung, bench.now)), samples)  # noqa: B023
        _, command = bench.offer()
        answer_all(bench, timed(samples, "offer", lambda: router.on_command(command, bench.now)), samples)  # noqa: B023
        run_timers(bench, samples)


def run_idle(rounds: list[dict[str, list[float]]]) -> None:
    """Half the agents idle: an offered call goes straight to an agent (`ROUNDS` rounds)."""
    bench = build(seed=2)
    router = bench.router
    for i in range(N_AGENTS):
        router.on_command(LoginAgent(f"a{i}"), 0.0)
    assert bench.talking is not None
    bench.now = 1.0
    while len(bench.talking) < N_AGENTS // 2:
        _, command = bench.offer()
        answer_all(bench, router.on_command(command, bench.now))
    bench.now += 61
    answer_all(bench, router.tick(bench.now))
    steps = STEPS // 4
    for step in range(steps):
        samples = rounds[step * len(rounds) // steps]
        bench.now += 0.05
        _, command = bench.offer()
        answer_all(bench, timed(samples, "offer->agent", lambda: router.on_command(command, bench.now)))  # noqa: B023
        keys = list(bench.talking)
        agent = keys[bench.rng.randrange(len(keys))]
        router.on_event(bench.event(bench.talking.pop(agent), CallEventKind.HUNG_UP), bench.now)
        run_timers(bench, {})


# ---------------------------------------------------------------- naive baseline


@dataclass
class NaiveAgent:
    id: str
    skills: dict[str, int]
    queues: dict[str, int]
    idle_since: float


@dataclass
class NaiveCall:
    id: str
    queue: str
    priority: int
    arrived: float
    skill: str


def naive_pick_call(agent: NaiveAgent, calls: list[NaiveCall], now: float) -> NaiveCall | None:
    """Scan every waiting call: the best one this agent may take (same rules as the router)."""
    best, best_key = None, None
    for c in calls:
        if c.queue not in agent.queues:
            continue
        waited = now - c.arrived
        need = 0 if waited >= 60 else 50 if waited >= 30 else 60
        if need and agent.skills.get(c.skill, 0) < need:
            continue
        key = (agent.queues[c.queue], -c.priority, c.arrived)
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best


def naive_pick_agent(call: NaiveCall, agents: list[NaiveAgent], now: float) -> NaiveAgent | None:
    """Scan every agent: the longest idle available member who qualifies."""
    best, best_key = None, None
    for a in agents:
        penalty = a.queues.get(call.queue)
        if penalty is None or a.skills.get(call.skill, 0) < 60:
            continue
        key = (penalty, a.idle_since)
        if best_key is None or key < best_key:
            best, best_key = a, key
    return best


def run_naive(bench: Bench, samples: dict[str, list[float]], steps: int = STEPS // 4) -> None:
    router, rng = bench.router, bench.rng
    assert bench.skills is not None
    snap = router.snapshot(bench.now)
    priorities = {"vip": 50, "strategic": 40, "profitable": 30, "ordinary": 20, "risk": 10}
    calls = [
        NaiveCall(
            c.call_id, q.name, priorities.get(c.tier, 20), bench.now - c.waited_s, bench.skills[c.call_id]
        )
        for q in snap.queues
        for c in q.waiting
    ]
    agents = [
        NaiveAgent(a.id, dict(a.skills), dict(a.queues), rng.random() * 100) for a in router.config.agents
    ]
    for _ in range(steps):
        agent = agents[rng.randrange(len(agents))]
        t0 = time.thread_time_ns()
        naive_pick_call(agent, calls, bench.now)
        samples.setdefault("next call (naive scan)", []).append((time.thread_time_ns() - t0) / 1000)
        call = calls[rng.randrange(len(calls))]
        t0 = time.thread_time_ns()
        naive_pick_agent(call, agents, bench.now)
        samples.setdefault("offer->agent (naive scan)", []).append((time.thread_time_ns() - t0) / 1000)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


ROWS = (
    "hang-up",
    "wrap-up end->next call",
    "answer",
    "offer",
    "other timers",
    "offer->agent",
    "next call (naive scan)",
    "offer->agent (naive scan)",
)
ROUNDS = 5


def host_speed() -> float:
    """Seconds for 10 million integer additions: to scale figures between machines."""
    t0 = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return time.perf_counter() - t0


def main() -> None:
    gc.collect()
    started = time.perf_counter()
    bench = build()
    saturate(bench)
    run_saturated(bench, {}, WARM_UP)  # every agent has served once: its group cache is filled
    waiting = waiting_count(bench.router, bench.now)
    setup_s = time.perf_counter() - started
    rounds: list[dict[str, list[float]]] = []
    gc.disable()  # collector pauses are measured apart: they depend on the whole process, not the router
    try:
        for _ in range(ROUNDS):  # interleaved, so that host noise hits router and baseline alike
            samples: dict[str, list[float]] = {}
            run_saturated(bench, samples, STEPS // ROUNDS)
            run_naive(bench, samples, STEPS // 4 // ROUNDS)
            rounds.append(samples)
        idle: list[dict[str, list[float]]] = [{} for _ in range(ROUNDS)]
        run_idle(idle)
    finally:
        gc.enable()
    print(
        f"{N_AGENTS} agents, {N_SKILLS} skills, {N_QUEUES} queues, {waiting} calls waiting "
        f"(setup {setup_s:.1f} s); host: 10M int adds in {host_speed():.2f} s, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("CPU time of one router call, microseconds, one core; best round of 5 and all rounds:")
    print(f"{'decision':<26}{'n':>7}{'best p50':>10}{'best p99':>10}{'all p50':>9}{'all p99':>9}{'max':>9}")
    for name in ROWS:
        per_round = [r[name] for r in rounds if r.get(name)] or [r[name] for r in idle if r.get(name)]
        values = [v for r in per_round for v in r]
        if not values:
            continue
        best = min(per_round, key=lambda r: pct(r, 99))
        print(
            f"{name:<26}{len(values):>7}{pct(best, 50):>10.1f}{pct(best, 99):>10.1f}"
            f"{pct(values, 50):>9.1f}{pct(values, 99):>9.1f}{max(values):>9.0f}"
        )
    print("goal: p99 <= 50 us per decision")
    scaling()


def scaling() -> None:
    """The next-call decision as the number of waiting calls grows, router vs scan."""
    print("\nnext call for a freed agent, microseconds, as the waiting line grows:")
    print(f"{'waiting calls':<16}{'router p50':>11}{'router p99':>11}{'scan p50':>11}{'scan p99':>11}")
    for n_waiting in (250, 1_000, 4_000):
        bench = build(seed=3)
        saturate(bench, n_waiting)
        run_saturated(bench, {}, WARM_UP)
        samples: dict[str, list[float]] = {}
        gc.disable()
        try:
            run_saturated(bench, samples, 3_000)
            run_naive(bench, samples, 1_000)
        finally:
            gc.enable()
        ours, scan = samples["wrap-up end->next call"], samples["next call (naive scan)"]
        figures = (pct(ours, 50), pct(ours, 99), pct(scan, 50), pct(scan, 99))
        print(f"{n_waiting:<16}" + "".join(f"{f:>11.1f}" for f in figures))
