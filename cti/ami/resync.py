"""Rebuild state from the PBX after every (re)login, before decisions are made.

While the link was down calls went on: some were answered, some ended. On
login we ask Asterisk what exists now (CoreShowChannels: live channels and
their bridges; QueueStatus: members, pauses and waiting callers) and let the
translator emit only what is missing, with the same event ids the live events
would have had, so nothing is lost and nothing is counted twice.

Limit: a call that began *and* ended while the link was down leaves no trace
in AMI state; only the CDR/queue_log backend has it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from cti.ami.client import AmiClient
from cti.ami.translate import AmiTranslator
from routing.events import Event

log = logging.getLogger(__name__)

Publish = Callable[[list[Event]], Awaitable[None]]


async def resync(client: AmiClient, translator: AmiTranslator) -> list[Event]:
    """Ask for the PBX's current state and return the events the translator had missed."""
    channels = await client.action_list("CoreShowChannels", within=15.0)
    queues = await client.action_list("QueueStatus", within=15.0)
    events = translator.apply_channels(channels)
    events += translator.apply_queue_status(queues)
    log.info(
        "AMI resync: %d channels, %d queue items, %d missed events", len(channels), len(queues), len(events)
    )
    return events


def resync_on_connect(client: AmiClient, translator: AmiTranslator, publish: Publish) -> None:
    """Register the resync to run after every login; `publish` gets the missed events.

    The client runs it before `wait_connected()` returns; if it fails, the
    client drops the link and retries, so decisions never rest on stale state.
    """

    async def callback() -> None:
        await publish(await resync(client, translator))

    client.on_connected(callback)
