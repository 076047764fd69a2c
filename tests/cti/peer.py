"""A scriptable AMI peer on 127.0.0.1 for client tests (the simulator is the full PBX).

It greets with the banner, answers Login (plain or MD5 challenge), answers Ping
with Pong, records every action it receives, and after a successful login
streams a recorded trace (minus its own banner and Login response) in small
chunks, so frames and UTF-8 characters are cut across TCP reads.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

from cti.ami.protocol import AmiMessage, FrameSplitter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ami"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"

Reply = Callable[[AmiMessage], bytes | None]


def trace_body(name: str) -> bytes:
    """A fixture's bytes after the banner and the recorded client's Login response."""
    data = (FIXTURES / name).read_bytes()
    start = data.index(b"\r\n") + 2  # banner
    start = data.index(b"\r\n\r\n", start) + 4  # Response: Success (Login)
    return data[start:]


def parse_action(raw: bytes) -> AmiMessage:
    fields: dict[str, list[str]] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    return AmiMessage.from_lists(fields)


def frame(**fields: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


def list_reply(action_id: str, items: list[dict[str, str]], complete: str) -> bytes:
    """A list action's answer as Asterisk 22 sends it (see 06-resync-status.ami)."""
    out = frame(Response="Success", ActionID=action_id, EventList="start", Message="List will follow")
    for item in items:
        out += frame(**{"Event": item["Event"], "ActionID": action_id, **item})
    return out + frame(Event=complete, ActionID=action_id, EventList="Complete", ListItems=str(len(items)))


class AmiPeer:
    def __init__(
        self,
        *,
        username: str = "hotline",
        secret: str = "hotline-secret",
        stream: bytes = b"",
        streams: list[bytes] | None = None,
        chunk: int = 1021,
        answer_pings: bool = True,
        stream_after: str | None = None,
        banner: bytes = BANNER,
    ) -> None:
        self.username = username
        self.secret = secret
        # what to stream after each login: the first login gets streams[0], the second streams[1] …
        self.streams = list(streams) if streams else ([stream] if stream else [])
        self.chunk = chunk
        self.answer_pings = answer_pings
        self.banner = banner  # e.g. b"Asterisk Call Manager/1.3\r\n" for an Asterisk 11
        self.stream_after = stream_after  # start streaming once this action was answered (resync done)
        self.replies: dict[str, Reply] = {}
        self.received: list[AmiMessage] = []
        self.logins = 0
        self.login_attempts = 0
        self.writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0
        self._streamers: set[asyncio.Task[None]] = set()
        self._handlers = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> AmiPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._streamers):
            task.cancel()
        await asyncio.gather(*self._streamers, return_exceptions=True)
        self.drop()  # the connection handlers see the abort and return by themselves
        async with asyncio.timeout(5):
            await self._idle.wait()
        await self._server.wait_closed()

    def drop(self) -> None:
        """Cut every client connection (as a PBX restart or a broken link would)."""
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def send(self, data: bytes) -> None:
        for writer in self.writers:
            writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers += 1
        self._idle.clear()
        self.writers.append(writer)
        writer.write(self.banner)
        splitter = FrameSplitter()
        challenge = "123456789"
        try:
            while data := await reader.read(65536):
                for raw in splitter.feed(data):
                    msg = parse_action(raw)
                    self.received.append(msg)
                    action, action_id = msg.get("Action", ""), msg.get("ActionID", "")
                    if action == "Challenge":
                        writer.write(frame(Response="Success", Challenge=challenge, ActionID=action_id))
                    elif action == "Login":
                        self.login_attempts += 1
                        if msg.get("AuthType", "").lower() == "md5":
                            ok = msg.get("Key") == hashlib.md5((challenge + self.secret).encode()).hexdigest()
                        else:
                            ok = msg.get("Secret") == self.secret
                        ok = ok and msg.get("Username") == self.username
                        if not ok:
                            writer.write(
                                frame(Response="Error", ActionID=action_id, Message="Authentication failed")
                            )
                            continue
                        self.logins += 1
                        writer.write(
                            frame(Response="Success", ActionID=action_id, Message="Authentication accepted")
                        )
                        if self.stream_after is None:
                            self._start_stream(writer)
                    elif action == "Ping":
                        if self.answer_pings:
                            writer.write(
                                frame(Response="Success", ActionID=action_id, Ping="Pong", Timestamp="1.0")
                            )
                    elif action in self.replies:
                        reply = self.replies[action](msg)
                        if reply is not None:
                            writer.write(reply)
                    else:
                        writer.write(frame(Response="Success", ActionID=action_id, Message="ok"))
                    if action == self.stream_after:
                        self._start_stream(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            if writer in self.writers:
                self.writers.remove(writer)
            self._handlers -= 1
            if not self._handlers:
                self._idle.set()

    def _start_stream(self, writer: asyncio.StreamWriter) -> None:
        data = self.streams[min(self.logins, len(self.streams)) - 1] if self.streams else b""
        if data:
            streamer = asyncio.create_task(self._stream(writer, data))
            self._streamers.add(streamer)
            streamer.add_done_callback(self._streamers.discard)

    async def _stream(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        try:
            for offset in range(0, len(data), self.chunk):
                writer.write(data[offset : offset + self.chunk])
                await writer.drain()
                await asyncio.sleep(0)
        except ConnectionError:
            pass
