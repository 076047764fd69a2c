"""Picking agents for a call: one sorted index of available agents per queue.

The index holds (penalty, primary, order) keys, where `primary` depends on the
strategy and is fixed while the agent stays available:

  longest-idle     primary = when the agent became available (earliest first)
  fewest-calls     primary = calls answered since local midnight (all queues)
  least-talk-time  primary = talk seconds since local midnight (all queues)
  linear           primary = configuration order: always the same order
  round-robin      configuration order, starting after the agent served last ("memory")
  random           uniform among qualifying agents of the lowest penalty
  weighted-random  like random, proportional to AgentConfig.weight
  ring-all         every qualifying agent of the lowest penalty rings at once

Lower penalties are always tried first. Ordered strategies walk the index and stop at
the first agent that qualifies: O(log n) to keep the index, O(skipped) to pick. To keep
"skipped" small, they also keep the same keys per skill (the agents who have it): a
call that needs a skill walks only that skill's list (the shortest of its skills'), which
holds every agent that can qualify, in the same order, so the pick is the same.
Random strategies sample an index position and accept it if the agent qualifies
(and, weighted, with probability weight / max weight); after a few misses they fall
back to an exact scan of the tier, so the choice stays exactly uniform / weighted.
Ring-all scans its tier: it rings everyone anyway.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterable

from routing.model import Agent

IndexKey = tuple[int, float, int]  # (penalty, primary, agent order)
Accept = Callable[[Agent, int], bool]  # does this agent (with this penalty) qualify?

_SAMPLE_TRIES = 8
ORDERED = frozenset({"longest-idle", "fewest-calls", "least-talk-time", "linear"})


def primary_key(strategy: str, agent: Agent) -> float:
    if strategy == "longest-idle":
        return agent.idle_since
    if strategy == "fewest-calls":
        return float(agent.answered)
    if strategy == "least-talk-time":
        return agent.talk_s
    return float(agent.order)


class AvailableIndex:
    """Available members of one queue, sorted by the queue's strategy key."""

    __slots__ = ("by_skill", "keys", "rr_last", "strategy")

    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        self.keys: list[IndexKey] = []
        self.rr_last = -1  # round-robin memory: order of the agent served last
        # Ordered strategies: `keys` again per skill, holding the agents who have the skill.
        self.by_skill: dict[str, list[IndexKey]] | None = {} if strategy in ORDERED else None

    def add(self, key: IndexKey, skills: Iterable[str]) -> None:
        """Index an agent under `key`; `skills`: the skills it has (proficiency > 0)."""
        bisect.insort(self.keys, key)
        if self.by_skill is not None:
            for skill in skills:
                bisect.insort(self.by_skill.setdefault(skill, []), key)

    def remove(self, key: IndexKey, skills: Iterable[str]) -> None:
        keys = self.keys
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]
            if self.by_skill is not None:  # indexed under its skills too
                for skill in skills:
                    keys = self.by_skill[skill]
                    del keys[bisect.bisect_left(keys, key)]

    def narrowest(self, skills: Iterable[str]) -> list[IndexKey]:
        """Keys of the agents who have every skill of `skills` and maybe more (all keys
        if `skills` is empty): the shortest per-skill list. Ordered strategies only."""
        assert self.by_skill is not None
        best = self.keys
        for skill in skills:
            keys = self.by_skill.get(skill)
            if keys is None:
                return []
            if len(keys) < len(best):
                best = keys
        return best

    def __len__(self) -> int:
        return len(self.keys)

    def tiers(self, max_penalty: int | None) -> list[tuple[int, int]]:
        """[lo, hi) index ranges of each penalty present, lowest penalty first."""
        keys = self.keys
        out: list[tuple[int, int]] = []
        lo = 0
        while lo < len(keys):
            penalty = keys[lo][0]
            if max_penalty is not None and penalty > max_penalty:
                break
            hi = bisect.bisect_left(keys, (penalty + 1,), lo)
            out.append((lo, hi))
            lo = hi
        return out


def choose(
    index: AvailableIndex,
    agents: list[Agent],
    accept: Accept,
    max_penalty: int | None,
    rng: random.Random,
    max_weight: float,
    needed: Iterable[str] = (),
) -> list[Agent]:
    """The agent(s) to ring for a call, or [] if nobody available qualifies.

    `needed`: skills that every agent `accept`s has (proficiency > 0); ordered
    strategies then walk only the agents who have them."""
    strategy = index.strategy
    if strategy in ORDERED:
        return _first(index.narrowest(needed), agents, accept, max_penalty)
    if strategy == "round-robin":
        return _round_robin(index, agents, accept, max_penalty)
    for lo, hi in index.tiers(max_penalty):
        if strategy == "ring-all":
            found = _all_in(index, agents, accept, lo, hi)
        else:
            found = _sample(
                index, agents, accept, lo, hi, rng, max_weight if strategy == "weighted-random" else 0
            )
        if found:
            return found
    return []


def _first(keys: list[IndexKey], agents: list[Agent], accept: Accept, max_penalty: int | None) -> list[Agent]:
    for penalty, _, order in keys:
        if max_penalty is not None and penalty > max_penalty:
            break
        agent = agents[order]
        if accept(agent, penalty):
            return [agent]
    return []


def _round_robin(
    index: AvailableIndex, agents: list[Agent], accept: Accept, max_penalty: int | None
) -> list[Agent]:
    keys = index.keys
    for lo, hi in index.tiers(max_penalty):
        penalty = keys[lo][0]
        start = bisect.bisect_left(keys, (penalty, float(index.rr_last + 1)), lo, hi)
        for i in (*range(start, hi), *range(lo, start)):
            agent = agents[keys[i][2]]
            if accept(agent, penalty):
                index.rr_last = agent.order
                return [agent]
    return []


def _all_in(index: AvailableIndex, agents: list[Agent], accept: Accept, lo: int, hi: int) -> list[Agent]:
    out = []
    for penalty, _, order in index.keys[lo:hi]:
        agent = agents[order]
        if accept(agent, penalty):
            out.append(agent)
    return out


def _sample(
    index: AvailableIndex,
    agents: list[Agent],
    accept: Accept,
    lo: int,
    hi: int,
    rng: random.Random,
    max_weight: float,
) -> list[Agent]:
    """Uniform (max_weight == 0) or weight-proportional choice among qualifying agents.

    Rejection sampling is exact: each try picks agent i with probability proportional
    to w_i restricted to qualifying agents; the scan fallback has the same law.
    """
    keys = index.keys
    for _ in range(_SAMPLE_TRIES):
        penalty, _, order = keys[rng.randrange(lo, hi)]
        agent = agents[order]
        if max_weight and rng.random() * max_weight >= agent.weight:
            continue
        if accept(agent, penalty):
            return [agent]
    candidates = [agents[o] for p, _, o in keys[lo:hi] if accept(agents[o], p)]
    if not candidates:
        return []
    if max_weight:
        return rng.choices(candidates, weights=[a.weight for a in candidates])
    return [rng.choice(candidates)]
