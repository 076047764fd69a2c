"""Found on a real Asterisk 22.10.1: calls in a PBX queue that is not in the call-center file
logged a handler failure at ERROR, with a full traceback, for every call (control mode). They
are counted and skipped; the log says once per queue what it is and what to do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from cti.simulator.queues import SimMember, SimQueue
from tests.harness import running_hotline


@pytest.mark.parametrize("mode", ["control", "observe"])
async def test_calls_in_a_queue_hotline_does_not_know_give_one_warning_naming_it(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode=mode) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        await hotline.console(stack, "1001")
        # a queue on the PBX only (its queues.conf has it, the call-center file does not)
        hotline.pbx.core.queues["marketing"] = SimQueue(
            "marketing", members=[SimMember("Local/1001@agents/n", "1001")]
        )
        router = hotline.container.router
        caplog.set_level(logging.WARNING)
        for n in range(3):
            await hotline.place_call(f"+861380013800{n}", queue="marketing", talk=30)
        async with asyncio.timeout(10):
            while router.ignored_events["unknown-queue"] < 3:  # noqa: ASYNC110 - the counter is the condition
                await asyncio.sleep(0.05)
        await hotline.container.bus.join()

        assert hotline.container.bus.stats.handler_errors == {}
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        about = [r for r in caplog.records if "marketing" in r.getMessage()]
        assert len(about) == 1, [r.getMessage() for r in about]
        (warning,) = about
        assert warning.levelno == logging.WARNING and warning.exc_info is None
        assert "call-center file" in warning.getMessage()
