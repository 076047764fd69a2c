"""Several PBXs as one telephony link: one AMI link per Asterisk, their events on the one bus.

A telephony server carries tens to a few hundred agents; a larger center runs several.
Each queue and agent is bound to one PBX (the call-center file's `pbx:`), so a call is
connected, transferred and recorded on the PBX it came in on, and everything above `cti/`
sees one `TelephonyLink`:

* Call ids: the main PBX's are Asterisk's own (as with one PBX: existing rows, fixtures and
  links keep theirs); every other PBX's read `<pbx>:<Linkedid>` (its translator's
  `call_prefix`), since Uniqueids are only unique per PBX. `pbx_of` reads the name back.
* Orders about a call go to the PBX of its id; orders about an agent (callbacks, listen,
  sign-in to app_queue) to the agent's PBX.
* A PBX whose link is down: its agents' phones are shown unavailable (each link's
  `report_link_loss`), so control mode offers them nothing while the other PBXs' calls
  go on; the re-login's resync rebuilds that PBX only. `health()` is up while any PBX is,
  its reason and counters say which one is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from config.settings import MAIN_PBX
from cti.telephony import (
    CallNotWaiting,
    Control,
    LinkHealth,
    MemberPort,
    OpenCall,
    SpyMode,
    TelephonyError,
    TelephonyLink,
)
from routing.events import Event

SEPARATOR = ":"


def call_prefix(pbx: str) -> str:
    """What goes before a PBX's call ids: nothing on the main PBX, `<pbx>:` on the others."""
    return "" if pbx == MAIN_PBX else f"{pbx}{SEPARATOR}"


def pbx_of_call(call_id: str, names: Collection[str]) -> str:
    """The PBX a call id belongs to: the prefix if it names a PBX of `names`, else the main one
    (its ids are Asterisk's, which never hold a ':'; so are calls from before a second PBX)."""
    head, sep, _ = call_id.partition(SEPARATOR)
    return head if sep and head in names and head != MAIN_PBX else MAIN_PBX


