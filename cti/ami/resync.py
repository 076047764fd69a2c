"""Rebuild state from the PBX after every (re)login, before decisions are made.

While the link was down calls went on: some were answered, some ended. On
login we ask Asterisk what exists now (CoreShowChannels: live channels and
their bridges; QueueStatus: members, pauses and waiting callers; DeviceStateList:
agent phones, when agent interfaces are configured) and let the
translator emit only what is missing, with the same event ids the live events
would have had, so nothing is lost and nothing is counted twice.

Each snapshot is applied where it stands in the event stream. The live events go on meanwhile:
the events read after a snapshot's end are held (`AmiClient.action_list(hold=)`) until it is
applied and its events published, then the next snapshot moves the hold to its own end, so the
translator sees [events] QueueStatus [events] CoreShowChannels [events] DeviceStateList [events]
in the order the PBX wrote them. Each snapshot only has to agree with what came before it; no
handler has to guess whether an event is older or newer than a snapshot (QueueMember and
DeviceStateChange carry no time a pause or a phone state could be compared by).

Why each is applied at its own end, not all at the last one: a snapshot applied after events
newer than it undoes them. QueueStatus applied after CoreShowChannels (as it was) overwrote what
the PBX wrote between the two: the agent unpaused meanwhile stayed paused in Hotline, the phone
taken meanwhile was reported idle and offered calls. And CoreShowChannels applied after the live
events: the resync waits on the PBX between its snapshot and its applying (a Getvar per caller
answered unheard, for its QEHOLDTIME); a caller's hang-up read meanwhile met a call the
translator did not know yet and was dropped, and the snapshot then brought the caller back as
live, for good (after a takeover in a storm its call stayed open and its recording pending); a
caller who joined meanwhile was hung up by the snapshot that did not list them yet.

A call that began *and* ended while the link was down leaves no trace in AMI
state: the link enters it from the PBX's CDRs after the resync, when it reads
Master.csv (`HOTLINE_PBX_CDR_FILE`; cti.asterisk `_missed_while_down`), else it is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cti.ami.client import AmiClient, Subscription
from cti.ami.dialplan import IVR_VARIABLE, QUEUE_VARIABLE
from cti.ami.errors import ActionRefused
from cti.ami.translate import AmiTranslator
from routing.events import Event

log = logging.getLogger(__name__)

Publish = Callable[[list[Event]], Awaitable[None]]


HELD_S = 30.0  # how long a resync waits for the consumer to translate the events before its snapshot


async def resync(
    client: AmiClient,
    translator: AmiTranslator,
    publish: Publish,
    live: Subscription | None = None,
) -> list[Event]:
    """Ask for the PBX's current state, publish the events the translator had missed, return them.

    `live`: the subscription whose events the translator is fed. It is held at the end of each
    snapshot, and the snapshot applied (and its events published) once every event before it is
    translated; the caller releases it after the last one (`resync_on_connect`)."""
    events: list[Event] = []

    async def told(missed: list[Event]) -> None:  # before the events after the snapshot are translated
        events.extend(missed)
        await publish(missed)

    # QueueStatus first: members (who is in, paused) and their LastCall, the end of a call
    # that ended while the link was down, which the channels' reconciliation then uses.
    queues = await client.action_list("QueueStatus", within=15.0, hold=live)
    await _caught_up(live)
    await told(translator.apply_queue_status(queues))
    channels = await client.action_list("CoreShowChannels", within=15.0, hold=live)
    variables: dict[str, dict[str, str]] = {}
    waiting = translator.unknown_waiting(channels)
    if waiting:  # control-mode callers who came while the link was down: their queue and IVR choice
        for channel in waiting:
            variables[channel] = await _waiting_variables(client, channel)
        # the snapshot applied (the hold moves to its end)
        channels = await client.action_list("CoreShowChannels", within=15.0, hold=live)
    holds: dict[str, int] = {}
    for channel, uid in translator.answered_unheard(channels):  # answered while the link was down
        if (hold := await _hold_time(client, channel)) is not None:
            holds[uid] = hold
    await _caught_up(live)
    # no await between: live events wait behind the snapshot
    await told(translator.apply_channels(channels, hold_times=holds, waiting_vars=variables))
    await told(await _device_states(client, translator, live))
    log.info(
        "AMI resync: %d channels, %d queue items, %d missed events", len(channels), len(queues), len(events)
    )
    return events


async def _caught_up(live: Subscription | None) -> None:
    """Every event older than the snapshot (the hold) is translated, none newer."""
    if live is not None:
        async with asyncio.timeout(HELD_S):
            await live.wait_held()


async def _waiting_variables(client: AmiClient, channel: str) -> dict[str, str]:
    """HOTLINE_QUEUE and HOTLINE_IVR of a waiting caller's channel (Getvar; absent: not set)."""
    found: dict[str, str] = {}
    for variable in (QUEUE_VARIABLE, IVR_VARIABLE):
        try:
            reply = await client.action("Getvar", Channel=channel, Variable=variable, within=5.0)
        except ActionRefused as exc:  # the caller hung up meanwhile: the snapshot after this tells
            log.info("AMI resync: no %s of %s (%s)", variable, channel, exc)
            continue
        if value := (reply.get("Value") or "").strip():
            found[variable] = value
    return found


async def _hold_time(client: AmiClient, channel: str) -> int | None:
    """The caller's QEHOLDTIME: the seconds app_queue kept it waiting before the answer (queues.conf
    `setqueueentryvar = yes`); None when not set or the caller is gone."""
    try:
        reply = await client.action("Getvar", Channel=channel, Variable="QEHOLDTIME", within=5.0)
    except ActionRefused as exc:
        log.info("AMI resync: no QEHOLDTIME of %s (%s)", channel, exc)
        return None
    value = (reply.get("Value") or "").strip()
    return int(value) if value.isdigit() else None


async def _device_states(
    client: AmiClient, translator: AmiTranslator, live: Subscription | None
) -> list[Event]:
    """Agent phones that changed while the link was down (a phone left 'in use' would
    keep its agent from being offered calls until its next change). Applied at its end in the
    stream as the other snapshots: a change written before it is translated before it, not after."""
    if not translator.devices:
        return []
    try:
        items = await client.action_list("DeviceStateList", within=15.0, hold=live)
    except ActionRefused as exc:  # Asterisk before 13, or a PBX without it: next changes will tell
        log.info("AMI resync: no DeviceStateList (%s); phone states follow from the next changes", exc)
        return []
    await _caught_up(live)  # no await from here on: live events wait behind the snapshot
    events: list[Event] = []
    for item in items:
        events += translator.feed(item)
    return events


def resync_on_connect(
    client: AmiClient, translator: AmiTranslator, publish: Publish, live: Subscription | None = None
) -> None:
    """Register the resync to run after every login; `publish` gets the missed events.

    The client runs it before `wait_connected()` returns; if it fails, the
    client drops the link and retries, so decisions never rest on stale state.
    `live`: the subscription the translator is fed from (held while each snapshot is applied
    and its events published, see `resync`); without it the snapshots race the live events.
    """

    async def callback() -> None:
        try:
            await resync(client, translator, publish, live)
        finally:
            if live is not None:
                live.release()

    client.on_connected(callback)
