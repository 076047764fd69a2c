"""Text messages through Twilio's Messages resource, for the service desk's customer notices.

`TwilioSms` is the adapter behind `tickets.notices.SmsPort` (structurally: cti/ imports no
service): `send` creates a message, `status` fetches it. Twilio's answers are turned into the
port's outcomes here, so no Twilio word goes further:

    201 created                      accepted (MessageSid, its status)
    5xx, 429 (code 20429), no connection before the request went out      retry
    other 4xx (21211 invalid number, 21610 unsubscribed, 20003 auth, …)   refused
    a timeout or a broken connection after the request went out          unknown (never re-sent)

The HTTP client is `HttpxTwilioClient` (the app's httpx, the stand-in's origin in tests and
the demo); the auth token never reaches a log or a receipt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from cti.telephony import TelephonyError
from cti.twilio.http import HttpxTwilioClient

log = logging.getLogger(__name__)

ACCEPTED, RETRY, REFUSED, UNKNOWN = "accepted", "retry", "refused", "unknown"  # tickets.notices.SmsOutcome


@dataclass(frozen=True, slots=True)
class SmsResult:
    outcome: str
    provider_id: str | None = None
    status: str = ""
    error: str = ""


class TwilioSms:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        api_base_url: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.sender = sender  # the Twilio number (E.164) or a Messaging Service SID (MG…)
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        self.client = Client(
            account_sid, auth_token, http_client=HttpxTwilioClient(self.http, api_base_url=api_base_url)
        )

    async def send(self, to: str, body: str) -> SmsResult:
        sender = (
            {"messaging_service_sid": self.sender} if self.sender.startswith("MG") else {"from_": self.sender}
        )
        try:
            message = await self.client.messages.create_async(to=to, body=body, **sender)
        except TwilioRestException as exc:
            retry = exc.status >= 500 or exc.status == 429
            return SmsResult(RETRY if retry else REFUSED, error=f"twilio {exc.status} code {exc.code}")
        except TelephonyError as exc:
            before_sending = isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
            return SmsResult(RETRY if before_sending else UNKNOWN, error=type(exc.__cause__).__name__)
        return SmsResult(ACCEPTED, provider_id=message.sid, status=str(message.status or ""))

    async def status(self, provider_id: str) -> SmsResult:
        try:
            message = await self.client.messages(provider_id).fetch_async()
        except TwilioRestException as exc:
            return SmsResult(RETRY, provider_id, error=f"twilio {exc.status} code {exc.code}")
        except TelephonyError as exc:
            return SmsResult(RETRY, provider_id, error=type(exc.__cause__).__name__)
        return SmsResult(ACCEPTED, provider_id=message.sid, status=str(message.status or ""))

    async def close(self) -> None:
        await self.http.aclose()
