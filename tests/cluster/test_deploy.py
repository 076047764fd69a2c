"""The sample deployment (deploy/) is consistent and runs: units and Procfile start the same
commands, the environment file names real settings, and `--workers N` serves and survives a kill."""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from config.database import is_sqlite
from config.settings import ENV_PREFIX, Settings
from tests.cluster.procfile import PROCFILE, Procfile, free_base, kill_group
from tests.crash.processes import REPO, eventually, hotline_env
from tests.roles.conftest import redis_url

DEPLOY = REPO / "deploy"
CALLCENTER = REPO / "tests" / "crash" / "callcenter.yaml"


def _unit(role: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(DEPLOY / "systemd" / f"hotline-{role}@.service")
    return unit


@pytest.mark.parametrize("role", ["router", "web"])
def test_each_unit_runs_the_procfiles_command_restarts_always_and_reads_the_environment_file(
    role: str,
) -> None:
    service = _unit(role)["Service"]
    binary, _, arguments = service["ExecStart"].partition(" ")
    assert binary.endswith("/bin/hotline")
    assert "hotline " + arguments.replace("%i", "$PORT") == Procfile.load().commands[role]
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"] == "/etc/hotline/hotline.env"


def test_the_procfile_has_the_roles_and_the_simulated_pbx() -> None:
    commands = Procfile.load(PROCFILE).commands
    assert list(commands) == ["router", "web", "pbx"]
    assert "--role router" in commands["router"] and "--role web" in commands["web"]


def test_the_environment_file_names_only_real_settings_and_what_several_processes_need() -> None:
    names = re.findall(r"^([A-Z_]+)=", (DEPLOY / "hotline.env.example").read_text(), flags=re.MULTILINE)
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert set(names) <= fields, set(names) - fields
    assert {"HOTLINE_DATABASE_URL", "HOTLINE_REDIS_URL", "HOTLINE_SESSION_SECRET"} <= set(names)


def _workers(pid: int) -> set[int]:
    """The uvicorn worker processes under the supervisor `pid` (multiprocessing's spawned children)."""
    found: set[int] = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.add(int(child))
    return found


async def test_a_web_role_with_two_workers_serves_and_a_killed_worker_is_replaced(
    database_url: str, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role web is refused on SQLite (tests/roles/test_roles.py)")
    procfile = Procfile.load()
    base = free_base(len(procfile.commands), 1)
    env = {**hotline_env(database_url, 5038, tmp_path, CALLCENTER), "HOTLINE_REDIS_URL": redis_url()}
    web = await procfile.start("web", 0, base=base, env=env, extra="--workers 2")
    url = f"http://127.0.0.1:{procfile.port('web', 0, base)}/api/health"
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def answers() -> bool:
                try:
                    return (await http.get(url)).status_code in (200, 503)
                except httpx.TransportError:
                    return False

            async def two_workers() -> bool:
                return len(_workers(web.proc.pid)) == 2

            await eventually(answers, timeout=90)
            await eventually(two_workers, timeout=60)
            first = _workers(web.proc.pid)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            await eventually(lambda: _replaced(web.proc.pid, first, victim), timeout=60)
            await eventually(answers, timeout=30)
    finally:
        kill_group(web)
        await asyncio.wait_for(web.proc.wait(), 15)


async def _replaced(pid: int, first: set[int], victim: int) -> bool:
    now = _workers(pid)
    return len(now) == 2 and victim not in now and bool(now - first)
