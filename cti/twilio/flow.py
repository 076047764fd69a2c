"""Each webhook's answer: TwiML for the caller, CallEvents and commands for the bus. No network, no database.

Twilio form fields are read here and nowhere else; what leaves is a `Reply`
(TwiML text plus typed CallEvents and commands). Event ids are built from the CallSid, the
kind and what makes the occurrence unique (agent and attempt, RecordingSid),
so a retried or doubled callback yields the same id and every consumer
applies it once. The two reports Twilio gives of one outcome (the <Dial>
action and the agent leg's status callback) yield the same id too.

The router decides; the flow only answers what the caller hears meanwhile and
reports what happened. The one decision taken here is the IVR's: which queue,
and whether that queue is open now (QueueConfig.hours, the router's own
data), so a closed queue's caller hears the after-hours message at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from config.ivr import IvrOption, IvrSpec
from cti.twilio import urls as u
from cti.twilio.calls import Callback, CallBook, Phase, TwilioCall
from cti.twilio.ports import KnownIncident
from cti.twilio.twiml import Twiml
from routing.commands import BusCommand, RecordSmsReply, RecordSurveyScore, RequestCallback
from routing.config import QueueConfig
from routing.events import CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)

SOURCE = "twilio"
Form = Mapping[str, str]
Position = Callable[[str], tuple[int, float] | None]
"""A waiting call's (1-based position, estimated wait in seconds), or None if it is not queued."""


def fact_id(call_id: str, kind: CallEventKind, key: str = "") -> str:
    """The event id of a fact of a Twilio call: whoever reports it again (a retried webhook,
    reconciliation after a restart) gives the same id."""
    return f"{SOURCE}:{call_id}:{kind.value}:{key}"


_ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_NOT_REACHED = frozenset({"busy", "failed", "no-answer", "canceled"})
_TALKED = frozenset({"completed", "answered"})
SCORES = frozenset("12345")


@dataclass(frozen=True, slots=True)
class Reply:
    """What a webhook answers: TwiML for Twilio, facts for every subscriber, orders for their handler."""

    twiml: str
    events: tuple[Event, ...] = ()
    commands: tuple[BusCommand, ...] = ()


