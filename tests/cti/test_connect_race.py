"""Connecting a caller who hung up a moment ago: the PBX says "No such channel" before Hotline
has read the Hangup. That is the caller leaving, not the agent missing the call."""

from __future__ import annotations

import asyncio

import pytest

from cti.ami.protocol import AmiMessage
from cti.bus import EventBus
from cti.telephony import CallNotWaiting, TelephonyError
from tests.cti.links import link_to
from tests.cti.peer import AmiPeer, frame

SECRET = "race-secret-5b2e"
CALLER = {"Channel": "Local/support@hotline-control-00000001;2", "Uniqueid": "7.1", "Linkedid": "7.1"}


def _refusing(message: str):  # type: ignore[no-untyped-def]
    def reply(msg: AmiMessage) -> bytes:
        return frame(Response="Error", ActionID=msg.get("ActionID", ""), Message=message)

    return reply


@pytest.mark.parametrize(
    ("message", "raised"),
    [("No such channel", CallNotWaiting), ("Permission denied", TelephonyError)],
)
async def test_a_caller_gone_at_the_offer_is_not_an_agent_miss(
    message: str, raised: type[TelephonyError]
) -> None:
    async with AmiPeer(secret=SECRET) as peer, asyncio.TaskGroup() as group:
        peer.replies["Setvar"] = _refusing(message)
        link = link_to(
            peer.port,
            SECRET,
            bus=EventBus(),
            agents={"1001": "Local/1001@agents/n"},
        )
        task = group.create_task(link.run())
        await link.wait_connected(5)
        waiting = link.translator.feed(
            AmiMessage.of(
                Event="UserEvent",
                UserEvent="HotlineWaiting",
                Queue="support",
                CallerIDNum="+8613800138000",
                **CALLER,
            )
        )
        assert [e.call_id for e in waiting]  # the link knows the caller's channel
        with pytest.raises(raised) as caught:
            await link.connect_call(waiting[0].call_id, "1001", 15)
        assert type(caught.value) is raised
        task.cancel()
