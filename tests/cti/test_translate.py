"""Translator cases the recorded traces do not cover (built from trace-shaped messages)."""

from __future__ import annotations

from datetime import UTC, datetime

from cti.ami.agents import agent_mapper, default_agent_id
from cti.ami.protocol import AmiMessage
from cti.ami.translate import AmiTranslator
from routing.events import CallEvent

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CALLER = {"Channel": "PJSIP/trunk-00000001", "Uniqueid": "1.1", "Linkedid": "1.1", "CallerIDNum": "+861380"}


def feed(t: AmiTranslator, **fields: str) -> list[str]:
    return [e.kind.value for e in t.feed(AmiMessage.of(**fields)) if isinstance(e, CallEvent)]


def test_control_mode_caller_waiting_too_long_leaves_the_queue_by_timeout() -> None:
    t = AmiTranslator(clock=lambda: T0)
    assert feed(t, Event="UserEvent", UserEvent="HotlineWaiting", Queue="vip", **CALLER) == ["offered"]
    assert feed(t, Event="UserEvent", UserEvent="HotlineWaitTimeout", **CALLER) == ["left_queue"]
    assert feed(t, Event="Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"}, **CALLER) == ["hung_up"]


def test_control_mode_no_answer_goes_back_to_the_router_and_a_second_agent_can_answer() -> None:
    t = AmiTranslator(clock=lambda: T0)
    feed(t, Event="UserEvent", UserEvent="HotlineWaiting", **CALLER)
    leg = {"DestChannel": "PJSIP/1001-0000000a", "DestUniqueid": "1.2"}
    assert feed(t, Event="DialBegin", **CALLER, **leg) == ["ringing"]
    assert feed(t, Event="DialEnd", DialStatus="NOANSWER", **CALLER, **leg) == ["ring_no_answer"]
    leg2 = {"DestChannel": "PJSIP/1002-0000000b", "DestUniqueid": "1.3"}
    assert feed(t, Event="DialBegin", **CALLER, **leg2) == ["ringing"]
    assert feed(t, Event="DialEnd", DialStatus="ANSWER", **CALLER, **leg2) == ["answered"]
    assert t.agent_channel("1.1") == "PJSIP/1002-0000000b"
    assert feed(t, Event="Hangup", Channel="PJSIP/1002-0000000b", Uniqueid="1.3") == ["agent_completed"]
    assert feed(t, Event="Hangup", **CALLER) == ["hung_up"]
    assert t.caller_channel("1.1") is None  # ended


def test_control_mode_dial_that_fails_without_a_channel_is_told_by_the_dialplans_userevent() -> None:
    """`Dial(PJSIP/1001)` to an unregistered phone: no DialBegin, no DialEnd; the sample
    dialplan's `UserEvent HotlineDialEnd` is the only word, and it is not lost."""
    t = AmiTranslator(clock=lambda: T0)
    feed(t, Event="UserEvent", UserEvent="HotlineWaiting", **CALLER)
    failed = {"UserEvent": "HotlineDialEnd", "Agent": "1001", "DialStatus": "CHANUNAVAIL"}
    [event] = t.feed(AmiMessage.of(Event="UserEvent", **failed, **CALLER))
    assert isinstance(event, CallEvent)
    assert (event.kind.value, event.agent, event.detail) == ("ring_no_answer", "1001", "chanunavail")
    # with a channel (Local): DialEnd said it already; the UserEvent that follows adds nothing
    leg = {"DestChannel": "Local/1002@agents-0000000b;1", "DestUniqueid": "1.3"}
    assert feed(t, Event="DialBegin", **CALLER, **leg) == ["ringing"]
    assert feed(t, Event="DialEnd", DialStatus="CONGESTION", **CALLER, **leg) == ["ring_no_answer"]
    assert (
        feed(t, Event="UserEvent", **{**failed, "Agent": "1002", "DialStatus": "CONGESTION"}, **CALLER) == []
    )
    # the next failure without a channel is told again
    assert feed(t, Event="UserEvent", **failed, **CALLER) == ["ring_no_answer"]


