"""Configuration of the Twilio line (settings, IVR, business hours) and the REST side against the stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from config.callcenter import CallCenterError, load_callcenter, parse_callcenter
from config.hours import HoursSpec
from config.router import router_config
from config.settings import SAMPLE_CALLCENTER, SettingsError, load_settings
from cti.bus import EventBus
from cti.telephony import TelephonyError
from cti.twilio.calls import Phase
from cti.twilio.link import TwilioLink
from cti.twilio.media import TwilioMedia
from cti.twilio.standin import TwilioStandIn
from recordings.errors import SourceUnavailable
from recordings.sources import HttpRecordingDownloader
from recordings.storage import StagingFile
from tests.twilio.harness import ACCOUNT_SID, AUTH_TOKEN, CALLCENTER, PUBLIC_BASE, VirtualClock

GOOD = {
    "session_secret": "s" * 32,
    "pbx": "twilio",
    "twilio_account_sid": ACCOUNT_SID,
    "twilio_auth_token": AUTH_TOKEN,
    "public_base_url": PUBLIC_BASE,
}


def test_twilio_settings_are_control_mode_and_refuse_a_placeholder_token() -> None:
    settings = load_settings(**GOOD)
    assert settings.mode == "control"
    assert AUTH_TOKEN not in repr(settings)
    with pytest.raises(SettingsError, match="HOTLINE_TWILIO_AUTH_TOKEN"):
        load_settings(**{**GOOD, "twilio_auth_token": "change-me"})
    with pytest.raises(SettingsError, match="HOTLINE_PUBLIC_BASE_URL"):
        load_settings(**{**GOOD, "public_base_url": None})
    with pytest.raises(SettingsError, match="HOTLINE_MODE must be control"):
        load_settings(**{**GOOD, "mode": "observe"})


def test_an_ivr_text_missing_in_one_language_is_refused_with_its_place() -> None:
    raw = yaml.safe_load(CALLCENTER.read_text(encoding="utf-8"))
    raw["ivr"]["options"][1]["prompt"] = {"zh-CN": "账务查询请按 2。"}
    with pytest.raises(CallCenterError, match=r"options\[1\]\.prompt: missing the en text"):
        parse_callcenter(raw)
    raw = yaml.safe_load(CALLCENTER.read_text(encoding="utf-8"))
    raw["ivr"]["options"][0]["queue"] = "sales"
    with pytest.raises(CallCenterError, match=r"ivr\.options\[0\]\.queue: unknown queue 'sales'"):
        parse_callcenter(raw)


def test_business_hours_follow_the_queues_time_zone_and_spans_past_midnight() -> None:
    night = HoursSpec(timezone="Europe/Berlin", open={"fri": "22:00-02:00"}).business_hours(
        datetime(2026, 7, 1, tzinfo=UTC)
    )
    summer_fri_23 = datetime(2026, 7, 3, 21, 0, tzinfo=UTC).timestamp()  # 23:00 in Berlin (UTC+2)
    winter_sat_01 = datetime(2026, 12, 5, 0, 30, tzinfo=UTC).timestamp()  # 01:30 in Berlin (UTC+1)
    winter_sat_03 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC).timestamp()
    assert night.is_open(summer_fri_23) and night.is_open(winter_sat_01)
    assert not night.is_open(winter_sat_03)
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        HoursSpec(open={"mon": "9-17"})


def test_the_sample_call_center_file_has_a_bilingual_menu() -> None:
    ivr = load_callcenter(SAMPLE_CALLCENTER).ivr
    assert [o.queue for o in ivr.options] == ["support", "billing"]
    assert set(ivr.languages) == {"zh-CN", "en"}


@pytest.fixture
async def standin() -> AsyncIterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(server.run())
        await server.wait_ready()
        yield server
        server.stop()
        await task


async def _link(standin: TwilioStandIn, token: str) -> tuple[TwilioLink, asyncio.Task[None]]:
    center = load_callcenter(CALLCENTER)
    link = TwilioLink(
        account_sid=ACCOUNT_SID,
        auth_token=token,
        public_base_url=PUBLIC_BASE,
        callcenter=center,
        queues=router_config(center, "control").queues,
        bus=EventBus(),
        clock=VirtualClock(),
        position=lambda _call_id: None,
        api_base_url=standin.url,
    )
    task = asyncio.create_task(link.run())
    await link.wait_connected(5)
    return link, task


async def test_refused_rest_orders_become_telephony_errors_without_the_token(standin: TwilioStandIn) -> None:
    link, task = await _link(standin, "a-wrong-token-5f1d")
    try:
        call = link.book.open("CA" + "4" * 32, "+8613900000031", "+861058001000", "zh-CN")
        call.phase = Phase.WAITING
        with pytest.raises(TelephonyError, match="HTTP 401 code 20003") as refused:
            await link.connect_call(call.sid, "1001", 15)
        assert "a-wrong-token" not in str(refused.value)
        assert (call.phase, call.ringing) == (Phase.WAITING, [])  # nothing half-done
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_order_for_a_call_twilio_does_not_know_is_refused(standin: TwilioStandIn) -> None:
    link, task = await _link(standin, AUTH_TOKEN)
    try:
        with pytest.raises(TelephonyError, match="HTTP 404 code 20404"):
            await link.hangup("CA" + "0" * 32)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_recording_urls_outside_twilio_are_never_fetched_with_the_credentials(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"RIFF")

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        media = TwilioMedia(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
        fetcher = HttpRecordingDownloader(client, locate=media.locate, attempts=1)
        for url in ("https://attacker.example/rec.wav", "http://api.twilio.com/2010-04-01/Recordings/RE1"):
            with (
                StagingFile(tmp_path) as sink,
                pytest.raises(SourceUnavailable, match="not a Twilio recording"),
            ):
                await fetcher.fetch(url, sink)
    assert seen == []
