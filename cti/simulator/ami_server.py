"""The simulated PBX's AMI server: TCP on loopback, the Asterisk banner, login, actions in, events out.

It speaks the manager protocol only (framing, Challenge/Login with plain or MD5
secret, Logoff, "Permission denied" before login, "Invalid/unknown command");
what an action does is up to the table of handlers it is given
(`cti.simulator.actions`). Sessions run as tasks of the PBX's TaskGroup
(`spawn`), so they end with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from cti.ami.protocol import FrameSplitter
from cti.simulator.dialect import Dialect

BANNER = b"Asterisk Call Manager/11.0.0\r\n"  # Asterisk 22 (the default dialect)

Spawn = Callable[[Awaitable[None], str], None]


def encode_message(first_key: str, first_value: str, fields: dict[str, str]) -> bytes:
    lines = [f"{first_key}: {first_value}"]
    lines += [f"{k}: {v}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class AmiSession:
    """One client connection."""

    def __init__(self, writer: asyncio.StreamWriter, dialect: Dialect | None = None) -> None:
        self.writer = writer
        self.dialect = dialect or Dialect()
        self.authenticated = False
        self.events = True
        self.challenge: str | None = None

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def respond(self, fields: dict[str, str], response: str, **extra: str) -> None:
        """`Response: <response>` to the action `fields`, echoing its ActionID."""
        out: dict[str, str] = {}
        if "ActionID" in fields:
            out["ActionID"] = fields["ActionID"]
        out.update(extra)
        self.send(encode_message("Response", response, out))

    def send_event(self, event: str, fields: dict[str, str]) -> None:
        """An event to this session only (the items of a list action)."""
        for name, out in self.dialect.rewrite(event, fields):
            self.send(encode_message("Event", name, out))


ActionHandler = Callable[[AmiSession, dict[str, str]], None]


@dataclass(frozen=True, slots=True)
class ReceivedAction:
    """An action as the PBX received it: when (wall clock, comparable across processes on one
    host: the split-brain tests order two routers' actions by it), from which connection."""

    at: float
    peer: tuple[str, int]
    fields: dict[str, str]

    @property
    def name(self) -> str:
        return self.fields.get("Action", "")


class AmiServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        actions: Mapping[str, ActionHandler],
        booted_at: int,
        dialect: Dialect | None = None,
    ) -> None:
        """`actions` maps the lower-case action name to its handler (login and logoff are the server's)."""
        self.host = host
        self._requested_port = port
        self.port = 0
        self.username = username
        self._secret = secret
        self._actions = dict(actions)
        self.started_at = booted_at  # the PBX's start (FullyBooted Uptime, CoreStatus); a test may move it
        self.dialect = dialect or Dialect()
        self.actions_received: list[dict[str, str]] = []
        self.action_log: list[ReceivedAction] = []  # the same, each with its time and connection
        self._sessions: set[AmiSession] = set()
        self._after: dict[str, list[Callable[[], None]]] = {}
        self._before: dict[str, list[Callable[[], Awaitable[None]]]] = {}

    def before_action(self, action: str, first: Callable[[], Awaitable[None]]) -> None:
        """Await `first()` once before the next `action` is carried out (its session reads nothing
        meanwhile, the other events go on): what happens on the PBX before it gets to the action."""
        self._before.setdefault(action.lower(), []).append(first)

    def after_action(self, action: str, then: Callable[[], None]) -> None:
        """Run `then()` once, right after the next `action` is answered (its list items sent):
        what happens on the PBX meanwhile, written to the stream just after the answer."""
        self._after.setdefault(action.lower(), []).append(then)

    async def start(self, spawn: Spawn) -> asyncio.Server:
        """Listen; every connection becomes a session task started with `spawn`."""
        server = await asyncio.start_server(
            lambda r, w: spawn(self._serve_client(r, w), "ami-session"), self.host, self._requested_port
        )
        self.port = server.sockets[0].getsockname()[1]
        return server

    def drop_connections(self) -> None:
        """Cut every AMI link (as a network failure would)."""
        for session in list(self._sessions):
            session.writer.close()
        self._sessions.clear()

    def emit(self, event: str, fields: dict[str, str]) -> None:
        """Send an event to every logged-in session that asked for events."""
        data = b"".join(encode_message("Event", n, f) for n, f in self.dialect.rewrite(event, fields))
        if not data:
            return
        for session in list(self._sessions):
            if session.authenticated and session.events:
                session.send(data)

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are to every logged-in client (to test clients against bad input)."""
        for session in list(self._sessions):
            if session.authenticated:
                session.send(data)

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(writer, self.dialect)
        self._sessions.add(session)
        splitter = FrameSplitter()
        splitter.banner = ""  # we are the server: no banner comes from the client
        writer.write(self.dialect.banner)
        try:
            while not writer.is_closing():
                data = await reader.read(65536)
                if not data:
                    break
                for frame in splitter.feed(data):
                    fields = parse_action(frame)
                    if fields is None:
                        session.send(
                            encode_message("Response", "Error", {"Message": "Missing action in request"})
                        )
                        continue
                    for first in self._before.pop(fields["Action"].lower(), []):
                        await first()
                    self._handle_action(session, fields)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._sessions.discard(session)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _handle_action(self, session: AmiSession, fields: dict[str, str]) -> None:
        action = fields.get("Action", "").lower()
        self.actions_received.append(fields)
        peer = session.writer.get_extra_info("peername") or ("", 0)
        self.action_log.append(ReceivedAction(time.time(), (str(peer[0]), int(peer[1])), fields))
        if action == "login":
            self._login(session, fields)
            return
        if action == "challenge":
            session.challenge = secrets.token_hex(8)
            session.respond(fields, "Success", Challenge=session.challenge)
            return
        if action == "logoff":
            session.respond(fields, "Goodbye", Message="Thanks for all the fish.")
            session.writer.close()
            return
        if not session.authenticated:
            session.respond(fields, "Error", Message="Permission denied")
            return
        if action == "coresettings":
            session.respond(fields, "Success", **self.dialect.core_settings())
            return
        if action == "corestatus":  # manager.c action_corestatus (the local time of the start)
            started = time.localtime(self.started_at)
            day, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
            session.respond(
                fields, "Success", CoreStartupDate=day, CoreStartupTime=clock, CoreReloadDate=day,
                CoreReloadTime=clock, CoreCurrentCalls="0",
            )  # fmt: skip
            return
        handler = self._actions.get(action)
        if handler is None:
            session.respond(
                fields,
                "Error",
                Message=f"Invalid/unknown command: {fields.get('Action', '')}. "
                "Use Action: ListCommands to show available commands.",
            )
            return
        handler(session, fields)
        for then in self._after.pop(action, []):
            then()

    def _login(self, session: AmiSession, fields: dict[str, str]) -> None:
        ok = fields.get("Username") == self.username
        if fields.get("AuthType", "").lower() == "md5":
            expected = hashlib.md5(f"{session.challenge}{self._secret}".encode()).hexdigest()
            ok = ok and session.challenge is not None and fields.get("Key", "") == expected
        else:
            ok = ok and fields.get("Secret") == self._secret
        if not ok:
            session.respond(fields, "Error", Message="Authentication failed")
            return
        session.authenticated = True
        session.events = fields.get("Events", "on").lower() not in ("off", "no", "false")
        session.respond(fields, "Success", Message="Authentication accepted")
        peer = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        uptime = str(int(time.time()) - self.started_at)
        booted = {"Uptime": uptime, "LastReload": "0", "Status": "Fully Booted"}
        session.send_event("FullyBooted", {"Privilege": "system,all", **booted})
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        session.send_event(
            "SuccessfulAuth",
            {
                "Privilege": "security,all",
                "EventTV": stamp,
                "Severity": "Informational",
                "Service": "AMI",
                "EventVersion": "1",
                "AccountID": self.username,
                "SessionID": f"0x{id(session):x}",
                "LocalAddress": f"IPV4/TCP/{self.host}/{self.port}",
                "RemoteAddress": f"IPV4/TCP/{peer[0]}/{peer[1]}",
                "UsingPassword": "0",
                "SessionTV": stamp,
            },
        )


def parse_action(frame: bytes) -> dict[str, str] | None:
    """Parse an action sent by a client. Returns None when it has no `Action:` line."""
    fields: dict[str, str] = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key and key not in fields:
            fields[key.strip()] = value.strip()
        elif sep and key == "Variable":
            fields[key] += "," + value.strip()
    return fields if "Action" in fields else None
