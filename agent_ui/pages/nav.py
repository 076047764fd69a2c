"""Which pages each role has: the one registry the header's navigation is built from.

A new page adds one `NavEntry` to `NAV` (in the order the header shows it) and
gates its route with `await gate(request, ENTRY)` (agent_ui.pages.common), so the
link a role sees and the page it may open cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_ui.models import Role


@dataclass(frozen=True, slots=True)
class NavEntry:
    path: str
    label: str  # message key (agent_ui.i18n)
    roles: frozenset[Role]


SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
AUDITORS = frozenset({Role.AUDITOR, Role.ADMIN})

CONSOLE = NavEntry("/agent", "nav.console", frozenset({Role.AGENT}))
TICKETS = NavEntry(
    "/tickets", "nav.tickets", frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR})
)
KB = NavEntry("/kb", "nav.kb", TICKETS.roles)
KB_EDIT = NavEntry("/kb/new", "nav.kb", frozenset({Role.SUPERVISOR, Role.ADMIN}))  # not in NAV: the editor
CATEGORIES = NavEntry("/desk/categories", "nav.categories", frozenset({Role.SUPERVISOR, Role.ADMIN}))
WALLBOARD = NavEntry("/supervisor", "nav.wallboard", SUPERVISORS)
REPORTS = NavEntry("/reports", "nav.reports", SUPERVISORS)
AUDIT = NavEntry("/audit", "nav.audit", AUDITORS)
FIELD = NavEntry("/field", "nav.field", frozenset({Role.TECHNICIAN}))
DISPATCH = NavEntry("/dispatch", "nav.dispatch", SUPERVISORS)
ARBITRATION = NavEntry("/arbitration", "nav.arbitration", SUPERVISORS)
RESPONSIBILITY = NavEntry("/responsibility", "nav.responsibility", SUPERVISORS)
INCIDENTS = NavEntry("/incidents", "nav.incidents", SUPERVISORS)
CUSTOMERS = NavEntry("/customers", "nav.customers", frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN}))
FOLLOWUPS = NavEntry("/follow-ups", "nav.followups", frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN}))
ADMINS = frozenset({Role.ADMIN})
ADMIN_USERS = NavEntry("/admin/users", "nav.admin_users", ADMINS)

NAV: tuple[NavEntry, ...] = (
    CONSOLE,
    TICKETS,
    FOLLOWUPS,
    CUSTOMERS,
    WALLBOARD,
    DISPATCH,
    ARBITRATION,
    INCIDENTS,
    CATEGORIES,
    KB,
    REPORTS,
    RESPONSIBILITY,
    AUDIT,
    FIELD,
    ADMIN_USERS,
)

HOME_BY_ROLE = {
    Role.AGENT: CONSOLE.path,
    Role.SUPERVISOR: WALLBOARD.path,
    Role.AUDITOR: AUDIT.path,
    Role.ADMIN: WALLBOARD.path,
    Role.TECHNICIAN: FIELD.path,
}


def entries_for(role: Role) -> list[NavEntry]:
    """The header's links for `role`, in order."""
    return [entry for entry in NAV if role in entry.roles]
