"""The supervisors' live view: queue and agent figures pushed over `/ws/supervisor`.

The router owns the numbers (`Router.kpis`, `Router.snapshot`); this service
turns them into one JSON view and publishes it on the hub's `supervisors`
channel whenever something moved (a call event, a routing decision, a desk
event), at most every `MIN_GAP_S`, and at least every `HEARTBEAT_S` so the
rolling figures drift as time passes. Each view is complete, so a wallboard
that reconnects needs only the newest one: nothing can be missed. The
websocket narrows the view to the queues the supervisor watches.

It also keeps the last hour of "callers waiting" samples for the chart, and
the open SLA breaches and complaints and the open incidents with their call counts,
read from the desk's views when the desk says something changed (and every
`ALERTS_REFRESH_S` as a safety net).

Who each live call is from (number and name as the PBX gave them, then the
customer and tier the desk matched) is remembered per call while it lasts, for
the waiting-callers list and the agents' "current caller". The customer is read
in this service's own loop, never in the desk's listener: the intake path that
pops the agent does not wait for the wallboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agent_ui.hub import PushHub
from config.callcenter import CallCenter
from routing import Router
from routing.agent_state import AgentState
from routing.decisions import Decision
from routing.events import CallEvent, CallEventKind, Event
from tickets.events import CallAttached, DeskEvent
from tickets.views import CallCustomer, DeskViews

log = logging.getLogger(__name__)

CHANNEL = "supervisors"
MIN_GAP_S = 0.1
HEARTBEAT_S = 2.0
SAMPLE_EVERY_S = 15.0
HISTORY_S = 3600.0
ALERTS_REFRESH_S = 30.0
ALERTS_LIMIT = 50
MAX_CALLS = 20_000  # live calls remembered (oldest forgotten first): bounded under a flood
LOOKUPS_PER_ROUND = 100


@dataclass(slots=True)
class _Caller:
    number: str | None
    name: str | None
    queue: str | None


class WallboardService:
    def __init__(
        self,
        router: Router,
        hub: PushHub,
        desk: DeskViews,
        callcenter: CallCenter,
        clock: Callable[[], float],
    ) -> None:
        self.router = router
        self.hub = hub
        self.desk = desk
        self.callcenter = callcenter
        self.clock = clock
        self._members = {a.id: tuple(a.queues) for a in callcenter.agents}
        self._changed = asyncio.Event()
        self._alerts: list[dict[str, Any]] = []
        self._incidents: list[dict[str, Any]] = []  # open incidents with their call counts (all queues)
        self._alerts_stale = True
        self._alerts_at = 0.0
        self._callers: OrderedDict[str, _Caller] = OrderedDict()
        self._lookups: set[str] = set()
        self._customers: OrderedDict[str, CallCustomer] = OrderedDict()
        self.waiting_history: deque[tuple[float, dict[str, int]]] = deque(
            maxlen=int(HISTORY_S / SAMPLE_EVERY_S) + 1
        )
        # --role web: the router's last published view (its ACD holds the state; this one's is empty)
        self.router_view: Callable[[], Awaitable[dict[str, Any] | None]] | None = None

    async def current_view(self) -> dict[str, Any]:
        """The view a supervisor is greeted with: this process's, or on a web worker the last one
        the router published (read back from Redis); this worker's own view (no agent signed
        in, nobody waiting) only when the router has published none yet."""
        if self.router_view is not None:
            view = await self.router_view()
            if view is not None:
                return view
        return self.view()

    # -------------------------------------------------------------- triggers
    def changed(self) -> None:
        self._changed.set()

    async def on_event(self, event: Event) -> None:
        """Bus handler: any call or agent event may move a figure; calls tell who is calling."""
        if isinstance(event, CallEvent):
            self._remember(event)
        self._changed.set()

    def _remember(self, event: CallEvent) -> None:
        if event.kind is CallEventKind.HUNG_UP:
            self._callers.pop(event.call_id, None)
            self._customers.pop(event.call_id, None)
            return
        known = self._callers.get(event.call_id)
        if known is None:
            if event.kind is not CallEventKind.OFFERED:
                return
            self._callers[event.call_id] = _Caller(event.caller, event.caller_name, event.queue)
            while len(self._callers) > MAX_CALLS:
                self._callers.popitem(last=False)
        elif event.queue:
            known.queue = event.queue

    async def on_decision(self, _decision: Decision) -> None:
        self._changed.set()

    async def on_desk_event(self, event: DeskEvent) -> None:
        """Desk listener: a ticket changed, was flagged or breached its SLA; a call joined a ticket."""
        if isinstance(event, CallAttached) and len(self._lookups) < MAX_CALLS:
            self._lookups.add(event.call_id)  # read in run(): this listener is on the intake path
        self._alerts_stale = True
        self._changed.set()

    async def _look_up_customers(self) -> None:
        """Fill in the customer of calls that joined a ticket (the bus may bring the call after the desk)."""
        for call_id in [self._lookups.pop() for _ in range(min(len(self._lookups), LOOKUPS_PER_ROUND))]:
            found = await self.desk.call_customer(call_id)
            if found is not None:
                self._customers[call_id] = found
                while len(self._customers) > MAX_CALLS:
                    self._customers.popitem(last=False)

    def _caller_view(self, call_id: str | None) -> dict[str, Any] | None:
        caller = self._callers.get(call_id) if call_id else None
        if caller is None or call_id is None:
            return None
        customer = self._customers.get(call_id)
        return {
            "number": caller.number,
            "name": caller.name,
            "customer": customer.name if customer else None,
            "tier": customer.tier if customer else None,
            "ticket_id": customer.ticket_id if customer else None,
            "queue": caller.queue,
        }

    # -------------------------------------------------------------- the view
    def set_center(self, callcenter: CallCenter) -> None:
        """The call center's queues or agents changed (an admin's edit): the next view shows it."""
        self.callcenter = callcenter
        self._members = {a.id: tuple(a.queues) for a in callcenter.agents}
        self._changed.set()

    def view(self, now: float | None = None) -> dict[str, Any]:
        now = self.clock() if now is None else now
        kpis = self.router.kpis(now)
        snap = self.router.snapshot(now)
        titles = {
            q.name: (q.title_en or q.name, q.title_zh or q.title_en or q.name) for q in self.callcenter.queues
        }
        configs = {q.name: q for q in self.router.config.queues}
        queues = []
        for qk in kpis.queues:
            view = snap.queue(qk.queue)
            cfg = configs[qk.queue]
            states = Counter(
                str(a.state)
                for a in snap.agents
                if qk.queue in self._members.get(a.agent_id, ()) or any(q == qk.queue for q, _ in a.queues)
            )
            staffing = qk.staffing
            names = {a.agent_id: a.name for a in snap.agents}
            queues.append(
                {
                    "name": qk.queue,
                    "title_en": titles.get(qk.queue, (qk.queue, qk.queue))[0],
                    "title_zh": titles.get(qk.queue, (qk.queue, qk.queue))[1],
                    "waiting": qk.waiting,
                    "longest_wait_s": qk.longest_waiting_s,
                    "offered": qk.today.offered,
                    "answered": qk.today.answered,
                    "abandoned": qk.today.abandoned,
                    "service_level": qk.today.service_level,
                    "service_level_asterisk": qk.today.service_level_asterisk,
                    "service_level_asterisk_sl2": qk.today.service_level_asterisk_sl2,
                    "sl_threshold_s": cfg.service_level_s,
                    "sl_target": cfg.service_level_target,
                    "asa_s": qk.today.asa_s,
                    "aht_s": qk.today.aht_s,
                    "abandon_rate": qk.today.abandon_rate,
                    "staffed": qk.agents_staffed,
                    "available": view.agents_available,
                    "agents_by_state": {s.value: states.get(s.value, 0) for s in AgentState},
                    "busy": qk.agents_busy,
                    "erlang": {
                        # what to staff now: the forecast, or more while callers already wait
                        "needed_now": qk.agents_needed_now,
                        "window_s": self.router.config.kpi_window_s,
                        "measured_s": qk.forecast_window_s,
                        "forecast": None
                        if staffing is None
                        else {
                            "agents": staffing.agents,
                            "service_level": staffing.service_level,
                            "asa_s": staffing.asa_s,
                            "arrivals_per_hour": staffing.arrivals_per_hour,
                            "aht_s": staffing.aht_s,
                        },
                        "staffed_service_level": qk.staffed_service_level,
                    },
                    "waiting_calls": [
                        {
                            "call_id": c.call_id,
                            "waited_s": c.waited_s,
                            "tier": c.tier,
                            "position": c.position,
                            "callback": c.callback,
                            "caller": self._caller_view(c.call_id) or {"number": c.caller},
                            "ringing": [{"id": a, "name": names.get(a, a)} for a in c.ringing],
                        }
                        for c in view.waiting
                    ],
                }
            )
        agents = []
        for a in snap.agents:
            today = kpis.agent(a.agent_id).today
            agents.append(
                {
                    "id": a.agent_id,
                    "name": a.name,
                    "state": str(a.state),
                    "since": a.since,
                    "reason": a.reason,
                    "phone_busy": a.phone_busy,  # control mode: on a call of their own, not offered
                    "wrapup_overdue": a.wrapup_overdue,  # in wrap-up past the queue's maximum
                    "call_id": a.call_id,
                    "caller": self._caller_view(a.call_id),
                    "pending_pause": a.pending_pause,
                    "queues": sorted(set(self._members.get(a.agent_id, ())) | {q for q, _ in a.queues}),
                    "calls": today.answered,
                    "missed": today.missed,
                    "aht_s": today.aht_s,
                }
            )
        return {
            "type": "wallboard",
            "at": now,
            "queues": queues,
            "agents": agents,
            "alerts": self._alerts,
            "incidents": self._incidents,
        }

    @staticmethod
    def narrowed(view: dict[str, Any], queues: frozenset[str]) -> dict[str, Any]:
        """`view` with only `queues`, their agents and the alerts of those queues."""
        return {
            **view,
            "queues": [q for q in view["queues"] if q["name"] in queues],
            "agents": [a for a in view["agents"] if set(a["queues"]) & queues],
            "alerts": [x for x in view["alerts"] if x["queue"] is None or x["queue"] in queues],
        }

    # -------------------------------------------------------------- history
    def sample(self, now: float) -> None:
        """Remember how many callers wait per queue (the last hour's chart)."""
        if self.waiting_history and now - self.waiting_history[-1][0] < SAMPLE_EVERY_S:
            return
        snap = self.router.snapshot(now)
        self.waiting_history.append((now, {q.name: len(q.waiting) for q in snap.queues}))

    def waiting_series(self, now: float, queues: Iterable[str]) -> list[tuple[float, int]]:
        wanted = set(queues)
        current = self.router.snapshot(now)
        points = [(t, sum(n for q, n in counts.items() if q in wanted)) for t, counts in self.waiting_history]
        points = [(t, n) for t, n in points if now - t <= HISTORY_S]
        points.append((now, sum(len(q.waiting) for q in current.queues if q.name in wanted)))
        return points

    # -------------------------------------------------------------- alerts
    async def refresh_alerts(self) -> None:
        alerts = await self.desk.open_alerts(ALERTS_LIMIT)
        self._alerts = [
            {
                "ticket_id": a.ticket_id,
                "kind": a.kind,
                "subject": a.subject,
                "reason": a.reason,
                "state": str(a.state),
                "queue": a.queue,
                "owner": a.owner,
                "due_at": a.due_at.isoformat() if a.due_at else None,
                "updated_at": a.updated_at.isoformat(),
            }
            for a in alerts
        ]
        self._incidents = [
            {
                "id": i.id,
                "category": i.category,
                "area": i.area,
                "group": i.customer_tag,
                "description": {"zh-CN": i.description_zh, "en": i.description_en},
                "expected_at": i.expected_at.isoformat() if i.expected_at else None,
                "declared_at": i.declared_at.isoformat(),
                "calls": i.calls,
                "tickets": i.children,
            }
            for i in await self.desk.open_incidents(ALERTS_LIMIT)
        ]
        self._alerts_stale = False
        self._alerts_at = self.clock()

    # -------------------------------------------------------------- the loop
    async def run(self) -> None:
        """Publish the view while anyone watches; sample the waiting history always."""
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: see cti.acd.AcdService.run
                async with asyncio.timeout(HEARTBEAT_S):
                    await self._changed.wait()
            self._changed.clear()
            now = self.clock()
            self.sample(now)
            if not self.hub.connected(CHANNEL):
                continue
            if self._lookups:
                try:
                    await self._look_up_customers()
                except Exception:  # the database may be briefly away: numbers and names still show
                    log.exception("cannot read the customers of waiting calls")
            if self._alerts_stale or now - self._alerts_at >= ALERTS_REFRESH_S:
                try:
                    await self.refresh_alerts()
                except Exception:  # the database may be briefly away: keep the live figures going
                    log.exception("cannot read SLA breaches and complaints")
            self.hub.publish(CHANNEL, self.view(now))
            await asyncio.sleep(MIN_GAP_S)  # a burst of events makes one update, not fifty
