"""Who may do what with a recording: ONE table, ONE pure function.

    role        view      play      download  hold      delete
    agent       own       own       -         -         -
    supervisor  queues    queues    queues    -         -
    auditor     all       all       all       -         -
    admin       all       -         -         all       all

* own: the agent answered (or was transferred) the call.
* queues: the call went through a queue the supervisor supervises.
* Admins manage legal holds and retention but may NOT listen or download:
  whoever can destroy or shield evidence should not also be able to take it
  away (separation of duties). An admin who must listen is given an auditor
  account, which is itself an audited act. `view` is metadata only (lists,
  hashes, hold state), never audio.
* Nobody deletes a recording on legal hold (enforced by the service, whatever
  the role): that rule is about the recording, not the person.

No I/O here: the API dependency builds a `Principal` from the session and
`RecordingFacts` from the row, calls `decide`, and logs the outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Action(enum.StrEnum):
    VIEW = "view"
    PLAY = "play"
    DOWNLOAD = "download"
    HOLD = "hold"  # set or release a legal hold
    DELETE = "delete"


class Scope(enum.StrEnum):
    NONE = "none"
    OWN = "own"
    QUEUES = "queues"
    ALL = "all"


# Roles are the values of agent_ui.models.Role (recordings/ does not import agent_ui).
POLICY: Mapping[str, Mapping[Action, Scope]] = {
    "agent": {Action.VIEW: Scope.OWN, Action.PLAY: Scope.OWN},
    "supervisor": {Action.VIEW: Scope.QUEUES, Action.PLAY: Scope.QUEUES, Action.DOWNLOAD: Scope.QUEUES},
    "auditor": {Action.VIEW: Scope.ALL, Action.PLAY: Scope.ALL, Action.DOWNLOAD: Scope.ALL},
    "admin": {Action.VIEW: Scope.ALL, Action.HOLD: Scope.ALL, Action.DELETE: Scope.ALL},
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user as far as recordings care.

    `agent_id` is set for agents (their login); `queues` are the queues a
    supervisor supervises (empty for everyone else).
    """

    login: str
    role: str
    agent_id: str | None = None
    queues: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.login}"


@dataclass(frozen=True, slots=True)
class RecordingFacts:
    agents: frozenset[str]
    queue: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def scope_of(role: str, action: Action) -> Scope:
    return POLICY.get(role, {}).get(action, Scope.NONE)


def decide(principal: Principal, action: Action, facts: RecordingFacts) -> Decision:
    scope = scope_of(principal.role, action)
    if scope is Scope.ALL:
        return Decision(True, f"{principal.role} may {action} any recording")
    if scope is Scope.OWN:
        if principal.agent_id is not None and principal.agent_id in facts.agents:
            return Decision(True, "the agent took part in this call")
        return Decision(False, "agents may only access recordings of their own calls")
    if scope is Scope.QUEUES:
        if facts.queue is not None and facts.queue in principal.queues:
            return Decision(True, f"the call went through queue {facts.queue}")
        return Decision(False, "the call did not go through a queue this supervisor supervises")
    return Decision(False, f"role {principal.role!r} may not {action} recordings")
