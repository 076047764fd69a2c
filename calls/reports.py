"""Queue and agent reports over an interval, from the call table (`calls.models.CallRecord`).

The live wallboard takes its figures from the router (memory, today); reports
read the call log, so they cover any interval and survive restarts. Each figure
has one definition (docs/KPIS.md), the router's (routing/kpis.py), shown on the
reports page next to the figures so nobody has to guess what "service level"
means here. AHT is talk + hold + wrap-up as the router measured each handling
(kept on the call row when the wrap-up ended), not the call's length. What only
the period differs in: a report counts a call in the interval it was offered in
(that is what the call table is queried by), the wallboard when it left the queue.

Loading is one query (calls offered in [start, end)); the figures are pure
functions of those rows, tested without a database.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord

MAX_ROWS = 200_000

# Each definition is shown on the reports page under the message "def.<name>".
DEFINITIONS = (
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "service_level_asterisk",
    "service_level_asterisk_sl2",
    "asa",
    "aht",
    "abandon_rate",
    "longest_wait",
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    service_level_s: float = 20.0
    short_abandon_s: float = 5.0


@dataclass(frozen=True, slots=True)
class QueueRow:
    queue: str
    offered: int
    answered: int
    answered_within_sl: int
    abandoned: int
    short_abandoned: int
    other: int  # timed out, transferred away before answer, still running
    service_level: float | None
    service_level_asterisk: float | None  # Asterisk's ServicelevelPerf: within SL / answered
    service_level_asterisk_sl2: float | None  # ServicelevelPerf2: (answered + abandoned within SL) / both
    asa_s: float | None
    handled: int  # answered calls whose handling (wrap-up included) is on the call row
    aht_s: float | None
    abandon_rate: float | None
    longest_wait_s: float
    pbx: str = ""  # the PBX(s) its calls came in on, "main" with one PBX (e.g. "east", or "east,main")


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent_id: str
    answered: int
    talk_s: float
    hold_s: float
    wrap_s: float
    handled: int
    aht_s: float | None
    asa_s: float | None  # how long their callers waited, on average
    longest_talk_s: float
    pbx: str = ""  # the PBX(s) of their calls, as QueueRow.pbx


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    offered: int
    answered: int
    service_level: float | None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def is_answered(call: CallRecord) -> bool:
    """Answered by an agent, even when its answer time is unknown (answered during an AMI outage
    and no PBX time for it: `answered_at` empty, the agent known)."""
    return call.answered_at is not None or call.agent_id is not None


def wait_s(call: CallRecord) -> float | None:
    if call.answered_at is None and is_answered(call):
        return None  # answered at an unknown time
    end = call.answered_at if call.answered_at is not None else call.ended_at
    return _seconds(call.offered_at, end)


def talk_s(call: CallRecord) -> float | None:
    """Talk as the router measured it (answer → agent leg end, minus hold); for a call whose
    handling was not recorded, answer → hang-up."""
    if call.talk_s is not None:
        return call.talk_s
    return _seconds(call.answered_at, call.ended_at)


def handle_s(call: CallRecord) -> float | None:
    """The call's handle time for AHT: talk + hold + wrap-up, once its wrap-up has ended."""
    if call.talk_s is None or call.wrap_s is None:
        return None
    return call.talk_s + (call.hold_s or 0.0) + call.wrap_s


async def load_calls(
    sessions: async_sessionmaker[AsyncSession],
    start: datetime,
    end: datetime,
    *,
    queues: Iterable[str] | None = None,
    agent_id: str | None = None,
    limit: int = MAX_ROWS,
) -> list[CallRecord]:
    query = select(CallRecord).where(col(CallRecord.offered_at) >= start, col(CallRecord.offered_at) < end)
    if queues is not None:
        query = query.where(col(CallRecord.queue).in_(sorted(queues)))
    if agent_id is not None:
        query = query.where(col(CallRecord.agent_id) == agent_id)
    query = query.order_by(col(CallRecord.offered_at)).limit(limit)
    async with sessions() as session:
        return list((await session.exec(query)).all())


def _pbxs(calls: Iterable[CallRecord]) -> str:
    """The PBXs a row's calls came through: one name, as a queue and an agent are on one PBX (several
    only if the call-center file moved them meanwhile). The figures add up across PBXs."""
    return ",".join(sorted({c.pbx for c in calls}))


