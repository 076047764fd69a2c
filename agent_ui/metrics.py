"""`GET /metrics`: Prometheus text exposition of Hotline's counters and the routing KPIs (prometheus-client).

Nothing is counted twice and nothing on a call's path pays for it: the
counters already exist (the bus's, the AMI client's, the router's), and a
`Collector` reads them at scrape time into metric families, in a registry of
this app's own (several apps in one process, as in the tests, do not mix).

Import cost (measured on this machine kind): `import prometheus_client` alone
takes 70-100 ms, but 13-27 ms once the app's own imports (httpx, uvicorn) are
loaded, because most of it is the standard library's http and email modules.
The app imports this module at the first scrape, not at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from routing.agent_state import AgentState

if TYPE_CHECKING:
    from agent_ui.bootstrap import Container

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HotlineCollector(Collector):
    def __init__(self, container: Container) -> None:
        self._c = container

    def collect(self) -> Iterator[Metric]:
        yield from self._bus()
        yield from self._pbx()
        yield from self._router()
        yield from self._queues()

    def _bus(self) -> Iterator[Metric]:
        bus = self._c.bus
        published = CounterMetricFamily("hotline_bus_events_published", "Events put on the bus")
        published.add_metric([], bus.stats.published)
        delivered = CounterMetricFamily("hotline_bus_events_delivered", "Events handed to every subscriber")
        delivered.add_metric([], bus.stats.delivered)
        commands = CounterMetricFamily("hotline_bus_commands", "Commands sent over the bus")
        commands.add_metric([], bus.stats.commands)
        errors = CounterMetricFamily(
            "hotline_bus_handler_errors", "Events a subscriber failed on", labels=["subscriber"]
        )
        for name, count in sorted(bus.stats.handler_errors.items()):
            errors.add_metric([name], count)
        handled = CounterMetricFamily(
            "hotline_bus_handled", "Events each subscriber handled", labels=["subscriber"]
        )
        seconds = CounterMetricFamily(
            "hotline_bus_handler_seconds", "Wall time subscribers spent on events", labels=["subscriber"]
        )
        for name, count in sorted(bus.stats.handled.items()):
            handled.add_metric([name], count)
            seconds.add_metric([name], bus.stats.handler_seconds.get(name, 0.0))
        depth = GaugeMetricFamily("hotline_bus_queue_depth", "Events and commands waiting", labels=["shard"])
        for shard, size in enumerate(bus.depths()):
            depth.add_metric([str(shard)], size)
        yield from (published, delivered, commands, errors, handled, seconds, depth)
        offers = self._c.desk.ctx.offers.stats
        intake = CounterMetricFamily(
            "hotline_intake_writes",
            "Offered calls' writes (writes), the transactions they were committed in (groups) and"
            " the groups' wall time in seconds (seconds)",
            labels=["counter"],
        )
        intake.add_metric(["writes"], offers.writes)
        intake.add_metric(["groups"], offers.groups)
        intake.add_metric(["seconds"], offers.seconds)
        yield intake

    def _pbx(self) -> Iterator[Metric]:
        link = self._c.link
        up = GaugeMetricFamily("hotline_pbx_up", "1 if the telephony link can carry calls")
        if link is None:
            yield up
            return
        health = link.health()
        up.add_metric([], 1.0 if health.up else 0.0)
        yield up
        counters = CounterMetricFamily(
            "hotline_pbx_link",
            "The telephony link's counters (AMI frames, drops, reconnects)",
            labels=["counter"],
        )
        for name, count in sorted(health.counters.items()):
            counters.add_metric([name], count)
        yield counters

    def _router(self) -> Iterator[Metric]:
        ignored = CounterMetricFamily(
            "hotline_router_ignored_events", "Events the router could not apply, by reason", labels=["reason"]
        )
        for reason, count in sorted(self._c.router.ignored_events.items()):
            ignored.add_metric([reason], count)
        yield ignored

    def _queues(self) -> Iterator[Metric]:
        now = self._c.acd.clock()
        kpis = self._c.router.kpis(now)
        snap = self._c.router.snapshot(now)
        q = ["queue"]
        waiting = GaugeMetricFamily("hotline_queue_waiting", "Callers waiting now", labels=q)
        longest = GaugeMetricFamily("hotline_queue_longest_wait_seconds", "Longest wait now", labels=q)
        offered = GaugeMetricFamily("hotline_queue_offered_today", "Calls offered since midnight", labels=q)
        answered = GaugeMetricFamily(
            "hotline_queue_answered_today", "Calls answered since midnight", labels=q
        )
        abandoned = GaugeMetricFamily(
            "hotline_queue_abandoned_today", "Calls abandoned since midnight", labels=q
        )
        level = GaugeMetricFamily(
            "hotline_queue_service_level_today", "Service level since midnight", labels=q
        )
        asa = GaugeMetricFamily("hotline_queue_asa_seconds_today", "Average speed of answer", labels=q)
        aht = GaugeMetricFamily("hotline_queue_aht_seconds_today", "Average handling time", labels=q)
        staffed = GaugeMetricFamily("hotline_queue_agents_staffed", "Agents logged in, not paused", labels=q)
        for queue in kpis.queues:
            name = [queue.queue]
            waiting.add_metric(name, queue.waiting)
            longest.add_metric(name, queue.longest_waiting_s)
            offered.add_metric(name, queue.today.offered)
            answered.add_metric(name, queue.today.answered)
            abandoned.add_metric(name, queue.today.abandoned)
            staffed.add_metric(name, queue.agents_staffed)
            for family, value in ((level, queue.today.service_level), (asa, queue.today.asa_s)):
                if value is not None:
                    family.add_metric(name, value)
            if queue.today.aht_s is not None:
                aht.add_metric(name, queue.today.aht_s)
        agents = GaugeMetricFamily("hotline_agents", "Agents by state", labels=["state"])
        for state in AgentState:
            agents.add_metric([state.value], sum(1 for a in snap.agents if a.state is state))
        yield from (waiting, longest, offered, answered, abandoned, level, asa, aht, staffed, agents)


def registry_for(container: Container) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HotlineCollector(container))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
