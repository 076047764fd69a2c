"""X-Twilio-Signature: is this webhook from Twilio, for the URL Twilio was told?

Twilio signs the exact URL it requested (scheme, host, path, query) plus the
POST form, with the account's auth token. Behind a proxy that URL is not the
one our server sees (`http://127.0.0.1:8000/...`), so the check uses the public
base URL Hotline is configured with (`HOTLINE_PUBLIC_BASE_URL`) and the path
and query of the request. The SDK's RequestValidator does the HMAC (with and
without the default port, as Twilio is inconsistent there) and the
HMAC-SHA256 variant named by X-Twilio-Webhooks-Signature-Settings.

A request that fails the check must change nothing: the webhook router checks
before it reads anything else and answers 403.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)


class FormParams:
    """A form with repeated keys, in the shape RequestValidator reads (`getlist`)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._items = list(items)

    def __iter__(self):  # type: ignore[no-untyped-def]  # RequestValidator iterates the keys
        return iter(dict.fromkeys(k for k, _ in self._items))

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._items if k == key]

    def first(self) -> dict[str, str]:
        """One value per key (Twilio sends each once): what the handlers read."""
        out: dict[str, str] = {}
        for key, value in self._items:
            out.setdefault(key, value)
        return out


def public_url(base_url: str, path: str, query: str) -> str:
    """The URL Twilio requested, given our public base (which may carry a path prefix)."""
    base = base_url.rstrip("/")
    prefix = urlsplit(base).path
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]  # the proxy passed the prefix through
    return f"{base}{path}" + (f"?{query}" if query else "")


class SignatureChecker:
    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url

    def url_for(self, path: str, query: str = "") -> str:
        return public_url(self.public_base_url, path, query)

    def valid(self, path: str, query: str, params: FormParams, headers: Mapping[str, str]) -> bool:
        signature = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
        if not signature:
            return False
        settings = headers.get(SIGNATURE_SETTINGS_HEADER) or headers.get(SIGNATURE_SETTINGS_HEADER.lower())
        algorithm = get_signature_algorithm(settings)
        return bool(self._validator.validate(self.url_for(path, query), params, signature, algorithm))

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """What Twilio would send for `url` and `params` (the stand-in and tests use it)."""
        return str(self._validator.compute_signature(url, dict(params)))