def test_control_mode_caller_hanging_up_while_waiting_is_an_abandon() -> None:
    t = AmiTranslator(clock=lambda: T0)
    feed(t, Event="UserEvent", UserEvent="HotlineWaiting", **CALLER)
    assert feed(t, Event="Hangup", **CALLER) == ["abandoned", "hung_up"]


def test_timestamp_header_gives_the_event_time() -> None:
    t = AmiTranslator(clock=lambda: T0)
    (event,) = t.feed(
        AmiMessage.of(Event="UserEvent", UserEvent="HotlineWaiting", Timestamp="1795342409.5", **CALLER)
    )
    assert event.at == datetime.fromtimestamp(1795342409.5, UTC)


def test_agent_ids_come_from_interfaces_and_channels() -> None:
    assert default_agent_id("Local/1001@agents/n") == "1001"
    assert default_agent_id("Local/1001@agents-00000001;1") == "1001"
    assert default_agent_id("PJSIP/1001") == "1001"
    assert default_agent_id("PJSIP/1001-0000002a") == "1001"
    assert default_agent_id("garbage") is None
    mapped = agent_mapper({"PJSIP/alice": "1001"})
    assert mapped("PJSIP/alice-0000002a") == "1001" and mapped("PJSIP/bob") == "bob"


def test_ended_calls_are_forgotten_after_the_retention_limit() -> None:
    t = AmiTranslator(clock=lambda: T0, retain_ended=2)
    for i in range(5):
        caller = {**CALLER, "Uniqueid": f"9.{i}", "Linkedid": f"9.{i}"}
        feed(t, Event="QueueCallerJoin", Queue="support", **caller)
        feed(t, Event="Hangup", **caller)
    assert len(t._calls) == 2 and len(t._by_id) == 2


def test_device_state_changes_of_agent_phones_become_agent_events() -> None:
    from routing.events import AgentEvent, AgentEventKind

    t = AmiTranslator(clock=lambda: T0, devices={"PJSIP/1001": "1001", "Local/1002@agents": "1002"})

    def states(**fields: str) -> list[tuple[str, str | None]]:
        events = t.feed(AmiMessage.of(Event="DeviceStateChange", Privilege="call,all", **fields))
        return [
            (e.agent, e.detail)
            for e in events
            if isinstance(e, AgentEvent) and e.kind is AgentEventKind.DEVICE_STATE
        ]

    assert states(Device="PJSIP/1001", State="INUSE") == [("1001", "in_use")]
    assert states(Device="PJSIP/1001", State="ONHOLD") == []  # still in use: no news
    assert states(Device="PJSIP/1001", State="NOT_INUSE") == [("1001", "idle")]
    assert states(Device="Local/1002@agents", State="RINGING") == [("1002", "ringing")]
    assert states(Device="Local/1002@agents", State="UNKNOWN") == []
    assert states(Device="PJSIP/1001", State="UNAVAILABLE") == [("1001", "unavailable")]
    # Not agent phones: the waiting caller's Local channel, the queue's own device, a stranger.
    assert states(Device="Local/support@hotline", State="INUSE") == []
    assert states(Device="Queue:support", State="RINGING") == []
    assert states(Device="PJSIP/2001", State="INUSE") == []

    # Ids: the same occurrence read again (a fresh translator after a reconnect) keeps its id,
    # so the router drops the repeat; a later INUSE of the same phone is a new event.
    def ids(translator: AmiTranslator, state: str) -> list[str]:
        message = AmiMessage.of(Event="DeviceStateChange", Device="PJSIP/1001", State=state)
        return [e.event_id for e in translator.feed(message)]

    fresh = AmiTranslator(clock=lambda: T0, devices={"PJSIP/1001": "1001"})
    [first] = ids(fresh, "INUSE")
    again = AmiTranslator(clock=lambda: T0, devices={"PJSIP/1001": "1001"})
    assert ids(again, "INUSE") == [first]
    ids(again, "NOT_INUSE")
    assert ids(again, "INUSE") != [first]
