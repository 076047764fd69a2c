"""The simulated PBX as its own process: `python -m cti.simulator` (or `hotline sim`).

A PBX outlives the CTI that watches it: Hotline can crash, be killed or
restarted while calls go on. Run in its own process, the simulator shows what
a real Asterisk does then (calls continue, MixMonitor files and CDRs are
written, the AMI link is gone) and can itself be killed mid-call like a real
PBX. The crash tests and anyone who wants the demo's PBX apart from the web
app use it.

Queues and members come from the call-center file (as the demo's in-process
PBX has them). It prints one line `ready <host>:<port>` on stdout once the AMI
port listens (`--port 0` picks a free one), then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from config.callcenter import CallCenter, CallCenterError, load_callcenter
from config.settings import SAMPLE_CALLCENTER
from cti.simulator.dialect import DEFAULT_VERSION, KNOWN_LINES, Dialect
from cti.simulator.pbx import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import SimMember, SimQueue

log = logging.getLogger(__name__)

# Asterisk app_queue strategies the simulator plays for Hotline's strategy names (observe mode).
_SIM_STRATEGY = {"linear": "linear", "ring-all": "ringall"}


def simulated_queues(center: CallCenter, pbx: str | None = None) -> list[SimQueue]:
    """The PBX's queues.conf from the call-center file (static members by penalty, then file order);
    `pbx`: only the queues on that PBX (a center with several)."""
    return [
        SimQueue(
            name=queue.name,
            strategy=_SIM_STRATEGY.get(queue.strategy, "rrmemory"),
            timeout_s=queue.ring_timeout_s,
            wrapup_s=queue.wrapup_s,
            members=[
                SimMember(interface=agent.pbx_interface(), name=agent.name)
                for agent in sorted(
                    (a for a in center.agents if queue.name in a.queues), key=lambda a: a.queues[queue.name]
                )
                if queue.pbx_members == "static"  # dynamic members are QueueAdd'ed at sign-in
            ],
        )
        for queue in center.queues
        if pbx is None or queue.pbx == pbx
    ]


def parse_agent(text: str) -> tuple[str, AgentBehaviour]:
    """`1001=ring:2,talk:90` → ("1001", AgentBehaviour(ring_s=2, talk_s=90)); `ring:never` never answers."""
    agent, _, spec = text.partition("=")
    values: dict[str, float | None] = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition(":")
        if key not in ("ring", "talk"):
            raise argparse.ArgumentTypeError(f"{text!r}: unknown setting {key!r} (ring, talk)")
        try:
            values[key] = None if value == "never" and key == "ring" else float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {key} needs seconds") from None
    if not agent:
        raise argparse.ArgumentTypeError(f"{text!r}: no agent id")
    behaviour = AgentBehaviour(ring_s=values.get("ring", 2.0), talk_s=values.get("talk") or 90.0)
    return agent, behaviour


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cti.simulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038, help="AMI port (0: any free port)")
    parser.add_argument("--username", default="hotline")
    parser.add_argument("--secret", default=os.environ.get("HOTLINE_AMI_SECRET", "demo-secret"))
    parser.add_argument("--callcenter", type=Path, default=SAMPLE_CALLCENTER, help="queues and agents")
    parser.add_argument("--recordings-dir", type=Path, help="where MixMonitor files are written")
    parser.add_argument("--cdr-file", type=Path, help="append CDRs here, as cdr_csv writes Master.csv")
    parser.add_argument("--speed", type=float, default=1.0, help="dialplan times are divided by this")
    parser.add_argument(
        "--pbx", help="only the queues on this PBX of the call-center file (`pbx:`; default: every queue)"
    )
    parser.add_argument(
        "--agent", type=parse_agent, action="append", default=[], help="e.g. 1001=ring:2,talk:90"
    )
    parser.add_argument(
        "--asterisk-version",
        type=asterisk_version,
        default=DEFAULT_VERSION,
        help=f"whose AMI to speak: {', '.join(str(n) for n in KNOWN_LINES)} (e.g. 18.26.4)",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def asterisk_version(text: str) -> str:
    try:
        Dialect(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


async def serve(options: argparse.Namespace, center: CallCenter) -> None:
    pbx = SimulatedPbx(
        host=options.host,
        port=options.port,
        username=options.username,
        secret=options.secret,
        agents=dict(options.agent),
        speed=options.speed,
        recordings_dir=options.recordings_dir,
        queues=simulated_queues(center, options.pbx),
        cdr_file=options.cdr_file,
        asterisk_version=options.asterisk_version,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with asyncio.TaskGroup() as group:
        runner = group.create_task(pbx.run(), name="simulated-pbx")
        await pbx.wait_ready()
        print(f"ready {options.host}:{pbx.port}", flush=True)
        await stop.wait()
        runner.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    options = arguments(argv)
    logging.basicConfig(
        level=logging.DEBUG if options.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        center = load_callcenter(options.callcenter)
    except CallCenterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(options, center))
    return 0
