"""The `hotline` command against a running simulated PBX: place calls, clear errors."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from cti.simulator import SimulatedPbx


async def _hotline(*args: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent_ui.cli", *args,
        cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_hotline_call_places_a_call_with_ami_originate(tmp_path: Path) -> None:
    pbx = SimulatedPbx(secret="s3cret-for-test")
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        code, output = await _hotline(
            "call", "+8613800138000", "--name", "王小明", "--queue", "billing",
            "--ami-port", str(pbx.port), "--secret", "s3cret-for-test", cwd=tmp_path,
        )  # fmt: skip
        task.cancel()
    assert code == 0, output
    assert "Originate answered (Local/billing@hotline-control-" in output  # the OriginateResponse
    originate = [a for a in pbx.actions_received if a["Action"] == "Originate"]
    assert originate[0]["Channel"] == "Local/billing@hotline-control"
    assert originate[0]["CallerID"] == '"王小明" <+8613800138000>'


async def test_hotline_call_reports_an_originate_that_fails_after_it_was_queued(tmp_path: Path) -> None:
    """Asterisk answers 'Originate successfully queued' even for a missing extension; the
    OriginateResponse that follows says Failure, and the CLI says so (exit code 2)."""
    pbx = SimulatedPbx(secret="s3cret-for-test")
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        code, output = await _hotline(
            "call", "+8613800138000", "--queue", "support", "--context", "no-such-context",
            "--ami-port", str(pbx.port), "--secret", "s3cret-for-test", cwd=tmp_path,
        )  # fmt: skip
        task.cancel()
    assert code == 2, output
    assert "could not place the call into support (Local/support@no-such-context)" in output
    assert "no such extension" in output and "Traceback" not in output


async def test_hotline_call_with_a_wrong_secret_says_so_and_never_prints_the_secret(tmp_path: Path) -> None:
    pbx = SimulatedPbx(secret="right-secret")
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        code, output = await _hotline(
            "call",
            "+8613800138000",
            "--ami-port",
            str(pbx.port),
            "--secret",
            "wrong-secret-xyz",
            cwd=tmp_path,
        )
        task.cancel()
    assert code == 2
    assert "Authentication failed" in output or "authentication failed" in output
    assert "wrong-secret-xyz" not in output
    assert "Traceback" not in output
    assert not [a for a in pbx.actions_received if a["Action"] == "Originate"]


def test_make_demo_passes_other_ports_and_the_mode_through() -> None:
    """`make demo PORT=… AMI_PORT=… MODE=…` runs `hotline demo` with those options (dry run)."""
    root = Path(__file__).resolve().parent.parent
    shown = subprocess.run(
        ["make", "-n", "-s", "demo", "PORT=8100", "AMI_PORT=5139", "MODE=observe"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert shown[-1].split()[1:] == ["demo", "--port", "8100", "--ami-port", "5139", "--mode", "observe"]
    plain = subprocess.run(["make", "-n", "-s", "demo"], cwd=root, capture_output=True, text=True, check=True)
    assert plain.stdout.splitlines()[-1].split()[1:] == ["demo"]


def _listening() -> tuple[socket.socket, int]:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held, held.getsockname()[1]


async def test_hotline_demo_on_a_busy_port_names_the_option_and_touches_nothing(tmp_path: Path) -> None:
    """A port another program holds ends `hotline demo` with one line naming it and the option,
    before the migrations and the seed: no traceback, no ./var/demo left behind."""
    web, web_port = _listening()
    ami, ami_port = _listening()
    with web, ami:
        free_web = _free_port()
        code, output = await _hotline(
            "demo", "--port", str(free_web), "--ami-port", str(ami_port), cwd=tmp_path
        )
        assert code == 2, output
        assert f"127.0.0.1:{ami_port} is already in use" in output and "--ami-port" in output
        code, output = await _hotline(
            "demo", "--port", str(web_port), "--ami-port", str(ami_port), cwd=tmp_path
        )
        assert code == 2, output
        assert f"127.0.0.1:{web_port} is already in use" in output and "--port" in output
    assert "Traceback" not in output
    assert not (tmp_path / "var").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
