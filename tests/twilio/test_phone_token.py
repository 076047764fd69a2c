"""Agents on Twilio Voice clients get an access token for their own identity, and only that."""

from __future__ import annotations

from pathlib import Path

import httpx
import jwt
import pytest

from config.settings import SettingsError, load_settings
from tests.twilio.harness import ACCOUNT_SID, TwilioHotline, twilio_hotline

API_KEY_SID = "SK" + "7" * 32
API_KEY_SECRET = "test-api-key-secret-0d5b8f1e2a7c4b9d"
TWIML_APP_SID = "AP" + "3" * 32


async def signed_in(hotline: TwilioHotline, login: str) -> httpx.AsyncClient:
    """Signed in over plain http to the test app. The session cookie is `Secure`, because
    the public URL is https (behind the proxy), so it is carried by hand."""
    client = hotline.client()
    reply = await client.post("/api/auth/login", json={"login": login, "password": "demo"})
    reply.raise_for_status()
    client.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in reply.cookies.items())
    return client


async def test_an_agent_on_a_client_phone_gets_a_voice_token_for_their_own_identity(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = {
        "twilio_api_key_sid": API_KEY_SID,
        "twilio_api_key_secret": API_KEY_SECRET,
        "twilio_twiml_app_sid": TWIML_APP_SID,
    }
    async with twilio_hotline(database_url, tmp_path, **keys) as hotline:
        alice = await signed_in(hotline, "1001")  # twilio: client:1001
        reply = await alice.get("/api/console/phone-token")
        assert reply.status_code == 200, reply.text
        assert reply.headers["cache-control"] == "no-store"
        body = reply.json()
        assert body["identity"] == "1001" and body["expires_in_s"] == 3600
        claims = jwt.decode(body["token"], API_KEY_SECRET, algorithms=["HS256"])  # signed with the API key
        assert claims["iss"] == API_KEY_SID and claims["sub"] == ACCOUNT_SID
        assert claims["grants"]["identity"] == "1001"
        assert claims["grants"]["voice"] == {
            "incoming": {"allow": True},
            "outgoing": {"application_sid": TWIML_APP_SID},
        }
        assert claims["exp"] - claims["nbf"] == 3600
        assert body["token"] not in caplog.text and API_KEY_SECRET not in caplog.text

        bob = await signed_in(hotline, "1002")  # a SIP phone: nothing to register
        refused = await bob.get("/api/console/phone-token")
        assert refused.status_code == 409 and "sip:1002@" in refused.text
        anonymous = hotline.client()
        assert (await anonymous.get("/api/console/phone-token")).status_code == 401
        for client in (alice, bob, anonymous):
            await client.aclose()


async def test_without_an_api_key_the_token_is_refused_with_what_to_set(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        alice = await signed_in(hotline, "1001")
        reply = await alice.get("/api/console/phone-token")
        assert reply.status_code == 503 and "HOTLINE_TWILIO_API_KEY_SID" in reply.text
        await alice.aclose()


def test_an_api_key_without_a_real_secret_is_refused_at_start() -> None:
    with pytest.raises(SettingsError, match="HOTLINE_TWILIO_API_KEY_SECRET"):
        load_settings(session_secret="a-real-session-secret-4411", pbx="none", twilio_api_key_sid=API_KEY_SID)
