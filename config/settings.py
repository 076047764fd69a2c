"""Runtime settings from `HOTLINE_*` environment variables (pydantic-settings).

Nothing here is read at import time: `load_settings()` is called by the
composition root (the CLI / the FastAPI lifespan), so tests can build their own.
Secrets are `SecretStr` so they print as `**********` in logs and reprs.
Placeholder secrets are accepted only in demo mode: a production start with the
sample secret would be an open door, so it is refused with the variable named.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "hotline-secret", "demo"})
MIN_SESSION_SECRET = 32  # it keys the form tokens' HMAC: guessable below ~128 bits
SAMPLE_CALLCENTER = Path(__file__).with_name("callcenter.sample.yaml")

ENV_PREFIX = "HOTLINE_"


class SettingsError(Exception):
    """The settings are invalid; the message names the environment variable(s)."""


class ProcessRole(StrEnum):
    """What one `hotline serve` process does (README "Running more than one process").

    `all` is one process holding everything (the default, and the demo's). `router` holds the PBX
    links, the ACD, the bookkeeping and the scheduler; `web` serves pages, API and websockets, as
    many as wanted. Those two share PostgreSQL and Redis, so neither runs on SQLite."""

    ALL = "all"
    ROUTER = "router"
    WEB = "web"


REDIS_SCHEMES = ("redis", "rediss", "unix")

MAIN_PBX = "main"  # the link of HOTLINE_AMI_*: queues and agents without `pbx:` are on it
PBX_NAME = r"^[a-z][a-z0-9_-]{0,19}$"  # no ':' — with several PBXs, call ids read `<pbx>:<uniqueid>`


class PbxLink(BaseModel):
    """One Asterisk's AMI link, an entry of HOTLINE_PBX_LINKS (a JSON object: name -> link).

    What differs from PBX to PBX: where its AMI is, the login, and where this host sees its
    recordings and CDRs. The rest (observe or control, the transfer context, timeouts) is the
    center's, from the HOTLINE_* settings, so two PBXs never route calls two ways at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = "hotline"
    secret: SecretStr
    recordings_dir: Path | None = None  # this host's view of its MixMonitor folder
    cdr_file: Path | None = None  # this host's view of its cdr_csv Master.csv


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    demo: bool = False
    role: ProcessRole = ProcessRole.ALL
    # Redis, shared by the router and the web workers (cross-process events, sign-in throttles):
    # needed by --role router|web, unused by --role all. E.g. redis://127.0.0.1:6379/0.
    redis_url: str | None = None
    # Every key the processes keep in Redis starts with this: two clusters (or two test runs)
    # sharing one Redis server keep apart by giving each its own (pub/sub is not used, so a
    # database number would do as well, but there are only 16).
    redis_prefix: str = Field(default="hotline:", min_length=1, max_length=100)
    # --role router, the election (cluster.leadership): a leader acts for `router_lease_s` after
    # each answered keepalive (sent every 0.25 s, so a lease covers at least two) and a standby
    # that wins waits as long before acting; PostgreSQL ends a lock session quiet for
    # `router_idle_session_timeout_s` (idle_session_timeout), which frees the lock of a leader cut
    # off alive. Above the lease, so a live leader is never cut for one slow keepalive; the
    # takeover after a cut-off is about this timeout plus the lease (after a kill -9, the lease).
    router_lease_s: float = Field(default=1.0, ge=0.5)
    router_idle_session_timeout_s: float = Field(default=2.0, gt=0)
    database_url: str = "sqlite+aiosqlite:///./var/hotline.db"
    callcenter_file: Path = SAMPLE_CALLCENTER
    default_region: str = Field(default="CN", min_length=2, max_length=2)

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=0, le=65535)
    public_base_url: str | None = None  # as the outside world (Twilio) sees us, behind a proxy
    session_secret: SecretStr = SecretStr("change-me")
    # Origins besides the one a request is addressed to that may post forms and open websockets
    # (a JSON list: HOTLINE_TRUSTED_ORIGINS='["https://hotline.example"]'); public_base_url is one.
    trusted_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # larger bodies get 413
    # Sign-in throttle: attempts per login and per client address within the window, then 429.
    signin_attempts_per_login: int = Field(default=5, ge=1)
    signin_attempts_per_address: int = Field(default=30, ge=1)
    signin_window_s: int = Field(default=300, ge=1)

    pbx: Literal["asterisk", "twilio", "none"] = "asterisk"
    mode: Literal["observe", "control"] = "observe"  # pbx "twilio" is always control
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str = "hotline"
    ami_secret: SecretStr = SecretStr("change-me")
    ami_timeout_s: float = Field(default=5.0, gt=0)
    ami_transfer_context: str = "hotline-transfer"  # dialplan context of console transfers
    # Further Asterisks (a center outgrowing one PBX), by name: HOTLINE_PBX_LINKS='{"east": {"host":
    # "10.0.0.2", "secret": "…"}}'. The HOTLINE_AMI_* link above is always there, named "main";
    # queues and agents say their PBX in the call-center file (`pbx:`, default main).
    pbx_links: dict[str, PbxLink] = Field(default_factory=dict)

    # Twilio (pbx "twilio"): webhooks are checked against public_base_url, so it must be set.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("change-me")
    twilio_number: str = ""  # the hotline's Twilio number (E.164): caller ID of callbacks and surveys
    twilio_api_base_url: str | None = None  # None: api.twilio.com; a local stand-in in tests and demo
    # Access tokens for agents on Twilio Voice clients (`client:<id>`, the default Twilio target):
    # an API key (SK…) signs them, never the auth token; the TwiML app (AP…) lets them call out.
    twilio_api_key_sid: str = ""
    twilio_api_key_secret: SecretStr = SecretStr("")
    twilio_twiml_app_sid: str = ""
    # Answered webhooks are remembered this long (database), so a replay after a restart has no effect.
    twilio_replay_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0)

    # Presence: a console whose websocket is gone this long logs the agent off every queue (signing
    # out does at once); in observe mode the log-off reaches app_queue (cti.ami.members).
    presence_grace_s: float = Field(default=30.0, ge=0)

    recordings_dir: Path = Path("./var/recordings")
    # Where this host sees the PBX's MixMonitor folder (/var/spool/asterisk/monitor on the PBX);
    # default: <recordings_dir>/incoming, where the demo's simulated PBX writes.
    pbx_recordings_dir: Path | None = None
    # Where this host sees the PBX's cdr_csv Master.csv (/var/log/asterisk/cdr-csv/Master.csv on the PBX):
    # after a restart, calls that ended meanwhile are closed with its figures. Times are UTC with
    # cdr.conf `usegmtime = yes`, else in pbx_cdr_timezone (the PBX's zone, e.g. Asia/Shanghai).
    pbx_cdr_file: Path | None = None
    pbx_cdr_timezone: str = "UTC"
    # A MixMonitor WAV whose header a killed PBX never finished is repaired once unchanged this long.
    recordings_settle_s: float = Field(default=10.0, ge=0)

    # Signed audit head checkpoints (recordings/checkpoint.py): HMAC key the database never sees, and a
    # file the database user cannot rewrite. No key: no checkpoints (`audit verify` says so).
    audit_checkpoint_key: SecretStr = SecretStr("")
    audit_checkpoint_file: Path = Path("./var/audit/checkpoints.jsonl")
    audit_checkpoint_every_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _roles_share_postgresql_and_redis(self) -> Settings:
        """Checked first: a router or web process on SQLite is refused before anything else is said."""
        if self.role == ProcessRole.ALL:
            return self
        flag = f"{ENV_PREFIX}ROLE={self.role.value} (hotline serve --role {self.role.value})"
        if make_url(self.database_url).get_backend_name() == "sqlite":
            raise ValueError(
                f"{flag} is refused on SQLite: SQLite is the embedded single-process default (one file,"
                " one writer, in this process only). Separate router and web processes share PostgreSQL"
                f" and Redis: set {ENV_PREFIX}DATABASE_URL=postgresql+psycopg://… and"
                f" {ENV_PREFIX}REDIS_URL=redis://…, or run --role all"
            )
        if not (self.redis_url or "").strip():
            raise ValueError(
                f"{flag} needs {ENV_PREFIX}REDIS_URL (e.g. redis://127.0.0.1:6379/0): the router and the"
                " web workers exchange events, commands and sign-in counts through Redis"
            )
        return self

    @model_validator(mode="after")
    def _idle_session_timeout_exceeds_the_lease(self) -> Settings:
        """At or below the lease, PostgreSQL could end a live leader's lock session between two
        keepalives that its lease still covers: a leader deposed for nothing, and a takeover."""
        if self.router_idle_session_timeout_s <= self.router_lease_s:
            raise ValueError(
                f"{ENV_PREFIX}ROUTER_IDLE_SESSION_TIMEOUT_S ({self.router_idle_session_timeout_s:g} s) must"
                f" be greater than {ENV_PREFIX}ROUTER_LEASE_S ({self.router_lease_s:g} s): PostgreSQL would"
                " end a live leader's lock session within its lease"
            )
        return self

    @field_validator("pbx_links")
    @classmethod
    def _pbx_names(cls, links: dict[str, PbxLink]) -> dict[str, PbxLink]:
        for name in links:
            if name == MAIN_PBX:
                raise ValueError(f"{name!r} is the HOTLINE_AMI_* link's name: give the others their own")
            if re.fullmatch(PBX_NAME, name) is None:
                raise ValueError(f"PBX name {name!r}: lower-case letters, digits, '-' and '_', up to 20")
        return links

    def ami_links(self) -> dict[str, PbxLink]:
        """Every AMI link by PBX name: "main" (the HOTLINE_AMI_* settings) first, then pbx_links."""
        main = PbxLink(
            host=self.ami_host,
            port=self.ami_port,
            username=self.ami_username,
            secret=self.ami_secret,
            recordings_dir=self.pbx_recordings_dir,
            cdr_file=self.pbx_cdr_file,
        )
        return {MAIN_PBX: main, **self.pbx_links}

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_a_redis_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""  # never echoed: a password
        if scheme not in REDIS_SCHEMES:
            raise ValueError("not a Redis URL: it starts with redis://, rediss:// or unix://")
        return value.strip()

    @field_validator("pbx_cdr_timezone")
    @classmethod
    def _cdr_timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _pbx_links_are_asterisks(self) -> Settings:
        """Further links are AMI links: on Twilio or without a PBX they would be silently unused."""
        if self.pbx_links and self.pbx != "asterisk":
            raise ValueError(
                f"{ENV_PREFIX}PBX_LINKS lists further Asterisks, but {ENV_PREFIX}PBX is {self.pbx}: several"
                f" PBXs are Asterisks ({ENV_PREFIX}PBX=asterisk), or leave {ENV_PREFIX}PBX_LINKS unset"
            )
        return self

    @model_validator(mode="after")
    def _checkpoint_key_is_strong(self) -> Settings:
        key = self.audit_checkpoint_key.get_secret_value()
        if key and (len(key) < 16 or (not self.demo and key.strip().lower() in PLACEHOLDER_SECRETS)):
            raise ValueError("HOTLINE_AUDIT_CHECKPOINT_KEY needs at least 16 characters (or leave it empty)")
        return self

    @model_validator(mode="after")
    def _twilio_is_control_mode(self) -> Settings:
        if self.pbx != "twilio":
            return self
        if "mode" in self.model_fields_set and self.mode != "control":
            raise ValueError("HOTLINE_MODE must be control with HOTLINE_PBX=twilio (Hotline is the ACD)")
        self.mode = "control"
        if not self.demo:
            missing = [
                f"{ENV_PREFIX}{name.upper()}"
                for name in ("twilio_account_sid", "public_base_url")
                if not (getattr(self, name) or "").strip()
            ]
            if missing:
                raise ValueError(f"HOTLINE_PBX=twilio needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.demo:
            return self
        needed = {"session_secret": True, "ami_secret": self.pbx == "asterisk"}
        needed["twilio_auth_token"] = self.pbx == "twilio"
        needed["twilio_api_key_secret"] = bool(self.twilio_api_key_sid)
        weak = [
            f"{ENV_PREFIX}{name.upper()}"
            for name, wanted in needed.items()
            if wanted and getattr(self, name).get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ]
        if self.pbx == "asterisk":
            weak += [
                f"{ENV_PREFIX}PBX_LINKS.{name}.secret"
                for name, link in self.pbx_links.items()
                if link.secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
            ]
        if weak:
            listed = ", ".join(repr(p) for p in sorted(PLACEHOLDER_SECRETS) if p)
            raise ValueError(
                f"placeholder secret refused outside demo mode: {', '.join(weak)} is on Hotline's list of"
                f" placeholder secrets (config.settings.PLACEHOLDER_SECRETS: empty, {listed}, any case);"
                " set a secret of your own"
            )
        if len(self.session_secret.get_secret_value().strip()) < MIN_SESSION_SECRET:
            raise ValueError(
                f"{ENV_PREFIX}SESSION_SECRET must be at least {MIN_SESSION_SECRET} characters outside"
                " demo mode (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides.

    Raises SettingsError whose message names each offending variable as
    `HOTLINE_<FIELD>`, so an operator sees what to fix without a traceback.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            name = f"{ENV_PREFIX}{loc[0].upper()}" if loc else "settings"
            name += "".join(f".{part}" for part in loc[1:])  # e.g. HOTLINE_PBX_LINKS.east.secret
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
