"""Recording media from Twilio, for recordings/: the account's credentials go to Twilio and nowhere else.

A recording status callback names a RecordingUrl on api.twilio.com. The
download needs the account SID and auth token (HTTP basic auth), so a URL on
any other host is refused rather than fetched: even a correctly signed
callback must not make Hotline send its credentials elsewhere. With a stand-in
API (`twilio_api_base_url`) the Twilio URL is fetched from the stand-in.
"""

from __future__ import annotations

import httpx

from cti.twilio.http import is_twilio_url, rebase
from recordings.errors import SourceUnavailable
from recordings.sources import HttpRecordingDownloader, twilio_downloader
from recordings.storage import StagingFile


class TwilioMediaFetcher:
    """A recordings.sources.RecordingFetcher for CallEvent.source == "twilio"."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str | None = None,
        attempts: int = 6,
    ) -> None:
        self._api_base_url = api_base_url
        self._downloader: HttpRecordingDownloader = twilio_downloader(
            client, account_sid=account_sid, auth_token=auth_token, attempts=attempts
        )

    async def fetch(self, location: str, sink: StagingFile) -> None:
        if not location.startswith("https://") or not is_twilio_url(location):
            raise SourceUnavailable(f"not a Twilio recording URL, not fetched: {location!r}")
        await self._downloader.fetch(rebase(location, self._api_base_url), sink)

    async def idle_s(self, location: str) -> float | None:
        return None  # Twilio serves finished recordings only
