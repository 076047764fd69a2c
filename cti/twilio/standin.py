"""A local stand-in for the part of Twilio's REST API Hotline uses: Calls create/update, recording media,
Messages create/fetch (customer texts).

Runs on 127.0.0.1 (uvicorn, ephemeral port) in the caller's event loop. The
real `twilio` SDK is pointed at it (`HOTLINE_TWILIO_API_BASE_URL`, see
cti.twilio.http), so tests and the demo exercise the same client code as
production, over real HTTP, without the internet. It answers like the API:
basic auth with the account SID and auth token (401, code 20003, otherwise),
JSON call resources, 404 (code 20404) for unknown calls, 400 (code 21220) for
redirecting a call that is no longer in progress, WAV media for recordings;
GET of a call resource (status, start_time, end_time, duration) as Hotline's
reconciliation after a restart reads it.

It does not place calls or call webhooks back: whoever drives it (a test, the
demo) plays Twilio's part by sending the signed webhooks. Messages: a created
message is `queued`; fetching it moves it on to `delivered` (or whatever
`message_status` says; `set_message_status` for an undelivered one);
`fail_messages(n, status)` answers the next n creates with that error status.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

API_VERSION = "2010-04-01"
PUBLIC_API = "https://api.twilio.com"
_TERMINAL = frozenset({"completed", "canceled", "busy", "failed", "no-answer"})
Items = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ApiRequest:
    """One request the stand-in answered (for assertions): method, path, form items."""

    method: str
    path: str
    items: Items
    status: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.items if k == key), None)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.items if k == key]

    @property
    def call_sid(self) -> str | None:
        tail = self.path.rsplit("/Calls/", 1)
        return tail[1].removesuffix(".json") if len(tail) == 2 else None


class TwilioStandIn:
    def __init__(self, account_sid: str, auth_token: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.account_sid = account_sid
        self._auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.host, self.port = host, port
        self.calls: dict[str, dict[str, Any]] = {}
        self.recordings: dict[str, bytes] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.message_status = "delivered"  # what a fetched message has become
        self._message_failures: list[int] = []
        self.requests: list[ApiRequest] = []
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self.app = self._build()

    # ------------------------------------------------------------------ driving it
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def incoming_call(self, caller: str, dialed: str) -> str:
        """A call reaches the Twilio number: its resource exists (in progress) before the voice webhook."""
        sid = _sid("CA")
        self.calls[sid] = self._resource(sid, to=dialed, from_=caller, status="in-progress", inbound=True)
        return sid

    def end_call(self, sid: str, status: str = "completed") -> None:
        call = self.calls.get(sid)
        if call is not None:
            call["status"] = status
            ended = datetime.now(UTC)
            call["end_time"] = format_datetime(ended, usegmt=True)
            call["duration"] = str(int((ended - call["_started"]).total_seconds()))

    def add_recording(self, wav: bytes) -> tuple[str, str]:
        """Media for a recording; returns (RecordingSid, RecordingUrl as Twilio reports it)."""
        sid = _sid("RE")
        self.recordings[sid] = wav
        return sid, f"{PUBLIC_API}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"

    def set_message_status(self, sid: str, status: str) -> None:
        self.messages[sid]["_next_status"] = status

    def fail_messages(self, count: int, status: int = 503) -> None:
        """The next `count` message creates are answered with HTTP `status` (and nothing sent)."""
        self._message_failures += [status] * count

    def texts_to(self, number: str) -> list[str]:
        """The bodies of the messages sent to `number`, oldest first."""
        return [m["body"] for m in self.messages.values() if m["to"] == number]

    async def wait_for(
        self,
        predicate: Callable[[ApiRequest], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ApiRequest:
        """The first request so far (or to come) that matches."""
        async with asyncio.timeout(timeout), self._changed:
            while True:
                found = next((r for r in self.requests if predicate(r)), None)
                if found is not None:
                    return found
                await self._changed.wait()

    # ------------------------------------------------------------------ serving
    async def run(self) -> None:
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        await self._server.serve()

    async def wait_ready(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while self._server is None or not self._server.started:  # noqa: ASYNC110 - uvicorn has no event
                await asyncio.sleep(0.01)
        assert self._server is not None
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    # ------------------------------------------------------------------ the API
    def _build(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        base = f"/{API_VERSION}/Accounts/{{account}}"

        @app.post(base + "/Calls.json")
        async def create_call(account: str, request: Request) -> Response:
            items, refused = await self._admit(account, request)
            if refused is not None:
                return await self._log(request, items, refused)
            form = dict(items)
            missing = [k for k in ("To", "From") if not form.get(k)]
            if missing or not (form.get("Url") or form.get("Twiml")):
                what = ", ".join(missing) or "Url or Twiml"
                return await self._log(request, items, _api_error(400, 21201, f"Missing parameter {what}"))
            sid = _sid("CA")
            self.calls[sid] = self._resource(sid, to=form["To"], from_=form["From"], status="queued")
            return await self._log(request, items, JSONResponse(_public(self.calls[sid]), status_code=201))

        @app.post(base + "/Calls/{sid}.json")
        async def update_call(account: str, sid: str, request: Request) -> Response:
            items, refused = await self._admit(account, request)
            if refused is not None:
                return await self._log(request, items, refused)
            call = self.calls.get(sid)
            if call is None:
                return await self._log(request, items, _api_error(404, 20404, f"Call {sid} was not found"))
            form = dict(items)
            if (form.get("Twiml") or form.get("Url")) and call["status"] in _TERMINAL:
                error = _api_error(400, 21220, "Call is not in-progress. Cannot redirect.")
                return await self._log(request, items, error)
            if form.get("Status") in ("completed", "canceled"):
                self.end_call(sid, form["Status"])
            if form.get("Twiml"):
                call["twiml"] = form["Twiml"]
            return await self._log(request, items, JSONResponse(_public(call)))

        @app.get(base + "/Calls/{sid}.json")
        async def fetch_call(account: str, sid: str, request: Request) -> Response:
            _, refused = await self._admit(account, request)
            if refused is not None:
                return await self._log(request, (), refused)
            call = self.calls.get(sid)
            if call is None:
                return await self._log(request, (), _api_error(404, 20404, f"Call {sid} was not found"))
            return await self._log(request, (), JSONResponse(_public(call)))

        @app.post(base + "/Messages.json")
        async def create_message(account: str, request: Request) -> Response:
            items, refused = await self._admit(account, request)
            if refused is not None:
                return await self._log(request, items, refused)
            if self._message_failures:
                status = self._message_failures.pop(0)
                error = _api_error(status, 20429 if status == 429 else 20500, "Service unavailable")
                return await self._log(request, items, error)
            form = dict(items)
            if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")):
                return await self._log(
                    request, items, _api_error(400, 21604, "A 'To' and 'From' are required")
                )
            if not form.get("Body"):
                return await self._log(request, items, _api_error(400, 21602, "Message body is required"))
            if not form["To"].startswith("+"):
                return await self._log(request, items, _api_error(400, 21211, "Invalid 'To' Phone Number"))
            sid = _sid("SM")
            now = format_datetime(datetime.now(UTC), usegmt=True)
            self.messages[sid] = {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form["Body"],
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "date_created": now,
                "date_updated": now,
                "api_version": API_VERSION,
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
            }
            return await self._log(request, items, JSONResponse(_public(self.messages[sid]), status_code=201))

        @app.get(base + "/Messages/{sid}.json")
        async def fetch_message(account: str, sid: str, request: Request) -> Response:
            _, refused = await self._admit(account, request)
            if refused is not None:
                return await self._log(request, (), refused)
            message = self.messages.get(sid)
            if message is None:
                return await self._log(request, (), _api_error(404, 20404, f"Message {sid} was not found"))
            message["status"] = message.pop("_next_status", None) or self.message_status
            return await self._log(request, (), JSONResponse(_public(message)))

        @app.get(base + "/Recordings/{name}")
        async def recording_media(account: str, name: str, request: Request) -> Response:
            _, refused = await self._admit(account, request)
            if refused is not None:
                return await self._log(request, (), refused)
            sid, _, ext = name.partition(".")
            wav = self.recordings.get(sid)
            if wav is None or ext not in ("", "wav"):
                return await self._log(request, (), _api_error(404, 20404, f"Recording {name} was not found"))
            return await self._log(request, (), Response(wav, media_type="audio/x-wav"))

        return app

    async def _admit(self, account: str, request: Request) -> tuple[Items, Response | None]:
        body = (await request.body()).decode("utf-8", errors="replace")
        items = tuple(parse_qsl(body, keep_blank_values=True))
        supplied = request.headers.get("authorization", "")
        if not secrets.compare_digest(supplied.encode(), self._auth.encode()) or account != self.account_sid:
            return items, _api_error(401, 20003, "Authenticate")
        return items, None

    async def _log(self, request: Request, items: Items, response: Response) -> Response:
        async with self._changed:
            self.requests.append(ApiRequest(request.method, request.url.path, items, response.status_code))
            self._changed.notify_all()
        return response

    def _resource(
        self, sid: str, *, to: str, from_: str, status: str, inbound: bool = False
    ) -> dict[str, Any]:
        started = datetime.now(UTC)
        now = format_datetime(started, usegmt=True)
        return {
            "_started": started,
            "start_time": now,
            "end_time": None,
            "duration": None,
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": from_,
            "status": status,
            "direction": "inbound" if inbound else "outbound-api",
            "date_created": now,
            "date_updated": now,
            "api_version": API_VERSION,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}.json",
        }


def _public(call: dict[str, Any]) -> dict[str, Any]:
    """The resource as JSON (our bookkeeping keys, starting with `_`, left out)."""
    return {k: v for k, v in call.items() if not k.startswith("_")}


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _api_error(status: int, code: int, message: str) -> JSONResponse:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return JSONResponse({**body, "status": status}, status_code=status)
