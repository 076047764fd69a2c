"""The command channel: a web worker's orders (sign-in, pause, ready, log-off…) reach the one router
process and get its reply, over Redis.

A web worker holds no router (agent_ui.web_acd): `RedisRouterCommands.command` is its
`RouterCommands`. The order goes on one stream (`<prefix>in`, trimmed with `XADD MAXLEN ~`)
that the router reads through a consumer group (`XREADGROUP`), so each order is applied by
one router only, whatever the number of routers reading (a standby takes over the same
group). The reply goes on the asking worker's own list (`<prefix>reply:<worker>`, `RPUSH`,
expiring when unread) with the order's correlation id; the worker's one reply reader
(`BLPOP`) hands it to the waiting call. No reply within `timeout_s` raises `RouterUnreachable`
(the worker answers 503 router_unreachable, as it did before the channel existed).

Order of the router's steps: apply the order, then send the reply and `XACK` it in one
MULTI, so a router that dies between applying and replying leaves the order pending, and
another router reclaims it (`XAUTOCLAIM`, once idle `claim_idle_s`) and applies it. An order
is stamped with its deadline (the worker's wall clock plus `timeout_s`); a router that reads
it after that drops it unapplied: the worker already said 503, and an agent who was told
"try again" must not be paused a minute later anyway. The workers' and router's clocks are
assumed to agree within a fraction of a second (NTP).

Each order is applied once at most, by its id (the worker's correlation id): before applying
it the router takes it (`SET <prefix>order:<id> taken NX`), and the MULTI that replies also
stores the answer there. A router that reclaims an order finds it taken: with an answer, that
answer is sent again (applied once, its reply lost); taken by a router that died applying it,
it is not applied again (the dead router may have applied it, its durable part, acd_agent and
the PBX, is what the new leader rebuilt from) and the worker hears `RouterUnreachable`
("interrupted"), as for any order whose fate it cannot know: the console says try again and
shows the state the router greets it with. Redis unreachable raises `RouterUnreachable` at once
on the worker, and makes the router's reader log and retry every `RETRY_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast, get_args

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cluster.cancellation import stop_if_cancelled
from routing.agent_state import AgentState, Trigger
from routing.commands import Command
from routing.errors import (
    ConfigError,
    InvalidTransition,
    NotInThisMode,
    RoutingError,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)

log = logging.getLogger(__name__)

PREFIX = "hotline:cmd:"
GROUP = "router"
STREAM_LEN = 10_000  # orders kept (approximate); the router acks them within milliseconds
TIMEOUT_S = 3.0
CLAIM_IDLE_S = 1.0  # a dead router's order is reclaimed within the asker's timeout
REPLY_TTL_S = 30  # a worker that died leaves its reply list behind this long
ORDER_TTL_S = 60  # an order's id is remembered this long (far past its deadline: no reclaim comes later)
TAKEN = b"taken"  # an order's mark while a router applies it; its answer's JSON once answered
BLOCK_MS = 1_000
BATCH = 50
RETRY_S = 1.0

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

COMMANDS: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(Command)}

Entries = list[tuple[bytes, dict[bytes, bytes]]]
Apply = Callable[[Command], Awaitable[None]]
Query = Callable[[str], Awaitable[dict[str, Any]]]  # an agent's id -> their greeting, read-only


class RouterUnreachable(Exception):
    """No router answered in time (or Redis is down, or the router could not apply the order)."""


# ---------------------------------------------------------------------- the wire format
def encode(command: Command) -> str:
    fields = dataclasses.asdict(command)
    return json.dumps({"type": type(command).__name__, "fields": fields})


def decode(text: bytes | str) -> Command:
    """Raises ValueError when `text` is no order this version knows."""
    data = json.loads(text)
    cls = COMMANDS.get(str(data.get("type"))) if isinstance(data, dict) else None
    if cls is None or not isinstance(data.get("fields"), dict):
        raise ValueError(f"not an order: {str(text)[:80]!r}")
    try:
        return cast(Command, cls(**data["fields"]))
    except TypeError as exc:
        raise ValueError(f"not a {cls.__name__}: {exc}") from exc


def _error_of(exc: RoutingError) -> dict[str, Any]:
    """A router's refusal as JSON, rebuilt by `_raise` on the worker with the same type and text."""
    match exc:
        case InvalidTransition(agent_id=agent_id, current=current, trigger=trigger):
            return {"kind": "InvalidTransition", "args": [agent_id, current.value, trigger.value]}
        case UnknownAgent(agent_id=agent_id):
            return {"kind": "UnknownAgent", "args": [agent_id]}
        case UnknownQueue(queue=queue):
            return {"kind": "UnknownQueue", "args": [queue]}
        case UnknownCall(call_id=call_id):
            return {"kind": "UnknownCall", "args": [call_id]}
        case NotInThisMode():
            return {"kind": "NotInThisMode", "args": [str(exc)]}
        case ConfigError():
            return {"kind": "ConfigError", "args": [str(exc)]}
    return {"kind": "RoutingError", "args": [str(exc)]}


