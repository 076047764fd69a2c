"""Who sees and works which tickets, and who may reassign them: one policy, pure.

`service_desk.access` in the call-center file chooses how agents are scoped:

    shared (default)  every agent reads and works every ticket: a service desk where any
                      agent takes any caller, and the caller's open ticket must be at hand.
    queue             an agent sees the tickets of their queues, tickets with no queue,
                      and any ticket they own.
    owner             an agent sees the tickets they own, and unowned tickets of their
                      queues (or with no queue) to pick up.

In every mode an agent also sees the tickets of calls they took (a caller's open ticket
owned by a colleague who was busy), supervisors and admins see everything (they
arbitrate), and auditors read everything and change nothing. Customers are one shared
directory in every mode: any caller can reach any agent, and the pop needs the card.
Work orders and follow-ups go with their ticket. A ticket an agent may not see is
answered like one that does not exist (404).

Technicians (field staff), in every mode: they see only the tickets that carry a work order
assigned to them, and of those tickets only their own orders (`tickets.scope` asks the work
orders); no customer directory, no follow-ups of others, no reassigning.

Reassigning (`owner_agent_id`), in every mode: a supervisor or admin may set any owner;
an agent may take an unowned ticket (to themselves), hand their own ticket to someone
else or release it; an agent may not take or move a colleague's ticket.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tickets.errors import Forbidden

SUPERVISING = frozenset({"supervisor", "admin"})
TECHNICIAN = "technician"


class DeskAccess(enum.StrEnum):
    SHARED = "shared"
    QUEUE = "queue"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: login, role (as in agent_ui), and the queues an agent works."""

    login: str
    role: str
    queues: frozenset[str] = frozenset()

    @property
    def unrestricted(self) -> bool:
        return self.role in SUPERVISING or self.role == "auditor"

    @property
    def is_technician(self) -> bool:
        return self.role == TECHNICIAN


def scoped(access: DeskAccess, viewer: Viewer) -> bool:
    """Whether the viewer's reads need a scope check at all (not in shared mode, except
    for technicians, who are scoped to their own work orders in every mode)."""
    return viewer.is_technician or (access is not DeskAccess.SHARED and not viewer.unrestricted)


def may_see(access: DeskAccess, viewer: Viewer, *, queue: str | None, owner: str | None) -> bool:
    """Whether the ticket is in the viewer's scope (without the "a call they took" rule,
    which needs the call log, nor the technician's rule, which needs the work orders: see
    `tickets.scope`)."""
    if viewer.is_technician:
        return False
    if viewer.unrestricted or access is DeskAccess.SHARED or owner == viewer.login:
        return True
    in_my_queues = queue is None or queue in viewer.queues
    if access is DeskAccess.QUEUE:
        return in_my_queues
    return owner is None and in_my_queues


def check_reassign(actor_id: str, actor_role: str, current: str | None, new: str | None) -> None:
    """Raise Forbidden unless the actor may move the ticket from owner `current` to `new`."""
    if actor_role == TECHNICIAN:
        raise Forbidden("a technician may not reassign tickets")
    if new == current or actor_role != "agent":
        return  # supervisors and admins arbitrate; system and IVR actors follow the desk's rules
    if current is None and new == actor_id:
        return  # taking an unowned ticket
    if current == actor_id:
        return  # handing one's own ticket on, or releasing it
    if current is None:
        raise Forbidden("only a supervisor may assign an unowned ticket to someone else")
    raise Forbidden(f"the ticket is {current}'s: only they or a supervisor may reassign it")
