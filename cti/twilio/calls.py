"""What the Twilio link remembers about each live call: where the caller is, who rings, which attempt.

Twilio's webhooks are stateless; the link needs a little state to answer them
and to execute the router's orders only when they still make sense (no Dial
for a caller already leaving a voicemail, no "back to the queue" for a caller
who hung up). The caller leg's phase follows one table of allowed moves;
webhooks may arrive late or twice, so an illegal move is refused (and
counted), never applied, and never raises into a webhook.

Kept in memory, bounded: the link runs in the router's process and answers every
webhook from here. With several processes (`--role router|web`, issue #17) the
webhooks still go to the one router (the proxy sends `/twilio/` there; web workers
do not serve it), since each answer also depends on the bus and the ACD's decision;
but the router writes the calls each webhook and order touched (`touched`) to the
database (cti/twilio/call_store.py), with an expiry, and a standby that takes over
loads them before its first webhook. `--role all` keeps the book in memory only:
its restart loses the router's queue as well. The replay ledger of answered
webhooks is in the database in every role (cti/twilio/replay_store.py).
"""

from __future__ import annotations

import enum
import logging
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_CALLS = 50_000
CALL, CALLBACK = "call", "callback"  # what `CallBook.touched` names (kind, key)


class Phase(enum.StrEnum):
    MENU = "menu"  # in the IVR
    WAITING = "waiting"  # in the hold loop; the router has (or soon has) the call
    RINGING = "ringing"  # <Dial> to an agent in progress
    CONNECTED = "connected"  # talking with an agent
    VOICEMAIL = "voicemail"  # closed or unreachable: leaving a message (or forwarded)
    CALLBACK = "callback"  # hung up with a callback promised; the router keeps the place
    ENDED = "ended"


P = Phase
MOVES: Mapping[Phase, frozenset[Phase]] = {
    P.MENU: frozenset({P.WAITING, P.VOICEMAIL, P.ENDED}),
    P.WAITING: frozenset({P.RINGING, P.VOICEMAIL, P.CALLBACK, P.ENDED}),
    P.RINGING: frozenset({P.WAITING, P.CONNECTED, P.VOICEMAIL, P.ENDED}),
    P.CONNECTED: frozenset({P.ENDED}),
    P.VOICEMAIL: frozenset({P.ENDED}),
    P.CALLBACK: frozenset({P.ENDED}),
    P.ENDED: frozenset(),
}


@dataclass
class TwilioCall:
    sid: str  # the caller leg's CallSid: Hotline's call_id
    caller: str | None
    dialed: str | None
    language: str
    phase: Phase = Phase.MENU
    queue: str | None = None
    ringing: list[str] = field(default_factory=list)  # agents the current <Dial> rings
    ring_timeout_s: float = 15.0
    agent: str | None = None  # the agent who answered
    attempt: int = 0  # one per <Dial> issued: keeps each Dial's callbacks apart
    answered_attempt: int = 0  # the attempt whose agent answered
    loops: int = 0  # hold-loop turns handed out (each URL unique, so retries are recognised)

    def next_loop(self) -> int:
        self.loops += 1
        return self.loops


@dataclass
class Callback:
    """An outbound callback: first the agent's leg, then the customer's, under the router's call id."""

    call_id: str
    original: str
    agent: str
    number: str
    queue: str | None
    language: str
    caller_id: str | None
    ring_timeout_s: float
    attempt: int = 1
    leg_sid: str | None = None  # the agent leg, once created
    answered: bool = False
    customer_status: str | None = None


@dataclass
class CallBook:
    calls: OrderedDict[str, TwilioCall] = field(default_factory=OrderedDict)
    callbacks: OrderedDict[str, Callback] = field(default_factory=OrderedDict)
    refused: Counter[str] = field(default_factory=Counter)
    # (kind, key) of every entry handed out since the link last saved them (call_store.py): whoever
    # gets one may change it, so each is written back after the webhook or order that got it
    touched: set[tuple[str, str]] = field(default_factory=set)

    def open(self, sid: str, caller: str | None, dialed: str | None, language: str) -> TwilioCall:
        call = self.calls.get(sid)
        if call is None:
            call = self.calls[sid] = TwilioCall(sid, caller, dialed, language)
            _trim(self.calls)
        self.touched.add((CALL, sid))
        return call

    def get(self, sid: str | None) -> TwilioCall | None:
        call = self.calls.get(sid) if sid else None
        if call is not None:
            self.touched.add((CALL, call.sid))
        return call

    def callback(self, call_id: str | None) -> Callback | None:
        callback = self.callbacks.get(call_id) if call_id else None
        if callback is not None:
            self.touched.add((CALLBACK, callback.call_id))
        return callback

    def take_touched(self) -> set[tuple[str, str]]:
        touched, self.touched = self.touched, set()
        return touched

    def move(self, call: TwilioCall, to: Phase) -> bool:
        """Move the caller to `to` if the table allows it; False (and counted) if not."""
        if to is call.phase:
            return True
        if to not in MOVES[call.phase]:
            self.refused[f"{call.phase.value}->{to.value}"] += 1
            log.info("call %s: %s -> %s refused", call.sid, call.phase.value, to.value)
            return False
        call.phase = to
        return True

    def add_callback(self, callback: Callback) -> Callback:
        self.touched.add((CALLBACK, callback.call_id))
        known = self.callbacks.get(callback.call_id)
        if known is not None:
            known.agent, known.attempt = callback.agent, known.attempt + 1
            known.leg_sid, known.answered, known.customer_status = None, False, None
            return known
        self.callbacks[callback.call_id] = callback
        _trim(self.callbacks)
        return callback


def _trim(book: OrderedDict[str, Any]) -> None:
    while len(book) > MAX_CALLS:
        book.popitem(last=False)
