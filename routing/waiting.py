"""Waiting calls of one queue, indexed so that a freed agent finds its next call
without scanning every waiting call.

Calls are grouped by skill requirement; inside a group, one heap per priority keeps
FIFO order (arrival time, then arrival sequence). A freed agent looks at the heads of
the groups it qualifies for, highest priority first: O(its groups x priorities),
independent of the number of waiting calls. Heap entries are removed lazily: a call
that leaves the line bumps its `line_token`, which makes its old entries stale.

Levels: level 0 is a call's requirement as given; level i applies once the call has
waited `levels[i].after_s`. Each group keeps what every level asks of an agent
(`Group.needs`); the first level at which an agent qualifies says how long a call
must have waited for it, since levels only widen.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from routing.config import QueueConfig
from routing.model import Agent, Call, CallPhase, Requirement

# (arrived_at, seq, id(call), line_token, call). A callback inherits its call's arrival
# and seq (it keeps the place); id() tells the two apart, so Calls are never compared.
Entry = tuple[float, int, int, int, Call]
OrderKey = tuple[int, int, float, int]
WAITING = CallPhase.WAITING  # a global: on Python 3.11 `CallPhase.WAITING` costs ~0.1 us a read


@dataclass(frozen=True, slots=True)
class Level:
    after_s: float
    min_proficiency: int | None  # cap on every required proficiency; None: as required
    max_penalty: int | None  # None: any penalty


def levels_of(cfg: QueueConfig) -> tuple[Level, ...]:
    levels = [Level(0.0, None, cfg.initial_max_penalty)]
    for step in cfg.skill_widening:
        prev = levels[-1]
        cap = prev.min_proficiency if step.min_proficiency is None else step.min_proficiency
        pen = prev.max_penalty if step.max_penalty is None else step.max_penalty
        levels.append(Level(step.after_s, cap, pen))
    return tuple(levels)


def qualifies(agent: Agent, penalty: int, required: Requirement, level: Level) -> bool:
    if level.max_penalty is not None and penalty > level.max_penalty:
        return False
    cap = level.min_proficiency
    skills = agent.skills
    for skill, need in required:
        if cap is not None and cap < need:
            need = cap
        if need > 0 and skills.get(skill, 0) < need:
            return False
    return True


def call_level(call: Call, now: float, levels: tuple[Level, ...]) -> int:
    waited = now - call.arrived_at
    i = 0
    while i + 1 < len(levels) and levels[i + 1].after_s <= waited:
        i += 1
    return i


def order_key(call: Call, now: float, max_wait: float | None) -> OrderKey:
    """Serving order inside a queue: calls that waited `max_wait` first (FIFO among
    them), then by priority, FIFO within a priority."""
    if max_wait is not None and now - call.arrived_at >= max_wait:
        return (0, 0, call.arrived_at, call.seq)
    return (1, -call.priority, call.arrived_at, call.seq)


def entry_of(call: Call) -> Entry:
    return (call.arrived_at, call.seq, id(call), call.line_token, call)


def clean_head(heap: list[Entry]) -> Call | None:
    """The oldest live call of `heap`, dropping stale entries on the way."""
    while heap:
        _, _, _, token, call = heap[0]
        if token == call.line_token and call.phase is WAITING:
            return call
        heapq.heappop(heap)
    return None


class Group:
    """Waiting calls with one skill requirement: one FIFO heap per priority."""

    __slots__ = ("lines", "needs", "pos", "prios", "required")

    def __init__(self, required: Requirement, levels: tuple[Level, ...]) -> None:
        self.required = required
        self.pos = -1  # place in QueueLine.order
        self.lines: dict[int, list[Entry]] = {}
        self.prios: list[int] = []  # priorities of `lines`, highest first
        # Per level: (max penalty, the skills still needed with their capped minimum, if > 0).
        self.needs = tuple((level.max_penalty, capped_needs(required, level)) for level in levels)

    def push(self, call: Call) -> None:
        push_line(self.lines, self.prios, call)

    def is_empty(self) -> bool:
        return all(clean_head(heap) is None for heap in self.lines.values())


def meets(level_needs: tuple[int | None, Requirement], skills: dict[str, int], penalty: int) -> bool:
    """`qualifies`, from a group's precomputed needs at one level."""
    max_penalty, needs = level_needs
    if max_penalty is not None and penalty > max_penalty:
        return False
    return all(skills.get(skill, 0) >= need for skill, need in needs)


def capped_needs(required: Requirement, level: Level) -> Requirement:
    """What `qualifies` checks of `required` at `level`: each minimum capped, zeros dropped."""
    cap = level.min_proficiency
    capped = ((skill, need if cap is None or cap >= need else cap) for skill, need in required)
    return tuple((skill, need) for skill, need in capped if need > 0)


