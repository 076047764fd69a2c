"""Small ASGI middlewares every response and websocket goes through.

`SecurityHeaders`: CSP without 'unsafe-inline' (the pages load only /static scripts and
styles; JSON data rides in `<script type="application/json">`, which CSP does not run),
no framing (frame-ancestors and X-Frame-Options), nosniff, a same-origin referrer, and
HSTS on requests that arrived over https. A header the route set itself is kept.

`OriginCheck`: a state-changing request (POST/PUT/PATCH/DELETE) or a websocket from
another origin is refused, 403 / close 4403, before the app sees it. The browser says
where a request comes from: `Sec-Fetch-Site` (modern browsers), else `Origin`, else
`Referer`; a request with none of them is not from a browser page (scripts, Twilio) and
passes; form posts carry the token of `agent_ui.csrf` as well. Twilio's webhooks are
exempt: they are authenticated by their signature.

Why our own and not starlette-csrf / secure: starlette-csrf takes the token from a
header only (plain HTML forms cannot send one) and checks neither Origin nor websockets;
secure's ASGI middleware sends one fixed header set (HSTS on plain http too, one CSP for
every path) and overwrites headers a route set. Both jobs are a few lines here.

`SignInGate`: a sign-in POST from a locked-out address, or beyond the number of sign-ins
answered at once, is refused (429 / 503 with Retry-After) before its body is read or any
route runs: under a flood of wrong logins the event loop, which also carries the calls,
spends next to nothing per refused request.

The body limit is FastAPI's own (`max_body_size`, set in `agent_ui.app`): 413 at once for
a declared Content-Length over the limit, and a running count for a chunked body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# /docs (agent_ui.docs): Swagger UI from Hotline's own assets, started by a /static script; it
# sets inline element styles (and may run a blob: worker). Nothing from
# another origin; they show no user data, and still may not be framed.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs"})
HSTS = "max-age=31536000; includeSubDomains"

_COMMON = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), geolocation=(), payment=(), usb=()"),
)


class SecurityHeaders:
    """`public_https`: HOTLINE_PUBLIC_BASE_URL is https, so browsers reach us over TLS even when
    the proxy says nothing of it (no X-Forwarded-Proto): HSTS goes on every answer."""

    def __init__(self, app: ASGIApp, *, public_https: bool = False) -> None:
        self.app = app
        self.public_https = public_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in DOCS_PATHS else CSP
        https = self.public_https or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*_COMMON, ("content-security-policy", csp)):
                    if name not in headers:
                        headers[name] = value
                if https and "strict-transport-security" not in headers:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CLOSE_CROSS_ORIGIN = 4403


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def own_origin(scope: Scope) -> str | None:
    """The origin the request was addressed to: its scheme and Host header."""
    host = Headers(scope=scope).get("host")
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    return f"{scheme}://{host.lower()}"


def same_origin(scope: Scope, trusted: frozenset[str]) -> bool:
    """False only when the browser says the request comes from a page of another origin."""
    headers = Headers(scope=scope)
    site = headers.get("sec-fetch-site")
    if site is not None and scope["type"] == "http":
        return site in ("same-origin", "none")
    claimed = headers.get("origin")
    if claimed is None:
        referer = headers.get("referer")
        if referer is None:
            return True
        claimed = _origin_of(referer) or "null"
    claimed = claimed.lower()
    return claimed != "null" and (claimed == own_origin(scope) or claimed in trusted)


class OriginCheck:
    def __init__(self, app: ASGIApp, *, trusted: Iterable[str] = (), exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = frozenset(o for o in (_origin_of(u) for u in trusted) if o)
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        checked = (kind == "http" and scope["method"] in UNSAFE_METHODS) or kind == "websocket"
        if not checked or scope["path"].startswith(self.exempt) or same_origin(scope, self.trusted):
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": CLOSE_CROSS_ORIGIN, "reason": "cross-origin"})
            return
        body = json.dumps(
            {"error_id": "cross_origin", "message": "refused: this request came from a page of another site"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


SIGN_IN_PATHS = frozenset({"/api/auth/login", "/login"})
_REFUSED_PAGE = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>Hotline</title>'
    "<p>{zh}</p><p lang=en>{en}</p><p><a href=/login>/login</a></p></html>"
)
_PAGE_TEXT = {
    429: (
        "登录尝试次数过多，请等几分钟后再试。",
        "Too many sign-in attempts. Wait a few minutes, then try again.",
    ),
    503: ("登录繁忙，请稍后再试。", "Sign-in is busy. Try again in a moment."),
}


class SignInGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in SIGN_IN_PATHS:
            await self.app(scope, receive, send)
            return
        auth = scope["app"].state.container.auth
        client = scope.get("client")
        refused = await auth.precheck(client[0] if client else None)
        if refused is not None:
            await _send_refusal(
                scope["path"], refused.status, refused.error_id, refused.message, refused.retry_after, send
            )
            return
        auth.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            auth.in_flight -= 1


async def _send_refusal(
    path: str, status: int, error_id: str, message: str, retry_after: float | None, send: Send
) -> None:
    if path.startswith("/api/"):
        body, kind = json.dumps({"error_id": error_id, "message": message}).encode(), b"application/json"
    else:
        zh, en = _PAGE_TEXT[status]
        body, kind = _REFUSED_PAGE.format(zh=zh, en=en).encode(), b"text/html; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(max(1, round(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
