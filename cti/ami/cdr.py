"""Asterisk's own record of calls: cdr_csv's Master.csv, read back after Hotline was down.

AMI is a live stream: a call that ended while Hotline was not connected left
nothing to ask for (CoreShowChannels lists live channels only). The CDR backend
still has it, with the PBX's figures: when each leg started, was answered and
ended, and who was bridged with whom. `cdr_csv` (on in the sample and fixture
configuration: cdr.conf `[csv]`) appends one line per CDR to
`/var/log/asterisk/cdr-csv/Master.csv`; Hotline reads the copy or mount this
host sees (`HOTLINE_PBX_CDR_FILE`).

Columns (cdr_csv.c `build_csv_record`): accountcode, src, dst, dcontext, clid,
channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
disposition, amaflags, then uniqueid (`loguniqueid = yes`, required here),
userfield (`loguserfield = yes`), then peeraccount, linkedid, sequence
(`newcdrcolumns = yes`). Times are "%Y-%m-%d %H:%M:%S", UTC with
`usegmtime = yes`, else the PBX's local time (`tz`). A line that does not parse
is skipped and counted, never fatal.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

log = logging.getLogger(__name__)

_FIXED = 16  # accountcode … amaflags
AgentOf = Callable[[str], str | None]
_TIME = "%Y-%m-%d %H:%M:%S"
ANSWERED = "ANSWERED"  # a CDR's disposition when its destination answered (NO ANSWER, BUSY, FAILED: not)


@dataclass(frozen=True, slots=True)
class Cdr:
    uniqueid: str
    channel: str
    dstchannel: str
    src: str
    clid: str
    dst: str
    dcontext: str
    lastapp: str
    start: datetime
    answer: datetime | None
    end: datetime
    duration_s: int
    billsec: int
    disposition: str
    userfield: str = ""
    linkedid: str = ""


@dataclass
class CdrBook:
    """The CDRs of a period, indexed by the uniqueid of their channel and by their channel name."""

    by_uniqueid: dict[str, list[Cdr]] = field(default_factory=lambda: defaultdict(list))
    by_dstchannel: dict[str, list[Cdr]] = field(default_factory=lambda: defaultdict(list))
    records: list[Cdr] = field(default_factory=list)
    skipped: int = 0

    def add(self, cdr: Cdr) -> None:
        self.records.append(cdr)
        self.by_uniqueid[cdr.uniqueid].append(cdr)
        if cdr.dstchannel:
            self.by_dstchannel[cdr.dstchannel].append(cdr)

    def of(self, uniqueid: str) -> list[Cdr]:
        return self.by_uniqueid.get(uniqueid, [])

    def bridged_to(self, channel: str) -> list[Cdr]:
        """CDRs of other channels whose destination was `channel` (an Originate+Bridge agent leg)."""
        return self.by_dstchannel.get(channel, [])


def parse_rows(rows: Iterable[list[str]], tz: tzinfo = UTC, since: datetime | None = None) -> CdrBook:
    """Master.csv rows (csv-split) ending at or after `since`."""
    book = CdrBook()
    for row in rows:
        cdr = _parse(row, tz)
        if cdr is None:
            book.skipped += 1
        elif since is None or cdr.end >= since:
            book.add(cdr)
    if book.skipped:
        log.warning("CDR file: %d lines skipped (not cdr_csv lines with a uniqueid)", book.skipped)
    return book


def read_master_csv(path: Path, tz: tzinfo = UTC, since: datetime | None = None) -> CdrBook:
    """Blocking (run in a thread). A missing file is an empty book (cdr_csv writes it on the first CDR)."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as src:
            return parse_rows(csv.reader(src), tz, since)
    except FileNotFoundError:
        log.warning("CDR file %s does not exist (yet): no PBX figures for calls missed", path)
        return CdrBook()


def _parse(row: list[str], tz: tzinfo) -> Cdr | None:
    if len(row) < _FIXED + 1 or not row[_FIXED]:
        return None
    start, answer, end = (_time(row[i], tz) for i in (9, 10, 11))
    if start is None or end is None or not (row[12].isdigit() and row[13].isdigit()):
        return None
    extra = row[_FIXED + 1 :]
    return Cdr(
        uniqueid=row[_FIXED],
        channel=row[5],
        dstchannel=row[6],
        src=row[1],
        clid=row[4],
        dst=row[2],
        dcontext=row[3],
        lastapp=row[7],
        start=start,
        answer=answer,
        end=end,
        duration_s=int(row[12]),
        billsec=int(row[13]),
        disposition=row[14],
        userfield=extra[0] if extra else "",
        linkedid=extra[2] if len(extra) >= 3 else "",
    )


def _time(text: str, tz: tzinfo) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, _TIME).replace(tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class CallFigures:
    """What the CDRs say about one Hotline call (its caller channel's uniqueid)."""

    started_at: datetime
    ended_at: datetime
    agent: str | None  # the agent bridged with the caller, if any
    agent_answered_at: datetime | None
    talk_s: int | None


def figures_of(book: CdrBook, caller_uid: str, agent_of: AgentOf) -> CallFigures | None:
    """The PBX's figures for the call whose caller channel is `caller_uid`; None if the CDRs lack it.

    The agent is the one bridged with the caller: the caller's own CDR names the
    agent leg as `dstchannel` (app_queue, Dial), or the agent leg's CDR names the
    caller (Originate + Bridge). `agent_of` says which channels are agent legs.
    When the agent leg is a Local channel, its other half's CDR holds the moment
    the agent answered and the talk time (`billsec`).

    Only ANSWERED CDRs bridge: app_queue writes one CDR per member it rang, and a ring
    nobody took (`NO ANSWER`) still carries an AnswerTime and billsec, the Local
    channel's own (the queue answered its half), not the agent's.
    """
    own = book.of(caller_uid)
    if not own:
        return None
    channel, began, ended = own[0].channel, min(c.start for c in own), max(c.end for c in own)
    legs = [
        c.dstchannel for c in own if c.dstchannel and c.disposition == ANSWERED and agent_of(c.dstchannel)
    ]
    legs += [
        c.channel
        for c in book.bridged_to(channel)
        if agent_of(c.channel) and c.disposition == ANSWERED and began <= c.start <= ended
    ]
    agent = agent_of(legs[0]) if legs else None
    answered_at, talk = None, None
    if legs:
        leg = legs[0]
        side = [
            c
            for c in book.records
            if c.channel in (leg, _other_half(leg))
            and c.answer is not None
            and c.disposition == ANSWERED
            and began <= c.start <= ended
        ]  # channel names repeat (a restarted PBX counts from 0 again): the leg lived within the call
        if side:
            best = max(side, key=lambda c: (c.channel != leg, c.billsec))
            answered_at, talk = best.answer, best.billsec
    return CallFigures(
        started_at=began,
        ended_at=ended,
        agent=agent,
        agent_answered_at=answered_at,
        talk_s=talk,
    )


def _other_half(channel: str) -> str:
    """`Local/1001@agents-00000001;1` ↔ `...;2` (other channels have no other half)."""
    base, sep, half = channel.rpartition(";")
    if not sep or half not in ("1", "2"):
        return channel
    return f"{base};{'2' if half == '1' else '1'}"


def caller_legs(book: CdrBook, contexts: frozenset[str]) -> Iterator[Cdr]:
    """One CDR per channel that entered the hotline (its dcontext is a hotline context)."""
    seen: set[str] = set()
    for cdr in book.records:
        if cdr.dcontext in contexts and cdr.uniqueid not in seen:
            seen.add(cdr.uniqueid)
            yield cdr
