"""The Twilio link: webhooks in (as CallEvents onto the bus), router decisions out (as REST calls).

Implements `cti.telephony.Telephony` for the ACD through the official SDK's
Calls resource (its HTTP client is `HttpxTwilioClient`, so REST orders are
async and can be pointed at the local stand-in):

* connect_call  -> update the waiting caller with <Dial> to the agent (recorded, dual channel)
* cancel_ring   -> update the caller back into the hold loop (the <Dial> stops ringing)
* place_callback-> create a call to the agent; when they answer, <Dial> the customer
* reject        -> update the caller to the after-hours / busy voicemail (or a forward)
* hangup        -> update the call to completed

Webhooks are answered from memory (`CallFlow`); their events are published onto
the bus within a short budget and handled there (service desk, router, ...), so
the answer never waits for the database. What a caller orders by key (call me
back, a survey score) is a command sent over the bus to its one handler (the
router, the service desk); its reply is awaited in the background, never in the
webhook. Work that needs the desk and may be slow (the caller's language,
placing a survey call) runs in the link's own TaskGroup and is given a budget,
never awaited without one in a webhook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from config.callcenter import CallCenter
from cti.bus import EventBus
from cti.telephony import Control, ControlsNotOffered, LinkHealth, OpenCall, TelephonyError
from cti.twilio import urls as u
from cti.twilio.calls import Callback, CallBook, Phase, TwilioCall
from cti.twilio.flow import ROUTES, CallFlow, Form, Position, Reply
from cti.twilio.http import HttpxTwilioClient
from cti.twilio.media import TwilioMedia
from cti.twilio.ports import CallStore, DeskPort, KnownIncident, ReplayLedger
from cti.twilio.reconcile import CallStatus, close_ended
from cti.twilio.replay import ReplayCache
from cti.twilio.signature import SignatureChecker
from cti.twilio.twiml import AGENT_LEG_EVENTS, Twiml
from cti.twilio.urls import Urls
from routing.commands import BusCommand
from routing.config import QueueConfig
from routing.errors import RoutingError
from routing.events import Event

log = logging.getLogger(__name__)

T = TypeVar("T")
DIAL_GRACE_S = 5.0  # the router's ring timeout fires first; Twilio's Dial timeout is the safety net


class Overloaded(Exception):
    """The bus did not take a webhook's events in time: answer 503 so Twilio retries."""


@dataclass(frozen=True, slots=True)
class AgentLine:
    target: str  # client:<identity>, sip:<uri> or +E164
    language: str


CONTROLS = frozenset({Control.HANGUP})


