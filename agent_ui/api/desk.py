"""Every service-desk router under one: `app.include_router(desk.router, prefix="/api")`.

The parts' routes are gathered into this router rather than included as routers: each level
of included router is scanned again per request (FastAPI matches an included router, then
matches inside it to handle the request), which cost the ticket GET more than its database
read (docs/BENCHMARKS.md, Tickets). The parts' routers carry only a prefix and tags, which
their routes already hold, so the result is the same routes in the same order.
"""

from __future__ import annotations

from fastapi import APIRouter

from agent_ui.api import customers, followups, incidents, kb, pop, tickets, workorders

_PARTS = (tickets, customers, workorders, followups, pop, kb, incidents)
for _part in _PARTS:
    assert not _part.router.dependencies and not _part.router.callbacks, _part.__name__

router = APIRouter(routes=[route for part in _PARTS for route in part.router.routes])
