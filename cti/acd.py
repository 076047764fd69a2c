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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.exc import SQLAlchemyError

from cti.agent_store import AgentSignInStore, SignIn
from cti.telephony import CallNotWaiting, LinkDown, LinkHealth, MemberPort, Telephony, TelephonyError
from routing import Router
from routing.agent_state import WRAPUP_HOLD_REASON, AgentState
from routing.commands import (
    Command,
    ConnectRefused,
    LoginAgent,
    LogoutAgent,
    OfferCall,
    PauseAgent,
    SetAgentReady,
    SetTelephonyUp,
)
from routing.config import RouterConfig
from routing.decisions import AgentStateChanged, CancelRing, ConnectCall, Decision, PlaceCallback, RejectCall
from routing.errors import RoutingError
from routing.events import AgentEvent, AgentEventKind, CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)

_PBX_MEMBERSHIP = frozenset(
    {AgentEventKind.JOINED_QUEUE, AgentEventKind.LEFT_QUEUE, AgentEventKind.PAUSED, AgentEventKind.UNPAUSED}
)

LINK_POLL_S = 0.25  # control mode, link down: how often the timer loop looks whether it is back


@runtime_checkable
class _WithHealth(Protocol):
    def health(self) -> LinkHealth: ...


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
        members: MemberPort | None = None,
        sign_ins: AgentSignInStore | None = None,
    ) -> None:
        """`members`: observe mode, the PBX's app_queue told of sign-in, sign-out and pauses.
        `sign_ins`: control mode, where agents' sign-ins and pauses are kept across a restart or a
        takeover (cti.agent_store); observe mode ignores it (the PBX's members are the truth)."""
        self.sign_ins = sign_ins if control else None
        self._kept: dict[str, SignIn | None] = {}  # what the store holds, as last written or read
        self.router = router
        self.members = members
        self.member_failures = 0  # orders app_queue refused (the router's state stands; logged)
        self.telephony = telephony
        self.control = control
        self.clock = clock
        self._enrich = enrich
        self._listeners = list(listeners)
        self._wake = asyncio.Event()
        self._unknown_queues: set[str] = set()  # PBX queues not configured, already warned of

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
            isinstance(event, CallEvent)
            and event.kind is CallEventKind.OFFERED
            and event.queue
            and not self.router.has_queue(event.queue)
        ):  # the router counts and skips it (ignored_events "unknown-queue"); said once per queue
            self._warn_unknown_queue(event.queue)
            await self._apply(self.router.on_event(event, self.clock()))
            return
        if (
            self.control
            and isinstance(event, CallEvent)
            and event.kind is CallEventKind.OFFERED
            and self._enrich is not None
        ):
            offer = await self._enrich(event)
            if offer is not None:
                if offer.ivr_choice is None and event.ivr_choice is not None:
                    offer = replace(offer, ivr_choice=event.ivr_choice)  # its skills: the router's config
                await self.command(offer)
                return
        await self._apply(self.router.on_event(event, self.clock()))
        if isinstance(event, AgentEvent):
            await self._release_stale_hold(event)

    def expect(self, event: Event) -> None:
        """The bus's publish observer: an offered call's place in arrival order is taken as the
        fact is published, before the desk's intake delays it on its own shard (Router.expect_offer)."""
        if isinstance(event, CallEvent) and event.kind is CallEventKind.OFFERED and event.queue:
            self.router.expect_offer(event.call_id, event.queue, event.at.timestamp())

    def _warn_unknown_queue(self, queue: str) -> None:
        if queue in self._unknown_queues:
            return
        self._unknown_queues.add(queue)
        log.warning(
            "PBX queue %r is not in the call-center file: Hotline neither routes nor reports its calls"
            " (counted as ignored_events unknown-queue). Add queue %r to the call-center file, or send"
            " these calls to a configured queue. Said once per queue.",
            queue,
            queue,
        )

    async def command(self, command: Command) -> None:
        """An order from a person or a service. Raises routing's InvalidTransition when illegal.

        Observe mode: once the router took a sign-in, sign-out, pause or ready, the PBX's
        app_queue is told too (`members`), so it does not ring an agent Hotline shows paused
        (or signed out) and does ring one who is ready again.
        """
        tell = self._member_order(command)
        await self._apply(self.router.on_command(command, self.clock()))
        if tell is not None:
            await tell()

    async def reconfigure(self, config: RouterConfig) -> None:
        """A changed configuration, applied to the running router (routing.Router.reconfigure); the
        decisions it enables (a waiting call an agent now qualifies for) are carried out.
        Raises routing's ConfigError, changing nothing, when the router refuses it."""
        await self._apply(self.router.reconfigure(config, self.clock()))
        self._unknown_queues.clear()  # a queue added, then removed again, is warned of again
        self._wake.set()

    def _member_order(self, command: Command) -> Callable[[], Awaitable[None]] | None:
        """What app_queue must hear after `command`, from the agent's state before it."""
        members = self.members
        if members is None or self.control:
            return None
        match command:
            case LoginAgent(agent_id=agent_id, paused=paused, reason=reason):

                async def tell() -> None:
                    queues = self.router.agent_queues(agent_id)
                    await self._tell(members.sign_in(agent_id, queues, paused=paused, reason=reason or ""))

            case LogoutAgent(agent_id=agent_id):
                queues = list(self.router.agent_queues(agent_id))

                async def tell() -> None:
                    await self._tell(members.sign_out(agent_id, queues))

            case PauseAgent(agent_id=agent_id, reason=reason):

                async def tell() -> None:
                    await self._tell(members.pause(agent_id, reason))

            case SetAgentReady(agent_id=agent_id) if self.router.agent_state(agent_id) is AgentState.PAUSED:

                async def tell() -> None:
                    await self._tell(members.unpause(agent_id))

            case _:
                return None
        return tell

    async def tell_members_again(self) -> None:
        """Observe mode, after a restart of the PBX (it forgot pauses and QueueAdd'ed members):
        every signed-in agent's membership and pause told to app_queue again, as at sign-in
        (paused with their reason, or WRAPUP_HOLD_REASON while in wrap-up)."""
        members = self.members
        if members is None or self.control:
            return
        snapshot = self.router.snapshot(self.clock())
        for agent_id in [agent.id for agent in self.router.config.agents]:
            state = self.router.agent_state(agent_id)
            if state is AgentState.LOGGED_OUT:
                continue
            view = snapshot.agent(agent_id)
            paused = state in (AgentState.PAUSED, AgentState.WRAP_UP)
            reason = (view.reason or "break") if state is AgentState.PAUSED else WRAPUP_HOLD_REASON
            queues = self.router.agent_queues(agent_id)
            await self._tell(
                members.sign_in(agent_id, queues, paused=paused, reason=reason if paused else "")
            )

    async def _hold_wrapup(self, change: AgentStateChanged) -> None:
        """Observe mode: app_queue rings whoever it sees free once its own `wrapuptime` is over.
        While Hotline has the agent in wrap-up (ended by the agent's "Done"), the member is paused
        on the PBX (reason WRAPUP_HOLD_REASON) and unpaused when wrap-up ends in Available. Between
        app_queue's AgentComplete and this QueuePause only a few milliseconds pass; queues.conf's
        `wrapuptime` (a few seconds) covers them."""
        members = self.members
        if members is None or self.control:
            return
        if change.state is AgentState.WRAP_UP:
            await self._tell(members.pause(change.agent_id, WRAPUP_HOLD_REASON))
        elif change.previous is AgentState.WRAP_UP and change.state is AgentState.AVAILABLE:
            await self._tell(members.unpause(change.agent_id))

    async def _release_stale_hold(self, event: AgentEvent) -> None:
        """Observe mode: a member paused with our wrap-up hold while the router has the agent
        available is a hold nobody will lift (Hotline restarted during the wrap-up: the resync's
        QueueMember says paused, the router ignores its own reason and signs the agent in
        available), and app_queue would never ring them again. Lifted here. While a wrap-up is
        in progress (the hold's own echo) the router's state is WRAP_UP and nothing is sent."""
        members = self.members
        if (
            members is None
            or self.control
            or event.kind is not AgentEventKind.PAUSED
            or event.detail != WRAPUP_HOLD_REASON
            or event.agent is None
        ):
            return
        try:
            state = self.router.agent_state(event.agent)
        except RoutingError:  # not an agent of ours (counted by the router as unknown-agent)
            return
        if state is AgentState.AVAILABLE:
            log.info("agent %s: app_queue holds them for a wrap-up that is over: unpaused", event.agent)
            await self._tell(members.unpause(event.agent))

    async def _keep(self, agent_id: str) -> None:
        """Control mode: write the agent's sign-in (queues, pause) when it differs from what the
        store holds (queues, pause, wrap-up); ringing and on a call change nothing kept and write
        nothing. A failed write is logged and retried at the agent's next change; a deposed
        router's commit raises Deposed (cluster.fence_db), which is not caught here."""
        assert self.sign_ins is not None
        state = self.router.agent_state(agent_id)
        kept = (
            None
            if state is AgentState.LOGGED_OUT
            else SignIn(
                tuple(sorted(self.router.agent_queues(agent_id).items())),
                state is AgentState.PAUSED,
                self._reason(agent_id) if state is AgentState.PAUSED else None,
                self.router.agent_wrapup(agent_id),
            )
        )
        if agent_id in self._kept and self._kept[agent_id] == kept:
            return
        try:
            await self.sign_ins.save(agent_id, kept)
        except SQLAlchemyError as exc:
            self._kept.pop(agent_id, None)
            log.warning("agent %s: sign-in not kept (written at its next change): %s", agent_id, exc)
            return
        self._kept[agent_id] = kept

    def _reason(self, agent_id: str) -> str | None:
        for agent in self.router.snapshot(self.clock()).agents:
            if agent.agent_id == agent_id:
                return agent.reason
        return None

    async def restore_sign_ins(self) -> int:
        """Control mode, at start-up after the PBX's resync: sign the kept agents back in to their
        queues, paused with their reason where they were. Returns how many. An agent the router
        no longer knows, or a queue gone from the configuration, is logged and left out (its row
        stays until the agent next signs in or out); one signed in meanwhile keeps its state."""
        if self.sign_ins is None:
            return 0
        kept = await self.sign_ins.load()
        self._kept.update(kept)
        restored = 0
        for agent_id, sign_in in kept.items():
            try:
                if self.router.agent_state(agent_id) is not AgentState.LOGGED_OUT:
                    continue
                since, queue, call = sign_in.wrapup or (None, None, None)
                await self.command(
                    LoginAgent(
                        agent_id,
                        dict(sign_in.queues),
                        paused=sign_in.paused,
                        reason=sign_in.reason,
                        wrapup_since=since,
                        wrapup_queue=queue,
                        wrapup_call=call,
                    )
                )
            except RoutingError as exc:
                log.warning("agent %s: kept sign-in not restored: %s", agent_id, exc)
                continue
            restored += 1
        return restored

    async def _tell(self, order: Awaitable[None]) -> None:
        try:
            await order
        except TelephonyError as exc:
            self.member_failures += 1
            log.warning("app_queue did not take an agent order (Hotline's state stands): %s", exc)

    async def run(self) -> None:
        """Fire the router's timers (ring timeout, wrap-up end, overflow) until cancelled.

        Control mode, while the link is down (a ConnectCall came back LinkDown): also look
        every LINK_POLL_S whether it is back, and then let the router offer the waiting calls.
        """
        while True:
            deadline = self.router.next_deadline()
            self._wake.clear()
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            if not self.router.telephony_up:
                timeout = LINK_POLL_S if timeout is None else min(timeout, LINK_POLL_S)
            # asyncio.timeout, not wait_for: on Python 3.11 a cancellation that lands as the wake
            # fires is lost in wait_for (CPython gh-86296), the loop goes on and the TaskGroup
            # stopping the process waits for it for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            if not self.router.telephony_up and self._link_is_up():
                log.info("telephony link is back: offering the waiting calls")
                await self.command(SetTelephonyUp(True))
            await self.tick()

    def _link_is_up(self) -> bool:
        telephony = self.telephony
        return not isinstance(telephony, _WithHealth) or telephony.health().up

    async def tick(self) -> None:
        await self._apply(self.router.tick(self.clock()))

    async def _apply(self, decisions: Sequence[Decision]) -> None:
        self._wake.set()  # deadlines may have moved
        for decision in decisions:
            if self.control and self.telephony is not None:
                await self._execute(decision)
            elif isinstance(decision, AgentStateChanged):
                await self._hold_wrapup(decision)
            if isinstance(decision, AgentStateChanged) and self.sign_ins is not None:
                await self._keep(decision.agent_id)
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
        except LinkDown as exc:
            # Not a no-answer: nobody was rung. The agent stays available, the call keeps its
            # place, and nothing is offered until the link is back (run() looks).
            log.warning("telephony link down, %r not carried out: %s", decision, exc)
            if isinstance(decision, ConnectCall):
                await self._apply(self.router.on_command(SetTelephonyUp(False), self.clock()))
                await self._apply(
                    self.router.on_command(
                        ConnectRefused(decision.call_id, decision.agent_id, "pbx link down"), self.clock()
                    )
                )
                self._wake.set()
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
