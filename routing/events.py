"""CallEvent and AgentEvent: the one vocabulary between Hotline's packages.

Every telephony source (Asterisk AMI, Twilio webhooks, the simulated PBX) is
translated into these inside `cti/`; nothing outside `cti/` sees a vendor field.
They live in `routing/` because routing is the innermost package: everything
else may import it, it imports nothing of ours.

Events are facts in the past tense and immutable. Each carries an `event_id`
that is stable across re-deliveries of the same vendor event (an AMI resync, a
Twilio retry), so every consumer can be idempotent by remembering ids it has
already applied.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CallEventKind(enum.StrEnum):
    """What happened to a call. The order below is the usual life of a call."""

    OFFERED = "offered"  # entered the hotline and waits for an agent in `queue`
    RINGING = "ringing"  # `agent`'s phone rings for this call
    RING_NO_ANSWER = "ring_no_answer"  # `agent` did not pick up in time
    ANSWERED = "answered"  # `agent` and caller are connected
    HELD = "held"
    UNHELD = "unheld"
    TRANSFERRED = "transferred"  # `detail` names the target
    DTMF = "dtmf"  # `detail` holds the digit(s)
    IVR_CHOICE = "ivr_choice"  # `detail` holds the chosen menu entry
    RECORDING_STARTED = "recording_started"  # `detail`: the file name/URL at the source
    RECORDING_PAUSED = "recording_paused"
    RECORDING_RESUMED = "recording_resumed"
    RECORDING_READY = "recording_ready"  # file complete; `detail`: its location at the source
    AGENT_COMPLETED = "agent_completed"  # agent leg ended; the agent goes to wrap-up
    ABANDONED = "abandoned"  # caller hung up before an agent answered
    LEFT_QUEUE = "left_queue"  # left the queue unanswered for another reason (timeout, exit key)
    HUNG_UP = "hung_up"  # the call is over; `detail`: hangup cause


TERMINAL_KINDS = frozenset({CallEventKind.HUNG_UP})


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Something that happened to one call.

    `call_id` is Hotline's id for the whole call (all legs): the caller leg's
    Linkedid on Asterisk, the parent CallSid on Twilio. `caller` is the number as
    the network gave it (not yet normalised: normalising needs the configured
    region, which is the service desk's business). `agent` is Hotline's agent
    id, never a channel or device name.

    The typed facts some kinds carry (None where the vendor does not say):
    * `source_refs`: the vendor's own ids of this call's legs (Asterisk Uniqueid,
      Twilio CallSid, RecordingSid, ...). Opaque outside `cti/`: recordings/ keeps
      them so an auditor can find the call on the PBX; nobody parses them.
    * `ivr_choice`: the IVR menu entry the caller chose (OFFERED, IVR_CHOICE).
    * `hold_s`: seconds the caller waited in the queue, as the PBX counted them
      (ANSWERED, ABANDONED, LEFT_QUEUE, AGENT_COMPLETED); `talk_s`: seconds the
      agent talked (AGENT_COMPLETED).
    * `recording_started_at`: when the recording began, if the source reports it
      (RECORDING_STARTED, RECORDING_READY).
    * `untimed`: the source does not say when it happened (an ANSWERED a resync found with no
      PBX time for it): `at` is when Hotline learned of it, and no record takes it as the time.
    """

    call_id: str
    kind: CallEventKind
    at: datetime
    event_id: str
    source: str = "unknown"
    caller: str | None = None
    caller_name: str | None = None
    dialed: str | None = None
    queue: str | None = None
    agent: str | None = None
    detail: str | None = None
    source_refs: tuple[str, ...] = ()
    ivr_choice: str | None = None
    hold_s: int | None = None
    talk_s: int | None = None
    recording_started_at: datetime | None = None
    untimed: bool = False


FROM_RECORDS = "records"
"""ANSWERED `detail` of a call told from the PBX's records (CDRs) once it is over (reconciliation
after a restart, or a re-login after an outage): the call's figures count, but no agent state
follows from it, since the agent's present is the PBX's present state, not that call."""


class AgentEventKind(enum.StrEnum):
    """What the PBX reported about an agent (queue member), independent of a call."""

    JOINED_QUEUE = "joined_queue"  # member added / logged in to `queue`
    LEFT_QUEUE = "left_queue"  # member removed / logged out of `queue`
    PAUSED = "paused"  # `detail`: reason
    UNPAUSED = "unpaused"
    DEVICE_STATE = "device_state"  # `detail`: idle | ringing | in_use | unavailable


@dataclass(frozen=True, slots=True)
class AgentEvent:
    agent: str
    kind: AgentEventKind
    at: datetime
    event_id: str
    source: str = "unknown"
    queue: str | None = None
    detail: str | None = None


Event = CallEvent | AgentEvent
