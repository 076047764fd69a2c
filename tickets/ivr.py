"""What the IVR asks of the service desk: the caller's language, whom to survey, where a score goes.

`IvrDesk` is the desk's side of the telephony link's port (cti.twilio.ports.DeskPort:
language_of, known_incident, survey_target) and the handler of the `RecordSurveyScore` command.
The customer's language is a tag on their record (`lang:en`, `lang:zh-CN`; also
`language:`), so no schema change is needed to set it.
"""

from __future__ import annotations

import logging

from routing.commands import RecordSmsReply, RecordSurveyScore
from tickets.customers import language_tag
from tickets.errors import DeskError
from tickets.incidents import IncidentNotice
from tickets.lifecycle import Actor
from tickets.service import ServiceDesk

log = logging.getLogger(__name__)

IVR = Actor("ivr", "system")
SMS = Actor("sms", "system")


class IvrDesk:
    def __init__(self, desk: ServiceDesk) -> None:
        self._desk = desk

    async def language_of(self, caller: str) -> str | None:
        try:
            customers = await self._desk.customers.find_by_phone(caller)
        except DeskError:  # not a number we can read (anonymous, malformed)
            return None
        for customer in customers:
            found = language_tag(customer.tags)
            if found:
                return found
        return None

    async def known_incident(self, caller: str) -> IncidentNotice | None:
        """An open incident affecting the caller: the IVR tells them it is known, and when it ends."""
        try:
            ids = await self._desk.customers.match(caller)
        except DeskError:
            return None
        return await self._desk.incidents.notice_for_customers(ids)

    async def survey_target(self, ticket_id: int) -> tuple[str, str | None] | None:
        ticket = await self._desk.tickets.get(ticket_id)
        number, language = ticket.caller_e164, None
        if ticket.customer_id is not None:
            customer = await self._desk.customers.get(ticket.customer_id)
            language = language_tag(customer.tags)
            if number is None and customer.phones:
                number = customer.phones[0].e164
        return (number, language) if number else None

    async def record_score(self, command: RecordSurveyScore) -> bool:
        """The RecordSurveyScore handler: True if stored, False if there was nothing to score."""
        try:
            await self._desk.follow_ups.record_survey(command.ticket_id, command.score, IVR)
        except DeskError as exc:  # no pending follow-up (recorded already, cancelled): nothing to do
            log.info("survey score %s for ticket %s not recorded: %s", command.score, command.ticket_id, exc)
            return False
        return True

    async def record_sms_reply(self, command: RecordSmsReply) -> bool:
        """The RecordSmsReply handler: True if it answered a pending follow-up (verified closure)."""
        try:
            row = await self._desk.follow_ups.record_sms_reply(command.sender, command.body, SMS)
        except DeskError as exc:  # recorded meanwhile by someone else: nothing to do
            log.info("SMS reply %s not recorded: %s", command.call_id, exc)
            return False
        return row is not None
