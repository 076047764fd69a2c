"""A standby router answers no Twilio webhook and sends no REST order that changes a call.

Two `--role router` Hotlines on Twilio share PostgreSQL and one stand-in for Twilio's API. The
first leads; the second stands by: its webhooks get 503 with Retry-After (Twilio then tries the
fallback URL, a proxy the other router), and a REST order from its link is refused by the fence
before it leaves the process. When the leader goes, the second takes over and answers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent_ui.app import STANDBY_RETRY_AFTER_S, create_app
from agent_ui.bootstrap import Container, build
from cluster.fence import Deposed
from config.settings import load_settings
from cti.twilio.link import TwilioLink
from cti.twilio.standin import TwilioStandIn
from tests.roles.conftest import redis_url
from tests.serve import IN_PROCESS_URL, in_process
from tests.twilio.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLCENTER,
    HOTLINE_NUMBER,
    PUBLIC_BASE,
    SESSION_SECRET,
    TwilioHotline,
    VirtualClock,
    running_standin,
    twilio_hotline,
)

CALLER = "+8613900000077"
ROUTER = {"role": "router", "redis_url": redis_url()}


@contextlib.asynccontextmanager
async def standby_router(
    database_url: str, tmp_path: Path, standin: TwilioStandIn
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    """A second router on the same database and stand-in, running but (while the first lives) not
    leading: its app is up, its link was never started."""
    settings = load_settings(
        database_url=database_url, session_secret=SESSION_SECRET, pbx="twilio", callcenter_file=CALLCENTER,
        public_base_url=PUBLIC_BASE, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
        twilio_number=HOTLINE_NUMBER, twilio_api_base_url=standin.url, recordings_dir=tmp_path / "standby",
        **ROUTER,
    )  # fmt: skip
    container = build(settings, clock=VirtualClock())
    async with (
        in_process(create_app(settings, container=container)) as transport,
        httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_URL, timeout=10) as http,
    ):
        yield container, http


async def _signed_post(leader: TwilioHotline, http: httpx.AsyncClient, sid: str) -> httpx.Response:
    """The voice webhook for `sid`, signed as Twilio signs it, posted to `http`'s app."""
    params = leader.call_params(sid, CALLER)
    signature = leader.sign(PUBLIC_BASE + "/twilio/voice", params)
    return await http.post("/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})


async def test_a_standby_router_answers_twilio_503_and_its_rest_orders_are_fenced(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_standin() as standin:
        leader_cm = twilio_hotline(pg_url, tmp_path / "leader", standin=standin, **ROUTER)
        leader = await leader_cm.__aenter__()
        try:
            async with standby_router(pg_url, tmp_path, standin) as (standby, http):
                assert standby.elector is not None and not standby.elector.fence.valid
                sid, _menu = await leader.incoming(CALLER)  # the leader answers (200, the menu)
                second = standin.incoming_call(CALLER, HOTLINE_NUMBER)
                refused = await _signed_post(leader, http, second)
                link = standby.link
                assert isinstance(link, TwilioLink)
                sent_before = len(standin.requests)
                with pytest.raises(Deposed, match="standby"):
                    await link.hangup(sid)  # an order that changes a call: never sent
                sent_after = len(standin.requests)
                # the leader goes (its lock with its session): the standby takes over and answers
                await leader_cm.__aexit__(None, None, None)
                leader_cm = None
                taken = time.monotonic()
                while not standby.elector.fence.valid:
                    assert time.monotonic() - taken < 20, "the standby never took over"
                    await asyncio.sleep(0.05)
                await asyncio.wait_for(standby.recovered.wait(), 15)
                answered = await _signed_post(leader, http, second)
        finally:
            if leader_cm is not None:
                await leader_cm.__aexit__(None, None, None)
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == str(STANDBY_RETRY_AFTER_S)
    assert sent_after == sent_before  # the stand-in heard nothing from the standby
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("application/xml")
