"""Hotline's asyncio AMI client: one TCP link, logged in, kept alive, reconnected.

`run()` is the supervisor: connect, log in (plain or MD5 challenge), run the
`on_connected` callbacks (resync), ping, and on any loss reconnect with capped
exponential backoff and jitter. Run it as a task of the caller's TaskGroup;
cancelling it closes the link and fails pending actions with NotConnected.

The reader is an `asyncio.Protocol`: bytes are split into frames and each frame
is decoded only when complete. Responses resolve the future waiting on their
ActionID; list actions collect `EventList: start` … `Complete`; every other
event fans out to bounded subscriptions that drop their oldest message when a
consumer is slow, so the parser never waits on anyone. A frame that cannot be
parsed is logged, counted in `stats.bad_frames` and skipped; the link stays up.

Secrets: actions are logged through `masked()`; the secret is never formatted
into a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from cti.ami.errors import (
    ActionRefused,
    ActionTimeout,
    AmiError,
    EventsLost,
    FrameError,
    LoginRefused,
    NotConnected,
)
from cti.ami.protocol import AmiMessage, FrameSplitter, encode_action, masked, parse_frame, peek_name

log = logging.getLogger(__name__)

FieldValue = str | int | list[str]
FrameFilter = Callable[[bytes, bytes], bool]
ConnectedCallback = Callable[[], Awaitable[None]]
ActionFence = Callable[[], None]
"""Called before every action frame is written; raises to keep it unsent. The elected router's
fence (cluster.fence.Fence.check) is one: a deposed leader sends the PBX nothing more, and what it
raises is no AmiError, so it is not retried or reconnected around: it ends the client's `run()`."""


@dataclass
class ClientStats:
    """Counters a supervisor page or a test can read; they only ever grow."""

    frames: int = 0
    events: int = 0
    skipped: int = 0  # frames filtered out by `frame_filter` before parsing
    bad_frames: int = 0
    dropped: int = 0  # events dropped by full subscriptions (sum over all)
    overflows: int = 0  # times a "lose-link" subscription overflowed (each one cost a resync)
    connects: int = 0
    logins: int = 0
    login_refusals: int = 0
    disconnects: int = 0


Overflow = Literal["drop-oldest", "lose-link"]


