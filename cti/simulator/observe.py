"""Observe mode: the simulated PBX routes the call itself, as Asterisk's app_queue does.

A caller originated into `Local/<queue>@hotline` joins the queue
(`QueueCallerJoin`); members are rung by the queue's strategy (`AgentCalled`,
`AgentRingNoAnswer` after the member timeout, then the next member); the one
who answers is connected (`AgentConnect`, bridge) and the call ends with
`AgentComplete`; a caller who hangs up while waiting abandons
(`QueueCallerAbandon`), and so does one whose Queue() timeout (`QTIMEOUT`)
expires. While connected, the call can be redirected or transferred blind or
attended to a second-level agent in `[level2]`. Order and fields follow the
real traces in tests/fixtures/ami/ (01-05, 07a-07f, 08).
"""

from __future__ import annotations

import asyncio
import time

from cti.ami.dialplan import AGENTS_CONTEXT, LEVEL2_CONTEXT, QUEUE_CONTEXT
from cti.simulator.channels import Channel, Handset, seconds_or
from cti.simulator.core import PbxCore
from cti.simulator.queues import IN_USE, NOT_IN_USE, SimMember, SimQueue

TRANSFER_DIAL_S = 20.0  # the Dial() timeout of [transfer-targets]
ATXFER_CODE = "*2"  # features.conf `atxfer`: Atxfer plays it on the transferer's channel
RETRY_S = 1.0  # queues.conf `retry`: pause before ringing again after nobody answered
QUEUE_TIMEOUT_S = 120.0  # the sample dialplan's Queue() timeout when QTIMEOUT is not set
TICK = 0.01


