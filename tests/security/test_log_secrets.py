"""What `--verbose` (DEBUG) writes to the log: our own debug lines, never the database's
statements with their parameters (password hashes, session ids, customers' data), nor a
one-time password, a cookie or the AMI secret. Run as the operator runs it: a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_verbose_demo_logs_no_password_hash_session_or_secret(tmp_path: Path) -> None:
    port, ami_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "agent_ui.cli", "demo", "--verbose"]
    command += ["--port", str(port), "--ami-port", str(ami_port)]
    log = tmp_path / "hotline.log"
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as admin:
                for _ in range(300):
                    assert proc.returncode is None, log.read_text()
                    with contextlib.suppress(httpx.TransportError):
                        if (await admin.get("/api/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                assert (
                    await admin.post("/api/auth/login", json={"login": "admin", "password": "demo"})
                ).is_success
                token = admin.cookies["hotline_session"]
                made = await admin.post(
                    "/api/admin/users", json={"login": "probe", "name": "P", "role": "agent"}
                )
                assert made.status_code == 201, made.text
                one_time = made.json()["password"]
                assert (await admin.post("/api/admin/users/probe/password")).status_code == 200
                assert (await admin.post("/api/auth/logout")).status_code == 204
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)
    text = log.read_text()
    assert " DEBUG cti.ami.client: " in text  # verbose is on: our own debug lines are there
    assert "$argon2id$" not in text
    assert one_time not in text
    assert token not in text
    assert "'Secret': '********'" in text and "'Secret': 'demo-secret'" not in text  # the AMI Login
    assert "INSERT INTO web_session" not in text
