"""The actions the ticket page offers, per lifecycle state: written out here, not derived.

`tickets.actions.legal_actions` asks the lifecycle; these tables say what a person should
see, so a change to the transition table that adds or removes a button fails here first.
"""

from __future__ import annotations

import pytest

from tickets.actions import TicketAction, legal_actions
from tickets.lifecycle import TICKET_TRANSITIONS, Actor, TicketFacts, check_ticket_transition
from tickets.models import TicketState

S = TicketState
A = TicketAction
AGENT = Actor("1001", "agent")
SUPERVISOR = Actor("sup", "supervisor")
AUDITOR = Actor("audit", "auditor")

AGENT_SEES = {
    S.REPORTED: {A.ACCEPT, A.CANCEL, A.WAIT, A.COMPLAINT, A.NOTE, A.MERGE},
    S.ACCEPTED: {A.DISPATCH, A.RESOLVE, A.CANCEL, A.WAIT, A.COMPLAINT, A.NOTE, A.MERGE},
    S.DISPATCHED: {A.DISPATCH, A.RESOLVE, A.CANCEL, A.WAIT, A.COMPLAINT, A.NOTE, A.MERGE},
    S.RESOLVED: {A.CLOSE, A.REOPEN, A.NOTE, A.MERGE},
    S.REOPENED: {A.ACCEPT, A.DISPATCH, A.RESOLVE, A.CANCEL, A.WAIT, A.COMPLAINT, A.NOTE, A.MERGE},
    S.CLOSED: {A.NOTE},
    S.CANCELLED: {A.NOTE},
    S.MERGED: {A.NOTE},
}


@pytest.mark.parametrize("state", list(S))
def test_an_agent_is_offered_exactly_the_steps_of_the_state(state: TicketState) -> None:
    offered = legal_actions(TicketFacts(1, state, False), AGENT, waiting=False)
    assert set(offered) == AGENT_SEES[state]


@pytest.mark.parametrize("state", list(S))
def test_every_offered_step_is_one_the_lifecycle_accepts(state: TicketState) -> None:
    targets = {A.ACCEPT: S.ACCEPTED, A.RESOLVE: S.RESOLVED, A.CLOSE: S.CLOSED, A.REOPEN: S.REOPENED}
    for action in legal_actions(TicketFacts(1, state, False), SUPERVISOR, waiting=False):
        if action in targets:
            assert targets[action] in TICKET_TRANSITIONS[state]
            check_ticket_transition(TicketFacts(1, state, False), targets[action], SUPERVISOR)


def test_open_work_orders_hide_resolve_but_allow_another_dispatch() -> None:
    offered = legal_actions(TicketFacts(1, S.DISPATCHED, False, (7,)), AGENT, waiting=False)
    assert A.RESOLVE not in offered and A.DISPATCH in offered


def test_a_child_of_an_open_incident_is_not_offered_a_dispatch() -> None:
    for state in (S.ACCEPTED, S.DISPATCHED, S.REOPENED):
        offered = legal_actions(TicketFacts(1, state, False, (), 5), SUPERVISOR, waiting=False)
        assert A.DISPATCH not in offered and A.NOTE in offered


def test_a_resolved_complaint_is_closed_by_a_supervisor_only() -> None:
    facts = TicketFacts(1, S.RESOLVED, True)
    assert A.CLOSE not in legal_actions(facts, AGENT, waiting=False)
    assert A.CLOSE in legal_actions(facts, SUPERVISOR, waiting=False)


def test_a_waiting_ticket_offers_resume_instead_of_wait() -> None:
    offered = legal_actions(TicketFacts(1, S.ACCEPTED, False), AGENT, waiting=True)
    assert A.RESUME in offered and A.WAIT not in offered


def test_supervisors_may_edit_open_and_resolved_tickets_but_not_finished_ones() -> None:
    assert A.EDIT in legal_actions(TicketFacts(1, S.RESOLVED, False), SUPERVISOR, waiting=False)
    assert A.EDIT not in legal_actions(TicketFacts(1, S.CLOSED, False), SUPERVISOR, waiting=False)
    assert A.EDIT not in legal_actions(TicketFacts(1, S.ACCEPTED, False), AGENT, waiting=False)


def test_an_auditor_reads_and_is_offered_nothing() -> None:
    assert legal_actions(TicketFacts(1, S.ACCEPTED, False), AUDITOR, waiting=False) == ()