def push_line(lines: dict[int, list[Entry]], prios: list[int], call: Call) -> None:
    heap = lines.get(call.priority)
    if heap is None:
        heap = lines[call.priority] = []
        prios.append(call.priority)
        prios.sort(reverse=True)
    heapq.heappush(heap, entry_of(call))


Best = tuple[OrderKey, Call] | None


def scan_lines(
    lines: dict[int, list[Entry]],
    prios: list[int],
    cutoff: float,
    now: float,
    max_wait: float | None,
    best: Best,
) -> Best:
    """Improve `best` with the heads of `lines` that arrived by `cutoff`.

    Without a starvation limit, the first head found (highest priority) beats every
    lower priority, so the walk stops there. A heap whose oldest entry, stale or not,
    arrived after `cutoff` is skipped without looking further: every other entry is
    younger. Priorities found empty are dropped from `lines` and `prios` (push_line adds
    them back), so later walks skip them.
    """
    emptied: list[int] | None = None
    for priority in prios:
        if max_wait is None and best is not None and best[0][1] < -priority:
            break
        heap = lines[priority]
        if not heap:
            emptied = [priority] if emptied is None else [*emptied, priority]
            continue
        entry = heap[0]
        if entry[0] > cutoff:
            continue
        head = entry[4]
        if entry[3] != head.line_token or head.phase is not WAITING:  # stale: clean up first
            fresh = clean_head(heap)
            if fresh is None:
                emptied = [priority] if emptied is None else [*emptied, priority]
                continue
            head = fresh
            if head.arrived_at > cutoff:
                continue
        if max_wait is None:  # the common case, inlined: the first head found is this group's best
            key: OrderKey = (1, -priority, head.arrived_at, head.seq)
            if best is None or key < best[0]:
                best = (key, head)
            break
        key = order_key(head, now, max_wait)
        if best is None or key < best[0]:
            best = (key, head)
    if emptied is not None:
        for priority in emptied:
            del lines[priority]
            prios.remove(priority)
    return best