class Subscription:
    """Bounded async iterator of events. What a full one does is its `overflow` policy:

    * "drop-oldest": the oldest event is dropped and counted (a monitor that only
      wants recent events).
    * "lose-link": for a consumer that keeps state from the events (the
      translator), a gap is as bad as a cut link. New events are dropped and
      counted until the consumer has taken every event queued before the
      overflow; then iteration raises `EventsLost` once, and the consumer drops
      the link (`AmiClient.drop_link`) so that the re-login's resync rebuilds what
      was lost. Iterating again goes on with the events of the new link.

    A resync holds it (`hold`, set by `AmiClient.action_list(..., hold=)` at the moment the
    snapshot's list ends): the events read after that point wait until `release`, so the
    consumer translates every event older than the snapshot, then the snapshot, then the newer
    ones, in the order the PBX wrote them.
    """

    def __init__(self, client: AmiClient, maxsize: int, overflow: Overflow = "drop-oldest") -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._client = client
        self._queue: collections.deque[AmiMessage] = collections.deque()
        self._maxsize = maxsize
        self._overflow = overflow
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._lost = False  # "lose-link": overflowed, EventsLost not raised yet
        self._before_hold: int | None = None  # held: how many queued events are older than the hold
        self._at_hold: asyncio.Event | None = None  # set once the consumer waits at the hold
        self.dropped = 0

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def _put(self, message: AmiMessage) -> None:
        if self._lost or len(self._queue) >= self._maxsize:
            self.dropped += 1
            self._client.stats.dropped += 1
            if self._overflow == "lose-link":
                if not self._lost:
                    self._lost = True
                    self._client.stats.overflows += 1
                    log.warning(
                        "AMI: event queue full (%d): events lost, the link will resync", self._maxsize
                    )
                self._wake()
                return
            self._queue.popleft()
            if self._before_hold:
                self._before_hold -= 1
        self._queue.append(message)
        self._wake()

    def hold(self) -> None:
        """Deliver the events queued now, keep the ones that come from now on until `release`
        (a second hold moves the point to now). Synchronous: called where the snapshot ends."""
        self._before_hold = len(self._queue)
        if self._at_hold is None:
            self._at_hold = asyncio.Event()
        self._at_hold.clear()
        self._wake()  # a consumer waiting for an event says it is at the hold

    async def wait_held(self) -> None:
        """Return once the consumer has taken every event older than the hold and waits for the
        next (it has translated them all); at once when not held."""
        if self._before_hold is not None and self._at_hold is not None:
            await self._at_hold.wait()

    def release(self) -> None:
        """The held events flow again, in order."""
        self._before_hold, self._at_hold = None, None
        self._wake()

    def _held(self) -> bool:
        if self._before_hold is None or self._before_hold > 0 or self._closed:
            return False
        if self._at_hold is not None:
            self._at_hold.set()
        return True

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> AmiMessage | None:
        if not self._queue or self._held():
            return None
        return self._take()

    def _take(self) -> AmiMessage:
        if self._before_hold:
            self._before_hold -= 1
        return self._queue.popleft()

    def __len__(self) -> int:
        return len(self._queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> AmiMessage:
        while self._held() or not self._queue:
            if self._lost and not self._queue:
                self._lost = False
                raise EventsLost("event queue overflowed: events were lost")
            if self._closed and not self._queue:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._take()

    def close(self) -> None:
        """Stop receiving; a consumer blocked in `async for` finishes after the queued events."""
        self._closed = True
        self._before_hold, self._at_hold = None, None
        self._client._subscriptions.discard(self)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Pending:
    __slots__ = ("action", "future", "hold", "is_list", "items", "listing")

    def __init__(
        self,
        action: str,
        future: asyncio.Future[list[AmiMessage]],
        is_list: bool,
        hold: Subscription | None = None,
    ) -> None:
        self.action = action
        self.future = future
        self.is_list = is_list
        self.hold = hold  # held where the list ends (a resync's snapshot)
        self.listing = False  # True once `EventList: start` was seen
        self.items: list[AmiMessage] = []


class _Link(asyncio.Protocol):
    """One TCP connection. Feeds frames to the client; reports loss through `closed`."""

    def __init__(self, client: AmiClient) -> None:
        self._client = client
        self.splitter = FrameSplitter()
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.banner: asyncio.Future[str] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass: check the duck, not the class.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        frames = self.splitter.feed(data)
        if not self.banner.done() and self.splitter.banner is not None:
            self.banner.set_result(self.splitter.banner)
        if frames:
            self._client._on_frames(frames)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.banner.done():
            self.banner.set_exception(NotConnected("connection closed before the AMI banner"))
        if not self.closed.done():
            self.closed.set_result(None)
        self._client._on_link_lost(self, exc)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise NotConnected("AMI link is down")
        self.transport.write(data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


RECONNECT_BACKOFF = (0.5, 3.0)
"""(first, cap) seconds between reconnects, times a jitter of 0.5-1. A PBX link is on a LAN:
the cap is low, so a 25 s outage is over for Hotline within ~3 s of the PBX being back
(a cap of 30 s once made it 32 s: calls answered meanwhile had no pop)."""


class AmiClient:
    """An AMI connection that stays up. See the module docstring for the guarantees."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        action_timeout: float = 5.0,
        ping_interval: float = 20.0,
        ping_timeout: float = 5.0,
        backoff: tuple[float, float] = RECONNECT_BACKOFF,
        auth: Literal["plain", "md5"] = "plain",
        events: str = "on",
        connect_timeout: float = 10.0,
        frame_filter: FrameFilter | None = None,
        fence: ActionFence | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.backoff = backoff
        self.auth = auth
        self.events = events
        self.connect_timeout = connect_timeout
        self.frame_filter = frame_filter
        self.fence = fence
        self.stats = ClientStats()
        self.banner: str | None = None
        self._link: _Link | None = None
        self._logged_in = False
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()  # set when a logged-in link is lost, cleared at the next login
        self._pending: dict[str, _Pending] = {}
        self._listing = 0  # list actions currently collecting items: do not filter frames
        self._subscriptions: set[Subscription] = set()
        self._callbacks: list[ConnectedCallback] = []
        self._ids = itertools.count(1)
        self.last_failure: Literal["login refused", "unreachable", "link lost"] | None = None
        self._id_prefix = f"hl{secrets.token_hex(3)}"

    def __repr__(self) -> str:  # never shows the secret
        return f"AmiClient({self.username}@{self.host}:{self.port}, connected={self.connected})"

    # ----------------------------------------------------------------- public API

    @property
    def connected(self) -> bool:
        """Logged in and the `on_connected` callbacks have run."""
        return self._ready.is_set()

    def on_connected(self, callback: ConnectedCallback) -> None:
        """Run `callback()` after every (re)login, before `wait_connected` returns. For resync."""
        self._callbacks.append(callback)

    async def wait_lost(self) -> None:
        """Return once the link, logged in before, is lost (at once if it is down after a login)."""
        await self._lost.wait()

    def subscribe(self, maxsize: int = 1000, overflow: Overflow = "drop-oldest") -> Subscription:
        sub = Subscription(self, maxsize, overflow)
        self._subscriptions.add(sub)
        return sub

    def drop_link(self, reason: str) -> None:
        """Cut the current link as a network failure would: `run()` reconnects, logs in and resyncs."""
        link = self._link
        if link is not None:
            log.warning("AMI %s:%s: dropping the link: %s", self.host, self.port, reason)
            link.abort()

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until logged in and resynced. Raises NotConnected after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            raise NotConnected(f"AMI not connected within {timeout} s ({self.host}:{self.port})") from None

    async def action(self, name: str, *, within: float | None = None, **fields: FieldValue) -> AmiMessage:
        """Send an action and return its response. ActionRefused on `Response: Error`."""
        if not self._logged_in:
            raise NotConnected(f"{name}: AMI link is down")
        result = await self._send(name, fields, is_list=False, limit=within)
        return result[0]

    async def action_list(
        self,
        name: str,
        *,
        within: float | None = None,
        hold: Subscription | None = None,
        **fields: FieldValue,
    ) -> list[AmiMessage]:
        """Send a list action (QueueStatus, CoreShowChannels, Status, …) and return its items.

        The items are the events between `EventList: start` and the `…Complete`
        event carrying `EventList: Complete` (neither is included).

        `hold`: that subscription is held (`Subscription.hold`) at the very frame that ends the
        list, before any later frame is read: the events it then holds are those the PBX wrote
        after the snapshot, which must be applied after it. The caller releases it.
        """
        if not self._logged_in:
            raise NotConnected(f"{name}: AMI link is down")
        return await self._send(name, fields, is_list=True, limit=within, hold=hold)

    async def run(self) -> None:
        """Connect, log in, resync, ping; reconnect forever with backoff. Cancel to stop."""
        base, cap = self.backoff
        failures = 0
        try:
            while True:
                try:
                    await self._session()
                    failures = 0  # we were logged in: start the backoff again from the base
                    self.last_failure = "link lost"
                except LoginRefused as exc:
                    self.stats.login_refusals += 1
                    self.last_failure = "login refused"
                    log.error("AMI %s@%s:%s: %s", self.username, self.host, self.port, exc.message)
                except (OSError, AmiError, TimeoutError) as exc:
                    self.last_failure = "unreachable"
                    log.warning("AMI %s:%s: %s", self.host, self.port, exc or type(exc).__name__)
                delay = min(cap, base * 2**failures) * random.uniform(0.5, 1.0)
                failures = min(failures + 1, 32)
                log.info("AMI reconnecting to %s:%s in %.2f s", self.host, self.port, delay)
                await asyncio.sleep(delay)
        finally:
            self._close_link()

    # ------------------------------------------------------------------- session

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            _, link = await loop.create_connection(lambda: _Link(self), self.host, self.port)
        self._link = link
        self.stats.connects += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                self.banner = await link.banner
            await self._login()
            self._logged_in = True
            self.stats.logins += 1
            log.info("AMI logged in to %s:%s as %s (%s)", self.host, self.port, self.username, self.banner)
            for callback in list(self._callbacks):
                await callback()
            self._lost.clear()
            self._ready.set()
            await self._keepalive(link)
        finally:
            self._close_link()

    async def _login(self) -> None:
        fields: dict[str, FieldValue] = {"Username": self.username, "Events": self.events}
        try:
            if self.auth == "md5":
                challenge = (await self._send("Challenge", {"AuthType": "MD5"}, False, None))[0]
                digest = hashlib.md5((challenge.get("Challenge", "") + self._secret).encode()).hexdigest()
                fields.update(AuthType="MD5", Key=digest)
            else:
                fields["Secret"] = self._secret
            await self._send("Login", fields, False, None)
        except ActionRefused as exc:
            raise LoginRefused(
                "Login", f"{exc.message} (check the AMI username and secret for {self.username!r})"
            ) from None

    async def _keepalive(self, link: _Link) -> None:
        """Ping every `ping_interval`; no Pong within `ping_timeout` means the link is dead."""
        while not link.closed.done():
            done, _ = await asyncio.wait([link.closed], timeout=self.ping_interval)
            if done:
                return
            try:
                await self._send("Ping", {}, False, self.ping_timeout)
            except ActionTimeout:
                log.warning("AMI %s:%s: no Pong within %.1f s, dropping the link", *self._addr())
                link.abort()
                return
            except NotConnected:
                return

    def _addr(self) -> tuple[str, int, float]:
        return (self.host, self.port, self.ping_timeout)

    def _close_link(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.abort()
            self._on_link_lost(link, None)

    # --------------------------------------------------------------- actions

    async def _send(
        self,
        name: str,
        fields: dict[str, FieldValue],
        is_list: bool,
        limit: float | None,
        hold: Subscription | None = None,
    ) -> list[AmiMessage]:
        link = self._link
        if link is None:
            raise NotConnected(f"{name}: AMI link is down")
        action_id = f"{self._id_prefix}-{next(self._ids)}"
        wire = {k: (v if isinstance(v, list) else str(v)) for k, v in fields.items() if k != "ActionID"}
        wire["ActionID"] = action_id
        data = encode_action(name, wire)  # HeaderInjection before anything is registered
        future: asyncio.Future[list[AmiMessage]] = asyncio.get_running_loop().create_future()
        pending = _Pending(name, future, is_list, hold)
        self._pending[action_id] = pending
        if name == "Login":
            log.info("AMI -> %s %s", name, masked(AmiMessage.of(**{k: str(v) for k, v in wire.items()})))
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("AMI -> %s %s", name, masked(AmiMessage.of(**{k: str(v) for k, v in wire.items()})))
        try:
            if self.fence is not None:
                self.fence()  # the last moment before the frame leaves: a deposed leader stops here
            link.write(data)
            seconds = self.action_timeout if limit is None else limit
            try:
                async with asyncio.timeout(seconds):
                    return await future
            except TimeoutError:
                raise ActionTimeout(f"{name}: no response within {seconds} s") from None
        finally:
            if self._pending.pop(action_id, None) is not None and pending.listing:
                self._listing -= 1

    # ----------------------------------------------------------------- reader

    def _on_frames(self, frames: list[bytes]) -> None:
        stats = self.stats
        frame_filter = self.frame_filter
        for frame in frames:
            stats.frames += 1
            if frame_filter is not None and not self._listing:
                name = peek_name(frame)
                if name is not None and not frame_filter(name, frame):
                    stats.skipped += 1
                    continue
            try:
                message = parse_frame(frame)
            except FrameError as exc:
                stats.bad_frames += 1
                log.warning("AMI: skipped a bad frame (%s): %r", exc, frame[:120])
                continue
            if message.event is None:
                self._on_response(message)
            else:
                self._on_event(message)

    def _on_response(self, message: AmiMessage) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if action_id else None
        if pending is None or pending.future.done():
            log.debug("AMI: response for no pending action: %r", message)
            return
        if message.response == "Error":
            pending.future.set_exception(
                ActionRefused(pending.action, message.get("Message", "no message given"))
            )
        elif pending.is_list and message.get("EventList", "").lower() == "start":
            pending.listing = True
            self._listing += 1
        else:
            pending.future.set_result([message])

    def _on_event(self, message: AmiMessage) -> None:
        action_id = message.action_id
        if action_id is not None and self._listing:
            pending = self._pending.get(action_id)
            if pending is not None and pending.listing:
                if message.get("EventList", "").lower() == "complete":
                    if not pending.future.done():
                        if pending.hold is not None:
                            pending.hold.hold()
                        pending.future.set_result(pending.items)
                else:
                    pending.items.append(message)
                return
        self.stats.events += 1
        for sub in self._subscriptions:
            sub._put(message)

    def _on_link_lost(self, link: _Link, exc: Exception | None) -> None:
        if self._link is not None and self._link is not link:
            return  # a late notice from a link already replaced
        self._link = None
        if not self._logged_in and not self._pending:
            return
        self._logged_in = False
        self._ready.clear()
        self._lost.set()
        self.stats.disconnects += 1
        if exc is not None:
            log.warning("AMI link to %s:%s lost: %s", self.host, self.port, exc)
        pending, self._pending = self._pending, {}
        self._listing = 0
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(NotConnected(f"{item.action}: AMI link lost"))