class MultiLink:
    """`cti.telephony.TelephonyLink` over one link per PBX (`links`: PBX name → link; "main" first)."""

    def __init__(
        self,
        links: Mapping[str, TelephonyLink],
        agent_pbx: Mapping[str, str],
        members: Mapping[str, MemberPort] | None = None,
    ) -> None:
        if MAIN_PBX not in links:
            raise ValueError("a MultiLink needs the main PBX's link")
        self.links = dict(links)
        self.agent_pbx = dict(agent_pbx)  # agent id → PBX name
        self.members: MemberPort | None = MultiMembers(self, members) if members is not None else None

    # ------------------------------------------------------------------ which PBX
    def pbx_of(self, call_id: str) -> str:
        return pbx_of_call(call_id, self.links)

    def _for_call(self, call_id: str) -> TelephonyLink:
        return self.links[self.pbx_of(call_id)]

    def _for_agent(self, agent_id: str) -> TelephonyLink:
        pbx = self.agent_pbx.get(agent_id)
        if pbx is None or pbx not in self.links:
            raise TelephonyError(f"agent {agent_id} is on no configured PBX")
        return self.links[pbx]

    def _same_pbx(self, call_id: str, agent_id: str) -> TelephonyLink:
        link = self._for_call(call_id)
        if self.agent_pbx.get(agent_id, MAIN_PBX) != self.pbx_of(call_id):
            raise TelephonyError(
                f"call {call_id} is on PBX {self.pbx_of(call_id)!r}, agent {agent_id} on"
                f" {self.agent_pbx.get(agent_id)!r}: a call is connected on its own PBX"
            )
        return link

    # ------------------------------------------------------------------ the link's life
    async def run(self) -> None:
        """Every PBX's link, until cancelled. Each keeps itself up; one failing does not stop the others
        (a link's run() only ends on cancellation or a bug, which then ends the lot, loudly)."""
        async with asyncio.TaskGroup() as group:
            for name, link in self.links.items():
                group.create_task(link.run(), name=f"pbx-link-{name}")

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 - a bound for start-up
        """Every PBX carries calls. All of them, not any: start-up reconciliation closes the open
        calls a PBX no longer has, which must not be decided for a PBX not heard from yet."""
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(link.wait_connected(timeout) for link in self.links.values()))

    def health(self) -> LinkHealth:
        """Up while any PBX carries calls (a load balancer must not pull the router for one PBX
        down); the reason names each PBX's state, the counters are `<pbx>.<counter>` and `<pbx>.up`."""
        parts: list[str] = []
        counters: dict[str, int] = {}
        up = 0
        for name, link in self.links.items():
            health = link.health()
            up += health.up
            parts.append(f"{name}: {'up' if health.up else 'DOWN'}, {health.reason}")
            counters[f"{name}.up"] = int(health.up)
            counters.update({f"{name}.{key}": value for key, value in health.counters.items()})
        summary = f"{up} of {len(self.links)} PBXs up"
        return LinkHealth(up > 0, f"{summary} ({'; '.join(parts)})", counters)

    def pbx_health(self) -> dict[str, LinkHealth]:
        """Each PBX's own health, by name (for a per-PBX view)."""
        return {name: link.health() for name, link in self.links.items()}

    @property
    def controls(self) -> frozenset[Control]:
        offered = [link.controls for link in self.links.values()]
        return frozenset.intersection(*offered)

    async def reconcile(
        self, open_calls: Sequence[OpenCall], known: frozenset[str], since: datetime
    ) -> list[Event]:
        """Each PBX reconciles its own open calls (by their ids' PBX)."""
        events: list[Event] = []
        for name, link in self.links.items():
            mine = [call for call in open_calls if self.pbx_of(call.call_id) == name]
            events += await link.reconcile(mine, known, since)
        return events

    # ------------------------------------------------------------------ the ACD's orders
    async def connect_call(self, call_id: str, agent_id: str, ring_timeout_s: float) -> None:
        await self._same_pbx(call_id, agent_id).connect_call(call_id, agent_id, ring_timeout_s)

    async def cancel_ring(self, call_id: str, agent_id: str) -> None:
        await self._for_call(call_id).cancel_ring(call_id, agent_id)

    async def hangup(self, call_id: str) -> None:
        await self._for_call(call_id).hangup(call_id)

    async def place_callback(self, call_id: str, agent_id: str, number: str) -> None:
        """The agent's PBX calls the agent, then the customer."""
        await self._for_agent(agent_id).place_callback(call_id, agent_id, number)

    async def reject(self, call_id: str, reason: str, destination: str | None) -> None:
        await self._for_call(call_id).reject(call_id, reason, destination)

    # ------------------------------------------------------------------ call controls
    async def answer(self, call_id: str, agent_id: str) -> None:
        await self._for_call(call_id).answer(call_id, agent_id)

    async def hold(self, call_id: str, agent_id: str) -> None:
        await self._for_call(call_id).hold(call_id, agent_id)

    async def unhold(self, call_id: str, agent_id: str) -> None:
        await self._for_call(call_id).unhold(call_id, agent_id)

    async def blind_transfer(self, call_id: str, target: str) -> None:
        await self._for_call(call_id).blind_transfer(call_id, target)

    async def attended_transfer(self, call_id: str, agent_id: str, target: str) -> None:
        await self._for_call(call_id).attended_transfer(call_id, agent_id, target)

    async def pause_recording(self, call_id: str) -> None:
        await self._for_call(call_id).pause_recording(call_id)

    async def resume_recording(self, call_id: str) -> None:
        await self._for_call(call_id).resume_recording(call_id)

    async def supervise(self, agent_id: str, supervisor: str, mode: SpyMode) -> None:
        """On the agent's PBX: the supervisor's phone must be reachable from it (its dialplan)."""
        try:
            link = self._for_agent(agent_id)
        except TelephonyError as exc:
            raise CallNotWaiting(f"agent {agent_id} is not on a call: {exc}") from exc
        await link.supervise(agent_id, supervisor, mode)


class MultiMembers:
    """MemberPort over each PBX's app_queue: an agent's sign-in, pauses and sign-out go to their PBX."""

    def __init__(self, link: MultiLink, members: Mapping[str, MemberPort]) -> None:
        self._link = link
        self._members = dict(members)

    def _port(self, agent_id: str) -> MemberPort:
        pbx = self._link.agent_pbx.get(agent_id)
        port = self._members.get(pbx) if pbx is not None else None
        if port is None:
            raise TelephonyError(f"agent {agent_id} is on no configured PBX")
        return port

    async def sign_in(
        self, agent_id: str, queues: Mapping[str, int], *, paused: bool = False, reason: str = ""
    ) -> None:
        await self._port(agent_id).sign_in(agent_id, queues, paused=paused, reason=reason)

    async def sign_out(self, agent_id: str, queues: Collection[str]) -> None:
        await self._port(agent_id).sign_out(agent_id, queues)

    async def pause(self, agent_id: str, reason: str) -> None:
        await self._port(agent_id).pause(agent_id, reason)

    async def unpause(self, agent_id: str) -> None:
        await self._port(agent_id).unpause(agent_id)
