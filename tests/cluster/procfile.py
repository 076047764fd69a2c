"""deploy/Procfile read and run as a Procfile runner (honcho, foreman) runs it, for the cluster tests.

A Procfile line is `kind: command`; the runner starts each kind's instances through the shell with
the environment it was given plus `PORT` = base + 100 x the kind's line + the instance (honcho's
and foreman's rule). The tests start their processes from these lines, so the sample deployment
is what is tested: a flag missing from the Procfile is missing in the test too. `exec` puts the
command itself at the process's pid (what a `kill -9` of "the router" must hit); each instance is
also its own process group, so a kill reaches any child it has (uvicorn's workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.crash.processes import REPO, Process

PROCFILE = REPO / "deploy" / "Procfile"
_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


@dataclass(frozen=True)
class Procfile:
    commands: dict[str, str]  # kind -> command, in file order

    @classmethod
    def load(cls, path: Path = PROCFILE) -> Procfile:
        commands: dict[str, str] = {}
        for line in path.read_text().splitlines():
            found = _LINE.match(line)
            if found:
                commands[found.group(1)] = found.group(2).strip()
        return cls(commands)

    def port(self, kind: str, instance: int, base: int) -> int:
        """The runner's PORT for instance `instance` (from 0) of `kind`."""
        return base + 100 * list(self.commands).index(kind) + instance

    async def start(
        self, kind: str, instance: int, *, base: int, env: Mapping[str, str], extra: str = ""
    ) -> Process:
        """Instance `instance` of `kind`, through the shell as the runner starts it; `extra` is
        appended to the command (a test's own flag, e.g. `--workers 2`)."""
        command = self.commands[kind] + (f" {extra}" if extra else "")
        bin_dir = str(Path(sys.executable).parent)  # where `hotline` and `python` of this install are
        child_env = {
            **os.environ,
            **env,
            "PORT": str(self.port(kind, instance, base)),
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),  # this checkout's code, as the installed package
        }
        pipe = asyncio.subprocess
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", f"exec {command}", cwd=REPO, env=child_env, start_new_session=True,
            stdin=pipe.DEVNULL, stdout=pipe.PIPE, stderr=pipe.STDOUT,
        )  # fmt: skip
        return Process.adopt(f"{kind}.{instance}", proc)


def kill_group(process: Process) -> None:
    """`kill -9` of the instance and whatever it started (its process group)."""
    if process.proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(process.proc.pid, signal.SIGKILL)


def free_base(kinds: int, instances: int) -> int:
    """A base port whose runner ports (kinds x instances) are all free on 127.0.0.1 now."""
    import random
    import socket

    for _ in range(50):
        base = random.randrange(20_000, 60_000, 100)
        ports = [base + 100 * k + i for k in range(kinds) for i in range(instances)]
        try:
            for port in ports:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free run of ports for the Procfile's processes")
