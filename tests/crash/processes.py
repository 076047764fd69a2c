"""Hotline and the simulated PBX as separate OS processes, to be killed (SIGKILL) and started again.

Both are started exactly as an operator would (`python -m cti.simulator`,
`hotline serve` through `python -m agent_ui.cli`), configured by arguments and
HOTLINE_* variables. Their output is read line by line as it comes (so their
pipes never fill), and a test waits for a line to appear, never for a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cti.ami.client import AmiClient

REPO = Path(__file__).parents[2]
AMI_SECRET = "crash-test-ami-secret-5d1"
SESSION_SECRET = "crash-test-session-secret-8e0c44"
CHECKPOINT_KEY = "crash-test-checkpoint-key-77aa"


@dataclass
class Process:
    """One child process and the lines it has written so far (stdout and stderr together)."""

    name: str
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, name: str, *args: str, env: Mapping[str, str] | None = None) -> Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls.adopt(name, proc)

    @classmethod
    def adopt(cls, name: str, proc: asyncio.subprocess.Process) -> Process:
        """A process started elsewhere (stdout piped, stderr into it): its lines are read from now."""
        started = cls(name, proc)
        started._reader = asyncio.create_task(started._read(), name=f"read-{name}")
        return started

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self._changed:
                self.lines.append(line.decode("utf-8", "replace").rstrip())
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_line(self, pattern: str, *, after: int = 0, timeout: float = 30.0) -> re.Match[str]:  # noqa: ASYNC109
        """The first line (from index `after`) matching `pattern`; fails if the process ends first."""
        wanted = re.compile(pattern)
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for line in self.lines[after:]:
                    found = wanted.search(line)
                    if found:
                        return found
                if self.proc.returncode is not None or (self._reader is not None and self._reader.done()):
                    raise AssertionError(
                        f"{self.name} ended before {pattern!r}:\n" + "\n".join(self.lines[-40:])
                    )
                await self._changed.wait()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flushing, exactly like `kill -9`."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def finish(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Wait for a process that ends by itself (a CLI command); its exit status."""
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
            if self._reader is not None:
                await self._reader
        return code

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            async with asyncio.timeout(15):
                code = await self.proc.wait()
        except TimeoutError:
            self.kill()
            code = await self.proc.wait()
        if self._reader is not None:
            await self._reader
        return code


async def start_simulator(
    port: int,
    *,
    callcenter: Path,
    recordings: Path,
    cdr: Path,
    speed: float,
    agents: Sequence[str] = (),
) -> tuple[Process, int]:
    """`python -m cti.simulator`; returns it and its AMI port once it listens (`port` 0: any)."""
    args = [
        "-m", "cti.simulator", "--port", str(port), "--secret", AMI_SECRET, "--callcenter", str(callcenter),
        "--recordings-dir", str(recordings), "--cdr-file", str(cdr), "--speed", str(speed),
    ]  # fmt: skip
    for agent in agents:
        args += ["--agent", agent]
    pbx = await Process.start("simulated PBX", *args)
    ready = await pbx.wait_for_line(r"^ready 127\.0\.0\.1:(\d+)$")
    return pbx, int(ready.group(1))


def hotline_env(
    database_url: str, ami_port: int, work: Path, callcenter: Path, **more: str
) -> dict[str, str]:
    return {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_SESSION_SECRET": SESSION_SECRET,
        "HOTLINE_PBX": "asterisk",
        "HOTLINE_MODE": "observe",
        "HOTLINE_AMI_PORT": str(ami_port),
        "HOTLINE_AMI_SECRET": AMI_SECRET,
        "HOTLINE_CALLCENTER_FILE": str(callcenter),
        "HOTLINE_RECORDINGS_DIR": str(work / "archive"),
        "HOTLINE_PBX_RECORDINGS_DIR": str(work / "pbx-monitor"),
        "HOTLINE_PBX_CDR_FILE": str(work / "cdr" / "Master.csv"),
        "HOTLINE_AUDIT_CHECKPOINT_KEY": CHECKPOINT_KEY,
        "HOTLINE_AUDIT_CHECKPOINT_FILE": str(work / "checkpoints.jsonl"),
        "HOTLINE_WEB_PORT": "0",
        **more,
    }


async def start_hotline(env: Mapping[str, str]) -> Process:
    """`hotline serve`; returns once its start-up recovery has run (its log says so)."""
    hotline = await Process.start("hotline", "-m", "agent_ui.cli", "serve", env=env)
    await hotline.wait_for_line(r"recovery since ", timeout=60)
    return hotline


@contextlib.asynccontextmanager
async def ami(port: int) -> AsyncIterator[AmiClient]:
    """An AMI connection of our own (the traffic generator), as `hotline call` makes one."""
    client = AmiClient("127.0.0.1", port, "hotline", AMI_SECRET)
    async with asyncio.TaskGroup() as group:
        runner = group.create_task(client.run())
        await client.wait_connected(timeout=10)
        try:
            yield client
        finally:
            runner.cancel()


async def place_call(client: AmiClient, number: str, talk: int, queue: str = "support") -> None:
    """A caller dials the hotline (observe mode: app_queue) and hangs up `talk` s after the answer."""
    await client.action(
        "Originate",
        Channel=f"Local/{queue}@hotline",
        Context="phones",
        Exten=f"talk-{talk}",
        Priority="1",
        CallerID=number,
        Async="true",
    )


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float, every: float = 0.25) -> None:  # noqa: ASYNC109
    """Until `check()` holds: the state lives in another process's database, so there is
    nothing to await but the state itself (polled; the bound is generous, the poll is cheap)."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - no event crosses the process boundary
            await asyncio.sleep(every)
