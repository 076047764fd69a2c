"""Console, supervisor and control-mode actions send what Asterisk 22 expects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from cti.ami import actions
from cti.ami.client import AmiClient
from cti.ami.errors import ActionRefused
from cti.ami.translate import AmiTranslator
from cti.replay import read_messages
from tests.cti.peer import FIXTURES, AmiPeer, frame, parse_action


def sent_actions(name: str) -> list[dict[str, str]]:
    """The actions a recorded client sent (its `.sent` file), without ActionID."""
    data = (FIXTURES / name).read_bytes()
    out = []
    for raw in data.split(b"\r\n\r\n"):
        if raw.strip():
            msg = parse_action(raw)
            out.append({k: v for k, v in msg.items() if k != "ActionID"})
    return out


@pytest.fixture
async def connected() -> AsyncIterator[tuple[AmiPeer, AmiClient]]:
    async with AmiPeer() as peer:
        client = AmiClient("127.0.0.1", peer.port, "hotline", "hotline-secret", action_timeout=2)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            await client.wait_connected(5)
            yield peer, client
            task.cancel()


def received(peer: AmiPeer) -> list[dict[str, str]]:
    return [
        {k: v for k, v in m.items() if k != "ActionID"} for m in peer.received if m.get("Action") != "Login"
    ]


async def test_connect_call_sends_exactly_the_recorded_setvar_and_redirect(
    connected: tuple[AmiPeer, AmiClient],
) -> None:
    peer, client = connected
    translator = AmiTranslator()
    for msg in read_messages((FIXTURES / "07g-control-mode.ami").read_bytes()):
        translator.feed(msg)
        if msg.get("UserEvent") == "HotlineWaiting" and msg["Uniqueid"] == "1795342699.5":
            break
    channel = translator.caller_channel("1795342699.4")
    assert channel == "Local/wait@hotline-control-00000002;2"
    await actions.connect_call(client, channel, "1001")
    recorded = [a for a in sent_actions("07g-control-mode.sent") if a["Action"] in ("Setvar", "Redirect")]
    assert received(peer) == recorded


Call = Callable[[AmiClient], Awaitable[None]]
CASES: list[tuple[Call, dict[str, str]]] = [
    (
        lambda c: actions.queue_pause(c, "Local/1001@agents/n", queue="support", reason="meeting"),
        {"Action": "QueuePause", "Interface": "Local/1001@agents/n", "Paused": "true", "Queue": "support",
         "Reason": "meeting"},
    ),
    (
        lambda c: actions.queue_pause(c, "Local/1001@agents/n", paused=False),
        {"Action": "QueuePause", "Interface": "Local/1001@agents/n", "Paused": "false"},
    ),
    (
        lambda c: actions.queue_add(
            c, "sales", "Local/1005@agents/n", member_name="Erin Dynamic", paused=True, reason="logging-in"
        ),
        {"Action": "QueueAdd", "Queue": "sales", "Interface": "Local/1005@agents/n", "Penalty": "0",
         "MemberName": "Erin Dynamic", "Paused": "true", "Reason": "logging-in"},
    ),
    (
        lambda c: actions.queue_remove(c, "sales", "Local/1004@agents/n"),
        {"Action": "QueueRemove", "Queue": "sales", "Interface": "Local/1004@agents/n"},
    ),
    (
        lambda c: actions.hangup(c, "Local/1001@agents-00000001;1"),
        {"Action": "Hangup", "Channel": "Local/1001@agents-00000001;1", "Cause": "16"},
    ),
    (
        lambda c: actions.blind_transfer(
            c, "Local/support@hotline-00000000;2", "2003", context="transfer-targets"
        ),
        {"Action": "Redirect", "Channel": "Local/support@hotline-00000000;2", "Context": "transfer-targets",
         "Exten": "2003", "Priority": "1"},
    ),
    (
        lambda c: actions.attended_transfer(c, "Local/1001@agents-00000001;1", "2002", context="level2"),
        {"Action": "Atxfer", "Channel": "Local/1001@agents-00000001;1", "Exten": "2002", "Context": "level2"},
    ),
    (
        lambda c: actions.mute_recording(c, "Local/support@hotline-00000000;2"),
        {"Action": "MixMonitorMute", "Channel": "Local/support@hotline-00000000;2", "Direction": "both",
         "State": "1"},
    ),
    (
        lambda c: actions.start_recording(c, "Local/1001@agents-00000001;1", "agent-side.wav"),
        {"Action": "MixMonitor", "Channel": "Local/1001@agents-00000001;1", "File": "agent-side.wav"},
    ),
    (
        lambda c: actions.stop_recording(c, "Local/support@hotline-00000000;2"),
        {"Action": "StopMixMonitor", "Channel": "Local/support@hotline-00000000;2"},
    ),
    (
        lambda c: actions.supervise(c, "PJSIP/2100", "PJSIP/1001-0000002a", "whisper"),
        {"Action": "Originate", "Channel": "PJSIP/2100", "Application": "ChanSpy", "Data": "PJSIP/1001-,qwES",
         "CallerID": "Hotline supervisor", "Async": "true", "Timeout": "30000"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), CASES)
async def test_action_helpers_send_the_asterisk_fields(
    connected: tuple[AmiPeer, AmiClient], call: Call, expected: dict[str, str]
) -> None:
    peer, client = connected
    await call(client)
    assert received(peer) == [expected]


async def test_a_refused_pause_names_the_pbx_reason(connected: tuple[AmiPeer, AmiClient]) -> None:
    peer, client = connected
    peer.replies["QueuePause"] = lambda m: frame(
        Response="Error", ActionID=m["ActionID"], Message="Interface not found"
    )
    with pytest.raises(ActionRefused, match="Interface not found"):
        await actions.queue_pause(client, "Local/1001@agents/n", queue="nope")


async def test_originate_to_agent_lets_the_translator_attribute_the_ringing(
    connected: tuple[AmiPeer, AmiClient],
) -> None:
    peer, client = connected
    translator = AmiTranslator()
    events = []
    for msg in read_messages((FIXTURES / "07g-control-mode.ami").read_bytes()):
        if (
            msg.event is None and msg.get("ActionID") == "cti-2"
        ):  # the moment the recorded client got its answer
            await actions.originate_to_agent(
                client, translator, "1795342697.0", "Local/wait@hotline-control-00000000;2",
                "Local/1002@agents/n", "1002", caller_id='"王小明" <+8613800138000>',
            )  # fmt: skip
        events.extend(translator.feed(msg))
    kinds = [
        (e.kind.value, getattr(e, "agent", None))
        for e in events
        if getattr(e, "call_id", "") == "1795342697.0"
    ]
    assert ("ringing", "1002") in kinds and kinds.index(("ringing", "1002")) < kinds.index(
        ("answered", "1002")
    )
    sent = [a for a in received(peer) if a["Action"] == "Originate"]
    recorded = [a for a in sent_actions("07g-control-mode.sent") if a["Action"] == "Originate"]
    assert sent == recorded
