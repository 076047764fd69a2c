"""PBX actions for the router (control mode), the agent console and supervisors.

Each function is one intention expressed as the AMI actions Asterisk 22 needs,
awaited on the client: errors surface as the AMI errors (`ActionRefused` with
the PBX's message, `ActionTimeout`, `NotConnected`, `HeaderInjection` for a
value with a line break). Nothing here keeps state; channel names come from
`AmiTranslator.caller_channel(call_id)` / `agent_channel(call_id)`.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from cti.ami.dialplan import AGENT_VARIABLE, CONNECT_CONTEXT, CONNECT_EXTEN, DIAL_VARIABLE
from cti.ami.protocol import AmiMessage
from cti.telephony import SpyMode

Fields = dict[str, Any]  # str | int | list[str] values; Any because `**fields` meets `within`


class ActionClient(Protocol):
    async def action(
        self, name: str, *, within: float | None = None, **fields: str | int | list[str]
    ) -> AmiMessage: ...


class OriginateTracker(Protocol):
    def expect_originate(self, call_id: str, agent: str) -> None: ...


# ------------------------------------------------------------------ control mode


async def connect_call(
    client: ActionClient,
    caller_channel: str,
    agent_id: str,
    *,
    context: str = CONNECT_CONTEXT,
    exten: str = CONNECT_EXTEN,
    dial: str | None = None,
) -> None:
    """Send a waiting caller to `[hotline-connect]`, which dials the agent (HOTLINE_AGENT).

    The actions of the recorded control-mode trace (07g): `Setvar` on the caller
    channel, then `Redirect` to `hotline-connect,agent,1`; with `dial` (the agent's
    interface from the call-center file) a `Setvar HOTLINE_DIAL` first, which the
    sample dialplan dials. The dialplan's Dial timeout is the ring timeout; DialEnd
    NOANSWER/BUSY/CHANUNAVAIL comes back as RING_NO_ANSWER for the router to pick
    another agent.
    """
    if dial:
        await client.action("Setvar", Channel=caller_channel, Variable=DIAL_VARIABLE, Value=dial)
    await client.action("Setvar", Channel=caller_channel, Variable=AGENT_VARIABLE, Value=agent_id)
    await client.action("Redirect", Channel=caller_channel, Context=context, Exten=exten, Priority="1")


async def originate_to_agent(
    client: ActionClient,
    tracker: OriginateTracker,
    call_id: str,
    caller_channel: str,
    agent_interface: str,
    agent_id: str,
    *,
    ring_timeout_s: float = 20.0,
    caller_id: str | None = None,
) -> None:
    """The other control-mode path: ring the agent first, then Bridge() pulls the caller in.

    The caller hears music on hold until the agent answers; if the agent does
    not answer, Asterisk simply drops the originated leg and the caller keeps
    waiting (no RING_NO_ANSWER event reaches the translator: the router's own
    ring timer must cover it). Prefer `connect_call`.
    """
    tracker.expect_originate(call_id, agent_id)
    fields: Fields = {
        "Channel": agent_interface,
        "Application": "Bridge",
        "Data": caller_channel,
        "Async": "true",
        "Timeout": int(ring_timeout_s * 1000),
    }
    if caller_id:
        fields["CallerID"] = caller_id
    await client.action("Originate", **fields)


# -------------------------------------------------------------------- members


async def queue_pause(
    client: ActionClient, interface: str, *, paused: bool = True, queue: str | None = None, reason: str = ""
) -> None:
    """Pause (or unpause) a member; without `queue`, in every queue it belongs to."""
    fields: Fields = {
        "Interface": interface,
        "Paused": "true" if paused else "false",
    }
    if queue:
        fields["Queue"] = queue
    if reason:
        fields["Reason"] = reason
    await client.action("QueuePause", **fields)


async def queue_add(
    client: ActionClient,
    queue: str,
    interface: str,
    *,
    member_name: str = "",
    penalty: int = 0,
    paused: bool = False,
    reason: str = "",
    state_interface: str = "",
) -> None:
    fields: Fields = {"Queue": queue, "Interface": interface, "Penalty": penalty}
    if member_name:
        fields["MemberName"] = member_name
    if paused:
        fields["Paused"] = "true"
        if reason:
            fields["Reason"] = reason
    if state_interface:
        fields["StateInterface"] = state_interface
    await client.action("QueueAdd", **fields)


async def queue_remove(client: ActionClient, queue: str, interface: str) -> None:
    await client.action("QueueRemove", Queue=queue, Interface=interface)


# ---------------------------------------------------------------------- calls


async def hangup(client: ActionClient, channel: str, *, cause: int = 16) -> None:
    await client.action("Hangup", Channel=channel, Cause=cause)


async def blind_transfer(client: ActionClient, channel: str, exten: str, *, context: str) -> None:
    """Send `channel` (the caller) to `exten@context`; its bridge peer (the agent leg) is dropped.

    Uses Redirect, which works on any channel; Asterisk's BlindTransfer action
    needs the agent's leg and raises the BlindTransfer event instead. Both end
    up as a TRANSFERRED CallEvent.
    """
    await client.action("Redirect", Channel=channel, Context=context, Exten=exten, Priority="1")


async def attended_transfer(client: ActionClient, agent_channel: str, exten: str, *, context: str) -> None:
    """Atxfer from the agent's leg: the agent consults `exten`, hanging up completes the transfer.

    Needs the `atxfer` feature code in features.conf and the queue option `t`.
    """
    await client.action("Atxfer", Channel=agent_channel, Exten=exten, Context=context)


async def start_recording(client: ActionClient, channel: str, file: str, *, options: str = "") -> None:
    """MixMonitor to `file` (use a `.wav` name: the stdlib reads it)."""
    fields: Fields = {"Channel": channel, "File": file}
    if options:
        fields["Options"] = options
    await client.action("MixMonitor", **fields)


async def mute_recording(
    client: ActionClient,
    channel: str,
    *,
    muted: bool = True,
    direction: Literal["read", "write", "both"] = "both",
) -> None:
    """Pause/resume a recording (PauseMonitor is gone in Asterisk 21): MixMonitorMute."""
    await client.action("MixMonitorMute", Channel=channel, Direction=direction, State="1" if muted else "0")


async def stop_recording(client: ActionClient, channel: str) -> None:
    await client.action("StopMixMonitor", Channel=channel)


# ----------------------------------------------------------------- supervisors

# q: no beep. E: end when the spied-on channel hangs up, S: end when there is nothing (left) to spy
# on. Without E and S a real ChanSpy outlives the call and spies, unasked and unaudited, on whichever
# channel of the agent comes next: Asterisk 22.10.1 did exactly that with the agent's next caller
# (tests/fixtures/live-22.10.1/control-spy-linger.ami).
_SPY_OPTIONS: dict[str, str] = {"listen": "qES", "whisper": "qwES", "barge": "qBES"}


async def supervise(
    client: ActionClient,
    supervisor_interface: str,
    agent_channel: str,
    mode: SpyMode = "listen",
    *,
    caller_id: str = "Hotline supervisor",
    timeout_s: float = 30.0,
) -> None:
    """Ring the supervisor's phone; when answered, ChanSpy on the agent's channel.

    listen = `q` (quiet), whisper = `w` (talk to the agent only), barge = `B`
    (talk to both); every mode ends with the spied-on call (`E`, `S`). ChanSpy
    takes a channel-name prefix: the agent channel up to and with its last `-`
    (`PJSIP/1001-`), so it matches both halves of the agent's Local channel and
    no other device (`PJSIP/1001` would also match agent 10010's `PJSIP/10010-…`).
    """
    if mode not in _SPY_OPTIONS:
        raise ValueError(f"unknown supervision mode {mode!r}")
    target = agent_channel.rsplit("-", 1)[0] + "-" if "-" in agent_channel else agent_channel
    await client.action(
        "Originate",
        Channel=supervisor_interface,
        Application="ChanSpy",
        Data=f"{target},{_SPY_OPTIONS[mode]}",
        CallerID=caller_id,
        Async="true",
        Timeout=int(timeout_s * 1000),
    )
