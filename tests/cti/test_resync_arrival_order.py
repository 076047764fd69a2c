"""A router taking over learns the waiting callers from CoreShowChannels, which lists channels in
no particular order and gives their age in whole seconds: callers who arrived within one second
have the same age. They are offered oldest first, those of one age in the order Asterisk created
them (the Uniqueid's counter), so the router, which breaks a tie of arrival by the order it is
told, serves them as the old leader would have."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.ami.dialplan import WAIT_CONTEXT
from cti.ami.protocol import AmiMessage
from cti.ami.translate import AmiTranslator
from routing import QueueConfig
from routing.commands import LoginAgent, OfferCall
from routing.decisions import ConnectCall
from routing.events import CallEvent, CallEventKind
from tests.routing.helpers import make_router

NOW = datetime(2026, 12, 3, 7, 0, 0, tzinfo=UTC)


def _waiting(uid: str, age: int, *, control: bool) -> AmiMessage:
    where = (
        {"Application": "MusicOnHold", "Context": WAIT_CONTEXT, "ApplicationData": "default"}
        if control
        else {"Application": "Queue", "Context": "hotline", "ApplicationData": "support,tT,,,120"}
    )
    return AmiMessage({
        "Event": "CoreShowChannel", "Channel": f"Local/support@hotline-{uid};2", "Uniqueid": uid,
        "Linkedid": uid, "CallerIDNum": f"+86137{uid[-3:].replace('.', '0')}", "ChannelState": "6",
        "Duration": f"00:00:{age:02d}", "BridgeId": "", **where,
    })  # fmt: skip


@pytest.mark.parametrize("control", [False, True])
def test_callers_of_the_same_age_are_offered_in_the_order_asterisk_created_them(control: bool) -> None:
    # listed newest first, as the simulated PBX and a hash-ordered Asterisk may list them
    listing = [
        _waiting("pbx1-1796288000.131", 3, control=control),
        _waiting("pbx1-1796288000.31", 4, control=control),  # same second, created before .131
        _waiting("pbx1-1796288000.9", 4, control=control),
        _waiting("pbx1-1796287999.201", 5, control=control),
    ]
    translator = AmiTranslator(default_queue="support", clock=lambda: NOW)
    offered = [e for e in translator.apply_channels(listing) if isinstance(e, CallEvent)]
    offered = [e for e in offered if e.kind is CallEventKind.OFFERED]
    assert [e.call_id for e in offered] == [
        "pbx1-1796287999.201", "pbx1-1796288000.9", "pbx1-1796288000.31", "pbx1-1796288000.131",
    ]  # fmt: skip
    # and the router serves them in that order, the two of one age included
    router = make_router([QueueConfig(name="support")], agents=1)
    now = NOW.timestamp()
    for event in offered:
        router.on_command(OfferCall(event.call_id, "support", arrived_at=event.at.timestamp()), now)
    decisions = router.on_command(LoginAgent("a1"), now + 1)
    assert [d.call_id for d in decisions if isinstance(d, ConnectCall)] == ["pbx1-1796287999.201"]
    waiting = [c.call_id for c in router.snapshot(now + 1).queue("support").waiting]
    assert waiting[1:] == ["pbx1-1796288000.9", "pbx1-1796288000.31", "pbx1-1796288000.131"]