def _rebuilt(error: dict[str, Any]) -> Exception:
    kind, args = error.get("kind"), error.get("args") or [""]
    if kind == "InvalidTransition":
        return InvalidTransition(args[0], AgentState(args[1]), Trigger(args[2]))
    simple: dict[str, type[Exception]] = {
        "UnknownAgent": UnknownAgent,
        "UnknownQueue": UnknownQueue,
        "UnknownCall": UnknownCall,
        "NotInThisMode": NotInThisMode,
        "ConfigError": ConfigError,
        "RoutingError": RoutingError,
    }
    if kind in simple:
        return simple[kind](args[0])
    return RouterUnreachable(f"the router could not apply the order: {args[0]}")


# ---------------------------------------------------------------------- the web worker's side
class RedisRouterCommands:
    """`agent_ui.web_acd.RouterCommands` over Redis. `run()` is the reply reader: a task of the
    worker's TaskGroup; `command` waits for its reply at most `timeout_s`."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = PREFIX,
        worker: str | None = None,
        timeout_s: float = TIMEOUT_S,
        stream_len: int = STREAM_LEN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis, self.prefix, self.timeout_s, self.stream_len = redis, prefix, timeout_s, stream_len
        self.worker = worker or uuid.uuid4().hex[:12]
        self.clock = clock
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def reply_key(self) -> str:
        return f"{self.prefix}reply:{self.worker}"

    async def command(self, command: Command) -> None:
        """Raises routing's RoutingError subclasses as the router raised them, RouterUnreachable
        when no reply comes in time."""
        await self._ask({"command": encode(command)})

    async def agent_hello(self, agent_id: str) -> dict[str, Any]:
        """The agent's console greeting as the router sees it (its ACD's state, reason, pop, and
        the calls popped to them): a web worker's own ACD memory is empty. Read-only, so one
        read twice (a reclaim) is harmless. Raises RouterUnreachable as `command` does."""
        answer = await self._ask({"query": json.dumps({"type": "AgentHello", "agent_id": agent_id})})
        result = answer.get("result")
        if not isinstance(result, dict):
            raise RouterUnreachable("the router's answer carried no greeting")
        return result

    async def _ask(self, body: dict[str, str]) -> dict[str, Any]:
        correlation = uuid.uuid4().hex
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[correlation] = reply
        fields: dict[str | bytes, str] = {
            "id": correlation,
            "reply_to": self.reply_key,
            "deadline": repr(self.clock() + self.timeout_s),
        }
        fields.update(body)
        try:
            await self.redis.xadd(
                f"{self.prefix}in",
                cast(Any, fields),
                maxlen=self.stream_len,
                approximate=True,
            )
            async with asyncio.timeout(self.timeout_s):  # not wait_for: see cluster.cancellation
                answer = await reply
        except TimeoutError as exc:  # before REDIS_DOWN: asyncio's TimeoutError is an OSError
            raise RouterUnreachable(f"no router answered within {self.timeout_s:.1f} s") from exc
        except REDIS_DOWN as exc:
            raise RouterUnreachable(f"Redis is unreachable: {type(exc).__name__}") from exc
        finally:
            self._waiting.pop(correlation, None)
        if answer.get("error") is not None:
            raise _rebuilt(answer["error"])
        return answer

    async def run(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                popped = await self.redis.blpop([self.reply_key], timeout=BLOCK_MS / 1000)
            except REDIS_DOWN as exc:
                stop_if_cancelled()
                log.warning(
                    "Redis unreachable (%r): the command reply reader retries in %.0f s", exc, RETRY_S
                )
                await asyncio.sleep(RETRY_S)
                continue
            if popped is None:
                continue
            try:
                answer = json.loads(popped[1])
                waiting = self._waiting.get(answer["id"])
            except (ValueError, KeyError, TypeError):
                log.warning("not a reply on %s: %r", self.reply_key, popped[1][:80])
                continue
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)  # else: it timed out already (the asker said 503)


# ---------------------------------------------------------------------- the router's side
class RouterCommandServer:
    """Reads the orders as one consumer of the group and applies them (`apply`: the ACD's
    `AcdService.command`). `run()` is a task of the router's TaskGroup; only the leader runs it."""

    def __init__(
        self,
        redis: Redis,
        apply: Apply,
        *,
        query: Query | None = None,
        prefix: str = PREFIX,
        consumer: str | None = None,
        claim_idle_s: float = CLAIM_IDLE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis, self.apply, self.query, self.prefix = redis, apply, query, prefix
        self.consumer = consumer or f"router-{uuid.uuid4().hex[:12]}"
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.clock = clock
        self.applied = 0
        self.expired = 0  # orders read after their deadline: dropped unapplied
        self.reclaimed = 0  # orders taken over from a consumer that went silent
        self.repeated = 0  # orders read again after a router took them: answered, not applied
        self.ready = asyncio.Event()  # the group exists and this consumer reads it

    @property
    def stream(self) -> str:
        return f"{self.prefix}in"

    async def run(self) -> None:
        last_claim = 0.0
        while True:
            stop_if_cancelled()
            try:
                if not self.ready.is_set():
                    await self._create_group()
                    self.ready.set()
                if time.monotonic() - last_claim >= self.claim_idle_ms / 1000 / 2:
                    last_claim = time.monotonic()
                    await self._reclaim()
                replies = await self.redis.xreadgroup(
                    GROUP, self.consumer, {self.stream: ">"}, count=BATCH, block=BLOCK_MS // 2
                )
            except REDIS_DOWN as exc:
                stop_if_cancelled()
                log.warning("Redis unreachable (%r): the command reader retries in %.0f s", exc, RETRY_S)
                await asyncio.sleep(RETRY_S)
                continue
            for _stream, entries in cast(list[tuple[bytes, Entries]], replies or []):
                for entry_id, fields in entries:
                    await self._handle(entry_id, fields)

    async def _create_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: another router created it
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)

    async def _reclaim(self) -> None:
        """Orders a consumer read and never acknowledged (it died) once idle `claim_idle_s`."""
        start = "0-0"
        while True:
            answer = await self.redis.xautoclaim(
                self.stream,
                GROUP,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=start,
                count=BATCH,
            )
            start_raw, entries = answer[0], cast(Entries, answer[1])
            for entry_id, fields in entries:
                self.reclaimed += 1
                await self._handle(entry_id, fields)
            start = start_raw.decode() if isinstance(start_raw, bytes) else str(start_raw)
            if start == "0-0":
                return

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        reply_to = fields.get(b"reply_to", b"").decode()
        correlation = fields.get(b"id", b"").decode()
        if b"query" in fields:
            await self._answer_query(entry_id, fields, reply_to, correlation)
            return
        try:
            deadline = float(fields.get(b"deadline", b"0"))
            command = decode(fields.get(b"command", b""))
        except ValueError as exc:
            log.warning("order %s dropped: %s", entry_id.decode(), exc)
            await self.redis.xack(self.stream, GROUP, entry_id)
            return
        if self.clock() > deadline:
            self.expired += 1
            log.info(
                "order %s (%s) read after its deadline: dropped", entry_id.decode(), type(command).__name__
            )
            await self.redis.xack(self.stream, GROUP, entry_id)
            return
        mark = f"{self.prefix}order:{correlation}" if correlation else None  # no id: no mark
        if mark is not None and not await self.redis.set(mark, TAKEN, nx=True, ex=ORDER_TTL_S):
            await self._answer_again(entry_id, reply_to, correlation, await self.redis.get(mark))
            return
        answer: dict[str, Any] = {"id": correlation, "error": None}
        try:
            await self.apply(command)
            self.applied += 1
        except RoutingError as exc:
            answer["error"] = _error_of(exc)
        except Exception as exc:  # a bug in applying it: the asker must hear, the reader go on
            log.exception("order %s (%s) failed", entry_id.decode(), type(command).__name__)
            answer["error"] = {"kind": "failed", "args": [type(exc).__name__]}
        await self._reply(entry_id, reply_to, answer, mark=mark)

    async def _answer_again(
        self, entry_id: bytes, reply_to: str, correlation: str, stored: bytes | str | None
    ) -> None:
        """An order taken before (a reclaim, or the same order read twice): never applied again."""
        self.repeated += 1
        answer: dict[str, Any] | None = None
        if stored and stored not in (TAKEN, TAKEN.decode()):
            with contextlib.suppress(ValueError):
                answer = json.loads(stored)
        if answer is None:
            log.warning("order %s: its router died applying it; not applied again", entry_id.decode())
            answer = {
                "id": correlation,
                "error": {"kind": "interrupted", "args": ["its router stopped while applying it; try again"]},
            }
        await self._reply(entry_id, reply_to, answer)

    async def _answer_query(
        self, entry_id: bytes, fields: dict[bytes, bytes], reply_to: str, correlation: str
    ) -> None:
        """A read-only question (`RedisRouterCommands.agent_hello`): answered even when late
        (reading twice changes nothing), unless this router was built without `query`."""
        answer: dict[str, Any] = {"id": correlation, "error": None}
        try:
            asked = json.loads(fields[b"query"])
            if not isinstance(asked, dict) or asked.get("type") != "AgentHello" or self.query is None:
                raise ValueError(f"not a question this router answers: {str(asked)[:80]!r}")
            answer["result"] = await self.query(str(asked["agent_id"]))
        except (ValueError, KeyError) as exc:
            answer["error"] = {"kind": "failed", "args": [str(exc)]}
        except RoutingError as exc:
            answer["error"] = _error_of(exc)
        await self._reply(entry_id, reply_to, answer)

    async def _reply(
        self, entry_id: bytes, reply_to: str, answer: dict[str, Any], *, mark: str | None = None
    ) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if mark is not None:  # the order's answer, for a router that reads it again
                pipe.set(mark, json.dumps(answer), ex=ORDER_TTL_S)
            pipe.rpush(reply_to, json.dumps(answer))
            pipe.expire(reply_to, REPLY_TTL_S)
            pipe.xack(self.stream, GROUP, entry_id)
            await pipe.execute()
