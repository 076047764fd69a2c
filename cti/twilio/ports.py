"""What the Twilio link needs from the service desk, without importing it.

tickets.ivr.IvrDesk is the service desk's side of it; the composition root hands
it to the link.
Every method may be slow (it is the database): the link never awaits one in a
webhook beyond a small budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cti.twilio.calls import CallBook


class KnownIncident(Protocol):
    """An open incident (mass fault) that affects the caller, in the IVR's languages."""

    @property
    def description(self) -> Mapping[str, str]:
        """Language ("zh-CN", "en") -> what is wrong, as the supervisor wrote it."""
        ...

    @property
    def expected(self) -> Mapping[str, str]:
        """Language -> the expected restoration as said ("12月1日 18:00", "on Dec 1 at 18:00"); "" unknown."""
        ...


class DeskPort(Protocol):
    async def language_of(self, caller: str) -> str | None:
        """The language on the caller's customer record ("en", "zh-CN"), if one is known."""
        ...

    async def known_incident(self, caller: str) -> KnownIncident | None:
        """An open incident affecting this caller, if any: the IVR says it is known."""
        ...

    async def survey_target(self, ticket_id: int) -> tuple[str, str | None] | None:
        """(number to call in E.164, language hint) for a ticket's survey, or None if none to call."""
        ...


class ReplayLedger(Protocol):
    """Webhooks answered before, kept across restarts (cti.twilio.replay_store)."""

    async def recall(self, key: str) -> str | None:
        """The TwiML given to this request identity before, unless expired."""
        ...

    async def remember(self, key: str, answer: str) -> None: ...


class CallStore(Protocol):
    """The call book mirrored in the database, for a standby router (cti.twilio.call_store)."""

    async def save(self, book: CallBook, touched: Iterable[tuple[str, str]]) -> int: ...

    async def load(self, book: CallBook) -> int: ...
