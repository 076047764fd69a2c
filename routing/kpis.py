"""KPI figures from the facts in routing.stats. Definitions: docs/KPIS.md.

Each figure exists twice: over the rolling window (RouterConfig.kpi_window_s) and
since local midnight. Ratios are None when their denominator is zero (no calls is not
100 % and not 0 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from routing.agent_state import BUSY, STAFFED, AgentState
from routing.config import QueueConfig
from routing.erlang import Staffing, agents_needed, service_level
from routing.model import Agent
from routing.stats import AgentStats, HandleRecord, Interval, Outcome, QueueStats, Stats


@dataclass(frozen=True, slots=True)
class QueueFigures:
    offered: int  # calls that left the queue in the period, callbacks requested excluded
    answered: int
    answered_within_sl: int  # wait <= QueueConfig.service_level_s
    abandoned: int
    short_abandoned: int  # abandoned with wait < QueueConfig.short_abandon_s
    abandoned_within_sl: int
    timed_out: int
    overflowed: int
    callbacks_requested: int
    rejected: int  # refused at entry (closed, full, no agents): never offered
    arrivals: int  # calls that entered the queue in the period
    service_level: float | None  # answered_within_sl / (offered - short_abandoned)
    service_level_asterisk: float | None  # Asterisk ServicelevelPerf: answered_within_sl / answered
    service_level_asterisk_sl2: float | None  # ServicelevelPerf2: (answered + abandoned within SL) / both
    asa_s: float | None
    aht_s: float | None  # (talk + hold + wrap-up) / handled
    handled: int
    abandon_rate: float | None  # (abandoned - short) / (offered - short)
    longest_wait_s: float  # among calls that left the queue in the period and calls waiting now
    occupancy: float | None  # busy time / staffed time of the queue's agents


@dataclass(frozen=True, slots=True)
class AgentFigures:
    answered: int
    missed: int
    handled: int
    talk_s: float
    hold_s: float
    wrap_s: float
    aht_s: float | None
    staffed_s: float  # logged in and not paused
    busy_s: float  # reserved, on call or in wrap-up
    paused_s: float
    occupancy: float | None  # busy_s / staffed_s


@dataclass(frozen=True, slots=True)
class QueueKpis:
    queue: str
    window: QueueFigures
    today: QueueFigures
    waiting: int
    longest_waiting_s: float  # the longest wait of a call waiting now
    agents_staffed: int
    staffing: Staffing | None  # Erlang C from the window's arrival rate and AHT; None without arrivals
    agents_busy: int = 0  # staffed members ringing, talking or in wrap-up now
    # The service level (within service_level_s) the agents staffed now reach at the window's traffic.
    staffed_service_level: float | None = None
    forecast_window_s: float = 0.0  # the span the arrival rate was measured over (the window, or less)

    @property
    def agents_needed_now(self) -> int | None:
        """Agents this queue needs now: the Erlang C forecast, or more when callers already wait.

        The forecast is steady state: a burst (five callers in a minute against two busy
        agents) leaves callers waiting whatever the average says. Serving them now takes
        every agent busy with a call plus one per waiting caller; the larger figure wins.
        None while there is neither a forecast nor anyone waiting.
        """
        backlog = self.agents_busy + self.waiting if self.waiting else 0
        if self.staffing is None:
            return backlog or None
        return max(self.staffing.agents, backlog)


@dataclass(frozen=True, slots=True)
class AgentKpis:
    agent_id: str
    window: AgentFigures
    today: AgentFigures


@dataclass(frozen=True, slots=True)
class Kpis:
    at: float
    window_s: float
    midnight: float
    queues: tuple[QueueKpis, ...]
    agents: tuple[AgentKpis, ...]

    def queue(self, name: str) -> QueueKpis:
        return next(q for q in self.queues if q.queue == name)

    def agent(self, agent_id: str) -> AgentKpis:
        return next(a for a in self.agents if a.agent_id == agent_id)


def estimated_wait(position: int, staffed: int, aht_s: float) -> float:
    """Expected wait of the call at `position`: that many handle times shared by the staffed agents."""
    return position * aht_s / max(1, staffed)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _aht(handles: Iterable[HandleRecord]) -> tuple[int, float, float, float, float | None]:
    hs = list(handles)
    talk = sum(h.talk_s for h in hs)
    hold = sum(h.hold_s for h in hs)
    wrap = sum(h.wrap_s for h in hs)
    return len(hs), talk, hold, wrap, _ratio(talk + hold + wrap, len(hs))


def _time_in(
    agent: Agent, intervals: Iterable[Interval], since: float, now: float
) -> tuple[float, float, float]:
    """(staffed, busy, paused) seconds of `agent` in [since, now], the current state included."""
    staffed = busy = paused = 0.0
    for start, end, state in (*intervals, (agent.since, now, agent.state)):
        overlap = min(end, now) - max(start, since)
        if overlap <= 0:
            continue
        if state in STAFFED:
            staffed += overlap
        if state in BUSY:
            busy += overlap
        if state is AgentState.PAUSED:
            paused += overlap
    return staffed, busy, paused


def queue_figures(
    qs: QueueStats, cfg: QueueConfig, since: float, waiting: list[float], occupancy: float | None
) -> QueueFigures:
    calls = [r for r in qs.calls if r.at >= since]
    sl_s, short_s = cfg.service_level_s, cfg.short_abandon_s
    answered = [r.wait_s for r in calls if r.outcome is Outcome.ANSWERED]
    abandoned = [r.wait_s for r in calls if r.outcome is Outcome.ABANDONED]
    callbacks = sum(1 for r in calls if r.outcome is Outcome.CALLBACK)
    offered = len(calls) - callbacks
    ans_in = sum(1 for w in answered if w <= sl_s)
    ab_in = sum(1 for w in abandoned if w <= sl_s)
    short = sum(1 for w in abandoned if w < short_s)
    handled, _, _, _, aht = _aht(h for h in qs.handles if h.at >= since)
    return QueueFigures(
        offered=offered,
        answered=len(answered),
        answered_within_sl=ans_in,
        abandoned=len(abandoned),
        short_abandoned=short,
        abandoned_within_sl=ab_in,
        timed_out=sum(1 for r in calls if r.outcome is Outcome.TIMED_OUT),
        overflowed=sum(1 for r in calls if r.outcome is Outcome.OVERFLOWED),
        callbacks_requested=callbacks,
        rejected=sum(1 for t in qs.rejected if t >= since),
        arrivals=sum(1 for t in qs.arrivals if t >= since),
        service_level=_ratio(ans_in, offered - short),
        service_level_asterisk=_ratio(ans_in, len(answered)),
        service_level_asterisk_sl2=_ratio(ans_in + ab_in, len(answered) + len(abandoned)),
        asa_s=_mean(answered),
        aht_s=aht,
        handled=handled,
        abandon_rate=_ratio(len(abandoned) - short, offered - short),
        longest_wait_s=max([r.wait_s for r in calls] + waiting, default=0.0),
        occupancy=occupancy,
    )


def agent_figures(agent: Agent, st: AgentStats, since: float, now: float) -> AgentFigures:
    handled, talk, hold, wrap, aht = _aht(h for h in st.handles if h.at >= since)
    staffed, busy, paused = _time_in(agent, st.intervals, since, now)
    return AgentFigures(
        answered=sum(1 for t in st.answers if t >= since),
        missed=sum(1 for t in st.misses if t >= since),
        handled=handled,
        talk_s=talk,
        hold_s=hold,
        wrap_s=wrap,
        aht_s=aht,
        staffed_s=staffed,
        busy_s=busy,
        paused_s=paused,
        occupancy=_ratio(busy, staffed),
    )


# Erlang C needs an arrival *rate*: one call in the first 20 s after start-up is "180
# calls an hour" and a forecast of dozens of agents. No forecast until the router has
# observed at least this long (or the whole window, if shorter).
MIN_FORECAST_SPAN_S = 300.0


def compute_kpis(
    *,
    now: float,
    window_s: float,
    midnight: float,
    observed_s: float,
    queues: Mapping[str, QueueConfig],
    stats: Stats,
    agents: list[Agent],
    waiting: Mapping[str, list[float]],
    staffed: Mapping[str, int],
    busy: Mapping[str, int] | None = None,
) -> Kpis:
    start = now - window_s
    agent_kpis = tuple(
        AgentKpis(
            agent_id=a.id,
            window=agent_figures(a, stats.agents[a.id], start, now),
            today=agent_figures(a, stats.agents[a.id], midnight, now),
        )
        for a in agents
    )
    by_id = {k.agent_id: k for k in agent_kpis}
    out = []
    for name, cfg in queues.items():
        members = [a.id for a in agents if name in a.queues or name in a.configured_queues]
        occ = [
            _ratio(
                sum(by_id[m].window.busy_s for m in members), sum(by_id[m].window.staffed_s for m in members)
            ),
            _ratio(
                sum(by_id[m].today.busy_s for m in members), sum(by_id[m].today.staffed_s for m in members)
            ),
        ]
        qs = stats.queues[name]
        window = queue_figures(qs, cfg, start, waiting[name], occ[0])
        today = queue_figures(qs, cfg, midnight, waiting[name], occ[1])
        staffing = None
        staffed_sl = None
        span = min(window_s, observed_s)
        if window.arrivals and span >= min(window_s, MIN_FORECAST_SPAN_S):
            aht = window.aht_s if window.aht_s is not None else cfg.default_aht_s
            staffing = agents_needed(
                window.arrivals / span, aht, cfg.service_level_s, cfg.service_level_target
            )
            staffed_sl = service_level(staffed[name], staffing.traffic_erlangs, aht, cfg.service_level_s)
        out.append(
            QueueKpis(
                queue=name,
                window=window,
                today=today,
                waiting=len(waiting[name]),
                longest_waiting_s=max(waiting[name], default=0.0),
                agents_staffed=staffed[name],
                staffing=staffing,
                agents_busy=(busy or {}).get(name, 0),
                staffed_service_level=staffed_sl,
                forecast_window_s=span,
            )
        )
    return Kpis(at=now, window_s=window_s, midnight=midnight, queues=tuple(out), agents=agent_kpis)
