"""Where a Twilio recording's media is, and with which credentials: they go to Twilio and nowhere else.

A recording status callback names a RecordingUrl on api.twilio.com. The
download needs the account SID and auth token (HTTP basic auth), so a URL on
any other host is refused rather than fetched: even a correctly signed
callback must not make Hotline send its credentials elsewhere. The URL has no
extension; `.wav` asks for WAV (the format stdlib `wave` reads), which is what
gets archived and hashed. With a stand-in API (`twilio_api_base_url`) the
Twilio URL is fetched from the stand-in.

`TwilioMedia.locate` is what recordings/'s HTTP downloader asks before every
download (the composition root hands it over); the retries are recordings/'s.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from cti.twilio.http import is_twilio_url, rebase

WAV = ".wav"


class NotTwilioMedia(ValueError):
    """A recording URL that is not Twilio's: never fetched with the account's credentials."""


class TwilioMedia:
    def __init__(self, *, account_sid: str, auth_token: str, api_base_url: str | None = None) -> None:
        self._auth = (account_sid, auth_token)
        self._api_base_url = api_base_url

    def locate(self, location: str) -> tuple[str, tuple[str, str] | None]:
        """(URL to GET, basic-auth credentials) for a RecordingUrl; NotTwilioMedia for any other host."""
        if not location.startswith("https://") or not is_twilio_url(location):
            raise NotTwilioMedia(f"not a Twilio recording URL, not fetched: {location!r}")
        url = location if PurePosixPath(urlsplit(location).path).suffix else location + WAV
        return rebase(url, self._api_base_url), self._auth
