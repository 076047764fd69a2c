"""A recording starts from whichever sign Asterisk gives: MixMonitorStart (16.17+/18.3+),
VarSet MIXMONITOR_FILENAME (every version; the only one before 16.17/18.3), or the MixMonitor
application's Newexten (when VarSet is filtered out): once per channel and file."""

from __future__ import annotations

from datetime import UTC, datetime

from cti.ami.protocol import AmiMessage
from cti.ami.translate import AmiTranslator, wanted_frame
from routing.events import CallEvent

CALLER = dict(Channel="Local/support@hotline-00000000;2", Uniqueid="1795342409.1", Linkedid="1795342409.0")
FILE = "/var/spool/asterisk/monitor/1795342409.1.wav"


def ev(name: str, **fields: str) -> AmiMessage:
    return AmiMessage.of(Event=name, **fields)


def newexten(app: str, data: str) -> AmiMessage:
    return ev("Newexten", **CALLER, Context="hotline", Exten="support", Application=app, AppData=data)


VARSET = ev("VarSet", **CALLER, Variable="MIXMONITOR_FILENAME", Value=FILE)
START = ev("MixMonitorStart", **CALLER)
JOIN = ev("QueueCallerJoin", **CALLER, CallerIDNum="0401000001", Queue="support", Position="1", Count="1")
HANGUP = ev("Hangup", **CALLER, Cause="16", **{"Cause-txt": "Normal Clearing"})


def recordings(*messages: AmiMessage) -> list[tuple[str, str | None]]:
    translator = AmiTranslator(clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    events = [e for m in messages for e in translator.feed(m)]
    return [
        (e.kind.value, e.detail)
        for e in events
        if isinstance(e, CallEvent) and e.kind.value.startswith("recording")
    ]


def test_mixmonitor_start_with_its_varset_is_one_recording() -> None:  # 16.17+, 18.3+ (the real traces)
    mix = newexten("MixMonitor", f"{FILE}")
    assert recordings(mix, VARSET, START, JOIN, HANGUP) == [
        ("recording_started", FILE),
        ("recording_ready", FILE),
    ]


def test_varset_alone_starts_the_recording_as_before_16_17() -> None:  # 13.18 (vistep), 16.0-16.16, 18.0-18.2
    assert recordings(VARSET, JOIN, HANGUP) == [("recording_started", FILE), ("recording_ready", FILE)]


def test_varset_after_the_call_exists_starts_it_at_once() -> None:  # MixMonitor once the call exists
    assert recordings(JOIN, VARSET) == [("recording_started", FILE)]


def test_newexten_alone_starts_the_recording_when_varset_is_filtered() -> None:
    # eventfilter = !Event: VarSet on an old PBX: only the application's Newexten tells
    relative = newexten("MixMonitor", "1795342409.1.wav,b")
    assert recordings(relative, newexten("Queue", "support,tT"), JOIN, HANGUP) == [
        ("recording_started", "1795342409.1.wav"),
        ("recording_ready", "1795342409.1.wav"),
    ]
    # … or the next event of that channel, when the Newexten of the next step is filtered too
    assert recordings(relative, JOIN, HANGUP)[0] == ("recording_started", "1795342409.1.wav")


def test_newexten_then_varset_is_one_recording_with_varsets_full_name() -> None:
    assert recordings(newexten("MixMonitor", "1795342409.1.wav"), VARSET, START, JOIN, HANGUP) == [
        ("recording_started", FILE),
        ("recording_ready", FILE),
    ]


def test_mixmonitor_start_alone_still_starts_one() -> None:  # VarSet filtered on a 16.17+ PBX
    assert recordings(START, JOIN, HANGUP) == [("recording_started", ""), ("recording_ready", "")]


def test_a_second_mixmonitor_after_a_stop_is_a_second_recording() -> None:
    stop = ev("MixMonitorStop", **CALLER)
    second = FILE.replace(".wav", "-2.wav")
    again = ev("VarSet", **CALLER, Variable="MIXMONITOR_FILENAME", Value=second)
    assert recordings(VARSET, START, JOIN, stop, again, ev("MixMonitorStart", **CALLER), HANGUP) == [
        ("recording_started", FILE),
        ("recording_ready", FILE),
        ("recording_started", second),
        ("recording_ready", second),
    ]


def test_the_pre_parse_filter_keeps_the_mixmonitor_newexten_and_drops_other_newexten() -> None:
    assert wanted_frame(b"Newexten", b"Event: Newexten\r\nApplication: MixMonitor\r\nAppData: x.wav\r\n")
    assert not wanted_frame(b"Newexten", b"Event: Newexten\r\nApplication: Queue\r\nAppData: support\r\n")
    assert wanted_frame(b"Join", b"Event: Join\r\nQueue: support\r\n")  # Asterisk 11's QueueCallerJoin
    assert not wanted_frame(b"Newstate", b"Event: Newstate\r\n")