class CallFlow:
    def __init__(
        self,
        *,
        ivr: IvrSpec,
        twiml: Twiml,
        book: CallBook,
        queues: Mapping[str, QueueConfig],
        clock: Callable[[], float],
        position: Position,
    ) -> None:
        self.ivr, self.twiml, self.book = ivr, twiml, book
        self.queues = dict(queues)
        self.first_queue = next(iter(self.queues))
        self.clock = clock
        self.position = position

    def reconfigure(self, ivr: IvrSpec, queues: Mapping[str, QueueConfig]) -> None:
        """The admin pages' IVR and queues (TwilioLink.reconfigure)."""
        self.ivr = ivr
        self.queues = dict(queues)
        self.first_queue = next(iter(self.queues))

    # ------------------------------------------------------------------ helpers

    def _event(
        self,
        call_id: str,
        kind: CallEventKind,
        key: str = "",
        *,
        caller: str | None = None,
        caller_name: str | None = None,
        dialed: str | None = None,
        queue: str | None = None,
        agent: str | None = None,
        detail: str | None = None,
        source_refs: tuple[str, ...] = (),
        ivr_choice: str | None = None,
        recording_started_at: datetime | None = None,
    ) -> CallEvent:
        return CallEvent(
            call_id=call_id,
            kind=kind,
            at=datetime.fromtimestamp(self.clock(), UTC),
            event_id=fact_id(call_id, kind, key),
            source=SOURCE,
            caller=caller,
            caller_name=caller_name,
            dialed=dialed,
            queue=queue,
            agent=agent,
            detail=detail,
            source_refs=source_refs,
            ivr_choice=ivr_choice,
            recording_started_at=recording_started_at,
        )

    def _language(self, query: Form) -> str:
        lang = query.get("lang", "")
        return lang if lang in self.ivr.languages else self.ivr.default_language

    def _call(self, form: Form, query: Form) -> TwilioCall:
        """The caller's call; recreated from the webhook if this process did not see it start."""
        return self.book.open(
            form.get("CallSid", ""), form.get("From"), form.get("To"), self._language(query)
        )

    def _hold(self, call: TwilioCall, *, first: bool = False, notice: str | None = None) -> str:
        position = self.position(call.sid)
        return self.twiml.hold(call.language, call.next_loop(), position, first=first, notice=notice)

    # ------------------------------------------------------------------ inbound: IVR
    def voice(self, form: Form, language_hint: str | None, incident: KnownIncident | None = None) -> Reply:
        """A call comes in: greeting and menu in the caller's language (their record's, else the
        default); a caller affected by a known incident hears so first, with the expected time."""
        language = self.ivr.language_for(language_hint) or self.ivr.default_language
        call = self.book.open(form.get("CallSid", ""), form.get("From"), form.get("To"), language)
        notice = self._incident_text(incident, call.language) if incident is not None else None
        if not self.ivr.options:
            return self._enter(call, self.first_queue, None, form, notice=notice)
        return Reply(self.twiml.menu(call.language, 1, greet=True, notice=notice))

    def _incident_text(self, incident: KnownIncident, language: str) -> str:
        description = incident.description.get(language) or next(iter(incident.description.values()), "")
        expected = incident.expected.get(language, "")
        if expected:
            return self.ivr.text("incident_known", language, description=description, expected=expected)
        return self.ivr.text("incident_known_no_time", language, description=description)

    def menu(self, form: Form, query: Form) -> Reply:
        call = self._call(form, query)
        call.language = self._language(query)
        attempt = _int(query.get("attempt"), 1)
        digits, speech = form.get("Digits"), form.get("SpeechResult")
        if digits == self.ivr.language_key:
            call.language = self.ivr.next_language(call.language)
            return Reply(self.twiml.menu(call.language, 1, greet=False))
        option = self.ivr.option_for(digits, speech, call.language)
        if option is None:
            if attempt < self.ivr.menu_attempts:
                return Reply(self.twiml.menu(call.language, attempt + 1, greet=False, retry=True))
            option = self.ivr.options[0]  # no usable answer: the first entry rather than a hang-up
        return self._enter(call, option.queue, option, form)

    def _enter(
        self, call: TwilioCall, queue: str, option: IvrOption | None, form: Form, *, notice: str | None = None
    ) -> Reply:
        """Into `queue`: the router gets OFFERED; the caller waits (hearing `notice` first, if
        given), or hears it is closed."""
        if call.phase is not Phase.MENU:  # a second menu answer for a call already placed
            return Reply(self._hold(call) if call.phase is Phase.WAITING else self.twiml.empty())
        call.queue = queue
        offered = self._event(
            call.sid,
            CallEventKind.OFFERED,
            queue,
            caller=call.caller,
            caller_name=form.get("CallerName") or None,
            dialed=call.dialed,
            queue=queue,
            source_refs=(call.sid,),
            # On the offer itself: the router's skills for this choice, the desk's category.
            ivr_choice=option.choice_name if option is not None else None,
        )
        events: list[Event] = [offered]
        if option is not None:
            events.append(
                self._event(
                    call.sid,
                    CallEventKind.IVR_CHOICE,
                    option.choice_name,
                    detail=option.choice_name,
                    ivr_choice=option.choice_name,
                )
            )
        closed = self._closed(queue)
        if closed is not None:
            self.book.move(call, Phase.VOICEMAIL)
            return Reply(self._closed_twiml(call, closed), tuple(events))
        self.book.move(call, Phase.WAITING)
        return Reply(self._hold(call, first=True, notice=notice), tuple(events))

    def _closed(self, queue: str) -> QueueConfig | None:
        """The queue that finally refuses the call after hours (following after_hours_queue), or None."""
        seen: set[str] = set()
        cfg = self.queues.get(queue)
        now = self.clock()
        while cfg is not None and cfg.hours is not None and not cfg.hours.is_open(now):
            seen.add(cfg.name)
            nxt = cfg.after_hours_queue
            if nxt is None or nxt in seen or nxt not in self.queues:
                return cfg
            cfg = self.queues[nxt]
        return None

    def _closed_twiml(self, call: TwilioCall, cfg: QueueConfig) -> str:
        destination = cfg.after_hours_destination
        if destination and _dialable(destination):
            return self.twiml.forward(call.language, destination)
        return self.twiml.voicemail(call.language, call.sid, "after_hours")

    def voicemail_done(self, form: Form, query: Form) -> Reply:
        return Reply(self.twiml.goodbye(self._language(query), "voicemail_thanks"))

    # ------------------------------------------------------------------ inbound: waiting
    def hold(self, form: Form, query: Form) -> Reply:
        call = self.book.get(form.get("CallSid"))
        if call is None:  # not ours (any more): the router does not know it either
            return Reply(self.twiml.voicemail(self._language(query), form.get("CallSid", ""), "busy"))
        if call.phase in (Phase.WAITING, Phase.RINGING):
            return Reply(self._hold(call))
        if call.phase is Phase.VOICEMAIL:
            return Reply(self.twiml.voicemail(call.language, call.sid, "busy"))
        return Reply(self.twiml.goodbye(call.language))

    def hold_key(self, form: Form, query: Form) -> Reply:
        """A key while waiting: the callback key keeps the place and ends the call (the router calls back)."""
        call = self.book.get(form.get("CallSid"))
        digits = form.get("Digits", "")
        if call is None or digits != self.ivr.callback_key or call.phase is not Phase.WAITING:
            return self.hold(form, query)
        self.book.move(call, Phase.CALLBACK)
        request = RequestCallback(call.sid, number=call.caller, callback_id=f"{call.sid}:callback")
        return Reply(self.twiml.goodbye(call.language, "callback_confirmed"), commands=(request,))

    # ------------------------------------------------------------------ inbound: the agent leg
    def dial_done(self, form: Form, query: Form) -> Reply:
        """The <Dial> ended: the agent talked (done), or did not answer (back to waiting)."""
        call = self.book.get(query.get("call") or form.get("CallSid"))
        attempt = _int(query.get("attempt"), 0)
        status = form.get("DialCallStatus", "")
        if call is None:
            return Reply(self.twiml.goodbye(self._language(query)))
        if status in _TALKED:
            agent = call.agent if call.answered_attempt == attempt else None
            if agent is None:  # the answer's status callback has not come (yet): the Dial says who
                agent = call.ringing[0] if len(call.ringing) == 1 else ""
            key = f"{agent}:{attempt}"
            done = self._event(
                call.sid, CallEventKind.AGENT_COMPLETED, key, agent=agent or None, queue=call.queue
            )
            return Reply(self.twiml.goodbye(call.language), (done,) if agent else ())
        if attempt != call.attempt or call.phase is not Phase.RINGING:
            # An older Dial, or the router already moved on (REST redirect): say nothing new. The
            # leg's status callback often beats this action, and the router may have rung again
            # already (a newer attempt, RINGING): the caller is still ours and waiting, as in the
            # hold loop's own answer; a goodbye here would hang up a caller about to be connected.
            waiting = call.phase in (Phase.WAITING, Phase.RINGING)
            return Reply(self._hold(call) if waiting else self.twiml.goodbye(call.language))
        missed = tuple(self._no_answer(call, agent, attempt, status) for agent in call.ringing)
        call.ringing = []
        self.book.move(call, Phase.WAITING)
        return Reply(self._hold(call), missed)

    def agent_status(self, form: Form, query: Form) -> Reply:
        """Status callbacks of the agent leg (the Dial noun's): ringing, answered, completed, ..."""
        call = self.book.get(query.get("call"))
        agent, attempt = query.get("agent", ""), _int(query.get("attempt"), 0)
        status = form.get("CallStatus", "")
        if call is None or not agent:
            return Reply(self.twiml.empty())
        key = f"{agent}:{attempt}"
        refs = (call.sid,)
        events: list[Event] = []
        if status == "ringing":
            events.append(
                self._event(
                    call.sid, CallEventKind.RINGING, key, agent=agent, queue=call.queue, source_refs=refs
                )
            )
        elif status in ("in-progress", "answered"):
            if attempt == call.attempt and self.book.move(call, Phase.CONNECTED):
                call.agent, call.answered_attempt, call.ringing = agent, attempt, []
            events.append(
                self._event(
                    call.sid, CallEventKind.ANSWERED, key, agent=agent, queue=call.queue, source_refs=refs
                )
            )
        elif status == "completed" and call.answered_attempt == attempt and call.agent == agent:
            events.append(
                self._event(call.sid, CallEventKind.AGENT_COMPLETED, key, agent=agent, queue=call.queue)
            )
        elif status in _ENDED and attempt == call.attempt and agent in call.ringing:
            # This agent's leg is over: off the ringing set at once, so a retried callback reports
            # nothing new and the router's next offer (connect_call) does not ring them again. The
            # Dial's action reports only those still ringing (the same event ids either way).
            call.ringing.remove(agent)
            if not call.ringing:
                self.book.move(call, Phase.WAITING)
            events.append(self._no_answer(call, agent, attempt, status))
        return Reply(self.twiml.empty(), tuple(events))

    def _no_answer(self, call: TwilioCall, agent: str, attempt: int, status: str) -> CallEvent:
        return self._event(
            call.sid,
            CallEventKind.RING_NO_ANSWER,
            f"{agent}:{attempt}",
            agent=agent,
            queue=call.queue,
            detail=status or "no-answer",
        )

    def status(self, form: Form, query: Form) -> Reply:
        """The number's status callback: the caller's leg ended."""
        call = self.book.get(form.get("CallSid"))
        status = form.get("CallStatus", "")
        if call is None or status not in _ENDED:
            return Reply(self.twiml.empty())
        self.book.move(call, Phase.ENDED)
        ended = self._event(
            call.sid, CallEventKind.HUNG_UP, detail=status, queue=call.queue, caller=call.caller
        )
        return Reply(self.twiml.empty(), (ended,))

    def recording(self, form: Form, query: Form) -> Reply:
        """A recording is ready at Twilio: recordings/ fetches it (RECORDING_READY, detail = its URL)."""
        call_id = query.get("call") or form.get("CallSid", "")
        url, sid = form.get("RecordingUrl", ""), form.get("RecordingSid", "")
        if form.get("RecordingStatus", "completed") != "completed" or not url or not sid:
            log.info("recording %s of call %s: status %s", sid, call_id, form.get("RecordingStatus"))
            return Reply(self.twiml.empty())
        call = self.book.get(call_id)
        callback = self.book.callback(call_id)
        queue = call.queue if call else (callback.queue if callback else None)
        refs = tuple(ref for ref in (form.get("CallSid", ""), sid) if ref)
        ready = self._event(
            call_id,
            CallEventKind.RECORDING_READY,
            sid,
            detail=url,
            agent=query.get("agent")
            or (call.agent if call else None)
            or (callback.agent if callback else None),
            queue=queue,
            source_refs=refs,
            recording_started_at=_rfc2822(form.get("RecordingStartTime")),
        )
        return Reply(self.twiml.empty(), (ready,))

    # ------------------------------------------------------------------ outbound: callbacks
    def callback_answer(self, form: Form, query: Form) -> Reply:
        """The agent answered the callback call: a word to them, then ring the customer."""
        callback = self.book.callback(query.get("call", ""))
        if callback is None:
            return Reply(self.twiml.goodbye(self._language(query)))
        return Reply(
            self.twiml.callback_answer(
                callback.call_id,
                callback.agent,
                callback.language,
                callback.number,
                callback.caller_id,
                callback.ring_timeout_s * 2,
            )
        )

    def callback_status(self, form: Form, query: Form) -> Reply:
        callback = self.book.callback(query.get("call", ""))
        status = form.get("CallStatus", "")
        if callback is None or _int(query.get("attempt"), 0) != callback.attempt:
            return Reply(self.twiml.empty())
        key = f"{callback.agent}:{callback.attempt}"
        cid, agent = callback.call_id, callback.agent
        events: list[Event] = []
        if status == "ringing":
            events.append(self._event(cid, CallEventKind.RINGING, key, agent=agent, queue=callback.queue))
        elif status in ("in-progress", "answered"):
            callback.answered = True
            events.append(self._event(cid, CallEventKind.ANSWERED, key, agent=agent, queue=callback.queue))
        elif status == "completed" and callback.answered:
            events.append(
                self._event(cid, CallEventKind.AGENT_COMPLETED, key, agent=agent, queue=callback.queue)
            )
            detail = f"customer {callback.customer_status or 'unknown'}"
            events.append(self._event(cid, CallEventKind.HUNG_UP, key, detail=detail, queue=callback.queue))
        elif status in _ENDED:
            events.append(self._no_answer_cb(callback, status))
        return Reply(self.twiml.empty(), tuple(events))

    def _no_answer_cb(self, callback: Callback, status: str) -> CallEvent:
        return self._event(
            callback.call_id,
            CallEventKind.RING_NO_ANSWER,
            f"{callback.agent}:{callback.attempt}",
            agent=callback.agent,
            queue=callback.queue,
            detail=status or "no-answer",
        )

    def callback_dial_done(self, form: Form, query: Form) -> Reply:
        callback = self.book.callback(query.get("call", ""))
        status = form.get("DialCallStatus", "")
        language = callback.language if callback else self._language(query)
        if callback is not None:
            callback.customer_status = status
        if status in _NOT_REACHED:
            return Reply(self.twiml.goodbye(language, "callback_no_answer"))
        return Reply(self.twiml.hangup())

    # ------------------------------------------------------------------ outbound: survey
    def survey(self, form: Form, query: Form) -> Reply:
        ticket = _int(query.get("ticket"), 0)
        return Reply(self.twiml.survey(ticket, self._language(query), _int(query.get("attempt"), 1)))

    def survey_score(self, form: Form, query: Form) -> Reply:
        """A key on the survey: 1–5 is the score (the desk records it), anything else asks again."""
        ticket, language = _int(query.get("ticket"), 0), self._language(query)
        attempt, digits = _int(query.get("attempt"), 1), form.get("Digits", "")
        sid = form.get("CallSid", "")
        if digits in SCORES and ticket > 0 and sid:
            score = RecordSurveyScore(call_id=sid, ticket_id=ticket, score=int(digits))
            return Reply(self.twiml.goodbye(language, "survey_thanks"), commands=(score,))
        if attempt < self.ivr.survey.attempts:
            return Reply(self.twiml.survey(ticket, language, attempt + 1))
        return Reply(self.twiml.goodbye(language))

    def sms_reply(self, form: Form, query: Form) -> Reply:
        """A text to the number: the desk reads it as a survey answer if it is one; no reply SMS."""
        sid, sender, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")
        if not (sid and sender and body.strip()):
            return Reply(self.twiml.empty())
        return Reply(
            self.twiml.empty(), commands=(RecordSmsReply(call_id=sid, sender=sender, body=body[:500]),)
        )

    def survey_status(self, form: Form, query: Form) -> Reply:
        status = form.get("CallStatus", "")
        if status in _NOT_REACHED:
            log.info("survey call for ticket %s: %s", query.get("ticket"), status)
        return Reply(self.twiml.empty())


ROUTES: Mapping[str, Callable[[CallFlow, Form, Form], Reply]] = {
    u.MENU: CallFlow.menu,
    u.HOLD: CallFlow.hold,
    u.HOLD_KEY: CallFlow.hold_key,
    u.DIAL_DONE: CallFlow.dial_done,
    u.AGENT_STATUS: CallFlow.agent_status,
    u.RECORDING: CallFlow.recording,
    u.VOICEMAIL_DONE: CallFlow.voicemail_done,
    u.STATUS: CallFlow.status,
    u.CALLBACK_ANSWER: CallFlow.callback_answer,
    u.CALLBACK_STATUS: CallFlow.callback_status,
    u.CALLBACK_DIAL_DONE: CallFlow.callback_dial_done,
    u.SURVEY: CallFlow.survey,
    u.SURVEY_SCORE: CallFlow.survey_score,
    u.SURVEY_STATUS: CallFlow.survey_status,
    u.SMS_REPLY: CallFlow.sms_reply,
}
"""Webhook path -> handler. VOICE is apart: it first asks the desk for the caller's language."""


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _rfc2822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _dialable(destination: str) -> bool:
    return destination.startswith(("+", "sip:", "client:"))
