"""The `hotline` command: serve, demo, db upgrade, call (and tools added by each package).

Invalid settings or call-center files end with one clear line naming the
variable or the place in the file, and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

from config.callcenter import CallCenterError, load_callcenter
from config.settings import Settings, SettingsError, load_settings
from cti.ami.client import AmiClient
from cti.ami.errors import LoginRefused
from tickets import cli as customers_cli

app = typer.Typer(
    help="Hotline: call-center CTI and service desk.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(customers_cli.app, name="customers")
audit_app = typer.Typer(help="The audit trail and recording integrity.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
err = Console(stderr=True)
out = Console()

DEMO_DB = "sqlite+aiosqlite:///./var/demo/hotline.db"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if not verbose:  # "Adding job tentatively" and every job run, at INFO: noise in an operator's log
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _serve(settings: Settings) -> None:
    from agent_ui.app import create_app
    from agent_ui.migrate import upgrade
    from config.router import router_config
    from tickets.config import desk_config

    try:
        center = load_callcenter(settings.callcenter_file)
        router_config(center, settings.mode)  # the router's and the desk's views are checked too
        desk_config(center)
    except CallCenterError as exc:
        raise _fail(str(exc)) from None
    upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        log_level="info",
        ws="websockets-sansio",
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (HOTLINE_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HOTLINE_WEB_PORT).")] = None,
    verbose: bool = False,
) -> None:
    """Run the web app (agent console, wallboard, API) against the configured PBX."""
    _logging(verbose)
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["web_host"] = host
    if port is not None:
        overrides["web_port"] = port
    _serve(_settings(**overrides))


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Web port.")] = 8000,
    ami_port: Annotated[int, typer.Option(help="AMI port of the simulated PBX.")] = 5038,
    mode: Annotated[
        str, typer.Option(help="control: Hotline's router picks agents; observe: the PBX's queue does.")
    ] = "control",
    verbose: bool = False,
) -> None:
    """Serve Hotline with a simulated PBX, demo agents, queues and customers (SQLite under ./var/demo)."""
    _logging(verbose)
    settings = _settings(
        demo=True,
        database_url=os.environ.get("HOTLINE_DATABASE_URL", DEMO_DB),
        web_port=port,
        ami_port=ami_port,
        mode=mode,
        pbx="asterisk",
        ami_secret="demo-secret",
        recordings_dir=Path("./var/demo/recordings"),
        audit_checkpoint_key=os.environ.get("HOTLINE_AUDIT_CHECKPOINT_KEY") or "demo-audit-checkpoint-key",
        audit_checkpoint_file=Path("./var/demo/audit/checkpoints.jsonl"),
    )
    from agent_ui.migrate import upgrade
    from agent_ui.seed import seed_demo
    from config.database import create_engine, session_factory

    try:
        center = load_callcenter(settings.callcenter_file)
    except CallCenterError as exc:
        raise _fail(str(exc)) from None
    upgrade(settings.database_url)

    async def seed() -> None:
        engine = create_engine(settings.database_url)
        try:
            await seed_demo(session_factory(engine), center, settings.default_region)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    url = f"http://{settings.web_host}:{settings.web_port}"
    out.print(
        f"\n[bold]Hotline demo[/] at [link={url}]{url}[/link]  (simulated PBX: AMI on 127.0.0.1:{ami_port})"
    )
    out.print(f"Sign in with password [bold]{center.demo_password or 'demo'}[/] as:")
    for agent in center.agents:
        out.print(f"  agent      {agent.id:<8} {agent.name}  queues: {', '.join(agent.queues)}")
    for user in center.users:
        out.print(f"  {user.role:<10} {user.login:<8} {user.name}")
    observe = " --observe" if mode == "observe" else ""
    out.print(
        f"Mode: {mode}. Place a call (as on a real Asterisk, with AMI Originate):\n"
        f"  .venv/bin/hotline call +8613800138000 --name 王小明 --queue support{observe} "
        f"--ami-port {ami_port} --secret demo-secret\n",
        soft_wrap=True,  # one line, so that it can be copied whole from a narrow terminal
    )
    _serve(settings)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply Alembic migrations to the configured database (HOTLINE_DATABASE_URL)."""
    from agent_ui.migrate import upgrade

    settings = _settings(demo=True) if os.environ.get("HOTLINE_DEMO") else _settings_for_db()
    upgrade(settings.database_url, revision)
    out.print(f"database at revision {revision}")


def _settings_for_db() -> Settings:
    # Migrating needs only the database URL: do not demand the runtime secrets here.
    return _settings(pbx="none", session_secret=os.environ.get("HOTLINE_SESSION_SECRET") or "x" * 32)


def _checkpoints(settings: Settings, sessions: Any) -> Any:
    """The checkpoint publisher of these settings (None without a key)."""
    from audit.checkpoint import CheckpointFile, CheckpointKey, CheckpointPublisher

    key = settings.audit_checkpoint_key.get_secret_value()
    if not key:
        return None
    return CheckpointPublisher(sessions, CheckpointFile(settings.audit_checkpoint_file, CheckpointKey(key)))


