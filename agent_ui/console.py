"""The agent console's live side: screen pops, agent state, console commands.

It listens to the bus (CallEvents) and to the ACD's decisions, and pushes to the
right agent only, through the hub. The pop is sent when the agent's phone rings
(RINGING), with the customer card and ticket the service desk prepared when the
call was offered, so the agent sees who calls before answering.

It also remembers which calls were popped to which agent: the console's REST
endpoints (agent_ui.api.console) let an agent act only on their own calls.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.encoders import jsonable_encoder

from agent_ui.errors import ApiError
from agent_ui.hub import PushHub
from cluster.commands import RouterUnreachable
from cti.acd import AcdService
from routing.agent_state import AgentState
from routing.commands import Command, LoginAgent, LogoutAgent, PauseAgent, SetAgentReady
from routing.decisions import AgentStateChanged, CallQueued, Decision, PendingPauseChanged
from routing.errors import InvalidTransition, RoutingError
from routing.events import CallEvent, CallEventKind, Event
from tickets.schemas import CallContext

ContextOf = Callable[[str], CallContext | None]
# The router's greeting for an agent (cluster.commands.RedisRouterCommands.agent_hello): on a
# web worker, whose own ACD memory is empty. Raises cluster.commands.RouterUnreachable.
AskRouter = Callable[[str], Awaitable[dict[str, Any]]]
# The last messages of each of these hub channels, oldest first (cluster.redis_hub.RedisHub.recent).
Recent = Callable[[list[str], int], Awaitable[dict[str, list[dict[str, Any]]]]]


class _Keep(enum.Enum):
    KEEP = "keep"  # update_pop: leave the chosen customer as it is


log = logging.getLogger(__name__)

_RECENT = 10_000
_CALLS_PER_AGENT = 50

PAUSE_REASONS = ("break", "lunch", "training", "meeting", "paperwork")
WRAPUP_CODES = ("resolved", "information", "follow_up", "complaint", "wrong_number", "other")

# What happens to a popped call that the console shows (besides the pop itself).
_CALL_UPDATES = frozenset(
    {
        CallEventKind.ANSWERED,
        CallEventKind.HELD,
        CallEventKind.UNHELD,
        CallEventKind.TRANSFERRED,
        CallEventKind.RECORDING_PAUSED,
        CallEventKind.RECORDING_RESUMED,
        CallEventKind.AGENT_COMPLETED,
        CallEventKind.RING_NO_ANSWER,
        CallEventKind.HUNG_UP,
    }
)


class ConsoleService:
    def __init__(
        self,
        hub: PushHub,
        acd: AcdService,
        agent_ids: set[str],
        context_of: ContextOf,
    ) -> None:
        self.hub = hub
        self.acd = acd
        self.epoch = uuid.uuid4().hex[:12]  # names this process's sequence numbers (see ws.py)
        self._agents = agent_ids
        self._context_of = context_of
        self._popped: OrderedDict[str, None] = OrderedDict()  # event ids already pushed
        self._active_pop: dict[str, dict[str, Any]] = {}  # agent -> pop of the call in progress
        self._calls: dict[str, OrderedDict[str, None]] = {}  # agent -> calls popped to them
        self.ask_router: AskRouter | None = None  # --role web: the router holds the live state

    async def restore(self, recent: Recent) -> int:
        """A new leader: the pops the one before sent, read back from the agents' channels
        (cluster.redis_hub keeps each channel's last messages), oldest first. A call the PBX's
        resync then finds connected to its agent is not popped a second time, the agent's own-call
        check knows it, and a console's greeting shows the pop in progress. A pop the old leader
        never got out to Redis is not there: that call is popped again (`handle`). Returns the
        agents with a pop in progress."""
        agents = sorted(self._agents)
        channels = await recent([f"agent:{a}" for a in agents], _CALLS_PER_AGENT)
        for agent in agents:
            active: dict[str, Any] | None = None
            for message in channels.get(f"agent:{agent}", ()):
                call_id = message.get("call_id")
                if message.get("type") == "pop" and isinstance(call_id, str):
                    active = {k: v for k, v in message.items() if k != "seq"}
                    self._calls.setdefault(agent, OrderedDict())[call_id] = None
                elif message.get("type") == "call" and active is not None and active["call_id"] == call_id:
                    active["status"] = message.get("event", active.get("status"))
                    if active["status"] == str(CallEventKind.RING_NO_ANSWER):
                        active = None  # rang elsewhere next: as `handle` forgets it
            calls = self._calls.get(agent)
            while calls is not None and len(calls) > _CALLS_PER_AGENT:
                calls.popitem(last=False)
            if active is not None:
                self._active_pop[agent] = active
        return len(self._active_pop)

    def set_agents(self, agent_ids: set[str]) -> None:
        """The call center's agents changed (an admin's edit)."""
        self._agents = agent_ids

    def knows_agent(self, agent_id: str) -> bool:
        return agent_id in self._agents

    def popped_to(self, agent_id: str, call_id: str) -> bool:
        """True if this call was popped on this agent's console (since start-up)."""
        return call_id in self._calls.get(agent_id, ())

    def active_pop(self, agent_id: str) -> dict[str, Any] | None:
        return self._active_pop.get(agent_id)

    # ------------------------------------------------------------ bus handler
    async def handle(self, event: Event) -> None:
        if not isinstance(event, CallEvent) or event.kind not in (_CALL_UPDATES | {CallEventKind.RINGING}):
            return
        if event.event_id in self._popped:
            return  # resent or replayed: the agent already has it
        self._remember(event.event_id)
        # Answered at an agent whose console has no pop of it: no ring was seen. The PBX connected
        # it while Hotline was reconnecting (detail "resync"), or it rang while a new leader took
        # over (its resync found the caller queued, the AgentConnect came next): a pop now.
        unpopped = (
            event.kind is CallEventKind.ANSWERED
            and event.agent is not None
            and (self._active_pop.get(event.agent) or {}).get("call_id") != event.call_id
        )
        if unpopped or (event.kind is CallEventKind.RINGING and event.agent is not None):
            assert event.agent is not None
            pop = self._pop(event)
            if unpopped:
                pop["status"] = str(CallEventKind.ANSWERED)
                pop["answered_while_reconnecting"] = True
            self._active_pop[event.agent] = pop
            calls = self._calls.setdefault(event.agent, OrderedDict())
            calls[event.call_id] = None
            if len(calls) > _CALLS_PER_AGENT:
                calls.popitem(last=False)
            self.hub.to_agent(event.agent, pop)
            return
        for agent in self._agents_of(event):
            active = self._active_pop.get(agent)
            if active is not None and active["call_id"] == event.call_id:
                active["status"] = str(event.kind)
                missed = event.kind is CallEventKind.RING_NO_ANSWER
                if missed or (event.kind is CallEventKind.HUNG_UP and active.get("wrapped")):
                    del self._active_pop[agent]  # else kept until wrap-up: a reload still shows it
            self.hub.to_agent(agent, self._call_update(event))

    def _agents_of(self, event: CallEvent) -> list[str]:
        """The agents whose console shows this call: the event's agent, else whoever has its pop."""
        if event.agent is not None and event.kind is not CallEventKind.HUNG_UP:
            return [event.agent]
        return [agent for agent, pop in self._active_pop.items() if pop["call_id"] == event.call_id]

    def _remember(self, event_id: str) -> None:
        self._popped[event_id] = None
        if len(self._popped) > _RECENT:
            self._popped.popitem(last=False)

    def _pop(self, event: CallEvent) -> dict[str, Any]:
        context = self._context_of(event.call_id)
        return {
            "type": "pop",
            "call_id": event.call_id,
            "caller": event.caller,
            "caller_name": event.caller_name,
            "queue": event.queue,
            "at": event.at.isoformat(),
            "status": "ringing",
            **self._card(context),
        }

    @staticmethod
    def _card(context: CallContext | None) -> dict[str, Any]:
        card: dict[str, Any] = jsonable_encoder(context) if context is not None else {}
        return {
            "customers": card.get("customers", []),
            "ticket_id": card.get("ticket_id"),
            "ticket_is_new": card.get("ticket_is_new"),
            "context": card,
        }

    def update_pop(
        self,
        agent_id: str,
        call_id: str,
        context: CallContext,
        chosen_customer_id: int | _Keep | None = _Keep.KEEP,
    ) -> dict[str, Any] | None:
        """The agent changed the call's customer or ticket: re-send the pop with the new card
        (and, when given, the customer they chose; None: no customer chosen any more)."""
        pop = self._active_pop.get(agent_id)
        if pop is None or pop["call_id"] != call_id:
            return None
        pop.update(self._card(context))
        if not isinstance(chosen_customer_id, _Keep):
            pop["chosen_customer_id"] = chosen_customer_id
        self.hub.to_agent(agent_id, pop)
        return pop

    def wrapped_up(self, agent_id: str, call_id: str) -> None:
        """Wrap-up recorded: the pop is done with once the call is over."""
        pop = self._active_pop.get(agent_id)
        if pop is None or pop["call_id"] != call_id:
            return
        if pop.get("status") in ("hung_up", "agent_completed", "ring_no_answer"):
            del self._active_pop[agent_id]
        else:
            pop["wrapped"] = True

    @staticmethod
    def _call_update(event: CallEvent) -> dict[str, Any]:
        return {
            "type": "call",
            "call_id": event.call_id,
            "event": str(event.kind),
            "at": event.at.isoformat(),
        }

    # ------------------------------------------------------- decision listener
    async def on_decision(self, decision: Decision) -> None:
        if isinstance(decision, AgentStateChanged):
            message = {
                "type": "state",
                "agent": decision.agent_id,
                "state": str(decision.state),
                "previous": str(decision.previous),
                "reason": decision.reason,
                "since": decision.at,
            }
            self.hub.to_agent(decision.agent_id, message)
            self.hub.to_supervisors(message)
        elif isinstance(decision, PendingPauseChanged):
            self.hub.to_agent(
                decision.agent_id,
                {"type": "pending_pause", "agent": decision.agent_id, "reason": decision.reason},
            )
        elif isinstance(decision, CallQueued):
            self.hub.to_supervisors(
                {
                    "type": "queued",
                    "call_id": decision.call_id,
                    "queue": decision.queue,
                    "position": decision.position,
                    "estimated_wait_s": decision.estimated_wait_s,
                }
            )

    # ------------------------------------------------------------ websocket side
    async def agent_connected(self, agent_id: str) -> None:
        """Opening the console signs the agent in to their queues (available)."""
        if self.acd.router.agent_state(agent_id) is AgentState.LOGGED_OUT:
            await self.acd.command(LoginAgent(agent_id=agent_id))

    async def greet(self, agent_id: str) -> dict[str, Any]:
        """A console connected: sign the agent in if they are signed out, and greet them with
        their state. On a web worker both come from the router (`ask_router`): it alone knows
        whether they are signed in (a second sign-in is refused) and paused, and what was popped
        to them. No router answering: the greeting says state "unknown", router_unreachable."""
        if self.ask_router is None:
            await self.agent_connected(agent_id)
            return self.agent_hello(agent_id)
        try:
            hello = await self.ask_router(agent_id)
            if hello.get("state") == str(AgentState.LOGGED_OUT):
                with contextlib.suppress(InvalidTransition):  # another console signed them in meanwhile
                    await self.acd.command(LoginAgent(agent_id=agent_id))
                hello = await self.ask_router(agent_id)
        except (RouterUnreachable, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status != 503:
                raise
            return {**self.agent_hello(agent_id), "state": "unknown", "router_unreachable": True}
        self._learn(agent_id, hello)
        return {key: value for key, value in hello.items() if key != "calls"} | {"epoch": self.epoch}

    async def router_hello(self, agent_id: str) -> dict[str, Any]:
        """The router's side of `greet` (cluster.commands' `query`): the greeting from its real
        ACD, and the calls popped to the agent, for the web worker's own-call check."""
        return {**self.agent_hello(agent_id), "calls": list(self._calls.get(agent_id, ()))}

    async def end_wrapup(self, agent_id: str) -> None:
        """The wrap-up form's "Done": end the agent's wrap-up if they are in it. Their state is
        the router's: on a web worker (whose own router holds no state) it is asked of the
        router, else "Done" never ended a wrap-up there. ApiError 409 when the router refuses,
        503 router_unreachable when it does not answer."""
        if self.ask_router is None:
            in_wrapup = self.acd.router.agent_state(agent_id) is AgentState.WRAP_UP
        else:
            try:
                hello = await self.ask_router(agent_id)
            except RouterUnreachable as exc:
                raise ApiError(
                    503, "router_unreachable", f"this web worker cannot reach the router ({exc}); try again"
                ) from exc
            in_wrapup = hello.get("state") == str(AgentState.WRAP_UP)
        if not in_wrapup:
            return
        try:
            await self.acd.command(SetAgentReady(agent_id=agent_id))
        except RoutingError as exc:  # the wrap-up timer ended it a moment ago: nothing to do
            raise ApiError(409, "invalid_transition", str(exc)) from exc

    async def popped_to_anywhere(self, agent_id: str, call_id: str) -> bool:
        """`popped_to`, asking the router when this process does not know (a web worker).
        Raises ApiError 503 router_unreachable when it does not answer."""
        if self.popped_to(agent_id, call_id):
            return True
        if self.ask_router is None:
            return False
        try:
            hello = await self.ask_router(agent_id)
        except RouterUnreachable as exc:
            raise ApiError(
                503, "router_unreachable", f"this web worker cannot reach the router ({exc}); try again"
            ) from exc
        self._learn(agent_id, hello)
        return self.popped_to(agent_id, call_id)

    def _learn(self, agent_id: str, hello: dict[str, Any]) -> None:
        """Remember what the router popped to the agent, as if this process had popped it."""
        calls = self._calls.setdefault(agent_id, OrderedDict())
        for call_id in hello.get("calls") or ():
            calls[str(call_id)] = None
        while len(calls) > _CALLS_PER_AGENT:
            calls.popitem(last=False)
        if hello.get("pop") is not None:
            self._active_pop[agent_id] = hello["pop"]

    def agent_hello(self, agent_id: str) -> dict[str, Any]:
        now = self.acd.clock()
        view = self.acd.router.snapshot(now).agent(agent_id)
        return {
            "type": "hello",
            "epoch": self.epoch,
            "agent": agent_id,
            "state": str(view.state),
            "since": view.since,
            "reason": view.reason,
            "pending_pause": view.pending_pause,
            "now": now,
            "pop": self._active_pop.get(agent_id),
        }

    async def agent_command(self, agent_id: str, message: dict[str, Any]) -> dict[str, Any] | None:
        kind = message["type"]
        command: Command
        if kind == "ready":
            command = SetAgentReady(agent_id=agent_id)
        elif kind == "pause":
            reason = message.get("reason") or "break"
            if not isinstance(reason, str) or len(reason) > 40:
                raise ValueError("pause reason must be a short text")
            command = PauseAgent(agent_id=agent_id, reason=reason)
        elif kind == "logout":
            command = LogoutAgent(agent_id=agent_id)
        elif kind == "login":
            command = LoginAgent(agent_id=agent_id)
        elif kind == "ping":
            return {"type": "pong"}
        else:
            raise ValueError(f"unknown command {kind!r}")
        try:
            await self.acd.command(command)
        except RoutingError as exc:
            return {"type": "error", "error_id": "invalid_transition", "message": str(exc)}
        return None
