"""`hotline demo` as a user runs it: a separate process (uvloop, real ports), a call placed with Originate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import websockets

from cti.ami.client import AmiClient
from tests.forms import post_form
from tests.harness import next_message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _demo(tmp_path: Path, port: int, ami_port: int) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_ui.cli", "demo", "--port", str(port), "--ami-port", str(ami_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


async def _wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(300):
            if proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"hotline demo exited {proc.returncode}:\n{output}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/api/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("hotline demo did not become healthy in 30 s")


async def _originate(ami_port: int, number: str, name: str) -> None:
    """What `hotline call` sends (tests/test_cli.py runs the command itself)."""
    client = AmiClient("127.0.0.1", ami_port, "hotline", "demo-secret")
    async with asyncio.TaskGroup() as group:
        runner = group.create_task(client.run())
        await client.wait_connected(timeout=5)
        await client.action(
            "Originate",
            Channel="Local/support@hotline-control",
            Context="phones",
            Exten="talk-5",
            Priority="1",
            CallerID=f'"{name}" <{number}>',
            Async="true",
        )
        runner.cancel()


async def test_demo_pops_a_call_placed_with_hotline_call_on_the_signed_in_agents_page(tmp_path: Path) -> None:
    port, ami_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{port}"
    with _demo(tmp_path, port, ami_port) as proc:
        await _wait_healthy(base, proc)
        async with httpx.AsyncClient(base_url=base, timeout=10, follow_redirects=True) as client:
            page = await client.get("/agent")
            assert page.status_code == 200 and "/login" in str(page.url)
            reply = await post_form(client, "/login", {"login": "1001", "password": "demo"})
            assert reply.status_code == 200 and str(reply.url).endswith("/agent")
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/agent", additional_headers={"Cookie": cookie}
            ) as ws:
                assert (await next_message(ws, "hello"))["state"] == "available"
                placed = time.monotonic()
                await _originate(ami_port, "+8613800138000", "王小明")
                pop = await next_message(ws, "pop", timeout=10)
                latency = time.monotonic() - placed
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        assert pop["ticket_id"] is not None
        # Measured from sending Originate to the pop arriving on the agent's websocket. The goal is
        # 1 s; the bound here is loose because CI machines are shared (see docs/BENCHMARKS.md).
        print(f"pop latency from Originate: {latency * 1000:.0f} ms")
        assert latency < 3.0
