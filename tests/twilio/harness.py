"""A Hotline on Twilio for tests: the app in-process, a real database, the twilio SDK against the stand-in.

The test plays Twilio's part: it sends webhooks signed exactly as Twilio signs
them (RequestValidator(token).compute_signature over the *public* URL, while
the app is reached in-process, as behind a proxy), and it reads the REST
requests Hotline made from the stand-in (a real HTTP server: the SDK calls it
over TCP). Time for the ACD is virtual.
"""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from twilio.request_validator import RequestValidator

from agent_ui.app import create_app
from agent_ui.bootstrap import Container, build
from agent_ui.seed import seed_demo
from config.settings import ProcessRole, load_settings
from cti.twilio.link import TwilioLink
from cti.twilio.standin import ApiRequest, TwilioStandIn
from routing.commands import LoginAgent
from tests.serve import IN_PROCESS_URL, in_process

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "test-twilio-auth-token-7c1e"
SESSION_SECRET = "test-session-secret-2b7e61c0-5d0f3a9e8c41b7"
PUBLIC_BASE = "https://hotline.example.com"
HOTLINE_NUMBER = "+861058001000"
CALLCENTER = Path(__file__).with_name("callcenter.yaml")
FIXTURE_WAV = Path(__file__).parents[1] / "fixtures" / "recordings" / "01-answered-caller-1795342409.1.wav"

# Monday 2026-11-23 10:00 in Shanghai (02:00 UTC): every queue is open.
MONDAY_10_SHANGHAI = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).timestamp()


@dataclass
class VirtualClock:
    now: float = MONDAY_10_SHANGHAI

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class TwilioHotline:
    container: Container
    standin: TwilioStandIn
    clock: VirtualClock
    transport: httpx.ASGITransport  # webhooks need no socket: in-process, through the whole app
    http: httpx.AsyncClient
    validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))
    base_url: str = IN_PROCESS_URL

    def client(self) -> httpx.AsyncClient:
        """Another client of the app (a browser, a script): close it when done."""
        return httpx.AsyncClient(transport=self.transport, base_url=self.base_url, timeout=10)

    @property
    def link(self) -> TwilioLink:
        assert isinstance(self.container.link, TwilioLink)
        return self.container.link

    # ------------------------------------------------------------------ Twilio's side
    def sign(self, public_url: str, params: dict[str, str]) -> str:
        return str(self.validator.compute_signature(public_url, params))

    async def post(
        self, public_url: str, params: dict[str, str], *, signature: str | None = "sign", **headers: str
    ) -> httpx.Response:
        """POST a webhook as Twilio does: to our server, signed over the public URL."""
        if not public_url.startswith("http"):
            public_url = PUBLIC_BASE + public_url
        parts = urlsplit(public_url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = dict(headers)
        if signature == "sign":
            sent["X-Twilio-Signature"] = self.sign(public_url, params)
        elif signature is not None:
            sent["X-Twilio-Signature"] = signature
        return await self.http.post(target, data=params, headers=sent)

    async def twiml(self, public_url: str, params: dict[str, str]) -> ET.Element:
        reply = await self.post(public_url, params)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("application/xml")
        return ET.fromstring(reply.text)

    async def incoming(self, caller: str) -> tuple[str, ET.Element]:
        """A call reaches the number: the stand-in knows it, the voice webhook answers with the menu."""
        sid = self.standin.incoming_call(caller, HOTLINE_NUMBER)
        return sid, await self.twiml("/twilio/voice", self.call_params(sid, caller))

    @staticmethod
    def call_params(sid: str, caller: str, **more: str) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT_SID,
            "CallSid": sid,
            "From": caller,
            "To": HOTLINE_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **more,
        }

    async def choose(self, menu: ET.Element, sid: str, caller: str, **answer: str) -> ET.Element:
        """Answer the menu's <Gather> (Digits=... or SpeechResult=...)."""
        gather = menu.find("Gather")
        assert gather is not None, ET.tostring(menu)
        return await self.twiml(gather.attrib["action"], self.call_params(sid, caller, **answer))

    async def waiting(self, caller: str, key: str = "1") -> tuple[str, ET.Element]:
        """A caller who picked menu entry `key` and now waits."""
        sid, menu = await self.incoming(caller)
        return sid, await self.choose(menu, sid, caller, Digits=key)

    # ------------------------------------------------------------------ Hotline's side
    async def login(self, *agents: str) -> None:
        for agent in agents:
            await self.container.acd.command(LoginAgent(agent))

    async def settle(self) -> None:
        """Every published event handled (desk, router, REST orders, recordings)."""
        await asyncio.wait_for(self.container.bus.join(), 15)

    async def rest_update(self, sid: str, contains: str = "", timeout: float = 5.0) -> ApiRequest:  # noqa: ASYNC109
        return await self.standin.wait_for(
            lambda r: (
                r.call_sid == sid
                and r.status == 200
                and contains in (r.get("Twiml") or r.get("Status") or "")
            ),
            timeout,
        )

    async def tick(self, seconds: float) -> None:
        """Let virtual time pass and run the ACD's timers."""
        self.clock.advance(seconds)
        await self.container.acd.tick()
        await self.settle()


def texts(element: ET.Element) -> list[str]:
    return [say.text or "" for say in element.iter("Say")]


def spoken(element: ET.Element) -> str:
    return " ".join(texts(element))


@contextlib.asynccontextmanager
async def running_standin() -> AsyncIterator[TwilioStandIn]:
    """Twilio's side on its own, to outlive one Hotline (a restart) in `twilio_hotline(standin=...)`."""
    standin = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(standin.run())
        await standin.wait_ready()
        try:
            yield standin
        finally:
            standin.stop()
            await task


@contextlib.asynccontextmanager
async def twilio_hotline(
    database_url: str,
    tmp_path: Path,
    *,
    standin: TwilioStandIn | None = None,
    connected: bool = True,
    **overrides: Any,
) -> AsyncIterator[TwilioHotline]:
    """`connected=False`: do not wait for the link to run (a standby router's never does)."""
    async with contextlib.AsyncExitStack() as stack:
        if standin is None:
            standin = await stack.enter_async_context(running_standin())
        async with _hotline_on(standin, database_url, tmp_path, connected=connected, **overrides) as hotline:
            yield hotline


@contextlib.asynccontextmanager
async def _hotline_on(
    standin: TwilioStandIn, database_url: str, tmp_path: Path, *, connected: bool = True, **overrides: Any
) -> AsyncIterator[TwilioHotline]:
    clock = VirtualClock()
    settings = load_settings(
        **{
            "database_url": database_url,
            "session_secret": SESSION_SECRET,
            "pbx": "twilio",
            "callcenter_file": CALLCENTER,
            "public_base_url": PUBLIC_BASE,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_number": HOTLINE_NUMBER,
            "twilio_api_base_url": standin.url,
            "recordings_dir": tmp_path / "recordings",
            **overrides,
        }
    )
    container = build(settings, clock=clock)
    await seed_demo(container.sessions, container.callcenter, settings.default_region)
    async with in_process(create_app(settings, container=container)) as transport:
        assert container.link is not None
        if connected:
            # a router's link starts once it is elected and waited its lease out (cluster.leadership)
            lease = settings.router_lease_s if settings.role == ProcessRole.ROUTER else 0.0
            await container.link.wait_connected(timeout=5 + lease)
            # start-up reconciliation done: a test starts from a settled Hotline, not a racing one
            await asyncio.wait_for(container.recovered.wait(), 15)
        async with httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_URL, timeout=10) as http:
            yield TwilioHotline(container, standin, clock, transport, http)
