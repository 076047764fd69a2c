"""The `hotline` command: serve, demo, db upgrade, call (and tools added by each package).

Invalid settings or call-center files end with one clear line naming the
variable or the place in the file, and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from agent_ui.accounts import AccountError, Accounts, AccountView, generate_password, password_problem
from agent_ui.models import Role
from config.callcenter import CallCenter, CallCenterError, check_pbx_names, load_callcenter
from config.dbcheck import DatabaseNotReady, check_ready, database_url, describe
from config.settings import ENV_PREFIX, ProcessRole, Settings, SettingsError, load_settings
from cti.ami.client import AmiClient
from cti.ami.errors import LoginRefused
from cti.ami.protocol import AmiMessage
from tickets import cli as customers_cli

app = typer.Typer(
    help="Hotline: call-center CTI and service desk.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(customers_cli.app, name="customers")
audit_app = typer.Typer(help="The audit trail and recording integrity.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)  # one line per message, however narrow the terminal
out = Console(soft_wrap=True)

Demo = Annotated[bool, typer.Option("--demo", help="Use the demo's database (./var/demo).")]


def _demo_overrides() -> dict[str, object]:
    return {
        "demo": True,
        "role": ProcessRole.ALL,  # one process, on SQLite: whatever HOTLINE_ROLE says
        "database_url": database_url(demo=True),
        "recordings_dir": Path("./var/demo/recordings"),
        "audit_checkpoint_key": os.environ.get("HOTLINE_AUDIT_CHECKPOINT_KEY") or "demo-audit-checkpoint-key",
        "audit_checkpoint_file": Path("./var/demo/audit/checkpoints.jsonl"),
    }


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise _fail(str(exc)) from None


QUIET_DRIVERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg", "psycopg.pool")


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Drivers' debug lines carry every statement with its parameters (aiosqlite: password
    # hashes, session ids, customers' names and numbers): not in an operator's log, even verbose.
    for driver in QUIET_DRIVERS:
        logging.getLogger(driver).setLevel(logging.WARNING)
    if not verbose:  # "Adding job tentatively" and every job run, at INFO: noise in an operator's log
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _port_taken(host: str, port: int) -> str | None:
    """Why `port` on `host` cannot be listened on, else None. Checked before start-up so that a
    busy port is one line naming the option to change, not the lifespan's exception group after
    the migrations and the seed have run. Bound with SO_REUSEADDR like the servers bind, so a
    socket in TIME_WAIT from the last run does not count as taken."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"{host}:{port} is already in use (another Hotline, or another program?)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def _require_ports(*wanted: tuple[str, int, str]) -> None:
    """Each (host, port, option) must be free; the first taken one ends the command (status 2)."""
    for host, port, option in wanted:
        problem = _port_taken(host, port)
        if problem is not None:
            raise _fail(f"{problem}: choose another with {option}")


EXIT_DEPOSED = 75  # EX_TEMPFAIL: systemd (Restart=on-failure) starts it again, as a standby


def _exit_deposed(exc: BaseException) -> None:
    """A router that lost its leadership stops at once: no graceful shutdown, which would still
    run tasks of a process that must not act. Its fence already refuses every AMI action and
    commit; what is on disk is as safe as after a kill -9 (which every part is built for)."""
    logging.getLogger("hotline").critical("exiting with status %d: %s", EXIT_DEPOSED, exc)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_DEPOSED)