@audit_app.command("verify")
def audit_verify() -> None:
    """Re-hash the audit log chain and every stored recording, check them against each other and
    against the published checkpoints; exit 1 at any break."""
    from config.database import create_engine, session_factory
    from recordings.integrity import IntegrityReport, verify_integrity
    from recordings.storage import LocalStore

    settings = _settings_for_db()

    async def run() -> IntegrityReport:
        engine = create_engine(settings.database_url)
        try:
            sessions = session_factory(engine)
            store = LocalStore(settings.recordings_dir)
            return await verify_integrity(sessions, store, checkpoints=_checkpoints(settings, sessions))
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    for line in report.lines():
        (out if report.ok else err).print(line, highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Publish a signed checkpoint of the audit head now (the server does it on a schedule)."""
    from config.database import create_engine, session_factory

    settings = _settings_for_db()
    if not settings.audit_checkpoint_key.get_secret_value():
        raise _fail("set HOTLINE_AUDIT_CHECKPOINT_KEY (and HOTLINE_AUDIT_CHECKPOINT_FILE) first")

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            publisher = _checkpoints(settings, session_factory(engine))
            written = await publisher.publish()
        finally:
            await engine.dispose()
        if written is None:
            return f"checkpoint unchanged: the head is already published in {settings.audit_checkpoint_file}"
        return f"checkpoint: seq {written.seq} published to {settings.audit_checkpoint_file}"

    out.print(asyncio.run(run()), highlight=False, soft_wrap=True)


@app.command()
def call(
    number: Annotated[str, typer.Argument(help="Caller number, e.g. +8613800138000.")],
    name: Annotated[str, typer.Option(help="Caller name.")] = "",
    queue: Annotated[str, typer.Option(help="Hotline queue (dialplan extension).")] = "support",
    talk: Annotated[int, typer.Option(help="The caller hangs up after this many seconds.")] = 60,
    ami_host: str = "127.0.0.1",
    ami_port: int = 5038,
    username: str = "hotline",
    secret: Annotated[str, typer.Option(envvar="HOTLINE_AMI_SECRET", help="AMI secret.")] = "demo-secret",
    observe: Annotated[
        bool,
        typer.Option(help="Dial the observe-mode entry [hotline] (app_queue) instead of [hotline-control]."),
    ] = False,
) -> None:
    """Place a test call with AMI Originate: works on the simulator and on a real Asterisk."""
    from cti.ami.dialplan import PHONES_CONTEXT, QUEUE_CONTEXT, WAIT_CONTEXT
    from cti.ami.errors import AmiError

    caller_id = f'"{name}" <{number}>' if name else number

    async def originate() -> str:
        client = AmiClient(ami_host, ami_port, username, secret)
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(client.run())
            try:
                await _connected_or_refused(client, timeout=5)
                reply = await client.action(
                    "Originate",
                    Channel=f"Local/{queue}@{QUEUE_CONTEXT if observe else WAIT_CONTEXT}",
                    Context=PHONES_CONTEXT,
                    Exten=f"talk-{talk}",
                    Priority="1",
                    CallerID=caller_id,
                    Async="true",
                )
                return reply.get("Message", "")
            finally:
                runner.cancel()

    try:
        message = asyncio.run(originate())
    except* (AmiError, TimeoutError, OSError) as group:
        raise _fail(f"could not place the call: {group.exceptions[0]}") from None
    out.print(f"call from {number} into {queue}: {message}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def sim(ctx: typer.Context) -> None:
    """Run the simulated PBX in its own process (python -m cti.simulator --help for its options)."""
    from cti.simulator.standalone import main as simulator

    raise typer.Exit(code=simulator(ctx.args))


ami_app = typer.Typer(help="Asterisk AMI tools.", no_args_is_help=True)
app.add_typer(ami_app, name="ami")


@ami_app.command("replay")
def ami_replay(
    files: Annotated[list[Path], typer.Argument(help="Raw AMI traces (bytes as received on port 5038).")],
    events: Annotated[
        bool, typer.Option("--events", help="Print the CallEvents instead of one line per call.")
    ] = False,
    queue: Annotated[
        str, typer.Option(help="Queue for control-mode callers whose HotlineWaiting has none.")
    ] = "default",
) -> None:
    """Replay AMI traces through the translator: one JSON line per call (or per event)."""
    from cti.replay import replay

    for path in files:
        if not path.is_file():
            raise _fail(f"no such trace file: {path}")
    for line in replay(files, events=events, default_queue=queue):
        typer.echo(line)


async def _connected_or_refused(client: AmiClient, timeout: float) -> None:  # noqa: ASYNC109
    """Wait for the AMI login; a refused login fails at once (the client itself would retry)."""
    async with asyncio.timeout(timeout):
        while not client.connected:
            if client.stats.login_refusals:
                raise LoginRefused("Login", "authentication failed: check the AMI username and secret")
            await asyncio.sleep(0.02)
    await client.wait_connected(timeout=timeout)


def main() -> None:
    try:
        app()
    except SettingsError as exc:  # pragma: no cover - _settings() already reports these
        err.print(f"error: {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
