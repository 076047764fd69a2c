"""Presence: an agent is offered calls only while someone is really at their console.

- Signing out logs the agent off every queue at once.
- When the last console websocket of an agent is gone (page closed, browser killed, network cut)
  for `grace_s` (HOTLINE_PRESENCE_GRACE_S, 30 s), the agent is logged off; a reload or a short
  network blip reconnects within the grace and changes nothing.
- A call ringing an agent whose last console just went is not left ringing until the ring
  timeout: the agent is logged off at once, so the router offers the call to the next agent.
- An agent on a call stays on it: the log-off happens when the call ends (wrap-up or after).
- Observe mode: Asterisk's app_queue offers the calls; the log-off (LogoutAgent) reaches it through
  the ACD (cti.ami.members: QueueRemove of a dynamic member, QueuePause of a static one), and the
  console's log-in when it is back does the reverse.

Two tabs of one agent are one presence (counted sockets) and share the router's one state; signing
out in one ends the session of both (agent_ui.auth closes its sockets).

The timers run in `run()`, a task of the container's TaskGroup, on the injected clock.

A web worker (`--role web`) counts its own consoles' sockets and runs these timers too, but its
ACD holds no state (agent_ui.web_acd): the agent's state is the router's, asked over the command
channel (`state_of`), and the log-off goes there as an order. A router that does not answer
leaves the state unknown: the log-off is tried again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from cti.acd import AcdService
from routing.agent_state import AgentState
from routing.commands import LogoutAgent
from routing.errors import RoutingError

log = logging.getLogger(__name__)

RETRY_ON_CALL_S = 1.0  # an agent on a call is logged off once it ends: look again this often
# The agent's state as the router has it (None: unknown, the router did not answer).
StateOf = Callable[[str], Awaitable[AgentState | None]]


class Presence:
    def __init__(
        self,
        acd: AcdService,
        *,
        grace_s: float,
        clock: Callable[[], float],
        state_of: StateOf | None = None,
    ) -> None:
        """`state_of`: where the agent's state is read (default: `acd`'s router, in this process)."""
        self._acd = acd
        self._state_of = state_of
        self.grace_s = grace_s
        self._clock = clock
        self._open: Counter[str] = Counter()  # agent -> open console websockets (tabs)
        self._due: dict[str, tuple[float, str]] = {}  # agent -> (when to log off, why)
        self._wake = asyncio.Event()

    async def _state(self, agent_id: str) -> AgentState | None:
        if self._state_of is None:
            return self._acd.router.agent_state(agent_id)
        return await self._state_of(agent_id)

    def consoles(self, agent_id: str) -> int:
        return self._open[agent_id]

    def agents(self) -> list[str]:
        """The agents with at least one console open here (a web worker's presence beat)."""
        return [agent for agent, count in self._open.items() if count > 0]

    def pending(self, agent_id: str) -> float | None:
        """When the agent will be logged off for want of a console (None: not scheduled)."""
        due = self._due.get(agent_id)
        return due[0] if due else None

    async def connected(self, agent_id: str) -> None:
        """A console websocket of the agent opened (before the console logs the agent in)."""
        self._open[agent_id] += 1
        self._due.pop(agent_id, None)

    async def disconnected(self, agent_id: str) -> None:
        """A console websocket closed. The last one: log off after the grace (at once if ringing)."""
        self._open[agent_id] -= 1
        if self._open[agent_id] > 0:
            return
        del self._open[agent_id]
        state = await self._state(agent_id)
        if state is AgentState.LOGGED_OUT:
            return
        if state is AgentState.RESERVED or self.grace_s <= 0:
            await self.log_off(agent_id, "console-gone")  # the ringing call goes to the next agent now
            return
        self._due[agent_id] = (self._clock() + self.grace_s, "console-gone")
        self._wake.set()

    async def signed_out(self, agent_id: str) -> None:
        self._due.pop(agent_id, None)
        await self.log_off(agent_id, "signed-out")

    async def log_off(self, agent_id: str, reason: str) -> None:
        """Off every queue (in observe mode the ACD tells app_queue too). On a call: after it."""
        state = await self._state(agent_id)
        if state is None or state is AgentState.ON_CALL:  # unknown (no router answered), or on a call
            self._due[agent_id] = (self._clock() + RETRY_ON_CALL_S, reason)
            self._wake.set()
            return
        if state is not AgentState.LOGGED_OUT:
            try:
                await self._acd.command(LogoutAgent(agent_id=agent_id, reason=reason))
            except RoutingError as exc:  # the state moved meanwhile (a call was answered): later
                log.info("agent %s not logged off yet: %s", agent_id, exc)
                self._due[agent_id] = (self._clock() + RETRY_ON_CALL_S, reason)
                self._wake.set()

    async def run(self) -> None:
        """Log off agents whose grace ran out, until cancelled."""
        while True:
            now = self._clock()
            for agent_id, (when, reason) in list(self._due.items()):
                if when <= now and self._open[agent_id] == 0:
                    del self._due[agent_id]
                    await self.log_off(agent_id, reason)
            self._wake.clear()
            nearest = min((when for when, _ in self._due.values()), default=None)
            timeout = None if nearest is None else max(0.0, nearest - self._clock())
            with contextlib.suppress(TimeoutError):  # not wait_for: see cti.acd.AcdService.run
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
