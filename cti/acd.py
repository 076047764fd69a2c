"""The ACD service: feeds the pure router, executes its decisions, drives its timers.

`routing.Router` decides; this class is the I/O around it. It is a bus handler
(`handle`), takes agent commands from the console (`command`), and runs a timer
loop (`run`) that calls `router.tick()` at the router's next deadline. The clock
is injected so tests use virtual time.

Telephony failures do not crash the loop: a call that cannot be connected is
handed back to the router as a ring-no-answer, so it is offered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from cti.telephony import CallNotWaiting, Telephony, TelephonyError
from routing import Router
from routing.commands import Command, OfferCall
from routing.decisions import CancelRing, ConnectCall, Decision, PlaceCallback, RejectCall
from routing.events import AgentEvent, AgentEventKind, CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)

_PBX_MEMBERSHIP = frozenset(
    {AgentEventKind.JOINED_QUEUE, AgentEventKind.LEFT_QUEUE, AgentEventKind.PAUSED, AgentEventKind.UNPAUSED}
)

Listener = Callable[[Decision], Awaitable[None]]
"""Told every decision the router makes (the console's pushes, the wallboard's refresh)."""
Enricher = Callable[[CallEvent], Awaitable[OfferCall | None]]
"""The OfferCall for an offered call, with what the service desk knows of the caller."""


class AcdService:
    def __init__(
        self,
        router: Router,
        telephony: Telephony | None,
        *,
        control: bool,
        clock: Callable[[], float] = time.time,
        enrich: Enricher | None = None,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.router = router
        self.telephony = telephony
        self.control = control
        self.clock = clock
        self._enrich = enrich
        self._listeners = list(listeners)
        self._wake = asyncio.Event()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def handle(self, event: Event) -> None:
        """Bus handler: CallEvents and AgentEvents go through the router.

        In control mode Hotline's own sign-in decides who takes calls: the PBX's
        app_queue membership and pauses (QueueMember* after a resync, say) are
        not the agent's state and would log agents in behind their back.
        """
        if self.control and isinstance(event, AgentEvent) and event.kind in _PBX_MEMBERSHIP:
            return
        if (
            self.control
            and isinstance(event, CallEvent)
            and event.kind is CallEventKind.OFFERED
            and self._enrich is not None
        ):
            offer = await self._enrich(event)
            if offer is not None:
                await self.command(offer)
                return
        await self._apply(self.router.on_event(event, self.clock()))

    async def command(self, command: Command) -> None:
        """An order from a person or a service. Raises routing's InvalidTransition when illegal."""
        await self._apply(self.router.on_command(command, self.clock()))

    async def run(self) -> None:
        """Fire the router's timers (ring timeout, wrap-up end, overflow) until cancelled."""
        while True:
            deadline = self.router.next_deadline()
            self._wake.clear()
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            await self.tick()

    async def tick(self) -> None:
        await self._apply(self.router.tick(self.clock()))

    async def _apply(self, decisions: Sequence[Decision]) -> None:
        self._wake.set()  # deadlines may have moved
        for decision in decisions:
            if self.control and self.telephony is not None:
                await self._execute(decision)
            for listener in self._listeners:
                try:
                    await listener(decision)
                except Exception:
                    log.exception("decision listener failed on %r", decision)

    async def _execute(self, decision: Decision) -> None:
        assert self.telephony is not None
        try:
            match decision:
                case ConnectCall(call_id=call_id, agent_id=agent_id, ring_timeout_s=timeout):
                    await self.telephony.connect_call(call_id, agent_id, timeout)
                case CancelRing(call_id=call_id, agent_id=agent_id):
                    await self.telephony.cancel_ring(call_id, agent_id)
                case PlaceCallback(call_id=call_id, agent_id=agent_id, number=number):
                    await self.telephony.place_callback(call_id, agent_id, number)
                case RejectCall(call_id=call_id, reason=reason, destination=destination):
                    await self.telephony.reject(call_id, reason, destination)
                case _:
                    return
        except CallNotWaiting as exc:
            log.info("not carried out, the call moved on: %r: %s", decision, exc)
        except TelephonyError as exc:
            log.warning("telephony refused %r: %s", decision, exc)
            if isinstance(decision, ConnectCall):
                await self._apply(
                    self.router.on_event(
                        CallEvent(
                            call_id=decision.call_id,
                            kind=CallEventKind.RING_NO_ANSWER,
                            at=datetime.now(UTC),
                            event_id=f"acd:connect-failed:{decision.call_id}:{decision.agent_id}:{self.clock()}",
                            source="acd",
                            agent=decision.agent_id,
                            queue=decision.queue,
                            detail=f"connect failed: {exc}",
                        ),
                        self.clock(),
                    )
                )
