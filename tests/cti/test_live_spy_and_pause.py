"""Supervision and recording pause against a real Asterisk 22.10.1 (tests/fixtures/live-22.10.1/control-*),
control mode, Hotline's own connection.

control-spy-linger: Hotline sent `ChanSpy Local/1001@agents,q`; the call ended with the spy up, and the
spy took the agent's next call (another Linkedid) unasked. control-spy-modes: with `-,qES`/`qwES`/`qBES`
each spy started on the agent's leg and hanging it up left the call whole. control-recording-pause:
MixMonitorMute on the caller's channel, answered Success, told as MixMonitorMute events.
"""

from __future__ import annotations

from pathlib import Path

from cti.ami.translate import AmiTranslator
from cti.replay import read_messages
from routing.events import CallEvent, CallEventKind

LIVE = Path(__file__).resolve().parents[1] / "fixtures" / "live-22.10.1"


def _messages(name: str) -> list[dict[str, str]]:
    return [dict(m.items()) for m in read_messages((LIVE / name).read_bytes())]


def _calls(name: str) -> dict[str, list[CallEventKind]]:
    translator = AmiTranslator(default_queue="support")
    kinds: dict[str, list[CallEventKind]] = {}
    for message in read_messages((LIVE / name).read_bytes()):
        for event in translator.feed(message):
            if isinstance(event, CallEvent):
                kinds.setdefault(event.call_id, []).append(event.kind)
    return kinds


def test_a_chanspy_without_e_spied_on_the_agents_next_caller() -> None:
    starts = [m for m in _messages("control-spy-linger.ami") if m.get("Event") == "ChanSpyStart"]
    assert len({m["SpyerChannel"] for m in starts}) == 1  # one supervise request ...
    assert len({m["SpyeeLinkedid"] for m in starts}) == 2  # ... heard two calls


def test_hotline_sends_spies_that_end_with_the_call_and_hanging_them_up_keeps_the_call() -> None:
    sent = (LIVE / "control-spy-modes.sent").read_bytes().decode()
    assert [line for line in sent.split("\r\n") if line.startswith("Data: ")] == [
        "Data: Local/1001@agents-,qES",
        "Data: Local/1001@agents-,qwES",
        "Data: Local/1001@agents-,qBES",
    ]
    messages = _messages("control-spy-modes.ami")
    spies = [m for m in messages if m.get("Event") == "ChanSpyStart"]
    assert len(spies) == 3
    assert {m["SpyeeChannel"].split("-")[0] for m in spies} == {"Local/1001@agents"}
    # the spy channels make no call of their own; the spied call ends once, answered by its agent
    [(call_id, kinds)] = _calls("control-spy-modes.ami").items()
    assert call_id == spies[0]["SpyeeLinkedid"]
    assert CallEventKind.ANSWERED in kinds and kinds.count(CallEventKind.HUNG_UP) == 1


def test_the_real_recording_pause_is_read_as_one_pause_and_one_resume() -> None:
    messages = _messages("control-recording-pause.ami")
    mutes = [m for m in messages if m.get("Event") == "MixMonitorMute"]
    assert [(m["State"], m["Direction"]) for m in mutes] == [("1", "both"), ("0", "both")]
    started = next(m for m in messages if m.get("Event") == "MixMonitorStart")
    assert {m["Uniqueid"] for m in mutes} == {started["Uniqueid"]}  # the recorded channel
    [(_, kinds)] = _calls("control-recording-pause.ami").items()
    assert kinds.count(CallEventKind.RECORDING_PAUSED) == 1
    assert kinds.count(CallEventKind.RECORDING_RESUMED) == 1
    assert kinds.index(CallEventKind.RECORDING_PAUSED) < kinds.index(CallEventKind.RECORDING_RESUMED)


def test_observe_mode_spies_start_on_the_agents_leg_and_leave_the_queue_call_whole() -> None:
    messages = _messages("observe-spy.ami")
    spies = [m for m in messages if m.get("Event") == "ChanSpyStart"]
    assert [m["SpyeeChannel"].split("-")[0] for m in spies] == ["Local/1001@agents"] * 2
    [(call_id, kinds)] = _calls("observe-spy.ami").items()
    assert {m["SpyeeLinkedid"] for m in spies} == {call_id}
    assert CallEventKind.ANSWERED in kinds and kinds.count(CallEventKind.HUNG_UP) == 1
