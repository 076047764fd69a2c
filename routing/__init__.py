"""Hotline's ACD router: queues, agents, strategies and statistics, pure Python.

No I/O and no clock: callers pass `now` (UTC epoch seconds) and execute the returned
decisions. See routing.router for the life of a call and docs/KPIS.md for the KPIs.
"""

from routing.agent_state import AgentState
from routing.config import AgentConfig, QueueConfig, RouterConfig, WideningStep
from routing.decisions import Decision
from routing.errors import InvalidTransition, RoutingError
from routing.hours import BusinessHours, OpenSpan, UtcOffsets
from routing.router import Router

__all__ = [
    "AgentConfig",
    "AgentState",
    "BusinessHours",
    "Decision",
    "InvalidTransition",
    "OpenSpan",
    "QueueConfig",
    "Router",
    "RouterConfig",
    "RoutingError",
    "UtcOffsets",
    "WideningStep",
]
