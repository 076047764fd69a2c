"""A call-center file for service-desk tests: the sample with texts on and follow-ups due at once,
and a Twilio stand-in for the texts (the real twilio SDK talks to it over HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import col, func, select

from config.settings import SAMPLE_CALLCENTER
from cti.twilio.standin import TwilioStandIn
from tickets.models import Notice, NoticeState
from tickets.service import ServiceDesk

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "desk-walk-twilio-token-41c9"
SMS_NUMBER = "+12025550142"


def desk_callcenter(tmp_path: Path, **desk: Any) -> Path:
    """The sample call-center file with `service_desk` keys overridden (texts on, follow-up delay 0)."""
    raw = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    section = dict(raw.get("service_desk") or {})
    section["follow_up_delay_h"] = 0
    section["notifications"] = {"sms": True, "sender_name": "物业热线", **section.get("notifications", {})}
    section.update(desk)
    raw["service_desk"] = section
    path = tmp_path / "callcenter.desk.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def twilio_standin() -> AsyncIterator[TwilioStandIn]:
    server = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(server.run())
        await server.wait_ready()
        try:
            yield server
        finally:
            server.stop()
            await task


def sms_settings(standin: TwilioStandIn, callcenter: Path) -> dict[str, Any]:
    """Settings overrides for `running_hotline`: the call-center file and Twilio for texts only."""
    return {
        "callcenter_file": callcenter,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_number": SMS_NUMBER,
        "twilio_api_base_url": standin.url,
    }


async def texts_sent(desk: ServiceDesk) -> None:
    """Every queued customer text handed to the provider: this test's ticks, and the app's own
    scheduled job, which may have claimed some rows first (then they are waited for, not missed)."""
    for _ in range(600):
        await desk.notices.tick()
        async with desk.ctx.sessions() as session:
            busy = await session.exec(
                select(func.count())
                .select_from(Notice)
                .where(col(Notice.state).in_([NoticeState.PENDING, NoticeState.SENDING]))
            )
            if busy.one() == 0:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("customer texts still queued after 600 rounds")
