"""A real Asterisk 22.10.1 AMI outage (tests/fixtures/live-22.10.1/observe-outage*.ami, observe mode):
what the two connections saw, and what only the PBX's CDRs (observe-Master.csv) have.

Hotline's link was cut at 11:21:00 for 20 s. Call 1 (13800138001) was answered before and ended
during it; call 2 (13800138002) came and was answered during it and was live at the re-login;
call 3 (13800138003, billing: 1009 rang, nobody answered) came and went during it: neither
connection has a single event of it, only Master.csv. The re-login now enters it from the CDRs
(cti.asterisk `_missed_while_down`, test_link_cut.py on the simulator does the whole stack).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti.ami.cdr import CdrBook, read_master_csv
from cti.ami.reconcile import Dialplan, missed_calls
from cti.ami.translate import AmiTranslator
from cti.replay import read_messages
from routing.events import CallEvent, CallEventKind

LIVE = Path(__file__).resolve().parents[1] / "fixtures" / "live-22.10.1"
FIRST_CALL = datetime(2026, 12, 3, 11, 20, 56, tzinfo=UTC)  # the first call of observe-outage.ami


def _ids_in(*names: str) -> frozenset[str]:
    text = "".join((LIVE / name).read_bytes().decode("utf-8") for name in names)
    return frozenset(re.findall(r"(?:Uniqueid|Linkedid): ([0-9.]+)\r\n", text))


def _agent(channel: str) -> str | None:
    found = re.match(r"Local/(\d{4})@agents-", channel)
    return found.group(1) if found else None


def test_the_call_that_came_and_went_during_the_outage_is_only_in_the_cdrs() -> None:
    seen = _ids_in("observe-outage.ami", "observe-outage-relogin.ami")
    book = read_master_csv(LIVE / "observe-Master.csv", UTC, FIRST_CALL)
    recent = CdrBook()
    for cdr in book.records:
        if cdr.start >= FIRST_CALL:
            recent.add(cdr)
    callers = {cdr.src for cdr in recent.records if cdr.uniqueid not in seen}
    assert callers == {"13800138003"}

    events = missed_calls(recent, Dialplan("support"), seen, _agent)
    assert [(e.kind, e.caller, e.queue) for e in events] == [
        (CallEventKind.OFFERED, "13800138003", "billing"),
        (CallEventKind.ABANDONED, "13800138003", "billing"),
        (CallEventKind.HUNG_UP, "13800138003", "billing"),
    ]
    assert events[0].at == datetime(2026, 12, 3, 11, 21, 2, tzinfo=UTC)
    assert events[-1].at == datetime(2026, 12, 3, 11, 21, 7, tzinfo=UTC)


def test_a_control_mode_caller_resynced_from_the_real_snapshot_waits_in_their_queue() -> None:
    """control-outage*.ami (control mode): "Bill Out" (13900139023) was originated into
    Local/billing@hotline-control during the 15 s outage. The re-login's CoreShowChannels lists
    it in hotline-control/wait with MusicOnHold: nothing there says billing. Its channel's
    HOTLINE_QUEUE does (the resync asks with Getvar, cti.ami.resync)."""
    before = (LIVE / "control-outage.ami").read_bytes()
    assert b"13900139023" not in before  # the first connection never saw the caller
    translator = AmiTranslator(default_queue="support")
    for message in read_messages(before):
        translator.feed(message)
    relogin = list(read_messages((LIVE / "control-outage-relogin.ami").read_bytes()))
    first = next(i for i, m in enumerate(relogin) if m.get("Event") == "CoreShowChannelsComplete")
    snapshot = [m for m in relogin[:first] if m.get("Event") == "CoreShowChannel"]
    waiting = translator.unknown_waiting(snapshot)
    assert "Local/billing@hotline-control-00000007;2" in waiting

    told = {"Local/billing@hotline-control-00000007;2": {"HOTLINE_QUEUE": "billing"}}
    offered = [
        e
        for e in translator.apply_channels(snapshot, waiting_vars=told)
        if isinstance(e, CallEvent) and e.kind is CallEventKind.OFFERED
    ]
    assert {(e.caller, e.queue) for e in offered if e.caller == "13900139023"} == {("13900139023", "billing")}


def test_an_answer_the_resync_finds_without_a_pbx_time_is_left_untimed() -> None:
    """observe-outage-relogin.ami: call 2 (13800138002) was answered by 1002 during the outage. Its
    agent leg (Local/1002@agents-00000003;1) is as old as the caller (20 s): app_queue made it when
    it began ringing 1002. Taken as the answer, answered_at was the offer time; without
    QEHOLDTIME (Getvar, not in this capture) the answer's time is unknown, and said so."""
    translator = AmiTranslator(default_queue="support")
    for message in read_messages((LIVE / "observe-outage.ami").read_bytes()):
        translator.feed(message)
    relogin = list(read_messages((LIVE / "observe-outage-relogin.ami").read_bytes()))
    snapshot = [m for m in relogin if m.get("Event") == "CoreShowChannel"]
    assert [uid for _, uid in translator.answered_unheard(snapshot)] == ["1796296862.5"]
    at = datetime(2026, 12, 3, 11, 21, 20, tzinfo=UTC)
    events = [e for e in translator.apply_channels(snapshot, at=at) if isinstance(e, CallEvent)]
    (answered,) = [e for e in events if e.kind is CallEventKind.ANSWERED]
    assert (answered.caller, answered.agent, answered.detail) == ("13800138002", "1002", "resync")
    assert answered.untimed and answered.hold_s is None

    told = AmiTranslator(default_queue="support")
    for message in read_messages((LIVE / "observe-outage.ami").read_bytes()):
        told.feed(message)
    events = [
        e
        for e in told.apply_channels(snapshot, at=at, hold_times={"1796296862.5": 4})
        if isinstance(e, CallEvent)
    ]
    offered = next(e for e in events if e.kind is CallEventKind.OFFERED)
    (answered,) = [e for e in events if e.kind is CallEventKind.ANSWERED]
    assert not answered.untimed and answered.at == offered.at + timedelta(seconds=4) and answered.hold_s == 4