def queue_row(queue: str, calls: Sequence[CallRecord], limits: Thresholds) -> QueueRow:
    answered = [c for c in calls if is_answered(c)]
    abandoned = [c for c in calls if not is_answered(c) and c.outcome == "abandoned"]
    waits = [w for c in answered if (w := wait_s(c)) is not None]
    abandon_waits = [w for c in abandoned if (w := wait_s(c)) is not None]
    short = sum(1 for w in abandon_waits if w < limits.short_abandon_s)
    within = sum(1 for w in waits if w <= limits.service_level_s)
    abandoned_within = sum(1 for w in abandon_waits if w <= limits.service_level_s)
    handles = [h for c in answered if (h := handle_s(c)) is not None]
    offered = len(calls)
    return QueueRow(
        queue=queue,
        offered=offered,
        answered=len(answered),
        answered_within_sl=within,
        abandoned=len(abandoned),
        short_abandoned=short,
        other=offered - len(answered) - len(abandoned),
        service_level=_ratio(within, offered - short),
        service_level_asterisk=_ratio(within, len(answered)),
        service_level_asterisk_sl2=_ratio(within + abandoned_within, len(answered) + len(abandoned)),
        asa_s=_mean(waits),
        handled=len(handles),
        aht_s=_mean(handles),
        abandon_rate=_ratio(len(abandoned) - short, offered - short),
        longest_wait_s=max((w for c in calls if (w := wait_s(c)) is not None), default=0.0),
        pbx=_pbxs(calls),
    )


def by_queue(calls: Iterable[CallRecord], limits: Mapping[str, Thresholds]) -> list[QueueRow]:
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for call in calls:
        groups[call.queue or "-"].append(call)
    return [queue_row(q, groups[q], limits.get(q, Thresholds())) for q in sorted(groups)]


def by_agent(calls: Iterable[CallRecord]) -> list[AgentRow]:
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for call in calls:
        if call.agent_id is not None and is_answered(call):
            groups[call.agent_id].append(call)
    rows = []
    for agent in sorted(groups):
        talks = [t for c in groups[agent] if (t := talk_s(c)) is not None]
        waits = [w for c in groups[agent] if (w := wait_s(c)) is not None]
        handled = [c for c in groups[agent] if handle_s(c) is not None]
        rows.append(
            AgentRow(
                agent_id=agent,
                answered=len(groups[agent]),
                talk_s=sum(talks),
                hold_s=sum(c.hold_s or 0.0 for c in handled),
                wrap_s=sum(c.wrap_s or 0.0 for c in handled),
                handled=len(handled),
                aht_s=_mean([h for c in handled if (h := handle_s(c)) is not None]),
                asa_s=_mean(waits),
                longest_talk_s=max(talks, default=0.0),
                pbx=_pbxs(groups[agent]),
            )
        )
    return rows


def slots(
    calls: Iterable[CallRecord],
    start: datetime,
    count: int,
    limits: Mapping[str, Thresholds],
    slot_s: int = 900,
) -> list[Slot]:
    """Calls per `slot_s` from `start` (the wallboard's 15-minute chart), each queue with its own SL."""
    offered = [0] * count
    answered = [0] * count
    within = [0] * count
    short = [0] * count
    for call in calls:
        if call.offered_at is None:
            continue
        i = int((call.offered_at - start).total_seconds() // slot_s)
        if not 0 <= i < count:
            continue
        limit = limits.get(call.queue or "", Thresholds())
        wait = wait_s(call)
        offered[i] += 1
        if is_answered(call):
            answered[i] += 1
            within[i] += wait is not None and wait <= limit.service_level_s
        elif call.outcome == "abandoned" and wait is not None and wait < limit.short_abandon_s:
            short[i] += 1
    return [
        Slot(
            start=start + timedelta(seconds=i * slot_s),
            offered=offered[i],
            answered=answered[i],
            service_level=_ratio(within[i], offered[i] - short[i]),
        )
        for i in range(count)
    ]


def csv_text(
    rows: Sequence[QueueRow] | Sequence[AgentRow],
    headers: Mapping[str, str] | None = None,
    *,
    before: Sequence[tuple[str, Callable[[Any], object]]] = (),
) -> str:
    """CSV with a header row; ratios as fractions, durations in seconds (for spreadsheets).

    `before` adds leading columns, each (name, value of a row) — the report's period and
    the queue's title or the agent's name — so that every row says what it covers even
    after it is pasted elsewhere.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if not rows:
        writer.writerow([name for name, _ in before] + ["no calls"])
        return out.getvalue()
    names = [f.name for f in fields(rows[0])]
    writer.writerow([name for name, _ in before] + [(headers or {}).get(n, n) for n in names])
    for row in rows:
        writer.writerow([_cell(value(row)) for _, value in before] + [_cell(getattr(row, n)) for n in names])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    text = str(value)
    # A cell starting with = + - @ is a formula to spreadsheets (CSV injection): quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
