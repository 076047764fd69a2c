"""Well-framed AMI events with values no Asterisk sends (ids empty or huge, numbers that are not,
paths that climb out, 10 kB caller names) go through the whole pipeline — translator, router,
call log, recordings, desk — on a live link: none may stop the link or the next caller's pop."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from cti.ami.protocol import FrameSplitter, parse_frame
from tests.cti.peer import FIXTURES
from tests.harness import running_hotline

HOSTILE = (
    "",
    "abc",
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999",
    "../../../../etc/passwd",
    "x" * 10_000,
    "\x00",
)


def hostile_frames(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    messages = []
    for path in sorted(FIXTURES.glob("*.ami")):
        for raw in FrameSplitter().feed(path.read_bytes()):
            with contextlib.suppress(Exception):
                message = parse_frame(raw)
                if message.get("Event"):
                    messages.append(message)
    out = []
    for _ in range(count):
        message = rng.choice(messages)
        fields = {k: v for k, v in message.items()}
        for key in rng.sample(sorted(k for k in fields if k != "Event"), k=min(3, len(fields) - 1)):
            fields[key] = rng.choice(HOSTILE)
        out.append(("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode())
    return out


async def test_hostile_values_in_well_formed_events_neither_drop_the_link_nor_the_next_call(
    database_url: str, tmp_path: Path
) -> None:
    """What a subscriber cannot apply is its own failure (the bus logs and counts it); the link's
    reader and translator go on. Before, an epoch out of range (`LastCall: 1e309`) in a resync's
    QueueMember raised OverflowError out of the translator and stopped the whole link."""
    async with running_hotline(database_url, tmp_path) as hotline:
        link = hotline.container.link
        assert link is not None
        for frame in hostile_frames(seed=17, count=2000):
            hotline.pbx.send_raw(frame)
        assert (await link.client.action("Ping")).get("Ping") == "Pong"  # read after every frame above
        await hotline.place_call("+8613800138000", name="王小明", talk=60)
        async with asyncio.timeout(10):
            while True:
                async with hotline.container.sessions() as session:
                    found = (
                        await session.exec(
                            select(CallRecord).where(CallRecord.caller_e164 == "+8613800138000")
                        )
                    ).first()
                if found is not None:
                    break
                await asyncio.sleep(0.1)
        assert link.client.connected and link.client.stats.connects == 1
        assert link.translator.bad_messages > 0  # counted, and logged once each
