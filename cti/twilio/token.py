"""Access tokens for agents whose phone is a Twilio Voice client (`client:<identity>`).

Twilio rings a `client:` target only on a Voice SDK device (browser or app) that
registered with an access token for that identity. Hotline issues the token to the
signed-in agent, signed with an API key (never the account's auth token), through
the twilio package's AccessToken; it is short-lived and never logged.
"""

from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

TOKEN_TTL_S = 3600  # the Voice SDK refreshes before expiry ("tokenWillExpire")


def client_identity(target: str) -> str | None:
    """`client:1001` → `1001`; None for SIP and phone-number targets (they need no token)."""
    return target.removeprefix("client:") if target.startswith("client:") else None


def voice_token(
    *,
    account_sid: str,
    api_key_sid: str,
    api_key_secret: str,
    identity: str,
    outgoing_app_sid: str | None = None,
    ttl_s: int = TOKEN_TTL_S,
) -> str:
    """A JWT letting a Voice SDK device register as `identity` and take incoming calls
    (and, with a TwiML app, place outgoing ones)."""
    token = AccessToken(account_sid, api_key_sid, api_key_secret, identity=identity, ttl=ttl_s)
    token.add_grant(VoiceGrant(incoming_allow=True, outgoing_application_sid=outgoing_app_sid or None))
    return str(token.to_jwt())