class TwilioLink(ControlsNotOffered):
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_base_url: str,
        callcenter: CallCenter,
        queues: Sequence[QueueConfig],
        bus: EventBus,
        clock: Callable[[], float],
        position: Position,
        desk: DeskPort | None = None,
        caller_id: str = "",
        api_base_url: str | None = None,
        publish_budget_s: float = 2.0,
        lookup_budget_s: float = 0.3,
        ledger: ReplayLedger | None = None,
        call_store: CallStore | None = None,
        fence: Callable[[], None] | None = None,
    ) -> None:
        """`ledger` keeps answered webhooks across restarts (replay_store.py); `call_store` keeps
        the call book for a standby router (call_store.py); `fence`: the elected router's, checked
        before every REST order that changes a call (cti.twilio.http)."""
        ivr = callcenter.ivr
        self.account_sid = account_sid
        self.bus = bus
        self.clock = clock
        self.caller_id = caller_id
        self.urls = Urls(public_base_url)
        self.signatures = SignatureChecker(auth_token, public_base_url)
        self.ledger = ledger
        self.replay: ReplayCache[str] = ReplayCache(recall=self._recall, remember=self._remember)
        self.replays_unchecked = 0  # requests let through because the ledger did not answer in time
        self.book = CallBook()
        self.call_store = call_store
        self._saving = asyncio.Lock()  # one book write at a time: each reads the newest state
        self.saves_behind = 0  # book writes that missed the webhook budget and finished behind
        self.twiml = Twiml(ivr, self.urls)
        self.queues = {q.name: q for q in queues}
        self.agents = {
            a.id: AgentLine(a.twilio_target(), ivr.language_for(a.language) or ivr.default_language)
            for a in callcenter.agents
        }
        self.flow = CallFlow(
            ivr=ivr,
            twiml=self.twiml,
            book=self.book,
            queues=self.queues,
            clock=clock,
            position=position,
        )
        self.publish_budget_s = publish_budget_s
        self.lookup_budget_s = lookup_budget_s
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self.client = Client(
            account_sid,
            auth_token,
            http_client=HttpxTwilioClient(self.http, api_base_url=api_base_url, fence=fence),
        )
        self.media = TwilioMedia(account_sid=account_sid, auth_token=auth_token, api_base_url=api_base_url)
        self.desk = desk
        self._surveys: asyncio.Queue[tuple[int, int]] = asyncio.Queue(1000)
        self._group: asyncio.TaskGroup | None = None
        self._running = asyncio.Event()

    def reconfigure(self, callcenter: CallCenter, queues: Sequence[QueueConfig]) -> None:
        """An admin change, live: the IVR (menu, prompts, survey), the agents' Twilio identities
        and languages, the queues' hours. Calls keep their state; the next webhook answers with
        the new configuration (a caller in the menu hears the new menu at their next step)."""
        ivr = callcenter.ivr
        self.twiml.ivr = ivr
        self.queues = {q.name: q for q in queues}
        self.agents = {
            a.id: AgentLine(a.twilio_target(), ivr.language_for(a.language) or ivr.default_language)
            for a in callcenter.agents
        }
        self.flow.reconfigure(ivr, self.queues)

    # ------------------------------------------------------------------ tasks

    async def run(self) -> None:
        """Background work (survey calls, slow lookups) until cancelled; closes the HTTP client after."""
        try:
            if self.call_store is not None:  # a router taking over: the calls its predecessor knew
                loaded = await self.call_store.load(self.book)
                log.info("Twilio call book: %d calls and callbacks taken over from the database", loaded)
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._running.set()
                group.create_task(self._survey_worker(), name="twilio-surveys")
        finally:
            self._group = None
            await self.http.aclose()

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 - same shape as AsteriskLink
        async with asyncio.timeout(timeout):
            await self._running.wait()

    @property
    def controls(self) -> frozenset[Control]:
        return CONTROLS

    @property
    def serving(self) -> bool:
        """Running: this process answers Twilio. A standby router's link does not run until it is
        elected; its webhooks are refused (503) so the proxy or Twilio tries the leader."""
        return self._group is not None

    def health(self) -> LinkHealth:
        """Up while the link runs: Twilio calls us (webhooks), there is no connection to lose."""
        counters = {f"refused_moves.{move}": n for move, n in sorted(self.book.refused.items())}
        counters["calls_known"] = len(self.book.calls)
        counters["call_book_saves_behind"] = self.saves_behind
        if self._group is None:
            return LinkHealth(False, "the Twilio link is not running", counters)
        return LinkHealth(True, "taking Twilio webhooks", counters)

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T | None]:
        async def guarded() -> T | None:
            try:
                return await work
            except Exception:
                log.exception("twilio background work failed")
                return None

        if self._group is None:
            raise TelephonyError("the Twilio link is not running")
        return self._group.create_task(guarded())

    # ------------------------------------------------------------------ webhooks
    async def answer_webhook(self, path: str, form: Form, query: Form) -> str:
        """The TwiML for one (verified, first-time) webhook; its events are on the bus when this returns."""
        if path == u.VOICE:
            language, incident = await self._caller_facts(form.get("From"))
            reply = self.flow.voice(form, language, incident)
        else:
            handler = ROUTES.get(path)
            if handler is None:
                raise KeyError(path)
            reply = handler(self.flow, form, query)
        try:
            await self._publish(reply)
        finally:
            await self._persist()
        return reply.twiml

    async def _persist(self) -> None:
        """Write what the last webhook or order touched in the book (call_store.py), waiting at
        most the lookup budget: past it the write finishes behind, in the link's TaskGroup."""
        if self.call_store is None or self._group is None or not self.book.touched:
            return
        task = self._spawn(self._save())
        done, _ = await asyncio.wait({task}, timeout=self.lookup_budget_s)
        if task not in done:
            self.saves_behind += 1

    async def _save(self) -> int:
        assert self.call_store is not None
        async with self._saving:  # taken here, not when asked: the newest state of what was touched
            touched = self.book.take_touched()
            try:
                return await self.call_store.save(self.book, touched)
            except BaseException:
                self.book.touched |= touched  # written with the next webhook's
                raise

    async def _publish(self, reply: Reply) -> None:
        """The reply's events and commands onto the bus, within the budget; replies awaited apart."""
        try:
            async with asyncio.timeout(self.publish_budget_s):
                for event in reply.events:
                    await self.bus.publish(event)
                for command in reply.commands:
                    self._spawn(self._carried_out(command, await self.bus.send(command)))
        except TimeoutError as exc:
            raise Overloaded("the event bus is full") from exc

    @staticmethod
    async def _carried_out(command: BusCommand, reply: asyncio.Future[object]) -> None:
        try:
            await reply
        except RoutingError as exc:  # a callback for a call connected meanwhile, or already gone
            log.warning("%s not carried out: %s", type(command).__name__, exc)

    async def _caller_facts(self, caller: str | None) -> tuple[str | None, KnownIncident | None]:
        """The caller's language (their customer record) and a known incident affecting them,
        asked of the desk side by side; whatever is not answered within the budget is done
        without (the default language, no incident message)."""
        if self.desk is None or not caller or self._group is None:
            return None, None
        language = self._spawn(self.desk.language_of(caller))
        incident = self._spawn(self.desk.known_incident(caller))
        done, _ = await asyncio.wait({language, incident}, timeout=self.lookup_budget_s)
        if language not in done:
            log.info("customer language lookup slower than %.1fs: default language", self.lookup_budget_s)
        if incident not in done:
            log.info("known-incident lookup slower than %.1fs: not announced", self.lookup_budget_s)
        return (
            language.result() if language in done else None,
            incident.result() if incident in done else None,
        )

    # ------------------------------------------------------------------ after a restart (Reconciler)
    async def reconcile(
        self, open_calls: Sequence[OpenCall], known: frozenset[str], since: datetime
    ) -> list[Event]:
        """Close the open Twilio calls that ended meanwhile, from their REST resources."""
        events = await close_ended(open_calls, self._call_status, datetime.now(UTC))
        log.info("reconciliation: %d open calls asked about, %d events", len(open_calls), len(events))
        return list(events)

    async def _call_status(self, sid: str) -> CallStatus | None:
        try:
            call = await self.client.calls(sid).fetch_async()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise TelephonyError(f"Twilio refused to show call {sid}: HTTP {exc.status}") from exc
        except (TwilioException, httpx.HTTPError) as exc:
            raise TelephonyError(f"cannot ask Twilio about call {sid}: {exc}") from exc
        return CallStatus(str(call.status or ""), call.end_time)

    # ------------------------------------------------------------------ replays across restarts
    async def _recall(self, key: str) -> str | None:
        """The ledger's earlier answer to this request, if it answers within the lookup budget."""
        if self.ledger is None or self._group is None:
            return None
        task = self._spawn(self.ledger.recall(key))
        done, _ = await asyncio.wait({task}, timeout=self.lookup_budget_s)
        if task not in done:
            self.replays_unchecked += 1
            log.warning(
                "Twilio replay ledger slower than %.1fs: request handled as new", self.lookup_budget_s
            )
            return None
        return task.result()

    async def _remember(self, key: str, answer: str) -> None:
        """Write the answer to the ledger; past the budget the write finishes in the background."""
        if self.ledger is None or self._group is None:
            return
        await asyncio.wait({self._spawn(self.ledger.remember(key, answer))}, timeout=self.lookup_budget_s)

    # ------------------------------------------------------------------ surveys
    def request_survey(self, follow_up_id: int, ticket_id: int) -> None:
        """A resolved ticket's follow-up fell due: call the customer (in the background)."""
        try:
            self._surveys.put_nowait((follow_up_id, ticket_id))
        except asyncio.QueueFull:
            log.warning("survey queue full: follow-up %s of ticket %s not called", follow_up_id, ticket_id)

    async def _survey_worker(self) -> None:
        done: set[int] = set()
        while True:
            follow_up_id, ticket_id = await self._surveys.get()
            if follow_up_id in done or self.desk is None:
                continue
            done.add(follow_up_id)
            try:
                target = await self.desk.survey_target(ticket_id)
                if target is None:
                    log.info("ticket %s: no number to call for the survey", ticket_id)
                    continue
                number, hint = target
                await self.place_survey(ticket_id, number, hint)
            except Exception:
                log.exception("survey call for ticket %s failed", ticket_id)

    async def place_survey(self, ticket_id: int, number: str, language_hint: str | None = None) -> str:
        ivr = self.twiml.ivr
        language = ivr.language_for(language_hint) or ivr.default_language
        created = await self._rest(
            f"survey call for ticket {ticket_id}",
            self.client.calls.create_async(
                to=number,
                from_=self.caller_id,
                url=self.urls(u.SURVEY, ticket=ticket_id, lang=language, attempt=1),
                method="POST",
                status_callback=self.urls(u.SURVEY_STATUS, ticket=ticket_id),
                status_callback_method="POST",
            ),
        )
        return str(created.sid)

    # ------------------------------------------------------------------ Telephony protocol
    # Each order changes the book; what it touched is written after it (call_store.py).
    async def connect_call(self, call_id: str, agent_id: str, ring_timeout_s: float) -> None:
        try:
            await self._connect_call(call_id, agent_id, ring_timeout_s)
        finally:
            await self._persist()

    async def cancel_ring(self, call_id: str, agent_id: str) -> None:
        try:
            await self._cancel_ring(call_id, agent_id)
        finally:
            await self._persist()

    async def place_callback(self, call_id: str, agent_id: str, number: str) -> None:
        try:
            await self._place_callback(call_id, agent_id, number)
        finally:
            await self._persist()

    async def reject(self, call_id: str, reason: str, destination: str | None) -> None:
        try:
            await self._reject(call_id, reason, destination)
        finally:
            await self._persist()

    async def _connect_call(self, call_id: str, agent_id: str, ring_timeout_s: float) -> None:
        call = self.book.get(call_id)
        if call is None or call.phase not in (Phase.WAITING, Phase.RINGING):
            phase = call.phase.value if call else "unknown"
            raise TelephonyError(f"call {call_id} cannot be connected: it is {phase}")
        if agent_id not in self.agents:
            raise TelephonyError(f"agent {agent_id} has no Twilio line")
        previous = (call.phase, list(call.ringing))
        if agent_id not in call.ringing:  # ring-all: one <Dial> rings every agent offered
            call.ringing.append(agent_id)
        self.book.move(call, Phase.RINGING)
        call.ring_timeout_s = ring_timeout_s
        try:
            await self._dial(call)
        except TelephonyError:
            call.phase, call.ringing = previous
            raise

    async def _dial(self, call: TwilioCall) -> None:
        call.attempt += 1
        targets = [(agent, self.agents[agent].target) for agent in call.ringing]
        timeout = call.ring_timeout_s + DIAL_GRACE_S
        await self._update(call.sid, twiml=self.twiml.dial_agents(call.sid, targets, call.attempt, timeout))

    async def _cancel_ring(self, call_id: str, agent_id: str) -> None:
        callback = self.book.callback(call_id)
        if callback is not None:
            if callback.leg_sid and not callback.answered and callback.agent == agent_id:
                await self._rest(
                    f"cancel callback {call_id}",
                    self.client.calls(callback.leg_sid).update_async(status="canceled"),
                )
            return
        call = self.book.get(call_id)
        if call is None or call.phase is not Phase.RINGING or agent_id not in call.ringing:
            return  # not ringing that agent any more (answered, gone, left for a callback)
        call.ringing.remove(agent_id)
        if call.ringing:  # ring-all: the others go on ringing
            await self._dial(call)
            return
        self.book.move(call, Phase.WAITING)
        url = self.urls(u.HOLD, lang=call.language, n=call.next_loop())
        await self._update(call_id, twiml=self.twiml.redirect(url))

    async def hangup(self, call_id: str) -> None:
        await self._update(call_id, status="completed")

    async def _place_callback(self, call_id: str, agent_id: str, number: str) -> None:
        line = self.agents.get(agent_id)
        if line is None:
            raise TelephonyError(f"agent {agent_id} has no Twilio line")
        original = call_id.removesuffix(":callback")
        call = self.book.get(original)
        queue = call.queue if call else None
        cfg = self.queues.get(queue or "")
        ring_s = cfg.ring_timeout_s if cfg else 20.0
        callback = self.book.add_callback(
            Callback(
                call_id=call_id,
                original=original,
                agent=agent_id,
                number=number,
                queue=queue,
                language=line.language,
                caller_id=(call.dialed if call else None) or self.caller_id or None,
                ring_timeout_s=ring_s,
            )
        )
        created = await self._rest(
            f"callback {call_id} to agent {agent_id}",
            self.client.calls.create_async(
                to=line.target,
                from_=callback.caller_id or self.caller_id,
                url=self.urls(u.CALLBACK_ANSWER, call=call_id, agent=agent_id, attempt=callback.attempt),
                method="POST",
                status_callback=self.urls(
                    u.CALLBACK_STATUS, call=call_id, agent=agent_id, attempt=callback.attempt
                ),
                status_callback_event=AGENT_LEG_EVENTS.split(),
                status_callback_method="POST",
                timeout=round(ring_s + DIAL_GRACE_S),
            ),
        )
        callback.leg_sid = str(created.sid)

    async def _reject(self, call_id: str, reason: str, destination: str | None) -> None:
        call = self.book.get(call_id)
        if call is None or call.phase not in (Phase.WAITING, Phase.RINGING, Phase.MENU):
            return  # already in voicemail (closed at the menu), gone, or left for a callback
        self.book.move(call, Phase.VOICEMAIL)
        if destination and destination.startswith(("+", "sip:", "client:")):
            twiml = self.twiml.forward(call.language, destination)
        else:
            message = "after_hours" if reason == "closed" else "busy"
            twiml = self.twiml.voicemail(call.language, call_id, message)
        await self._update(call_id, twiml=twiml)

    # ------------------------------------------------------------------ REST
    async def _update(self, call_sid: str, **changes: str) -> None:
        await self._rest(f"update call {call_sid}", self.client.calls(call_sid).update_async(**changes))

    async def _rest(self, what: str, request: Awaitable[T]) -> T:
        try:
            return await request
        except TwilioException as exc:
            status = getattr(exc, "status", None)
            code = getattr(exc, "code", None)
            raise TelephonyError(f"Twilio refused {what}: HTTP {status} code {code}") from exc
