"""The agent lifecycle: one state per agent, shared by all the agent's queues.

An agent in six queues has one wrap-up, not six (Asterisk issue #1006 is the bug
this avoids): state lives on the agent, queues only hold membership and penalty.

Every change goes through `TRANSITIONS`, keyed by (current state, trigger). A
command whose trigger is not in the table raises `InvalidTransition`; a PBX event
whose trigger is not in the table is ignored and counted.
"""

from __future__ import annotations

import enum


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"  # offered a call: the phone rings (or is about to)
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"  # after-call work; length per queue, overridable per agent
    PAUSED = "paused"  # not taking calls; `reason` says why (break, lunch, no-answer, ...)


class Trigger(enum.StrEnum):
    LOGIN = "log in"
    LOGIN_PAUSED = "log in paused"
    READY = "become ready"  # end a pause, or cut wrap-up short
    PAUSE = "pause"
    LOGOUT = "log out"
    RESERVE = "be offered a call"
    RING_ENDED = "stop ringing"  # no answer, cancelled, caller gone
    AUTO_PAUSE = "be paused for not answering"
    ANSWER = "answer"
    CALL_ENDED = "end the call"
    WRAPUP_ENDED = "end wrap-up"


# Observe mode: the reason of the QueuePause that holds an agent in wrap-up on the PBX's app_queue
# until they press Done (cti.acd). The PBX's echo of it is Hotline's own hold, not a pause.
WRAPUP_HOLD_REASON = "hotline-wrap-up"

S = AgentState
T = Trigger

TRANSITIONS: dict[tuple[AgentState, Trigger], AgentState] = {
    (S.LOGGED_OUT, T.LOGIN): S.AVAILABLE,
    (S.LOGGED_OUT, T.LOGIN_PAUSED): S.PAUSED,
    (S.AVAILABLE, T.RESERVE): S.RESERVED,
    (S.AVAILABLE, T.ANSWER): S.ON_CALL,  # observe mode: the PBX connected without a ring we saw
    (S.AVAILABLE, T.PAUSE): S.PAUSED,
    (S.AVAILABLE, T.LOGOUT): S.LOGGED_OUT,
    (S.AVAILABLE, T.READY): S.AVAILABLE,  # harmless repeat
    (S.RESERVED, T.ANSWER): S.ON_CALL,
    (S.RESERVED, T.RING_ENDED): S.AVAILABLE,
    (S.RESERVED, T.AUTO_PAUSE): S.PAUSED,
    (S.RESERVED, T.PAUSE): S.PAUSED,  # the ring is cancelled, the call keeps its place
    (S.RESERVED, T.LOGOUT): S.LOGGED_OUT,  # likewise
    (S.ON_CALL, T.CALL_ENDED): S.WRAP_UP,
    (S.WRAP_UP, T.WRAPUP_ENDED): S.AVAILABLE,
    (S.WRAP_UP, T.READY): S.AVAILABLE,
    (S.WRAP_UP, T.PAUSE): S.PAUSED,
    (S.WRAP_UP, T.LOGOUT): S.LOGGED_OUT,
    (S.PAUSED, T.READY): S.AVAILABLE,
    (S.PAUSED, T.PAUSE): S.PAUSED,  # change of reason
    (S.PAUSED, T.LOGOUT): S.LOGGED_OUT,
}

del S, T

# States in which the agent counts as staffed (logged in and not paused) for occupancy.
STAFFED = frozenset({AgentState.AVAILABLE, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})
# States in which the agent is busy with a call (occupancy numerator).
BUSY = frozenset({AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})


def next_state(current: AgentState, trigger: Trigger) -> AgentState | None:
    """The state `trigger` leads to from `current`, or None if the table does not allow it."""
    return TRANSITIONS.get((current, trigger))
