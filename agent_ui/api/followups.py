"""Follow-ups (回访) over REST: the agents' due list and recording the outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agent_ui.api.desk_common import Desk, StaffActor, ViewerDep, VisibleFollowUp, visible_ticket_ids
from tickets.schemas import FollowUpPublic, FollowUpRecord

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])


@router.get("/due", response_model=list[FollowUpPublic])
async def due(
    desk: Desk, viewer: ViewerDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[FollowUpPublic]:
    found = await desk.follow_ups.due(limit=limit)
    seen = await visible_ticket_ids(desk, viewer, {f.ticket_id for f in found})
    return [f for f in found if f.ticket_id in seen]


@router.post("/{follow_up_id:int}", response_model=FollowUpPublic)
async def record(
    follow_up_id: VisibleFollowUp, body: FollowUpRecord, desk: Desk, actor: StaffActor
) -> FollowUpPublic:
    """Outcome and a 1–5 score. A score at or below the desk's `low_score` reopens or flags the ticket."""
    return await desk.follow_ups.record(follow_up_id, body, actor)