def _serve(settings: Settings, workers: int = 1, overrides: dict[str, object] | None = None) -> None:
    from agent_ui.app import create_app
    from agent_ui.center import stored_center
    from agent_ui.migrate import upgrade
    from agent_ui.ws import WS_MAX_MESSAGE_BYTES
    from config.router import router_config
    from tickets.config import desk_config

    try:  # what admins saved in the database, else the call-center file
        center = stored_center(settings.database_url) or load_callcenter(settings.callcenter_file)
        router_config(center, settings.mode)  # the router's and the desk's views are checked too
        desk_config(center)
        if settings.pbx == "asterisk":  # each queue's and agent's PBX is a configured link
            check_pbx_names(center, settings.ami_links(), origin=str(settings.callcenter_file))
    except CallCenterError as exc:
        raise _fail(str(exc)) from None
    upgrade(settings.database_url)
    if workers > 1:  # each worker process builds its own app from the environment (app_from_environment)
        for name, value in (overrides or {}).items():
            os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(getattr(value, "value", value))
        uvicorn.run(
            "agent_ui.app:app_from_environment",
            factory=True,
            workers=workers,
            host=settings.web_host,
            port=settings.web_port,
            log_level="info",
            ws="websockets-sansio",
            ws_max_size=WS_MAX_MESSAGE_BYTES,
        )
        return
    uvicorn.run(
        create_app(settings, on_deposed=_exit_deposed, serving=True),
        host=settings.web_host,
        port=settings.web_port,
        log_level="info",
        ws="websockets-sansio",
        ws_max_size=WS_MAX_MESSAGE_BYTES,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (HOTLINE_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HOTLINE_WEB_PORT).")] = None,
    role: Annotated[
        ProcessRole | None,
        typer.Option(
            help="all: one process (default); router: PBX links, ACD, scheduler; web: pages, API,"
            " websockets. router and web need PostgreSQL and Redis (HOTLINE_ROLE).",
            case_sensitive=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="--role web only: this many worker processes on one port (uvicorn's; a dead one is"
            " restarted). Or run several --role web processes behind a proxy.",
        ),
    ] = 1,
    verbose: bool = False,
) -> None:
    """Run Hotline against the configured PBX: the agent console, wallboard and API, or one role of them."""
    _logging(verbose)
    overrides: dict[str, object] = {}
    if role is not None:
        overrides["role"] = role
    if host is not None:
        overrides["web_host"] = host
    if port is not None:
        overrides["web_port"] = port
    settings = _settings(**overrides)
    if workers > 1 and settings.role != ProcessRole.WEB:
        raise _fail(
            f"--workers {workers} is for --role web: --role {settings.role.value} is one process"
            " (the router holds the PBX links and the ACD; a standby is another --role router process)"
        )
    _require_ports((settings.web_host, settings.web_port, "--port (HOTLINE_WEB_PORT)"))
    _serve(settings, workers, overrides)


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
        **_demo_overrides(),
        web_port=port,
        ami_port=ami_port,
        mode=mode,
        pbx="asterisk",
        ami_secret="demo-secret",
    )
    _require_ports((settings.web_host, port, "--port"), (settings.ami_host, ami_port, "--ami-port"))
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
def db_upgrade(revision: str = "head", demo: Demo = False) -> None:
    """Apply Alembic migrations to the configured database (HOTLINE_DATABASE_URL); on a database
    without an admin, create the first one: `admin`, with HOTLINE_ADMIN_PASSWORD or a generated
    password printed once (to be changed at the first sign-in)."""
    from agent_ui.migrate import upgrade

    settings = _settings_for_db(demo)
    upgrade(settings.database_url, revision)
    out.print(f"database {describe(settings.database_url)} at revision {revision}", highlight=False)
    if demo or revision != "head":
        return  # the demo seeds its own accounts
    try:
        made = asyncio.run(_accounts_run(settings, _first_admin))
    except AccountError as exc:
        raise _fail(exc.message) from None
    if made is None:
        return
    login, generated = made
    if generated is None:
        out.print(f"first admin account [bold]{login}[/] created with HOTLINE_ADMIN_PASSWORD")
    else:
        out.print(
            f"first admin account [bold]{login}[/], one-time password: [bold]{generated}[/]\n"
            "  (shown only now; it must be changed at the first sign-in)",
            highlight=False,
        )


async def _first_admin(accounts: Accounts) -> tuple[str, str | None] | None:
    return await accounts.ensure_first_admin(os.environ.get("HOTLINE_ADMIN_PASSWORD") or None)


