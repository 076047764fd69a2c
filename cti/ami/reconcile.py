"""After Hotline restarts: close the calls its records left open, tell the calls it never saw.

The AMI resync (resync.py) rebuilds the calls that are live now, but a
restarted process remembers nothing, so a call that ended while Hotline was
down stayed open in the database forever. Here, from the records' open calls,
the calls live after the resync and the PBX's CDRs (cdr.py), the events Hotline
missed are made, exactly as the translator would have made them live:

* an open call the PBX no longer has: ANSWERED (if the CDR shows an agent the
  records lack) or ABANDONED, then HUNG_UP at the CDR's end time; with no CDR,
  HUNG_UP now, saying the PBX gave no figures;
* a call that entered the hotline and ended while Hotline was down (its CDR
  only): OFFERED at its start, ANSWERED/AGENT_COMPLETED or ABANDONED, HUNG_UP.

Pure: no I/O, time passed in. Event ids are the translator's (`fact_id`), so a
fact some consumer applied before the crash is not applied twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from cti.ami.cdr import AgentOf, CallFigures, Cdr, CdrBook, caller_legs, figures_of
from cti.ami.dialplan import FALLBACK_CONTEXT, OBSERVE_CONTEXT, QUEUE_CONTEXT, WAITING_CONTEXTS
from cti.ami.translate import SOURCE, fact_id
from cti.telephony import OpenCall
from routing.events import FROM_RECORDS, CallEvent, CallEventKind

# Where a hotline caller's channel ends up, as its CDR's dcontext says (cti.ami.dialplan).
OBSERVE_CONTEXTS = frozenset({QUEUE_CONTEXT, OBSERVE_CONTEXT})  # exten = queue (app_queue entry)
CONTROL_CONTEXTS = frozenset({*WAITING_CONTEXTS, FALLBACK_CONTEXT})
GONE_NO_CDR = "ended while Hotline was down (the PBX has no CDR of it)"
GONE_CDR = "ended while Hotline was down (PBX CDR)"


@dataclass(frozen=True, slots=True)
class Dialplan:
    """What identifies a hotline caller's CDR, and the queue when the CDR does not name one."""

    default_queue: str
    observe_contexts: frozenset[str] = OBSERVE_CONTEXTS
    control_contexts: frozenset[str] = CONTROL_CONTEXTS

    @property
    def contexts(self) -> frozenset[str]:
        return self.observe_contexts | self.control_contexts

    def queue_of(self, cdr: Cdr) -> str:
        if cdr.userfield.startswith("hotline-") and len(cdr.userfield) > len("hotline-"):
            return cdr.userfield.removeprefix("hotline-")  # Set(CDR(userfield)=hotline-${EXTEN})
        if cdr.dcontext in self.observe_contexts and cdr.dst:
            return cdr.dst
        return self.default_queue


def close_gone(
    open_calls: Sequence[OpenCall], live: set[str], book: CdrBook, agent_of: AgentOf, now: datetime
) -> list[CallEvent]:
    """The events ending every open call that is not live on the PBX any more."""
    out: list[CallEvent] = []
    for call in open_calls:
        if call.call_id in live:
            continue
        figures = figures_of(book, call.pbx_ref, agent_of) if call.pbx_ref else None
        story = _Story(call.call_id, call.pbx_ref, call.caller, None, call.queue)
        if figures is None:
            out += story.ended(now, GONE_NO_CDR, reached_agent=call.answered_at is not None)
            continue
        if call.answered_at is None and figures.agent is not None:
            out += story.talked(figures)
        out += story.ended(figures.ended_at, GONE_CDR, reached_agent=bool(call.answered_at or figures.agent))
    return out


def missed_calls(
    book: CdrBook, dialplan: Dialplan, known: frozenset[str], agent_of: AgentOf, call_prefix: str = ""
) -> list[CallEvent]:
    """The whole story of each call that entered the hotline and is not in Hotline's records
    (`call_prefix`: the PBX's, as the translator puts it before its call ids; `known` holds call
    ids and the PBX refs of known calls, another PBX's with its prefix as well: Uniqueids are
    unique per PBX only)."""
    out: list[CallEvent] = []
    for leg in caller_legs(book, dialplan.contexts):
        call_id = call_prefix + (leg.linkedid or _linkedid(book, leg))
        if call_prefix + leg.uniqueid in known or call_id in known:
            continue
        figures = figures_of(book, leg.uniqueid, agent_of)
        if figures is None:
            continue
        number, name = _caller_id(leg.clid, leg.src)
        story = _Story(call_id, leg.uniqueid, number, name, dialplan.queue_of(leg))
        out.append(story.event(CallEventKind.OFFERED, figures.started_at, key=story.queue or ""))
        if figures.agent is not None:
            out += story.talked(figures)
        out += story.ended(figures.ended_at, GONE_CDR, reached_agent=figures.agent is not None)
    return out


@dataclass(frozen=True, slots=True)
class _Story:
    call_id: str
    uniqueid: str | None
    caller: str | None
    caller_name: str | None
    queue: str | None

    def event(
        self,
        kind: CallEventKind,
        at: datetime,
        *,
        key: str = "",
        agent: str | None = None,
        cause: str | None = None,
        talk_s: int | None = None,
    ) -> CallEvent:
        return CallEvent(
            call_id=self.call_id,
            kind=kind,
            at=at,
            event_id=fact_id(self.call_id, kind, key),
            source=SOURCE,
            caller=self.caller,
            caller_name=self.caller_name,
            queue=self.queue,
            agent=agent,
            detail=cause,
            source_refs=(self.uniqueid,) if self.uniqueid else (),
            talk_s=talk_s,
        )

    def talked(self, figures: CallFigures) -> Iterator[CallEvent]:
        assert figures.agent is not None
        key = f"cdr|{figures.agent}"
        answered = figures.agent_answered_at or figures.started_at
        yield self.event(CallEventKind.ANSWERED, answered, key=key, agent=figures.agent, cause=FROM_RECORDS)
        ended, agent = figures.ended_at, figures.agent
        yield self.event(CallEventKind.AGENT_COMPLETED, ended, key=key, agent=agent, talk_s=figures.talk_s)

    def ended(self, at: datetime, cause: str, *, reached_agent: bool) -> Iterator[CallEvent]:
        if not reached_agent:
            yield self.event(CallEventKind.ABANDONED, at, key=self.queue or "")
        yield self.event(CallEventKind.HUNG_UP, at, cause=cause)


def _linkedid(book: CdrBook, leg: Cdr) -> str:
    """The call's Linkedid without `newcdrcolumns`: for the `;2` half of a Local channel that an
    Originate created, the `;1` half started with it (its uniqueid is the Linkedid); else its own."""
    base, sep, half = leg.channel.rpartition(";")
    if sep and half == "2":
        for cdr in book.records:
            if cdr.channel == f"{base};1" and abs((cdr.start - leg.start).total_seconds()) <= 1:
                return cdr.uniqueid
    return leg.uniqueid


def _caller_id(clid: str, src: str) -> tuple[str | None, str | None]:
    """`"Anna Caller" <0401000001>` → (number, name)."""
    name, number = None, src or None
    if "<" in clid and clid.endswith(">"):
        head, _, tail = clid[:-1].rpartition("<")
        number = tail.strip() or number
        name = head.strip().strip('"').strip() or None
    return number, name
