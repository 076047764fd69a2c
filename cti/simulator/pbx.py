"""The simulated PBX: an AMI server on loopback and the call flows behind it, put together.

    ami_server.AmiServer   TCP, banner, login, action dispatch, events out
    actions.PbxActions     what each AMI action does
    core.PbxCore           channels, bridges, DTMF, MixMonitor: the events Asterisk raises
    control.ControlCall    control mode: [hotline-control] / [hotline-connect]
    observe.QueueCall      observe mode: app_queue

Structured concurrency: `run()` owns one TaskGroup holding the TCP server, every
client session and every call in progress; cancelling `run()` ends them all.
Times in the dialplan (ring, talk) are divided by `speed`, so tests run a 14 s
call in a fraction of a second while the event order stays the real one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cti.simulator.actions import PbxActions
from cti.simulator.ami_server import AmiServer
from cti.simulator.cdr import CdrWriter
from cti.simulator.channels import Channel
from cti.simulator.core import AgentBehaviour, PbxCore
from cti.simulator.dialect import DEFAULT_VERSION, Dialect
from cti.simulator.queues import SimQueue

log = logging.getLogger(__name__)


class SimulatedPbx:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "hotline",
        secret: str = "hotline-secret",
        agents: dict[str, AgentBehaviour] | None = None,
        speed: float = 1.0,
        recordings_dir: Path | None = None,
        queues: list[SimQueue] | None = None,
        cdr_file: Path | None = None,
        asterisk_version: str = DEFAULT_VERSION,
    ) -> None:
        """`cdr_file`: a cdr_csv line per channel is appended there (as Asterisk writes Master.csv).
        `asterisk_version`: the Asterisk whose AMI dialect is spoken (cti.simulator.dialect)."""
        self.dialect = Dialect(asterisk_version)
        self.core = PbxCore(
            emit=self._emit,
            agents=agents,
            speed=speed,
            recordings_dir=recordings_dir,
            queues=queues,
            cdr=CdrWriter(cdr_file) if cdr_file is not None else None,
        )
        self.server = AmiServer(
            host=host,
            port=port,
            username=username,
            secret=secret,
            actions=PbxActions(self.core).table(),
            booted_at=self.core.epoch,
            dialect=self.dialect,
        )
        self._ready = asyncio.Event()

    def _emit(self, event: str, fields: dict[str, str]) -> None:
        self.server.emit(event, fields)

    # ----------------------------------------------------------------- lifecycle
    async def run(self) -> None:
        """Serve until cancelled."""
        try:
            async with asyncio.TaskGroup() as group:
                self.core.group = group
                # Sessions and calls are tasks of this group: they end with the PBX.
                server = await self.server.start(self.core.spawn)
                self._ready.set()
                log.info("simulated PBX: AMI on %s:%d", self.server.host, self.port)
                try:
                    async with server:
                        await asyncio.Future()  # until cancelled
                finally:
                    self.drop_connections()
        finally:
            self.core.monitors.close_all()  # calls cut by the stop: their files are closed, not leaked

    async def wait_ready(self) -> None:
        await self._ready.wait()

    # ------------------------------------------------------------ what tests use
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def username(self) -> str:
        return self.server.username

    @username.setter
    def username(self, value: str) -> None:
        """A different AMI account: Hotline's logins are refused from now on (a PBX that is away)."""
        self.server.username = value

    @property
    def actions_received(self) -> list[dict[str, str]]:
        return self.server.actions_received

    @property
    def channels(self) -> dict[str, Channel]:
        return self.core.channels

    def drop_connections(self) -> None:
        """Cut every AMI link (as a network failure would); calls go on."""
        self.server.drop_connections()

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are to every logged-in client (to test clients against bad input)."""
        self.server.send_raw(data)

    def after_action(self, action: str, then: Callable[[], None]) -> None:
        """Run `then()` once, right after the PBX answers the next `action` (AmiServer.after_action)."""
        self.server.after_action(action, then)

    def before_action(self, action: str, first: Callable[[], Awaitable[None]]) -> None:
        """Await `first()` once before the PBX carries out the next `action` (AmiServer.before_action)."""
        self.server.before_action(action, first)

    def pause_member(self, interface: str, paused: bool, reason: str = "") -> None:
        """A member is paused or unpaused outside Hotline (a phone's feature code, the CLI): the
        QueueMemberPause of each of its queues, as the QueuePause action gives."""
        for queue in self.core.queues.values():
            member = queue.member(interface)
            if member is None:
                continue
            member.paused, member.reason = paused, reason if paused else ""
            if paused:
                member.last_pause = int(time.time())
            self.core.send_event("QueueMemberPause", "agent,all", member.fields(queue.name))

    def set_device_state(self, device: str, state: str) -> None:
        """A phone changes state outside Hotline's calls (see PbxCore.set_device_state)."""
        self.core.set_device_state(device, state)


__all__ = ["AgentBehaviour", "SimulatedPbx"]