def _settings_for_db(demo: bool = False) -> Settings:
    # Database verbs need only the database URL: do not demand the runtime secrets here, nor read
    # the further PBX links of `serve`'s env file (refused with pbx none; an override cannot empty
    # them: the settings merge a dict given here with the environment's).
    links = os.environ.pop("HOTLINE_PBX_LINKS", None)
    try:
        if demo:
            return _settings(**_demo_overrides(), pbx="none")
        return _settings(pbx="none", session_secret=os.environ.get("HOTLINE_SESSION_SECRET") or "x" * 32)
    finally:
        if links is not None:
            os.environ["HOTLINE_PBX_LINKS"] = links


def _ready_settings(demo: bool) -> Settings:
    """The settings of a verb that works on an existing database: one line if it is not ready."""
    settings = _settings_for_db(demo)
    try:
        check_ready(settings.database_url, demo=demo)
    except DatabaseNotReady as exc:
        raise _fail(str(exc)) from None
    return settings


async def _accounts_run(settings: Settings, work: Callable[[Accounts], Awaitable[T]]) -> T:
    from agent_ui.trail import AuditTrail
    from config.database import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        return await work(Accounts(sessions, AuditTrail(sessions)))
    finally:
        await engine.dispose()


def _checkpoints(settings: Settings, sessions: Any) -> Any:
    """The checkpoint publisher of these settings (None without a key)."""
    from audit.checkpoint import CheckpointFile, CheckpointKey, CheckpointPublisher

    key = settings.audit_checkpoint_key.get_secret_value()
    if not key:
        return None
    return CheckpointPublisher(sessions, CheckpointFile(settings.audit_checkpoint_file, CheckpointKey(key)))


@audit_app.command("verify")
def audit_verify(demo: Demo = False) -> None:
    """Re-hash the audit log chain and every stored recording, check them against each other and
    against the published checkpoints; exit 1 at any break."""
    from config.database import create_engine, session_factory
    from recordings.integrity import IntegrityReport, verify_integrity
    from recordings.storage import LocalStore

    settings = _ready_settings(demo)

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
def audit_checkpoint(demo: Demo = False) -> None:
    """Publish a signed checkpoint of the audit head now (the server does it on a schedule)."""
    from config.database import create_engine, session_factory

    settings = _ready_settings(demo)
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


