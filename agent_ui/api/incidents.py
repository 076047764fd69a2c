"""Incidents (mass faults) over REST, for supervisors: declare, list with call counts, resolve.

The same service as the incidents page (`tickets.incidents.Incidents`): who is affected is fixed
at declaration, resolving is version-checked and resolves the children (each texted once).
Invalid input is a 422 naming the field; a stale version 409 `version_conflict`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from agent_ui.api.desk_common import Desk, actor_of
from agent_ui.auth import SupervisorUser
from config.database import RowId
from tickets.schemas import IncidentCreate, IncidentPublic, IncidentResolveIn, TicketPublic

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.get("", response_model=list[IncidentPublic])
async def list_incidents(desk: Desk, _user: SupervisorUser, open_only: bool = False) -> list[IncidentPublic]:
    """Newest first, with the calls and child tickets of each."""
    return await desk.incidents.listing(open_only=open_only)


@router.post("", response_model=IncidentPublic, status_code=201)
async def declare_incident(
    body: IncidentCreate, desk: Desk, user: SupervisorUser, request: Request
) -> IncidentPublic:
    return await desk.incidents.declare(body, actor_of(user, request))


@router.get("/{incident_id}", response_model=IncidentPublic)
async def get_incident(incident_id: RowId, desk: Desk, _user: SupervisorUser) -> IncidentPublic:
    return await desk.incidents.get(incident_id)


@router.get("/{incident_id}/tickets", response_model=list[TicketPublic])
async def incident_tickets(incident_id: RowId, desk: Desk, _user: SupervisorUser) -> list[TicketPublic]:
    await desk.incidents.get(incident_id)  # 404 for an unknown one, not an empty list
    return await desk.incidents.children(incident_id)


@router.post("/{incident_id}/resolve", response_model=IncidentPublic)
async def resolve_incident(
    incident_id: RowId, body: IncidentResolveIn, desk: Desk, user: SupervisorUser, request: Request
) -> IncidentPublic:
    """Resolve it; its open child tickets resolve together and each caller is texted once."""
    return await desk.incidents.resolve(incident_id, body, actor_of(user, request))
