"""Calls that ended while Hotline was down are told from a real Asterisk's CDRs as the live events told them.

Fixtures: three scenarios recorded on the lab's Asterisk 22.10.1 (fixture
profile) together with the `Master.csv` its cdr_csv wrote during the same run
(tests/fixtures/lab-22.10.1/README.md). "Hotline crashed" is played by feeding the
translator the trace only up to the moment every caller was offered, then
reconciling against the CDRs; the result must read like the whole trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.ami.agents import default_agent_id
from cti.ami.cdr import CdrBook, figures_of, read_master_csv
from cti.ami.reconcile import Dialplan, close_gone, missed_calls
from cti.replay import CallSummary, first_epoch, read_messages, summarize, translate
from cti.telephony import OpenCall
from routing.events import CallEvent, CallEventKind, Event

LAB = Path(__file__).parents[1] / "fixtures" / "lab-22.10.1"
AGENTS = {"1001", "1002", "1003", "1009", "1011", "1012"}
SCENARIOS = ["03-abandon", "04-two-concurrent", "07g-control-mode"]


def agent_of(channel: str) -> str | None:
    agent = default_agent_id(channel)
    return agent if agent in AGENTS and "@agents" in channel else None


@dataclass
class Scenario:
    events: list[Event]
    started: datetime
    uniqueids: set[str]

    @classmethod
    def load(cls, name: str) -> Scenario:
        data = (LAB / f"{name}.ami").read_bytes()
        start = first_epoch(data)
        assert start is not None
        uids = {m.group(1).decode() for m in re.finditer(rb"Uniqueid: (\d+\.\d+)", data)}
        return cls(list(translate(read_messages(data), start, default_queue="support")), start, uids)

    def until_all_offered(self) -> list[Event]:
        last = max(i for i, e in enumerate(self.events) if _kind(e) is CallEventKind.OFFERED)
        return self.events[: last + 1]

    def book(self) -> CdrBook:
        """This scenario's CDRs (Master.csv holds the whole lab run): those of its channels."""
        whole = read_master_csv(LAB / "Master.csv", since=self.started - timedelta(seconds=1))
        book = CdrBook()
        for cdr in whole.records:
            if cdr.uniqueid in self.uniqueids:
                book.add(cdr)
        return book


def _kind(event: Event) -> CallEventKind | None:
    return event.kind if isinstance(event, CallEvent) else None


def _open_calls(events: Iterable[Event]) -> list[OpenCall]:
    """What the call log had committed when Hotline was killed."""
    calls: dict[str, OpenCall] = {}
    for event in events:
        if not isinstance(event, CallEvent):
            continue
        known = calls.get(event.call_id) or OpenCall(
            event.call_id,
            "asterisk",
            pbx_ref=event.source_refs[0] if event.source_refs else None,
            caller=event.caller,
        )
        if event.kind is CallEventKind.OFFERED:
            known = replace(known, offered_at=event.at, queue=event.queue)
        if event.kind is CallEventKind.ANSWERED:
            known = replace(known, answered_at=event.at, agent=event.agent)
        calls[event.call_id] = known
    return list(calls.values())


def _essentials(summaries: list[CallSummary]) -> dict[str, tuple[object, ...]]:
    return {s.call_id: (s.caller, s.queue, s.outcome, s.agent) for s in summaries}


@pytest.mark.parametrize("name", SCENARIOS)
def test_open_calls_of_a_crashed_hotline_close_as_the_pbx_recorded_them(name: str) -> None:
    scenario = Scenario.load(name)
    before = scenario.until_all_offered()
    truth = _essentials(summarize(scenario.events))
    book = scenario.book()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    closing = close_gone(_open_calls(before), live=set(), book=book, agent_of=agent_of, now=now)
    assert _essentials(summarize(before + closing)) == truth
    hangups = [e for e in closing if e.kind is CallEventKind.HUNG_UP]
    assert len(hangups) == len(truth)
    for hangup in hangups:  # the PBX's end time, not the moment of reconciliation
        uid = hangup.source_refs[0] if hangup.source_refs else None
        assert uid is not None and hangup.at == max(c.end for c in book.of(uid))
    live_ids = {e.event_id for e in scenario.events}
    assert {e.event_id for e in hangups} <= live_ids  # the live HUNG_UP's id: applied at most once


def test_a_live_call_is_left_alone() -> None:
    scenario = Scenario.load("04-two-concurrent")
    calls = _open_calls(scenario.until_all_offered())
    live = {calls[0].call_id}
    closing = close_gone(calls, live=live, book=scenario.book(), agent_of=agent_of, now=scenario.started)
    assert {e.call_id for e in closing} == {calls[1].call_id}


def test_without_a_cdr_the_call_is_closed_now_and_says_so() -> None:
    scenario = Scenario.load("03-abandon")
    [call] = _open_calls(scenario.until_all_offered())
    now = datetime(2030, 1, 1, tzinfo=UTC)
    closing = close_gone([call], live=set(), book=CdrBook(), agent_of=agent_of, now=now)
    assert [(e.kind, e.at) for e in closing] == [(CallEventKind.ABANDONED, now), (CallEventKind.HUNG_UP, now)]
    assert "no CDR" in (closing[-1].detail or "")


@pytest.mark.parametrize("name", SCENARIOS)
def test_calls_hotline_never_saw_are_told_whole_from_the_cdrs_with_the_live_call_ids(name: str) -> None:
    scenario = Scenario.load(name)
    truth = _essentials(summarize(scenario.events))
    missed = missed_calls(scenario.book(), Dialplan(default_queue="support"), frozenset(), agent_of)
    assert _essentials(summarize(missed)) == truth
    offered = {e.event_id for e in missed if e.kind is CallEventKind.OFFERED}
    assert offered == {e.event_id for e in scenario.events if _kind(e) is CallEventKind.OFFERED}
    known = frozenset(ref for e in missed for ref in e.source_refs)
    assert missed_calls(scenario.book(), Dialplan(default_queue="support"), known, agent_of) == []


def test_a_member_rung_without_answer_is_not_the_calls_agent() -> None:
    """Scenario 02 of the lab run (billing): app_queue rang 1009, who did not answer (its CDR:
    NO ANSWER, yet with an AnswerTime and 5 billable seconds, the Local half's own), then 1003
    answered. The CDRs' agent is 1003 with 1003's answer and talk, not 1009."""
    book = read_master_csv(LAB / "Master.csv")
    figures = figures_of(book, "1796127654.1", agent_of)  # the caller's queue channel
    assert figures is not None
    assert figures.agent == "1003"
    assert figures.agent_answered_at == datetime(2026, 12, 1, 12, 21, 1, tzinfo=UTC)
    assert figures.talk_s == 14
