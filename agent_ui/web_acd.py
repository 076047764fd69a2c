"""The ACD as a web worker sees it (`--role web`): the router's configuration here, its decisions there.

A web worker has no PBX link and runs no router: the one router process (the elected leader)
does. Yet its pages and API need two things of the ACD: the router's configuration (queues,
the center's time zones: `acd.router.config.utc_offsets`, `acd.clock()`), which is built here
from the stored call center and follows it, and a way to send a console's or supervisor's
orders (pause, ready, sign-in, log-off) to the router and hear its reply. The second is the
`RouterCommands` seam: with Redis, `ChannelCommands` over the command channel
(cluster.commands), answering 503 `router_unreachable` when no router replies in time; without
one `NoRouterCommands` refuses every order so, so a web worker never applies an order to a
router of its own that nobody else sees.

What is not here: the router's live state (`router.snapshot()`, `agent_state()`); this
process's `router` holds the configuration and no state. A console's greeting and own-call
check ask the router instead (`ConsoleService.ask_router`, cluster.commands' AgentHello
question); other pages that read live state on a web worker show none until snapshots arrive
through Redis (the wallboard and consoles get theirs from the router's pushes on the hub).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from agent_ui.errors import ApiError
from cluster.commands import RouterUnreachable
from cti.acd import AcdService
from routing import Router
from routing.commands import Command
from routing.config import RouterConfig


class RouterCommands(Protocol):
    """An order to the one router process, answered once it is applied there.

    Raises routing's InvalidTransition when the router refuses it (as `AcdService.command`
    does), ApiError(503, "router_unreachable") when no router answers in time."""

    async def command(self, command: Command) -> None: ...


class NoRouterCommands:
    """No command channel wired: every order is refused, saying so (never applied locally)."""

    async def command(self, command: Command) -> None:
        raise ApiError(
            503,
            "router_unreachable",
            f"this web worker cannot reach the router to {type(command).__name__}; try again",
        )


class ChannelCommands:
    """The router's orders over a channel (cluster.commands.RedisRouterCommands) whose silence
    is answered as `NoRouterCommands` answers: 503 router_unreachable (the router's refusals,
    routing's errors, pass through as they are)."""

    def __init__(self, channel: RouterCommands) -> None:
        self.channel = channel

    async def command(self, command: Command) -> None:
        try:
            await self.channel.command(command)
        except RouterUnreachable as exc:
            raise ApiError(
                503,
                "router_unreachable",
                f"this web worker cannot reach the router to {type(command).__name__} ({exc}); try again",
            ) from exc


class WebAcd(AcdService):
    """An AcdService whose decisions are made in the router process.

    It is what the routes already take (`deps.Acd`), so they need no change: `router` and
    `clock` answer here; `command` goes to the router; `reconfigure` only checks and follows
    the configuration here (the router applies the stored version itself); there are no
    timers to run and it is subscribed to no bus."""

    def __init__(
        self,
        router: Router,
        commands: RouterCommands,
        *,
        control: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(router, None, control=control, clock=clock)
        self.commands = commands

    async def command(self, command: Command) -> None:
        await self.commands.command(command)

    async def reconfigure(self, config: RouterConfig) -> None:
        """Raises routing's ConfigError, changing nothing, when the configuration is invalid."""
        self.router.reconfigure(config, self.clock())

    async def run(self) -> None:
        raise NotImplementedError("a web worker runs no ACD timers: the router process does")
