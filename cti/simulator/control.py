"""Control mode in the simulated PBX: the sample dialplan's `[hotline-control]` and `[hotline-connect]`.

A caller originated into `Local/<queue>@hotline-control` is recorded, announced
with `UserEvent: HotlineWaiting` and waits with music until Hotline (the ACD)
sends it to `[hotline-connect]` (Setvar HOTLINE_AGENT + Redirect), which dials
the agent; an unanswered or cancelled ring puts it back to the music. Event
order follows the recorded control-mode trace (tests/fixtures/ami/07g).
"""

from __future__ import annotations

import asyncio
import time

from cti.ami.dialplan import (
    AGENT_VARIABLE,
    AGENTS_CONTEXT,
    CONNECT_CONTEXT,
    CONNECT_EXTEN,
    DIAL_END_USEREVENT,
    DIAL_VARIABLE,
    IVR_VARIABLE,
    QUEUE_VARIABLE,
    RING_TIMEOUT_VARIABLE,
    WAIT_CONTEXT,
    WAIT_EXTEN,
    WAITING_USEREVENT,
)
from cti.simulator.channels import Channel, Handset, seconds_or
from cti.simulator.core import PbxCore


class ControlCall:
    """One caller's life in `[hotline-control]`: wait, be connected by Hotline, talk, hang up."""

    def __init__(self, core: PbxCore) -> None:
        self.core = core

    async def run(
        self,
        queue: str,
        number: str,
        name: str,
        handset: str,
        action_id: str | None,
        variables: dict[str, str] | None = None,
    ) -> None:
        """A caller dialled into `[hotline-control]` (see config/asterisk/extensions.conf)."""
        core = self.core
        handset_leg, caller = core.answer_caller(
            queue, WAIT_CONTEXT, number, name, handset, action_id, variables
        )
        started = time.monotonic()
        caller.variables.setdefault(QUEUE_VARIABLE, queue)  # Set(HOTLINE_QUEUE=${EXTEN}) (or the IVR's)
        core.start_recording(caller)
        caller.priority = 5
        core.send_event(
            "UserEvent",
            "user,all",
            {
                **caller.fields(),
                "UserEvent": WAITING_USEREVENT,
                "CallerNum": number,
                "WaitUniqueid": caller.uniqueid,
                "Queue": queue,
                "IvrChoice": caller.variables.get(IVR_VARIABLE, ""),
            },
        )
        caller.priority, caller.application, caller.app_data = 6, "MusicOnHold", "default,300"
        patience = Handset.parse(handset).hangup_after
        agent_legs: list[Channel] = []
        answered_at: float | None = None
        agent_hangs_up_at: float | None = None
        try:
            while True:
                elapsed = (time.monotonic() - started) * core.speed
                if caller.variables.pop("__hangup", None) or elapsed >= patience:
                    break
                redirect = caller.variables.pop("__redirect", None)
                if redirect is not None and redirect.startswith(CONNECT_CONTEXT):
                    agent_legs, answered_at, agent_hangs_up_at = [], None, None
                    agent = caller.variables.get(AGENT_VARIABLE, "")
                    legs = await self._dial_agent(caller, agent)
                    if legs is not None:
                        agent_legs = list(legs)
                        answered_at = time.monotonic()
                        agent_hangs_up_at = answered_at + core.agent_behaviour(agent).talk_s / core.speed
                    continue
                if redirect is not None:  # back to [hotline-control] rewait: music again, no new UserEvent
                    caller.context, caller.exten, caller.priority = WAIT_CONTEXT, WAIT_EXTEN, 6
                if agent_legs and any(leg.variables.pop("__hangup", None) for leg in agent_legs):
                    break
                if agent_hangs_up_at is not None and time.monotonic() >= agent_hangs_up_at:
                    break
                await asyncio.sleep(0.01)
        finally:
            await self._finish_call(handset_leg, caller, agent_legs, started)

    async def _dial_agent(self, caller: Channel, agent: str) -> tuple[Channel, Channel] | None:
        """`Dial(${HOTLINE_DIAL},${HOTLINE_RING_TIMEOUT})` (default `Local/${HOTLINE_AGENT}@agents/n`):
        ring, bridge on answer.

        Not answered in time (DialEnd NOANSWER) or cancelled by a Redirect of the
        caller or a Hangup of the agent leg (DialEnd CANCEL): the agent legs hang up
        and the caller goes back to waiting (`rewait` in the sample dialplan), after
        `UserEvent HotlineDialEnd`. An agent without a phone (`reachable=False`):
        `[agents]` answers Congestion at once (DialEnd CONGESTION).
        """
        core = self.core
        timeout = seconds_or(caller.variables.get(RING_TIMEOUT_VARIABLE), 30.0)
        dial = caller.variables.get(DIAL_VARIABLE) or f"Local/{agent}@{AGENTS_CONTEXT}/n"
        caller.context, caller.exten = CONNECT_CONTEXT, CONNECT_EXTEN
        caller.priority, caller.application, caller.app_data = (4, "Dial", f"{dial},{timeout:g}")
        agent_one, agent_two = core.local_pair(agent, AGENTS_CONTEXT, linkedid=caller.linkedid)
        core.send_event(
            "DialBegin",
            "call,all",
            {**caller.fields(), **agent_one.fields("Dest"), "DialString": f"{agent}@{AGENTS_CONTEXT}/n"},
        )
        core.set_state(agent_one, 5)
        behaviour = core.agent_behaviour(agent)
        ring_s = behaviour.ring_s
        began = time.monotonic()
        status = "ANSWER"
        caller_left = False
        while behaviour.reachable:
            rang = (time.monotonic() - began) * core.speed
            caller_left = bool(caller.variables.get("__hangup") or caller.variables.get("__redirect"))
            agent_hung_up = any(leg.variables.pop("__hangup", None) for leg in (agent_one, agent_two))
            if caller_left or agent_hung_up:
                status = "CANCEL"
            elif ring_s is not None and rang >= ring_s and ring_s < timeout:
                status = "ANSWER"
            elif rang >= timeout:
                status = "NOANSWER"
            else:
                await asyncio.sleep(0.01)
                continue
            break
        else:
            status = "CONGESTION"
        if status != "ANSWER":
            core.send_event(
                "DialEnd", "call,all", {**caller.fields(), **agent_one.fields("Dest"), "DialStatus": status}
            )
            cause = {"NOANSWER": (19, "No user responding"), "CONGESTION": (34, "Circuit/channel congestion")}
            core.hangup(agent_one, *cause.get(status, (16, "Normal Clearing")))
            core.hangup(agent_two, *cause.get(status, (16, "Normal Clearing")))
            if not caller_left:  # a Redirect or hangup takes the caller out of the dialplan: no UserEvent
                core.send_event(
                    "UserEvent",
                    "user,all",
                    {
                        **caller.fields(),
                        "UserEvent": DIAL_END_USEREVENT,
                        "Agent": agent,
                        "DialStatus": status,
                    },
                )
            caller.context, caller.exten, caller.priority = WAIT_CONTEXT, WAIT_EXTEN, 6
            caller.application, caller.app_data = "MusicOnHold", "default,300"
            return None
        core.set_state(agent_two, 6)
        core.set_state(agent_one, 6)
        core.send_event(
            "DialEnd", "call,all", {**caller.fields(), **agent_one.fields("Dest"), "DialStatus": "ANSWER"}
        )
        agent_one.cid_num, agent_one.exten = "agent", ""
        core.bridge(agent_one, caller)
        core.start_agent_dtmf(agent, agent_two)
        return agent_one, agent_two

    async def _finish_call(
        self, handset_leg: Channel, caller: Channel, agent_legs: list[Channel], started: float
    ) -> None:
        core = self.core
        await core.write_recording(caller, started)
        # Order of the recorded Dial() teardown (07g): handset, bridge legs, agent legs, caller, bridge.
        bridge_id = caller.bridge
        core.hangup(handset_leg)
        core.leave_bridge(caller)
        for leg in agent_legs:
            core.leave_bridge(leg)
        for leg in agent_legs:
            core.hangup(leg)
        core.hangup(caller)
        if bridge_id is not None:
            core.destroy_bridge(bridge_id)