class QueueLine:
    """Every call of one queue that has no agent yet, and the index over them.

    When the last widening level takes anyone (min_proficiency 0), every indexed call that
    has reached that level is also kept in `anyone`, one FIFO heap per priority: an agent
    then checks those few heads, plus only the groups it qualifies for before the last level
    (its own skills). A call joins `anyone` when it reaches the last level (`widened`, from
    the router's widening timer), not on arrival: most calls are served before, and would
    only leave a stale entry there for a later walk to pop. Each agent caches, per queue,
    the groups it qualifies for and from which level; the cache is rebuilt when a new skill
    requirement appears.
    """

    __slots__ = (
        "anyone",
        "anyone_prios",
        "by_skill",
        "calls",
        "cfg",
        "counts",
        "groups",
        "levels",
        "open_at",
        "order",
        "version",
    )

    def __init__(self, cfg: QueueConfig) -> None:
        self.cfg = cfg
        self.levels = levels_of(cfg)
        self.calls: dict[str, Call] = {}  # waiting and ringing calls, preferred ones included
        self.counts: dict[int, int] = {}  # calls by priority, for positions
        self.groups: dict[Requirement, Group] = {}
        self.order: list[Group] = []  # `groups` in creation order: agents' caches catch up from it
        # Per level: the groups that need some skill there, under the first skill they need
        # (an agent without it cannot qualify), and the groups that need none.
        self.by_skill: list[dict[str, list[Group]]] = [{} for _ in self.levels]
        self.open_at: list[list[Group]] = [[] for _ in self.levels]
        self.version = 0  # bumps when groups are dropped: agents' group caches are then rebuilt
        self.anyone: dict[int, list[Entry]] | None = {} if self.levels[-1].min_proficiency == 0 else None
        self.anyone_prios: list[int] = []

    def add(self, call: Call) -> None:
        self.calls[call.id] = call
        self.counts[call.priority] = self.counts.get(call.priority, 0) + 1

    def discard(self, call: Call) -> None:
        if self.calls.pop(call.id, None) is not None:
            self.counts[call.priority] -= 1

    def index(self, call: Call, now: float) -> None:
        """Make `call` findable by any qualifying agent (it has no active preference)."""
        group = self.groups.get(call.required)
        if group is None:
            if len(self.groups) >= 32:
                self.groups = {r: g for r, g in self.groups.items() if not g.is_empty()}
                self.order, self.by_skill, self.open_at = (
                    [],
                    [{} for _ in self.levels],
                    [[] for _ in self.levels],
                )
                for kept in self.groups.values():
                    self._file(kept)
                self.version += 1
            group = self.groups[call.required] = Group(call.required, self.levels)
            self._file(group)
        group.push(call)
        call.indexed_token = call.line_token
        self.widened(call, now)

    def widened(self, call: Call, now: float) -> None:
        """`call` may have reached the last level: then it joins `anyone` (once per indexing)."""
        if (
            self.anyone is not None
            and call.indexed_token == call.line_token
            and call.anyone_token != call.line_token
            and now - call.arrived_at >= self.levels[-1].after_s
        ):
            push_line(self.anyone, self.anyone_prios, call)
            call.anyone_token = call.line_token

    def _file(self, group: Group) -> None:
        group.pos = len(self.order)
        self.order.append(group)
        for i, (_, needs) in enumerate(group.needs):
            if needs:
                self.by_skill[i].setdefault(needs[0][0], []).append(group)
            else:
                self.open_at[i].append(group)

    def _groups_for(self, agent: Agent, penalty: int, use_anyone: bool) -> list[tuple[Group, float]]:
        """Groups `agent` qualifies for (before the last level if `use_anyone`), with the wait needed.

        Cached per agent and queue; a new group is checked once per agent when first seen."""
        name = self.cfg.name
        order = self.order
        cached = agent.group_cache.get(name)
        if cached is not None and cached[0] == self.version:
            if cached[1] == len(order):
                return cached[2]
            seen, out = cached[1], cached[2]
        else:
            seen, out = 0, []
        levels = self.levels
        stop = len(levels) - 1 if use_anyone else len(levels)  # levels to consider: [0, stop)
        skills = agent.skills
        added = False
        if stop:
            # Levels only widen: a group the agent fails at the widest level considered, it
            # fails at every level. Candidates there: groups needing nothing, and groups whose
            # first needed skill the agent has; in creation order, as `order`.
            widest = stop - 1
            candidates = [g for g in self.open_at[widest] if g.pos >= seen]
            by_skill = self.by_skill[widest]
            for skill in agent.held_skills:
                candidates.extend(g for g in by_skill.get(skill, ()) if g.pos >= seen)
            candidates.sort(key=lambda group: group.pos)
            for group in candidates:
                if meets(group.needs[widest], skills, penalty):
                    first = next(i for i in range(stop) if meets(group.needs[i], skills, penalty))
                    out.append((group, levels[first].after_s))
                    added = True
        if added:
            out.sort(key=lambda pair: pair[1])  # qualified soonest first: finds a high priority early
        agent.group_cache[name] = (self.version, len(order), out)
        return out

    def best_for(self, agent: Agent, penalty: int, now: float) -> Best:
        """The call `agent` should take next from this queue, with its order key."""
        best: Best = None
        max_wait = self.cfg.priority_max_wait_s
        last = self.levels[-1]
        anyone = self.anyone
        use_anyone = anyone is not None and (last.max_penalty is None or penalty <= last.max_penalty)
        cached = agent.group_cache.get(self.cfg.name)  # _groups_for's cache hit, inlined: the common case
        if cached is not None and cached[0] == self.version and cached[1] == len(self.order):
            groups = cached[2]
        else:
            groups = self._groups_for(agent, penalty, use_anyone)
        for group, after_s in groups:
            if group.prios:
                best = scan_lines(group.lines, group.prios, now - after_s, now, max_wait, best)
        if use_anyone and anyone is not None:
            best = scan_lines(anyone, self.anyone_prios, now - last.after_s, now, max_wait, best)
        return best

    def position_of_new(self, call: Call, now: float) -> int:
        """Position of a call that just arrived (the newest): O(priorities) unless a
        starvation limit is set, where older lower-priority calls may be ahead."""
        ahead = -1
        for priority, n in self.counts.items():
            if priority >= call.priority:
                ahead += n
        max_wait = self.cfg.priority_max_wait_s
        if max_wait is not None:
            ahead += sum(
                1
                for c in self.calls.values()
                if c.priority < call.priority and now - c.arrived_at >= max_wait
            )
        return ahead + 1

    def position(self, call: Call, now: float) -> int:
        """1-based position of any call of this queue in serving order: O(n)."""
        max_wait = self.cfg.priority_max_wait_s
        key = order_key(call, now, max_wait)
        return 1 + sum(1 for c in self.calls.values() if order_key(c, now, max_wait) < key)

    def ordered(self, now: float) -> list[Call]:
        """All calls of the queue in serving order (wallboards, positions: O(n log n))."""
        max_wait = self.cfg.priority_max_wait_s
        return sorted(self.calls.values(), key=lambda c: order_key(c, now, max_wait))
