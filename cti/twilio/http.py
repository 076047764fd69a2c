"""The twilio SDK's HTTP client, on httpx and asyncio, able to talk to a stand-in for api.twilio.com.

The SDK builds every REST URL on `https://api.twilio.com` (or another
`*.twilio.com` host) and sends it through its `HttpClient`. This client sends
the same requests with the app's httpx client, so REST orders never block the
event loop, and, when `api_base_url` is set, sends them to that origin instead:
the local stand-in (cti.twilio.standin) in tests and the demo. Only the origin
is replaced; path, query, form body and basic auth are what the SDK made.

The auth header is never logged (the SDK's own logger skips it, and this class
logs nothing of the request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from cti.telephony import TelephonyError

log = logging.getLogger(__name__)

TWILIO_DOMAIN = "twilio.com"


def is_twilio_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == TWILIO_DOMAIN or host.endswith("." + TWILIO_DOMAIN)


def rebase(url: str, api_base_url: str | None) -> str:
    """`url` on `api_base_url`'s origin if it is a Twilio URL and a base is configured."""
    if not api_base_url or not is_twilio_url(url):
        return url
    base = urlsplit(api_base_url)
    parts = urlsplit(url)
    prefix = base.path.rstrip("/")
    return urlunsplit((base.scheme, base.netloc, prefix + parts.path, parts.query, ""))


UNFENCED_METHODS = frozenset({"GET", "HEAD"})  # reads: a call's status, a recording's media


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_base_url: str | None = None,
        timeout: float = 10.0,
        fence: Callable[[], None] | None = None,
    ):
        """`fence`: the elected router's (cluster.fence.Fence.check), called before every request
        that changes something (POST, DELETE): it raises once this process no longer leads, and
        the request is never sent. Here, the one place every REST order passes, as the AMI
        link checks it before each action frame."""
        super().__init__(logging.getLogger("twilio.http_client"), True, timeout)
        self._client = client
        self.api_base_url = api_base_url
        self._fence = fence

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's HttpClient signature
        allow_redirects: bool = False,
    ) -> Response:
        if self._fence is not None and method.upper() not in UNFENCED_METHODS:
            self._fence()  # raises (cluster.fence.Deposed): nothing below here catches it
        target = rebase(url, self.api_base_url)
        try:
            reply = await self._client.request(
                method.upper(),
                target,
                params=_flatten(params),
                data=_flatten(data),
                headers=dict(headers or {}),
                auth=auth,
                timeout=timeout if timeout is not None else self.timeout,
                follow_redirects=allow_redirects,
            )
        except httpx.HTTPError as exc:
            # The SDK has no transport error of its own: say what failed, never with credentials.
            raise TelephonyError(
                f"Twilio REST {method.upper()} {urlsplit(url).path}: {type(exc).__name__}"
            ) from exc
        return Response(reply.status_code, reply.text, reply.headers)


def _flatten(values: Mapping[str, object] | None) -> dict[str, str | list[str]] | None:
    """The SDK passes lists for repeated parameters (StatusCallbackEvent) and str() for the rest."""
    if not values:
        return None
    out: dict[str, str | list[str]] = {}
    for key, value in values.items():
        out[key] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return out
