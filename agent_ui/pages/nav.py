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
WALLBOARD = NavEntry("/supervisor", "nav.wallboard", SUPERVISORS)
REPORTS = NavEntry("/reports", "nav.reports", SUPERVISORS)
AUDIT = NavEntry("/audit", "nav.audit", AUDITORS)

NAV: tuple[NavEntry, ...] = (CONSOLE, WALLBOARD, REPORTS, AUDIT)

HOME_BY_ROLE = {
    Role.AGENT: CONSOLE.path,
    Role.SUPERVISOR: WALLBOARD.path,
    Role.AUDITOR: AUDIT.path,
    Role.ADMIN: WALLBOARD.path,
}


def entries_for(role: Role) -> list[NavEntry]:
    """The header's links for `role`, in order."""
    return [entry for entry in NAV if role in entry.roles]
