"""The supervisors' live view: queue and agent figures pushed over `/ws/supervisor`.

The router owns the numbers (`Router.kpis`, `Router.snapshot`); this service
turns them into one JSON view and publishes it on the hub's `supervisors`
channel whenever something moved (a call event, a routing decision, a desk
event), at most every `MIN_GAP_S`, and at least every `HEARTBEAT_S` so the
rolling figures drift as time passes. Each view is complete, so a wallboard
that reconnects needs only the newest one: nothing can be missed. The
websocket narrows the view to the queues the supervisor watches.

It also keeps the last hour of "callers waiting" samples for the chart, and
the open SLA breaches and complaints, read from the tickets table when the desk
says something changed (and every `ALERTS_REFRESH_S` as a safety net).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any

from agent_ui.hub import Hub
from config.callcenter import CallCenter
from routing import Router
from routing.agent_state import AgentState
from routing.decisions import Decision
from routing.events import Event
from tickets.events import DeskEvent
from tickets.views import DeskViews

log = logging.getLogger(__name__)

CHANNEL = "supervisors"
MIN_GAP_S = 0.1
HEARTBEAT_S = 2.0
SAMPLE_EVERY_S = 15.0
HISTORY_S = 3600.0
ALERTS_REFRESH_S = 30.0
ALERTS_LIMIT = 50


class WallboardService:
    def __init__(
        self,
        router: Router,
        hub: Hub,
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
        self._alerts_stale = True
        self._alerts_at = 0.0
        self.waiting_history: deque[tuple[float, dict[str, int]]] = deque(
            maxlen=int(HISTORY_S / SAMPLE_EVERY_S) + 1
        )

    # -------------------------------------------------------------- triggers
    def changed(self) -> None:
        self._changed.set()

    async def on_event(self, _event: Event) -> None:
        """Bus handler: any call or agent event may move a figure."""
        self._changed.set()

    async def on_decision(self, _decision: Decision) -> None:
        self._changed.set()

    async def on_desk_event(self, _event: DeskEvent) -> None:
        """Desk listener: a ticket changed, was flagged or breached its SLA."""
        self._alerts_stale = True
        self._changed.set()

    # -------------------------------------------------------------- the view
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
                    "sl_threshold_s": cfg.service_level_s,
                    "sl_target": cfg.service_level_target,
                    "asa_s": qk.today.asa_s,
                    "aht_s": qk.today.aht_s,
                    "abandon_rate": qk.today.abandon_rate,
                    "staffed": qk.agents_staffed,
                    "available": view.agents_available,
                    "agents_by_state": {s.value: states.get(s.value, 0) for s in AgentState},
                    "erlang": None
                    if staffing is None
                    else {
                        "agents": staffing.agents,
                        "service_level": staffing.service_level,
                        "asa_s": staffing.asa_s,
                        "arrivals_per_hour": staffing.arrivals_per_hour,
                    },
                    "waiting_calls": [
                        {"call_id": c.call_id, "waited_s": c.waited_s, "tier": c.tier, "position": c.position}
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
                    "call_id": a.call_id,
                    "queues": sorted(set(self._members.get(a.agent_id, ())) | {q for q, _ in a.queues}),
                    "calls": today.answered,
                    "missed": today.missed,
                    "aht_s": today.aht_s,
                }
            )
        return {"type": "wallboard", "at": now, "queues": queues, "agents": agents, "alerts": self._alerts}

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
        self._alerts_stale = False
        self._alerts_at = self.clock()

    # -------------------------------------------------------------- the loop
    async def run(self) -> None:
        """Publish the view while anyone watches; sample the waiting history always."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), HEARTBEAT_S)
            self._changed.clear()
            now = self.clock()
            self.sample(now)
            if not self.hub.connected(CHANNEL):
                continue
            if self._alerts_stale or now - self._alerts_at >= ALERTS_REFRESH_S:
                try:
                    await self.refresh_alerts()
                except Exception:  # the database may be briefly away: keep the live figures going
                    log.exception("cannot read SLA breaches and complaints")
            self.hub.publish(CHANNEL, self.view(now))
            await asyncio.sleep(MIN_GAP_S)  # a burst of events makes one update, not fifty
