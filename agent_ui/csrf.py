"""The form token: the second guard against cross-site form posts (the first is the
Origin check in `agent_ui.middleware`).

A signed double-submit token: the browser holds a random `hotline_csrf` cookie
(HttpOnly, SameSite=Strict); each form carries `csrf_token` = HMAC(secret, cookie). A
page on another origin can neither read the cookie nor compute the HMAC, so it cannot
fill the field; a sibling site that manages to plant a cookie still cannot, for want of
the secret. The JSON API needs no token: a cross-origin page cannot send
`application/json` without a CORS preflight, which Hotline never grants, and bodiless
POSTs are caught by the Origin check.

Convention: every `<form method="post">` in a template includes `{{ csrf_input }}`, and
every page router is built with `dependencies=[FormToken]` (a test walks the routes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from markupsafe import Markup, escape
from starlette.responses import Response

from agent_ui.auth import is_https
from agent_ui.errors import ApiError

CSRF_COOKIE = "hotline_csrf"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfTokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"hotline-csrf\0" + secret.encode("utf-8")).digest()

    def token_for(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, submitted: str | None) -> bool:
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(self.token_for(cookie), submitted)


def tokens(request: Request) -> CsrfTokens:
    found: CsrfTokens = request.app.state.csrf
    return found


def browser_cookie(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie value, and whether it is new (to be set on the response)."""
    value = request.cookies.get(CSRF_COOKIE)
    if value and 20 <= len(value) <= 100:
        return value, False
    value = request.scope.get("hotline.csrf_new")
    if value is None:
        value = request.scope["hotline.csrf_new"] = secrets.token_urlsafe(32)
    return value, True


def form_input(request: Request) -> Markup:
    """The hidden field for a page's forms."""
    value, _ = browser_cookie(request)
    token = tokens(request).token_for(value)
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token)}">')


def set_cookie_if_new(request: Request, response: Response) -> None:
    value, new = browser_cookie(request)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
            path="/",
        )


async def check_form_token(request: Request) -> None:
    """Router dependency for pages: an unsafe request must carry the form token."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()
    submitted = form.get(FIELD)
    text = submitted if isinstance(submitted, str) else None
    if not tokens(request).valid(request.cookies.get(CSRF_COOKIE), text):
        raise ApiError(403, "csrf_failed", "this form has expired or came from another site: reload the page")


FormToken = Depends(check_form_token)
FormTokenChecked = Annotated[None, FormToken]
