"""The agent console's REST side: acting on one's own call, wrap-up, follow-ups, recent calls.

Every call-scoped route goes through `OwnCall` (`agent_ui.api.call_scope`): an agent
acts only on a call that was popped on their console or that they answered; anyone
else's call is 403, whoever asks. Customer and ticket changes go to the service desk (the same
services as /api/pop and /api/tickets) and the updated pop is pushed to the
agent's websocket, so every open tab and a reload show the same card.
Ticket fields themselves are edited with the tickets API (`PATCH /api/tickets/{id}`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from agent_ui.api.call_scope import OwnCall
from agent_ui.auth import AgentUser
from agent_ui.console import WRAPUP_CODES
from agent_ui.deps import (
    CallViewsDep,
    Center,
    Console,
    Controls,
    Desk,
    DeskViewsDep,
    RecordingViewsDep,
    SettingsDep,
)
from agent_ui.errors import ApiError
from config.database import RowId
from cti.twilio.token import TOKEN_TTL_S, client_identity, voice_token
from tickets.lifecycle import Actor
from tickets.schemas import CallContext, CustomerCreate
from tickets.views import CustomerTier

router = APIRouter(prefix="/console", tags=["agent console"])
log = logging.getLogger(__name__)

RECENT_CALLS = 20
HISTORY_CALLS = 5


def _actor(user: AgentUser, request: Request) -> Actor:
    return Actor(user.login, str(user.role), request.client.host if request.client else None)


ConsoleActor = Annotated[Actor, Depends(_actor)]


class ChooseIn(BaseModel):
    customer_id: RowId


class NewCustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    company: str = Field(default="", max_length=200)
    tier: CustomerTier = CustomerTier.ORDINARY
    notes: str = Field(default="", max_length=4000)


class WrapUpIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    notes: str = Field(default="", max_length=4000)


class ControlIn(BaseModel):
    target: str | None = Field(default=None, max_length=40)


class RecentCall(BaseModel):
    call_id: str
    caller: str | None
    caller_name: str | None
    queue: str | None
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    talk_s: float | None
    recording_url: str | None


class FollowUpItem(BaseModel):
    id: int
    ticket_id: int
    subject: str
    due_at: datetime


class PastCall(BaseModel):
    call_id: str
    offered_at: datetime | None
    outcome: str | None
    agent_id: str | None


# ------------------------------------------------------------------ the pop


class PhoneToken(BaseModel):
    identity: str
    token: str
    expires_in_s: int


@router.get("/phone-token", response_model=PhoneToken, responses={404: {}, 409: {}, 503: {}})
async def phone_token(
    user: AgentUser, settings: SettingsDep, center: Center, response: Response
) -> PhoneToken:
    """A Twilio Voice access token for the agent's own `client:` phone (browser or app).

    Without one, Twilio cannot ring an agent whose target is `client:<id>`, the
    default. Issued only to that agent, for their identity; not cached, not logged.
    """
    if settings.pbx != "twilio":
        raise ApiError(404, "no_twilio", "phone tokens are for a Twilio hotline; this one is not")
    agent = center.agent(user.login)
    if agent is None:
        raise ApiError(404, "not_an_agent", f"{user.login} is no agent of the call center")
    target = agent.twilio_target()
    identity = client_identity(target)
    if identity is None:
        raise ApiError(409, "not_a_client_phone", f"your phone is {target}: it needs no token")
    secret = settings.twilio_api_key_secret.get_secret_value()
    if not settings.twilio_api_key_sid or not secret:
        raise ApiError(
            503,
            "tokens_not_configured",
            "phone tokens need an API key: set HOTLINE_TWILIO_API_KEY_SID and HOTLINE_TWILIO_API_KEY_SECRET",
        )
    token = voice_token(
        account_sid=settings.twilio_account_sid,
        api_key_sid=settings.twilio_api_key_sid,
        api_key_secret=secret,
        identity=identity,
        outgoing_app_sid=settings.twilio_twiml_app_sid or None,
    )
    response.headers["Cache-Control"] = "no-store"
    log.info("phone token issued to agent %s (identity %s)", user.login, identity)
    return PhoneToken(identity=identity, token=token, expires_in_s=TOKEN_TTL_S)


@router.post("/calls/{call_id}/customer", response_model=CallContext)
async def choose_customer(
    call_id: OwnCall, body: ChooseIn, user: AgentUser, actor: ConsoleActor, desk: Desk, console: Console
) -> CallContext:
    context = await desk.calls.choose_customer(call_id, body.customer_id, actor)
    console.update_pop(user.login, call_id, context, chosen_customer_id=body.customer_id)
    return context


@router.post("/calls/{call_id}/new-customer", response_model=CallContext, status_code=201)
async def new_customer(
    call_id: OwnCall, body: NewCustomerIn, user: AgentUser, actor: ConsoleActor, desk: Desk, console: Console
) -> CallContext:
    data = CustomerCreate(name=body.name, company=body.company, tier=body.tier, notes=body.notes)
    context = await desk.calls.new_customer_from_call(call_id, data, actor)
    chosen = context.customers[0].id if context.customers else None
    console.update_pop(user.login, call_id, context, chosen_customer_id=chosen)
    return context


@router.post("/calls/{call_id}/ticket", response_model=CallContext)
async def open_new_ticket(
    call_id: OwnCall, user: AgentUser, actor: ConsoleActor, desk: Desk, console: Console
) -> CallContext:
    """A different issue than the caller's open ticket: this call gets a ticket of its own."""
    context = await desk.calls.attach_call(call_id, None, actor)
    console.update_pop(user.login, call_id, context)
    return context


