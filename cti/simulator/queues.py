"""Queues and members of the simulated PBX: what Asterisk's app_queue keeps (observe mode).

Member state and the fields of QueueMember* events follow the recorded traces
(tests/fixtures/ami/05-pause-add-remove.ami, 06-resync-status.ami).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# app_queue device status codes (AST_DEVICE_*): 1 not in use, 2 in use, 6 ringing.
NOT_IN_USE, IN_USE, RINGING = 1, 2, 6


@dataclass
class SimMember:
    interface: str  # e.g. Local/1001@agents/n
    name: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    membership: str = "static"
    ringinuse: bool = False  # queues.conf `ringinuse = no`; QueueMemberRingInUse changes it
    status: int = NOT_IN_USE
    in_call: bool = False  # connected to a caller (InCall), not merely ringing
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = field(default_factory=lambda: int(time.time()))
    wrapup_until: float = 0.0

    @property
    def agent(self) -> str:
        """`Local/1001@agents/n` → `1001` (the sample dialplan's agent extension)."""
        return self.interface.split("/", 1)[-1].split("@", 1)[0]

    def fields(self, queue: str, *, location_key: str = "Interface") -> dict[str, str]:
        name_key = "Name" if location_key == "Location" else "MemberName"
        return {
            "Queue": queue,
            name_key: self.name,
            location_key: self.interface,
            "StateInterface": self.interface,
            "Membership": self.membership,
            "Penalty": str(self.penalty),
            "CallsTaken": str(self.calls_taken),
            "LastCall": str(self.last_call),
            "LastPause": str(self.last_pause),
            "LoginTime": str(self.login_time),
            "InCall": "1" if self.in_call else "0",
            "Status": str(self.status),
            "Paused": "1" if self.paused else "0",
            "PausedReason": self.reason,
            **({"Ringinuse": "1" if self.ringinuse else "0"} if location_key == "Interface" else {}),
            "Wrapuptime": "0",
        }


@dataclass
class SimQueue:
    name: str
    strategy: str = "rrmemory"  # rrmemory | linear | ringall
    timeout_s: float = 8.0  # how long one member rings
    wrapup_s: float = 2.0
    members: list[SimMember] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # caller channel names, in order
    completed: int = 0
    abandoned: int = 0
    _next: int = 0

    def member(self, interface: str) -> SimMember | None:
        return next((m for m in self.members if m.interface == interface), None)

    def available(self, now: float, busy: set[str]) -> list[SimMember]:
        """Members free to ring now, in strategy order (rrmemory remembers where it stopped)."""
        free = [
            m
            for m in self.members
            if not m.paused
            and (m.status == NOT_IN_USE or m.ringinuse)
            and m.wrapup_until <= now
            and m.interface not in busy
        ]
        if not free:
            return []
        if self.strategy == "rrmemory":
            order = self.members[self._next :] + self.members[: self._next]
            free = [m for m in order if m in free]
        return free

    def remember(self, member: SimMember) -> None:
        if self.strategy == "rrmemory" and member in self.members:
            self._next = (self.members.index(member) + 1) % len(self.members)

    def params(self) -> dict[str, str]:
        return {
            "Queue": self.name,
            "Max": "0",
            "Strategy": self.strategy,
            "Calls": str(len(self.waiting)),
            "Holdtime": "0",
            "TalkTime": "0",
            "Completed": str(self.completed),
            "Abandoned": str(self.abandoned),
            "ServiceLevel": "30",
            "ServicelevelPerf": "0.0",
            "ServicelevelPerf2": "0.0",
            "Weight": "0",
        }