class QueueCall:
    """One caller's life in an app_queue queue."""

    def __init__(self, pbx: PbxCore, queue: SimQueue) -> None:
        self.pbx = pbx
        self.queue = queue
        self.caller: Channel | None = None
        self.agent_legs: tuple[Channel, Channel] | None = None  # (;1 bridged with the caller, ;2)
        self.ringing: set[str] = set()  # member interfaces being rung for this call
        self.tried: set[str] = set()  # members rung in this round without answering

    async def run(
        self,
        number: str,
        name: str,
        handset: str,
        action_id: str | None,
        variables: dict[str, str] | None = None,
    ) -> None:
        pbx, queue = self.pbx, self.queue
        handset_leg, caller = pbx.answer_caller(
            queue.name, QUEUE_CONTEXT, number, name, handset, action_id, variables
        )
        self.caller = caller
        started = time.monotonic()
        pbx.start_recording(caller)
        wait_s = seconds_or(caller.variables.get("QTIMEOUT"), QUEUE_TIMEOUT_S)
        caller.priority, caller.application = 6, "Queue"
        caller.app_data = f"{queue.name},tT,,,{wait_s:g}"  # as the recorded dialplan's Queue() (06)
        queue.waiting.append(caller.name)
        original_position = len(queue.waiting)
        pbx.send_event(
            "QueueCallerJoin",
            "agent,all",
            {
                **caller.fields(),
                "Queue": queue.name,
                "Position": str(original_position),
                "Count": str(original_position),
            },
        )
        joined = time.monotonic()
        deadline = joined + wait_s / pbx.speed
        patience = Handset.parse(handset).hangup_after
        connected: tuple[SimMember, Channel, Channel] | None = None
        timed_out = False
        next_try = 0.0
        try:
            while connected is None:
                if caller.variables.pop("__hangup", None) or self._elapsed(started) >= patience:
                    break
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    break
                free = queue.available(now, busy=_ringing_everywhere(pbx))
                if now >= next_try and self._our_turn(caller, len(free)):
                    untried = [m for m in free if m.interface not in self.tried]
                    if not untried:
                        self.tried.clear()  # everyone had a go: start a new round
                        untried = free
                    candidates = untried if queue.strategy == "ringall" else untried[:1]
                    self.tried.update(m.interface for m in candidates)
                    connected = await self._ring(caller, candidates, started, patience, deadline)
                    if connected is None:
                        next_try = time.monotonic() + RETRY_S / pbx.speed
                    continue
                await asyncio.sleep(TICK)
            if connected is not None:
                await self._talk(handset_leg, caller, connected, started, patience)
            elif timed_out:
                await self._time_out(handset_leg, caller, started, original_position)
            else:
                await self._abandon(handset_leg, caller, started, original_position)
        finally:
            if caller.name in queue.waiting:
                queue.waiting.remove(caller.name)

    def _elapsed(self, since: float) -> float:
        return (time.monotonic() - since) * self.pbx.speed

    def _our_turn(self, caller: Channel, free: int) -> bool:
        """app_queue with `autofill = yes`: a caller may ring while fewer callers wait ahead of it
        than members are free; callers ahead that are already ringing a member do not count
        (04: the second caller rings 1002 while the first still rings 1001)."""
        pending = {c.caller.name for c in self.pbx.queue_calls if c.ringing and c.caller is not None}
        ahead = 0
        for name in self.queue.waiting:
            if name == caller.name:
                break
            if name not in pending:
                ahead += 1
        return ahead < free

    def _member_status(self, member: SimMember) -> None:
        self.pbx.send_event("QueueMemberStatus", "agent,all", member.fields(self.queue.name))

    def _member_fields(self, member: SimMember) -> dict[str, str]:
        return {"Queue": self.queue.name, "Interface": member.interface, "MemberName": member.name}

    async def _ring(
        self,
        caller: Channel,
        members: list[SimMember],
        started: float,
        patience: float,
        deadline: float,
    ) -> tuple[SimMember, Channel, Channel] | None:
        pbx, queue = self.pbx, self.queue
        legs: list[tuple[SimMember, Channel, Channel]] = []
        # ringall rings the members in reverse order (app_queue prepends each call attempt);
        # a member's QueueMemberStatus comes after the next member's channels exist (05).
        order = list(reversed(members)) if queue.strategy == "ringall" else members
        announce: SimMember | None = None
        for member in order:
            one, two = pbx.local_pair(member.agent, AGENTS_CONTEXT, linkedid=caller.linkedid)
            if announce is not None:
                self._member_status(announce)
            one.exten = queue.name
            legs.append((member, one, two))
            self.ringing.add(member.interface)
            member.status = IN_USE  # Local members show "in use" while ringing, never "ringing"
            pbx.send_event(
                "AgentCalled",
                "agent,all",
                {**caller.fields(), **one.fields("Dest"), **self._member_fields(member)},
            )
            pbx.send_event(
                "DialBegin",
                "call,all",
                {**caller.fields(), **one.fields("Dest"), "DialString": member.interface},
            )
            pbx.set_state(one, 5)
            announce = member
        if announce is not None:
            self._member_status(announce)
        ring_started = time.monotonic()
        winner: tuple[SimMember, Channel, Channel] | None = None
        cancelled = False
        while winner is None:
            rang = self._elapsed(ring_started)
            if (
                caller.variables.get("__hangup")
                or self._elapsed(started) >= patience
                or time.monotonic() >= deadline
            ):
                cancelled = True
                break
            if rang >= queue.timeout_s:
                break
            ready = [
                (ring_s, leg)
                for leg in legs
                if (ring_s := pbx.agent_behaviour(leg[0].agent).ring_s) is not None and rang >= ring_s
            ]
            if ready:
                winner = min(ready, key=lambda item: item[0])[1]
                break
            await asyncio.sleep(TICK)
        rang_ms = int(self._elapsed(ring_started) * 1000)
        self.ringing.clear()
        if winner is None:
            for member, one, two in legs:
                if cancelled:
                    pbx.send_event(
                        "DialEnd",
                        "call,all",
                        {**caller.fields(), **one.fields("Dest"), "DialStatus": "CANCEL"},
                    )
                    pbx.hangup(one)
                    pbx.hangup(two)
                else:  # 02: AgentRingNoAnswer, DialEnd NOANSWER then CANCEL, legs hung up with cause 0
                    pbx.send_event(
                        "AgentRingNoAnswer",
                        "agent,all",
                        {
                            **caller.fields(),
                            **one.fields("Dest"),
                            **self._member_fields(member),
                            "RingTime": str(rang_ms),
                        },
                    )
                    for status in ("NOANSWER", "CANCEL"):
                        pbx.send_event(
                            "DialEnd",
                            "call,all",
                            {**caller.fields(), **one.fields("Dest"), "DialStatus": status},
                        )
                    pbx.hangup(one, 0, "Unknown")
                    pbx.hangup(two, 0, "Unknown")
                member.status = NOT_IN_USE
                self._member_status(member)
            return None
        member, one, two = winner
        queue.remember(member)
        pbx.set_state(two, 6)
        pbx.set_state(one, 6)
        pbx.send_event(
            "DialEnd", "call,all", {**caller.fields(), **one.fields("Dest"), "DialStatus": "ANSWER"}
        )
        losers = [leg for leg in legs if leg is not winner]
        for loser, loser_one, loser_two in losers:  # ringall (05): the others are cancelled
            for _ in range(2):
                pbx.send_event(
                    "DialEnd",
                    "call,all",
                    {**caller.fields(), **loser_one.fields("Dest"), "DialStatus": "CANCEL"},
                )
            pbx.hangup(loser_two, 26, "Answered elsewhere")
            pbx.hangup(loser_one, 26, "Answered elsewhere")
            loser.status = NOT_IN_USE
        queue.waiting.remove(caller.name)
        pbx.send_event(
            "QueueCallerLeave",
            "agent,all",
            {**caller.fields(), "Queue": queue.name, "Position": "1", "Count": str(len(queue.waiting))},
        )
        hold = str(int(self._elapsed(started)))
        pbx.send_event(
            "AgentConnect",
            "agent,all",
            {
                **caller.fields(),
                **one.fields("Dest"),
                **self._member_fields(member),
                "HoldTime": hold,
                "RingTime": str(max(0, rang_ms // 1000)),
            },
        )
        caller.variables["__hold"] = hold
        caller.variables["QEHOLDTIME"] = hold  # queues.conf `setqueueentryvar = yes` (the shipped one)
        member.in_call = True
        self.agent_legs = (one, two)
        pbx.bridge(one, caller)
        for loser, _one, _two in losers:
            self._member_status(loser)
        return winner

    # ------------------------------------------------------------------ connected
    def _agent_complete(
        self, caller: Channel, agent_one: Channel | None, member: SimMember, answered: float, reason: str
    ) -> None:
        """AgentComplete; without the Dest* block once the agent leg is gone (07c)."""
        self.pbx.send_event(
            "AgentComplete",
            "agent,all",
            {
                **caller.fields(),
                **(agent_one.fields("Dest") if agent_one is not None else {}),
                **self._member_fields(member),
                "HoldTime": caller.variables.get("__hold", "0"),
                "TalkTime": str(int(self._elapsed(answered))),
                "Reason": reason,
            },
        )

    def _member_done(self, member: SimMember) -> None:
        """The member's part of the call is over: statistics, wrap-up, then QueueMemberStatus."""
        self.queue.completed += 1
        member.calls_taken += 1
        member.last_call = int(time.time())
        member.wrapup_until = time.monotonic() + self.queue.wrapup_s / self.pbx.speed
        member.in_call = False
        member.status = NOT_IN_USE
        self._member_status(member)

    async def _talk(
        self,
        handset_leg: Channel,
        caller: Channel,
        connected: tuple[SimMember, Channel, Channel],
        started: float,
        patience: float,
    ) -> None:
        pbx = self.pbx
        member, one, two = connected
        answered = time.monotonic()
        agent_talk = pbx.agent_behaviour(member.agent).talk_s
        pbx.start_agent_dtmf(member.agent, two)
        while True:
            if caller.variables.pop("__hangup", None) or self._elapsed(started) >= patience:
                await self._caller_hangs_up(handset_leg, caller, connected, started, answered)
                return
            agent_hung_up = one.variables.pop("__hangup", None) or two.variables.pop("__hangup", None)
            if agent_hung_up or self._elapsed(answered) >= agent_talk:
                await self._agent_hangs_up(handset_leg, caller, connected, started, answered)
                return
            if (redirect := caller.variables.pop("__redirect", None)) is not None:
                await self._redirected(handset_leg, caller, connected, started, patience, answered, redirect)
                return
            if (blind := one.variables.pop("__blindxfer", None)) is not None:
                await self._blind_transfer(handset_leg, caller, connected, started, patience, answered, blind)
                return
            atxfer = one.variables.pop("__atxfer", None)
            if atxfer is not None and await self._attended_transfer(
                handset_leg, caller, connected, started, patience, answered, atxfer
            ):
                return
            await asyncio.sleep(TICK)

    async def _caller_hangs_up(
        self,
        handset_leg: Channel,
        caller: Channel,
        connected: tuple[SimMember, Channel, Channel],
        started: float,
        answered: float,
    ) -> None:
        """01: the handset hangs up, AgentComplete (caller), the caller leaves, then the agent legs."""
        pbx = self.pbx
        member, one, two = connected
        await pbx.write_recording(caller, started)
        bridge_id = caller.bridge
        pbx.hangup(handset_leg)
        self._agent_complete(caller, one, member, answered, "caller")
        pbx.leave_bridge(caller)
        pbx.hangup(caller)
        pbx.leave_bridge(one)
        if bridge_id is not None:
            pbx.destroy_bridge(bridge_id)
        pbx.hangup(one)
        pbx.hangup(two)
        self._member_done(member)

    async def _agent_hangs_up(
        self,
        handset_leg: Channel,
        caller: Channel,
        connected: tuple[SimMember, Channel, Channel],
        started: float,
        answered: float,
    ) -> None:
        """07f: the agent's ;2 hangs up, AgentComplete (agent), QueueMemberStatus, the agent leg
        leaves, then the caller, whose dialplan ends after Queue() (Hangup), then its handset."""
        pbx = self.pbx
        member, one, two = connected
        await pbx.write_recording(caller, started)
        bridge_id = caller.bridge
        pbx.hangup(two)
        self._agent_complete(caller, one, member, answered, "agent")
        self._member_done(member)
        pbx.leave_bridge(one)
        pbx.hangup(one)
        pbx.leave_bridge(caller)
        if bridge_id is not None:
            pbx.destroy_bridge(bridge_id)
        pbx.hangup(caller)
        pbx.hangup(handset_leg)

    # ------------------------------------------------------------------ transfers
    def _dial_target(self, caller: Channel, context: str, exten: str) -> tuple[Channel, Channel]:
        """[transfer-targets]: `Dial(Local/${EXTEN}@level2/n,20)` from the caller's channel."""
        pbx = self.pbx
        caller.context, caller.exten, caller.priority = context, exten, 2
        caller.application, caller.app_data = "Dial", f"Local/{exten}@{LEVEL2_CONTEXT}/n,{TRANSFER_DIAL_S:g}"
        target = pbx.local_pair(exten, LEVEL2_CONTEXT, linkedid=caller.linkedid)
        return target

    async def _ring_target(
        self,
        caller: Channel,
        target: tuple[Channel, Channel],
        started: float,
        patience: float,
        *,
        dialled: bool,
    ) -> bool:
        """Ring the level-2 agent; True once it answered (DialEnd ANSWER). `dialled`: the caller's
        Dial() rings it (DialEnd with the caller's block); else the Atxfer feature does (Dest only)."""
        pbx = self.pbx
        l2_one, l2_two = target
        behaviour = pbx.level2_behaviour(l2_one.exten)
        pbx.set_state(l2_one, 5)
        began = time.monotonic()
        status = "ANSWER"
        while True:
            if caller.variables.get("__hangup") or self._elapsed(started) >= patience:
                status = "CANCEL"
                break
            if behaviour.ring_s is not None and self._elapsed(began) >= behaviour.ring_s:
                break
            if self._elapsed(began) >= TRANSFER_DIAL_S:
                status = "NOANSWER"
                break
            await asyncio.sleep(TICK)
        if status == "ANSWER":
            pbx.set_state(l2_two, 6)
            pbx.set_state(l2_one, 6)
        caller_block = caller.fields() if dialled else {}
        pbx.send_event("DialEnd", "call,all", {**caller_block, **l2_one.fields("Dest"), "DialStatus": status})
        if status != "ANSWER":
            pbx.hangup(l2_one)
            pbx.hangup(l2_two)
            return False
        return True

    async def _with_target(
        self,
        handset_leg: Channel,
        caller: Channel,
        target: tuple[Channel, Channel],
        started: float,
        patience: float,
        completion: tuple[SimMember, float] | None,
    ) -> None:
        """The caller talks to the level-2 agent until one hangs up. `completion`: the queue's
        AgentComplete is still owed (after a Redirect it comes at the end, Reason caller, 07c)."""
        pbx = self.pbx
        l2_one, l2_two = target
        talk_s = pbx.level2_behaviour(l2_one.exten).talk_s
        talk_started = time.monotonic()
        caller_gone = False
        while l2_one.name in pbx.channels:
            if caller.variables.pop("__hangup", None) or self._elapsed(started) >= patience:
                caller_gone = True
                break
            if l2_one.variables.pop("__hangup", None) or l2_two.variables.pop("__hangup", None):
                break
            if self._elapsed(talk_started) >= talk_s:
                break
            await asyncio.sleep(TICK)
        await pbx.write_recording(caller, started)
        bridge_id = caller.bridge
        if caller_gone:  # 07c: handset, AgentComplete, both leave, bridge, level-2 ;1, caller, level-2 ;2
            pbx.hangup(handset_leg)
            if completion is not None:
                self._agent_complete(caller, None, completion[0], completion[1], "caller")
            pbx.leave_bridge(caller)
            pbx.leave_bridge(l2_one)
            if bridge_id is not None:
                pbx.destroy_bridge(bridge_id)
            pbx.hangup(l2_one)
            pbx.hangup(caller)
            pbx.hangup(l2_two)
        else:  # the level-2 agent hangs up; Dial() returns and the caller's dialplan hangs up
            pbx.hangup(l2_two)
            pbx.leave_bridge(l2_one)
            pbx.hangup(l2_one)
            pbx.leave_bridge(caller)
            if bridge_id is not None:
                pbx.destroy_bridge(bridge_id)
            if completion is not None:
                self._agent_complete(caller, None, completion[0], completion[1], "caller")
            pbx.hangup(caller)
            pbx.hangup(handset_leg)

    async def _after_dial(
        self,
        handset_leg: Channel,
        caller: Channel,
        target: tuple[Channel, Channel],
        started: float,
        patience: float,
        completion: tuple[SimMember, float] | None,
    ) -> None:
        """The caller's Dial() to [level2]: answered -> bridged; else its dialplan hangs up."""
        pbx = self.pbx
        if await self._ring_target(caller, target, started, patience, dialled=True):
            target[0].exten = ""
            pbx.bridge(target[0], caller)
            await self._with_target(handset_leg, caller, target, started, patience, completion)
            return
        await pbx.write_recording(caller, started)
        if completion is not None:
            self._agent_complete(caller, None, completion[0], completion[1], "caller")
        pbx.hangup(handset_leg)
        pbx.hangup(caller)

    async def _redirected(
        self,
        handset_leg: Channel,
        caller: Channel,
        connected: tuple[SimMember, Channel, Channel],
        started: float,
        patience: float,
        answered: float,
        redirect: str,
    ) -> None:
        """07c: AMI Redirect of the bridged caller to [transfer-targets]. No transfer event; the
        agent legs are hung up; AgentComplete (Reason caller, no Dest*) only when the caller ends."""
        pbx = self.pbx
        member, one, two = connected
        context, _, exten = redirect.partition(",")
        bridge_id = caller.bridge
        caller.context, caller.exten, caller.priority = context, exten, 1
        pbx.leave_bridge(caller)
        pbx.leave_bridge(one)
        target = self._dial_target(caller, context, exten)
        pbx.hangup(one)
        pbx.hangup(two)
        if bridge_id is not None:
            pbx.destroy_bridge(bridge_id)
        self._dial_begin(caller, target[0])
        self._member_done(member)
        await self._after_dial(handset_leg, caller, target, started, patience, (member, answered))

    def _dial_begin(self, caller: Channel, l2_one: Channel) -> None:
        l2_one.cid_num, l2_one.cid_name = l2_one.exten, caller.cid_name
        l2_one.conn_num, l2_one.conn_name = caller.cid_num, caller.cid_name
        self.pbx.send_event(
            "DialBegin",
            "call,all",
            {**caller.fields(), **l2_one.fields("Dest"), "DialString": f"{l2_one.exten}@{LEVEL2_CONTEXT}/n"},
        )

    async def _blind_transfer(
        self,
        handset_leg: Channel,
        caller: Channel,
        connected: tuple[SimMember, Channel, Channel],
        started: float,
        patience: float,
        answered: float,
        request: str,
    ) -> None:
        """07a: AMI BlindTransfer of the agent leg: Unhold, BlindTransfer, AgentComplete (transfer);
        the agent legs hang up and the caller dials the target from [transfer-targets]."""
        pbx = self.pbx
        member, one, two = connected
        context, _, exten = request.partition(",")
        bridge_id = caller.bridge or ""
        pbx.send_event("Unhold", "call,all", one.fields())
        pbx.send_event(
            "BlindTransfer",
            "call,all",
            {
                "Result": "Success",
                **one.fields("Transferer"),
                **caller.fields("Transferee"),
                **pbx.bridge_fields(bridge_id),
                "IsExternal": "Yes",
                "Context": context,
                "Extension": exten,
            },
        )
        self._agent_complete(caller, one, member, answered, "transfer")
        pbx.leave_bridge(one)
        caller.context, caller.exten, caller.priority = context, exten, 1
        pbx.leave_bridge(caller)
        pbx.hangup(one)
        pbx.destroy_bridge(bridge_id)
        target = self._dial_target(caller, context, exten)
        self._dial_begin(caller, target[0])
        pbx.hangup(two)
        self._member_done(member)
        await self._after_dial(handset_leg, caller, target, started, patience, None)

    async def _attended_transfer(
        self,
        handset_leg: Channel,
        caller: Channel,
        connected: tuple[SimMember, Channel, Channel],
        started: float,
        patience: float,
        answered: float,
        request: str,
    ) -> bool:
        """07b: AMI Atxfer on the agent leg: the feature code and the digits as DTMFEnd on it,
        Hold, a consultation bridge with the ringing target; when the agent leg is hung up after
        the target answered, the bridges merge: AttendedTransfer, AgentComplete (transfer).

        Returns False when the consultation failed (not answered): the agent is back with the caller.
        """
        pbx = self.pbx
        member, one, two = connected
        context, _, exten = request.partition(",")
        for digit in ATXFER_CODE:
            self._feature_digit(one, digit)
        pbx.send_event("Hold", "call,all", one.fields())
        pbx.send_event("MusicOnHoldStart", "call,all", {**caller.fields(), "Class": "default"})
        for digit in exten:
            self._feature_digit(one, digit)
        l2_one, l2_two = target = pbx.local_pair(exten, context, linkedid=caller.linkedid)
        l2_one.conn_num, l2_one.conn_name = caller.cid_num, caller.cid_name
        l2_two.cid_num, l2_two.cid_name = caller.cid_num, caller.cid_name
        first = caller.bridge or ""
        second = pbx.create_bridge()
        pbx.set_state(l2_one, 5)
        pbx.enter_bridge(second, l2_one)
        pbx.leave_bridge(one)
        pbx.enter_bridge(second, one)
        if not await self._ring_target(caller, target, started, patience, dialled=False):
            pbx.leave_bridge(one)
            pbx.destroy_bridge(second)
            pbx.enter_bridge(first, one)
            pbx.send_event("Unhold", "call,all", one.fields())
            pbx.send_event("MusicOnHoldStop", "call,all", caller.fields())
            return False
        while True:  # consulting until the agent hangs up (or the caller gives up)
            if caller.variables.get("__hangup") or self._elapsed(started) >= patience:
                break
            if one.variables.pop("__hangup", None) or two.variables.pop("__hangup", None):
                break
            await asyncio.sleep(TICK)
        pbx.send_event("MusicOnHoldStop", "call,all", caller.fields())
        pbx.leave_bridge(one)
        pbx.send_event(
            "BridgeMerge", "call,all", {**pbx.bridge_fields(first, "To"), **pbx.bridge_fields(second, "From")}
        )
        pbx.leave_bridge(l2_one)
        pbx.enter_bridge(first, l2_one)
        pbx.hangup(two)
        pbx.send_event(
            "AttendedTransfer",
            "call,all",
            {
                "Result": "Success",
                **one.fields("OrigTransferer"),
                **pbx.bridge_fields(first, "Orig"),
                **one.fields("SecondTransferer"),
                **pbx.bridge_fields(second, "Second"),
                **caller.fields("Transferee"),
                "IsExternal": "No",
                "DestType": "Bridge",
                "DestBridgeUniqueid": first,
            },
        )
        self._agent_complete(caller, one, member, answered, "transfer")
        pbx.destroy_bridge(second)
        pbx.hangup(one)
        self._member_done(member)
        await self._with_target(handset_leg, caller, target, started, patience, None)
        return True

    def _feature_digit(self, channel: Channel, digit: str) -> None:
        self.pbx.send_event(
            "DTMFEnd",
            "dtmf,all",
            {**channel.fields(), "Digit": digit, "DurationMs": "0", "Direction": "Received"},
        )

    # --------------------------------------------------------------- not served
    async def _abandon(self, handset_leg: Channel, caller: Channel, started: float, original: int) -> None:
        """03: the handset hangs up, QueueCallerAbandon, QueueCallerLeave, the caller hangs up."""
        pbx = self.pbx
        await pbx.write_recording(caller, started)
        pbx.hangup(handset_leg)
        self._leave_unserved(caller, started, original)
        pbx.hangup(caller)

    async def _time_out(self, handset_leg: Channel, caller: Channel, started: float, original: int) -> None:
        """07f: the Queue() timeout is reported exactly like an abandon (QueueCallerAbandon, then
        QueueCallerLeave); the caller's dialplan goes on (QUEUESTATUS TIMEOUT) and hangs up."""
        pbx = self.pbx
        self._leave_unserved(caller, started, original)
        caller.priority = 7
        pbx.send_event(
            "VarSet", "dialplan,all", {**caller.fields(), "Variable": "QUEUESTATUS", "Value": "TIMEOUT"}
        )
        caller.priority, caller.application, caller.app_data = 8, "Hangup", ""
        await pbx.write_recording(caller, started)
        pbx.hangup(caller)
        pbx.hangup(handset_leg)

    def _leave_unserved(self, caller: Channel, started: float, original: int) -> None:
        pbx, queue = self.pbx, self.queue
        position = queue.waiting.index(caller.name) + 1 if caller.name in queue.waiting else 1
        pbx.send_event(
            "QueueCallerAbandon",
            "agent,all",
            {
                **caller.fields(),
                "Queue": queue.name,
                "Position": str(position),
                "OriginalPosition": str(original),
                "HoldTime": str(int(self._elapsed(started))),
            },
        )
        if caller.name in queue.waiting:
            queue.waiting.remove(caller.name)
        queue.abandoned += 1
        pbx.send_event(
            "QueueCallerLeave",
            "agent,all",
            {
                **caller.fields(),
                "Queue": queue.name,
                "Position": str(position),
                "Count": str(len(queue.waiting)),
            },
        )


def _ringing_everywhere(pbx: PbxCore) -> set[str]:
    """Interfaces rung by any call right now (ringinuse=no: a ringing phone is not rung twice)."""
    return {iface for call in pbx.queue_calls for iface in call.ringing}
