"""The HTTP side of the Twilio link: every webhook is checked, answered once, and answered fast.

For each POST under /twilio/:
1. A request without X-Twilio-Signature gets 403 before its body is read (and no body
   over `MAX_BODY` is read at all: 413); then the signature is checked against the
   public URL (signature.py); a wrong one gets 403 and changes nothing.
2. The request's identity (replay.py) makes a retry get the first answer again
   without a second effect.
3. The link answers from memory and puts the events on the bus (never waiting
   for the database); a full bus answers 503 so Twilio retries later.

The form is parsed from the raw body (application/x-www-form-urlencoded, UTF-8),
keeping repeated keys, exactly as Twilio signed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import SIGNATURE_HEADER

from cti.twilio import urls as u
from cti.twilio.flow import ROUTES
from cti.twilio.link import Overloaded, TwilioLink
from cti.twilio.replay import request_key
from cti.twilio.signature import FormParams

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
XML = "application/xml"

LinkOf = Callable[[Request], TwilioLink | None]

# Twilio's webhook forms are a few kB (the largest, with every optional field, under 8 kB).
MAX_BODY = 64 * 1024


def twilio_router(link_of: LinkOf) -> APIRouter:
    """Routes for Twilio's webhooks; `link_of(request)` finds the running link (None: not configured)."""
    router = APIRouter(prefix=u.PREFIX, include_in_schema=False, max_body_size=MAX_BODY)
    for path in (u.VOICE, *ROUTES):
        router.add_api_route(path, _endpoint(path, link_of), methods=["POST"], name=f"twilio{path}")
    return router


def _endpoint(path: str, link_of: LinkOf) -> Callable[[Request], object]:
    async def webhook(request: Request) -> Response:
        link = link_of(request)
        if link is None:
            return _error(404, "not_found", "Twilio is not configured")
        if not link.serving:  # a standby router: its book is empty and its bus runs nowhere
            return _error(503, "not_leader", "this router stands by; retry", headers={"Retry-After": "1"})
        if SIGNATURE_HEADER not in request.headers:
            log.warning("Twilio webhook %s refused: no signature (body not read)", path)
            return _error(403, "forbidden", "invalid or missing X-Twilio-Signature")
        body = await request.body()
        try:
            items = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            items = None
        query, path_seen = request.url.query, request.url.path
        if items is None or not link.signatures.valid(path_seen, query, FormParams(items), request.headers):
            log.warning("Twilio webhook %s refused: invalid or missing signature", path)
            return _error(403, "forbidden", "invalid or missing X-Twilio-Signature")
        form = FormParams(items).first()
        params = dict(parse_qsl(query, keep_blank_values=True))
        key = request_key(
            link.signatures.url_for(path_seen, query), items, request.headers.get(IDEMPOTENCY_HEADER)
        )
        try:
            twiml = await link.replay.once(key, lambda: link.answer_webhook(path, form, params))
        except Overloaded:
            log.warning("Twilio webhook %s: event bus full, asking Twilio to retry", path)
            return _error(503, "overloaded", "busy, retry", headers={"Retry-After": "1"})
        return Response(twiml, media_type=XML)

    return webhook


def _error(status: int, error_id: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error_id": error_id, "message": message}, status_code=status, headers=headers)
