"""HTML pages, one module per area of the UI, each with its own router.

    auth        sign-in, sign-out, home redirect, language switch
    console     /agent           agents
    wallboard   /supervisor      supervisors, admins
    reports     /reports         supervisors, admins
    audit       /audit           auditors, admins

`nav.NAV` lists which role sees which page in the header; `common` holds the
templates, `render` and the role `gate`. A new area adds a module here, its
router to `AREAS`, and its entry to `nav.NAV`. Every route under `router` checks the form
token of an unsafe request (`agent_ui.csrf`): a template's `<form method="post">` includes
`{{ csrf_input }}`.
"""

from __future__ import annotations

from fastapi import APIRouter

from agent_ui import csrf
from agent_ui.pages import audit, auth, console, reports, wallboard

AREAS = (auth, console, wallboard, reports, audit)

router = APIRouter(include_in_schema=False, dependencies=[csrf.FormToken])
for _area in AREAS:
    router.include_router(_area.router)
