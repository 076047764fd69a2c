"""Rebuild state from the PBX after every (re)login, before decisions are made.

While the link was down calls went on: some were answered, some ended. On
login we ask Asterisk what exists now (CoreShowChannels: live channels and
their bridges; QueueStatus: members, pauses and waiting callers; DeviceStateList:
agent phones, when agent interfaces are configured) and let the
translator emit only what is missing, with the same event ids the live events
would have had, so nothing is lost and nothing is counted twice.

A call that began *and* ended while the link was down leaves no trace in AMI
state: the link enters it from the PBX's CDRs after the resync, when it reads
Master.csv (`HOTLINE_PBX_CDR_FILE`; cti.asterisk `_missed_while_down`), else it is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from cti.ami.client import AmiClient
from cti.ami.dialplan import IVR_VARIABLE, QUEUE_VARIABLE
from cti.ami.errors import ActionRefused
from cti.ami.translate import AmiTranslator
from routing.events import Event

log = logging.getLogger(__name__)

Publish = Callable[[list[Event]], Awaitable[None]]


async def resync(client: AmiClient, translator: AmiTranslator) -> list[Event]:
    """Ask for the PBX's current state and return the events the translator had missed."""
    # QueueStatus first: members (who is in, paused) and their LastCall, the end of a call
    # that ended while the link was down, which the channels' reconciliation then uses.
    queues = await client.action_list("QueueStatus", within=15.0)
    channels = await client.action_list("CoreShowChannels", within=15.0)
    variables: dict[str, dict[str, str]] = {}
    waiting = translator.unknown_waiting(channels)
    if waiting:  # control-mode callers who came while the link was down: their queue and IVR choice
        for channel in waiting:
            variables[channel] = await _waiting_variables(client, channel)
        channels = await client.action_list("CoreShowChannels", within=15.0)  # the snapshot applied
    holds: dict[str, int] = {}
    for channel, uid in translator.answered_unheard(channels):  # answered while the link was down
        if (hold := await _hold_time(client, channel)) is not None:
            holds[uid] = hold
    events = translator.apply_queue_status(queues)
    # no await between: live events wait behind the snapshot
    events += translator.apply_channels(channels, hold_times=holds, waiting_vars=variables)
    events += await _device_states(client, translator)
    log.info(
        "AMI resync: %d channels, %d queue items, %d missed events", len(channels), len(queues), len(events)
    )
    return events


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


async def _device_states(client: AmiClient, translator: AmiTranslator) -> list[Event]:
    """Agent phones that changed while the link was down (a phone left 'in use' would
    keep its agent from being offered calls until its next change)."""
    if not translator.devices:
        return []
    try:
        items = await client.action_list("DeviceStateList", within=15.0)
    except ActionRefused as exc:  # Asterisk before 13, or a PBX without it: next changes will tell
        log.info("AMI resync: no DeviceStateList (%s); phone states follow from the next changes", exc)
        return []
    events: list[Event] = []
    for item in items:
        events += translator.feed(item)
    return events


def resync_on_connect(client: AmiClient, translator: AmiTranslator, publish: Publish) -> None:
    """Register the resync to run after every login; `publish` gets the missed events.

    The client runs it before `wait_connected()` returns; if it fails, the
    client drops the link and retries, so decisions never rest on stale state.
    """

    async def callback() -> None:
        await publish(await resync(client, translator))

    client.on_connected(callback)
