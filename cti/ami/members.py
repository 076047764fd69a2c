"""Hotline's sign-in and pause, told to app_queue (observe mode): the AMI member mapping.

In observe mode Asterisk's app_queue distributes the calls, so an agent who
pauses or signs out in Hotline must be paused or removed *there*, or the next
call rings them anyway. `MemberSync` turns the four intentions into the AMI
actions of cti.ami.actions:

| Hotline          | dynamic member (QueueAdd'ed)         | static member (queues.conf `member =>`) |
|------------------|--------------------------------------|-----------------------------------------|
| sign in          | QueueAdd per queue (Penalty, MemberName) | QueuePause Paused=false per queue    |
| sign in, paused  | QueueAdd Paused=true Reason          | QueuePause Paused=true Reason per queue |
| sign out         | QueueRemove per queue                | QueuePause Paused=true Reason=logged-out |
| pause / unpause  | QueuePause (no Queue: every queue the interface is in) |                       |

Which queues are dynamic is configuration (`queues[].pbx_members: dynamic` in the
call-center file). Asterisk's own answers to a repeat ("Already there", "Not
there") mean the PBX already is where Hotline wants it, and are not errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Collection, Mapping
from dataclasses import dataclass

from cti.ami import actions
from cti.ami.actions import ActionClient
from cti.ami.errors import ActionRefused

log = logging.getLogger(__name__)

SIGNED_OUT_REASON = "logged-out"
"""PausedReason of a static member whose agent is signed out of Hotline."""

_ALREADY = ("already there", "not there")


@dataclass(frozen=True, slots=True)
class Member:
    """An agent as app_queue knows them: the member interface and its MemberName."""

    interface: str
    name: str = ""


class MemberSync:
    def __init__(
        self,
        client: ActionClient,
        members: Mapping[str, Member],
        dynamic_queues: Collection[str] = (),
    ) -> None:
        self._client = client
        self._members = dict(members)
        self.dynamic_queues = frozenset(dynamic_queues)

    def _member(self, agent_id: str) -> Member | None:
        member = self._members.get(agent_id)
        if member is None:
            log.info("agent %s has no PBX interface: nothing to tell app_queue", agent_id)
        return member

    async def sign_in(
        self, agent_id: str, queues: Mapping[str, int], *, paused: bool = False, reason: str = ""
    ) -> None:
        member = self._member(agent_id)
        if member is None:
            return
        for queue, penalty in sorted(queues.items()):
            if queue in self.dynamic_queues:
                await _tolerant(
                    actions.queue_add(
                        self._client,
                        queue,
                        member.interface,
                        member_name=member.name,
                        penalty=penalty,
                        paused=paused,
                        reason=reason,
                    )
                )
            else:
                await actions.queue_pause(
                    self._client,
                    member.interface,
                    paused=paused,
                    queue=queue,
                    reason=reason if paused else "",
                )

    async def sign_out(self, agent_id: str, queues: Collection[str]) -> None:
        member = self._member(agent_id)
        if member is None:
            return
        for queue in sorted(queues):
            if queue in self.dynamic_queues:
                await _tolerant(actions.queue_remove(self._client, queue, member.interface))
            else:
                await actions.queue_pause(
                    self._client, member.interface, paused=True, queue=queue, reason=SIGNED_OUT_REASON
                )

    async def pause(self, agent_id: str, reason: str) -> None:
        member = self._member(agent_id)
        if member is not None:
            await actions.queue_pause(self._client, member.interface, paused=True, reason=reason)

    async def unpause(self, agent_id: str) -> None:
        member = self._member(agent_id)
        if member is not None:
            await actions.queue_pause(self._client, member.interface, paused=False)


async def _tolerant(action: Awaitable[None]) -> None:
    """Await a QueueAdd/QueueRemove; 'Already there' / 'Not there' is the state we wanted."""
    try:
        await action
    except ActionRefused as exc:
        if not any(word in str(exc).lower() for word in _ALREADY):
            raise
        log.info("app_queue already as wanted: %s", exc)
