"""`DeskPort` on the service desk: the caller's language, whom to survey, where a score goes.

Built by the composition root; the link itself only knows the port. The
customer's language is a tag on their record (`lang:en`, `lang:zh-CN`; also
`language:`), so no schema change is needed to set it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tickets.errors import DeskError
from tickets.lifecycle import Actor
from tickets.service import ServiceDesk

log = logging.getLogger(__name__)

IVR = Actor("ivr", "system")
_LANGUAGE_TAGS = ("lang:", "language:")


def language_tag(tags: Iterable[str]) -> str | None:
    for tag in tags:
        lower = tag.strip().lower()
        for prefix in _LANGUAGE_TAGS:
            if lower.startswith(prefix) and lower[len(prefix) :]:
                return tag.strip()[len(prefix) :]
    return None


class TwilioDesk:
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

    async def survey_target(self, ticket_id: int) -> tuple[str, str | None] | None:
        ticket = await self._desk.tickets.get(ticket_id)
        number, language = ticket.caller_e164, None
        if ticket.customer_id is not None:
            customer = await self._desk.customers.get(ticket.customer_id)
            language = language_tag(customer.tags)
            if number is None and customer.phones:
                number = customer.phones[0].e164
        return (number, language) if number else None

    async def record_score(self, ticket_id: int, score: int) -> None:
        try:
            await self._desk.follow_ups.record_survey(ticket_id, score, IVR)
        except DeskError as exc:  # no pending follow-up (recorded already, cancelled): nothing to do
            log.info("survey score %s for ticket %s not recorded: %s", score, ticket_id, exc)
