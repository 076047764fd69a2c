"""Erlang C staffing: how many agents a queue needs for its service-level target.

Model M/M/N (Poisson arrivals, exponential handle times, nobody abandons): it
overstates the staff a real queue needs a little, which is the usual, safe error.
Traffic A = arrival rate x AHT (Erlangs). Computed through the Erlang B recursion,
which stays finite for hundreds of agents where A^N / N! would overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a call has to wait (Erlang C). 1.0 when agents <= traffic."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return agents * b / (agents - traffic * (1 - b))


def service_level(agents: int, traffic: float, aht_s: float, target_s: float) -> float:
    """Fraction of calls answered within `target_s`."""
    if agents <= traffic:
        return 0.0 if traffic > 0 else 1.0
    return 1.0 - erlang_c(agents, traffic) * math.exp(-(agents - traffic) * target_s / aht_s)


def average_speed_of_answer(agents: int, traffic: float, aht_s: float) -> float:
    """Mean wait of all calls (ASA), seconds; infinite when agents <= traffic."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_s / (agents - traffic)


@dataclass(frozen=True, slots=True)
class Staffing:
    """Erlang C answer for one queue: `agents` reach `service_level` (>= the target)."""

    arrivals_per_hour: float
    aht_s: float
    traffic_erlangs: float
    agents: int
    service_level: float
    asa_s: float


def agents_needed(
    arrivals_per_s: float, aht_s: float, target_s: float, target_level: float, limit: int = 100_000
) -> Staffing:
    """The fewest agents whose Erlang C service level reaches `target_level`."""
    traffic = arrivals_per_s * aht_s
    agents = max(1, math.floor(traffic) + 1)
    while agents < limit and service_level(agents, traffic, aht_s, target_s) < target_level:
        agents += 1
    return Staffing(
        arrivals_per_hour=arrivals_per_s * 3600,
        aht_s=aht_s,
        traffic_erlangs=traffic,
        agents=agents,
        service_level=service_level(agents, traffic, aht_s, target_s),
        asa_s=average_speed_of_answer(agents, traffic, aht_s),
    )
