"""HTML pages, one module per area of the UI, each with its own router.

    auth        sign-in, sign-out, home redirect, language switch
    console     /agent           agents
    ticket_list /tickets         staff (auditors read): views, filters, search
    categories  /desk/categories supervisors, admins: categories and dispatch rules
    kb          /kb              staff read, supervisors write: the knowledge base
    ticket      /tickets/{id}    staff (auditors read): the ticket page and its actions
    wallboard   /supervisor      supervisors, admins
    reports     /reports         supervisors, admins
    audit       /audit           auditors, admins
    field       /field           field technicians (their own work orders, phone-sized)
    dispatch    /dispatch        supervisors, admins (open work orders by department and technician)
    bounces     /arbitration, /responsibility  supervisors, admins (退单仲裁, responsibility figures + CSV)
    customers   /customers       agents, supervisors, admins (profile, history, edit; merge: supervisors)
    followups   /follow-ups      agents, supervisors, admins (回访: call, record result + score, reschedule)
    accounts    /account/password everyone; /admin/users admins

`nav.NAV` lists which role sees which page in the header; `common` holds the
templates, `render` and the role `gate`. A new area adds a module here, its
router to `AREAS`, and its entry to `nav.NAV`. Every route under `router` checks the form
token of an unsafe request (`agent_ui.csrf`): a template's `<form method="post">` includes
`{{ csrf_input }}`.
"""

from __future__ import annotations

from fastapi import APIRouter

from agent_ui import csrf
from agent_ui.pages import (
    accounts,
    admin,
    audit,
    auth,
    bounces,
    categories,
    console,
    customers,
    dispatch,
    field,
    followups,
    incidents,
    kb,
    reports,
    ticket,
    ticket_list,
    wallboard,
)

AREAS = (
    auth,
    console,
    ticket_list,
    ticket,
    categories,
    kb,
    wallboard,
    reports,
    audit,
    field,
    dispatch,
    bounces,
    incidents,
    customers,
    followups,
    accounts,
    admin,
)

router = APIRouter(include_in_schema=False, dependencies=[csrf.FormToken])
for _area in AREAS:
    router.include_router(_area.router)