@router.get("/calls/{call_id}/history", response_model=dict[int, list[PastCall]])
async def customer_calls(call_id: OwnCall, desk: Desk, calls: CallViewsDep) -> dict[int, list[PastCall]]:
    """The last calls of each customer on the pop (by their phone numbers)."""
    context = await desk.calls.context(call_id)
    out: dict[int, list[PastCall]] = {}
    for card in context.customers:
        rows = await calls.recent_from(card.phones, besides=call_id, limit=HISTORY_CALLS)
        out[card.id] = [
            PastCall(call_id=r.call_id, offered_at=r.offered_at, outcome=r.outcome, agent_id=r.agent_id)
            for r in rows
        ]
    return out


# ------------------------------------------------------------------ wrap-up and controls


@router.post("/calls/{call_id}/wrapup", status_code=204)
async def wrap_up(
    call_id: OwnCall,
    body: WrapUpIn,
    user: AgentUser,
    actor: ConsoleActor,
    desk: Desk,
    tickets: DeskViewsDep,
    console: Console,
) -> None:
    """Record the wrap-up code and notes on the call's ticket, and end the agent's wrap-up time."""
    if body.code not in WRAPUP_CODES:
        raise ApiError(422, "invalid_input", f"wrap-up code must be one of {', '.join(WRAPUP_CODES)}")
    link = await tickets.call_ticket(call_id)
    if link is not None:
        note = f"[wrap-up {body.code}] call {call_id}" + (f": {body.notes}" if body.notes else "")
        await desk.tickets.add_note(link.ticket_id, note, actor)
    console.wrapped_up(user.login, call_id)
    await console.end_wrapup(user.login)


@router.post("/calls/{call_id}/control/{action}", status_code=204)
async def control(
    call_id: OwnCall,
    action: Annotated[str, Path(max_length=40)],
    body: ControlIn,
    user: AgentUser,
    controls: Controls,
) -> None:
    await controls.perform(action, call_id, user.login, body.target)


# ------------------------------------------------------------------ lists


@router.get("/calls", response_model=list[RecentCall])
async def recent_calls(
    user: AgentUser, calls: CallViewsDep, recordings: RecordingViewsDep
) -> list[RecentCall]:
    """The agent's own last calls, each with its recording when one is stored."""
    rows = await calls.recent_for_agent(user.login, RECENT_CALLS)
    stored = await recordings.stored_of_calls(r.call_id for r in rows)
    return [
        RecentCall(
            call_id=r.call_id,
            caller=r.caller,
            caller_name=r.caller_name,
            queue=r.queue,
            offered_at=r.offered_at,
            answered_at=r.answered_at,
            ended_at=r.ended_at,
            outcome=r.outcome,
            talk_s=r.talk_s,
            recording_url=f"/api/recordings/{stored[r.call_id]}/audio" if r.call_id in stored else None,
        )
        for r in rows
    ]


@router.get("/followups", response_model=list[FollowUpItem])
async def follow_ups(user: AgentUser, desk: Desk, tickets: DeskViewsDep) -> list[FollowUpItem]:
    """Follow-ups due on the agent's tickets and on tickets nobody owns yet."""
    due = await desk.follow_ups.due(limit=200)
    items = await tickets.follow_ups_for(user.login, due)
    return [FollowUpItem(id=f.id, ticket_id=f.ticket_id, subject=f.subject, due_at=f.due_at) for f in items]