users_app = typer.Typer(help="Sign-in accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
ROLES = ", ".join(str(r) for r in Role)


def _new_password(login: str, prompt: bool) -> tuple[str, bool]:
    """(password, generated): typed twice at a prompt, or generated and shown once."""
    if not prompt:
        return generate_password(), True
    while True:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        problem = password_problem(login, password)
        if problem is None:
            return password, False
        err.print(f"refused: {problem}", highlight=False)


def _account_call(demo: bool, work: Callable[[Accounts], Awaitable[T]]) -> T:
    settings = _ready_settings(demo)
    try:
        return asyncio.run(_accounts_run(settings, work))
    except AccountError as exc:
        raise _fail(exc.message) from None


@users_app.command("add")
def users_add(
    login: Annotated[str, typer.Argument(help="Sign-in name (an agent's is its agent id).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[str, typer.Option(help=f"One of: {ROLES}.")] = "agent",
    language: Annotated[str, typer.Option(help="zh-CN or en.")] = "zh-CN",
    prompt: Annotated[
        bool, typer.Option("--prompt", help="Type the first password instead of generating one.")
    ] = False,
    demo: Demo = False,
) -> None:
    """Create an account. Its first password (generated and printed once, or typed) must be changed
    at the first sign-in."""
    try:
        chosen = Role(role)
    except ValueError:
        raise _fail(f"unknown role {role!r}: one of {ROLES}") from None
    password, generated = _new_password(login, prompt)

    async def work(accounts: Accounts) -> None:
        await accounts.add(
            login=login, name=name, role=chosen, password=password, actor="cli", actor_role="cli",
            language=language,
        )  # fmt: skip

    _account_call(demo, work)
    shown = f", one-time password: [bold]{password}[/]" if generated else ""
    out.print(
        f"account {login} ({chosen}) created{shown}; it must be changed at the first sign-in", highlight=False
    )


@users_app.command("passwd")
def users_passwd(
    login: str,
    prompt: Annotated[
        bool, typer.Option("--prompt", help="Type the password instead of generating one.")
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="Do not ask for a change at the next sign-in.")
    ] = False,
    demo: Demo = False,
) -> None:
    """Set an account's password (ends its sessions). By default it must be changed at the next sign-in."""
    password, generated = _new_password(login, prompt)

    async def work(accounts: Accounts) -> int:
        _, ended = await accounts.set_password(
            login=login, password=password, actor="cli", actor_role="cli", must_change=not keep
        )
        return ended

    ended = _account_call(demo, work)
    shown = f" one-time password: [bold]{password}[/];" if generated else ""
    out.print(f"password of {login} set;{shown} {ended} session(s) ended", highlight=False)


def _set_active(login: str, active: bool, demo: bool) -> int:
    async def work(accounts: Accounts) -> int:
        _, ended, _ = await accounts.update(login=login, active=active, actor="cli", actor_role="cli")
        return ended

    return _account_call(demo, work)


@users_app.command("disable")
def users_disable(login: str, demo: Demo = False) -> None:
    """Disable an account: it cannot sign in, its sessions end (open consoles within 15 s)."""
    ended = _set_active(login, False, demo)
    out.print(f"account {login} disabled; {ended} session(s) ended", highlight=False)


@users_app.command("enable")
def users_enable(login: str, demo: Demo = False) -> None:
    """Enable a disabled account again."""
    _set_active(login, True, demo)
    out.print(f"account {login} enabled", highlight=False)


@users_app.command("list")
def users_list(demo: Demo = False) -> None:
    """Every account: login, role, active, name."""

    async def work(accounts: Accounts) -> list[AccountView]:
        return await accounts.list()

    for account in _account_call(demo, work):
        flags = ("" if account.active else " disabled") + (
            " must-change-password" if account.must_change_password else ""
        )
        typer.echo(f"{account.login:<20} {account.role:<11} {account.name}{flags}")


config_app = typer.Typer(
    help="The call center's configuration (queues, agents, IVR, SLA) in the database: YAML in and out.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("import")
def config_import(
    file: Annotated[Path, typer.Argument(help="A call-center YAML file (as callcenter.sample.yaml).")],
    demo: Demo = False,
) -> None:
    """Validate the file as strictly as at start-up and make it the configuration in force. A running
    `hotline serve` applies it within a few seconds, as an admin page change (what the running router
    refuses now, e.g. removing a queue that still has calls, is retried); the mode, the agents' PBX
    interfaces and supervisors' phones (Asterisk) wait for a restart."""
    from agent_ui.center import FOLLOW_S, CenterRefused, validate

    try:
        center = validate(_yaml_of(file), origin=str(file))
    except CenterRefused as exc:
        raise _fail(exc.message) from None
    settings = _ready_settings(demo)
    version = asyncio.run(_store_center(settings, center, f"import {file.name}"))
    out.print(f"configuration version {version} from {file}: {len(center.queues)} queues, "
              f"{len(center.agents)} agents; a running Hotline applies it within "
              f"{FOLLOW_S:.0f} s (the PBX link's part at its next start)", highlight=False)  # fmt: skip


def _yaml_of(file: Path) -> object:
    import yaml

    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise _fail(f"{file}: not valid YAML: {exc}") from None


async def _store_center(settings: Settings, center: CallCenter, change: str) -> int:
    import json

    from agent_ui.center import document
    from agent_ui.models import CenterConfig
    from agent_ui.trail import AuditTrail
    from config.database import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            row = CenterConfig(
                document=json.dumps(document(center), ensure_ascii=False), saved_by="cli", change=change
            )
            session.add(row)
            await AuditTrail(sessions).append(
                session, actor="cli", action="admin.config_change", subject=f"config:{change}"[:200],
                role="cli", after={"queues": len(center.queues), "agents": len(center.agents)},
            )  # fmt: skip
            await session.commit()
            return row.version or 0
    finally:
        await engine.dispose()


@config_app.command("export")
def config_export(
    file: Annotated[Path | None, typer.Argument(help="Write here (default: standard output).")] = None,
    demo: Demo = False,
) -> None:
    """The configuration in force (the database's, else HOTLINE_CALLCENTER_FILE) as YAML, in the form
    `import` reads."""
    import yaml

    from agent_ui.center import document, stored_center

    settings = _ready_settings(demo)
    try:
        center = stored_center(settings.database_url) or load_callcenter(settings.callcenter_file)
    except CallCenterError as exc:
        raise _fail(str(exc)) from None
    text = yaml.safe_dump(document(center), allow_unicode=True, sort_keys=False)
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        out.print(f"configuration written to {file}", highlight=False)


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
        typer.Option(help="Dial the observe-mode entry (app_queue) instead of [hotline-control]."),
    ] = False,
    context: Annotated[
        str,
        typer.Option(
            help="Dialplan context of the entry: default hotline-control, or with --observe hotline-observe"
            " (the sample dialplan; the recorded fixtures' Asterisk used 'hotline')."
        ),
    ] = "",
    wait: Annotated[float, typer.Option(help="Seconds to wait for Asterisk's OriginateResponse.")] = 30.0,
    ivr: Annotated[
        str, typer.Option(help="The caller's IVR choice (HOTLINE_IVR, as [hotline-ivr] sets it): its skills.")
    ] = "",
) -> None:
    """Place a test call with AMI Originate: works on the simulator and on a real Asterisk.

    Waits for the OriginateResponse: "Originate successfully queued" only means Asterisk took
    the order; a missing extension (`support@hotline-control`) fails after it, and is reported.
    """
    from cti.ami.dialplan import IVR_VARIABLE, OBSERVE_CONTEXT, PHONES_CONTEXT, WAIT_CONTEXT
    from cti.ami.errors import AmiError

    caller_id = f'"{name}" <{number}>' if name else number
    entry = context or (OBSERVE_CONTEXT if observe else WAIT_CONTEXT)
    variables: dict[str, Any] = {"Variable": f"{IVR_VARIABLE}={ivr}"} if ivr else {}

    async def originate() -> tuple[bool, str]:
        client = AmiClient(ami_host, ami_port, username, secret)
        responses = client.subscribe()
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(client.run())
            try:
                await _connected_or_refused(client, timeout=5)
                reply = await client.action(
                    "Originate",
                    Channel=f"Local/{queue}@{entry}",
                    Context=PHONES_CONTEXT,
                    Exten=f"talk-{talk}",
                    Priority="1",
                    CallerID=caller_id,
                    Async="true",
                    **variables,
                )
                action_id = reply.get("ActionID")
                async with asyncio.timeout(wait):
                    async for msg in responses:
                        if msg.event == "OriginateResponse" and msg.get("ActionID") == action_id:
                            ok = msg.get("Response") == "Success"
                            return ok, _originate_outcome(msg)
                return False, "the AMI link closed before the OriginateResponse"
            finally:
                runner.cancel()

    try:
        ok, message = asyncio.run(originate())
    except* TimeoutError:
        raise _fail(f"could not place the call: no OriginateResponse within {wait:g} s") from None
    except* (AmiError, OSError) as group:
        raise _fail(f"could not place the call: {group.exceptions[0]}") from None
    if not ok:
        raise _fail(f"could not place the call into {queue} (Local/{queue}@{entry}): {message}")
    out.print(f"call from {number} into {queue}: {message}", soft_wrap=True)


# Asterisk's OriginateResponse Reason: the AST_CONTROL_* the originated channel ended its dial with.
_ORIGINATE_REASONS = {
    "0": "failed (no such extension or context, or the channel could not be created)",
    "1": "hung up",
    "3": "ringing, no answer",
    "4": "answered",
    "5": "busy",
    "8": "congestion",
}


def _originate_outcome(msg: AmiMessage) -> str:
    reason = msg.get("Reason", "")
    said = _ORIGINATE_REASONS.get(reason, f"reason {reason}")
    if msg.get("Response") == "Success":
        return f"Originate {said} ({msg.get('Channel', '')})"
    return f"Originate {said}"


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
