"""Errors raised by the router. Events never raise; commands and configuration do.

    RoutingError                 base of everything below
    ├── ConfigError              a RouterConfig/QueueConfig/AgentConfig is inconsistent (ValueError too)
    ├── UnknownAgent             a command names an agent that is not configured
    ├── UnknownQueue             a command names a queue that is not configured
    ├── UnknownCall              a command names a call the router does not hold
    ├── InvalidTransition        an agent command is illegal in the agent's current state
    └── NotInThisMode            the command needs control mode (e.g. RequestCallback in observe mode)

PBX events (`Router.on_event`) never raise: the PBX may repeat, reorder or invent
events, and a bad event must not take the ACD down. What cannot apply is ignored and
counted in `Router.ignored_events`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routing.agent_state import AgentState, Trigger


class RoutingError(Exception):
    """Base class of the router's errors."""


class ConfigError(RoutingError, ValueError):
    """The configuration cannot work (unknown overflow queue, bad widening steps, ...)."""


class UnknownAgent(RoutingError, KeyError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(agent_id)
        self.agent_id = agent_id

    def __str__(self) -> str:
        return f"unknown agent {self.agent_id!r}"


class UnknownQueue(RoutingError, KeyError):
    def __init__(self, queue: str) -> None:
        super().__init__(queue)
        self.queue = queue

    def __str__(self) -> str:
        return f"unknown queue {self.queue!r}"


class UnknownCall(RoutingError, KeyError):
    def __init__(self, call_id: str) -> None:
        super().__init__(call_id)
        self.call_id = call_id

    def __str__(self) -> str:
        return f"unknown or finished call {self.call_id!r}"


class InvalidTransition(RoutingError):
    """`trigger` is not allowed while the agent is in `current` (see routing.agent_state.TRANSITIONS)."""

    def __init__(self, agent_id: str, current: AgentState, trigger: Trigger) -> None:
        super().__init__(agent_id, current, trigger)
        self.agent_id = agent_id
        self.current = current
        self.trigger = trigger

    def __str__(self) -> str:
        return f"agent {self.agent_id!r} cannot {self.trigger.value} while {self.current.value}"


class NotInThisMode(RoutingError):
    """The command only makes sense when Hotline is the ACD (control mode)."""
