"""The call-center file: queues, agents, skills (and demo seed data), in YAML.

This is what a supervisor edits; it is validated strictly (unknown keys are an
error: a misspelt `wrapup_s` silently ignored would be worse than a refusal),
and every error names its place in the file (`queues[1].strategy`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.hours import HoursSpec, known_zone
from config.ivr import IvrSpec
from config.settings import MAIN_PBX, PBX_NAME


class CallCenterError(Exception):
    """The call-center file cannot be read or is invalid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _proficiencies(skills: dict[str, int]) -> dict[str, int]:
    for skill, level in skills.items():
        if not 0 <= level <= 100:
            raise ValueError(f"proficiency of {skill!r} must be 0..100, got {level}")
    return skills


class QueueSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title_en: str = ""
    title_zh: str = ""
    strategy: str = "longest-idle"
    ring_timeout_s: float = Field(default=15, gt=0)
    wrapup_s: float = Field(default=5, ge=0)  # "agent": the maximum (0: none); "timer": the length
    wrapup_ends: Literal["agent", "timer"] = "agent"  # the agent's "Done" ends wrap-up
    hours: HoursSpec | None = None  # business hours (config.hours); None: always open
    # Observe mode, Asterisk: how app_queue knows this queue's members. "static": they are in
    # queues.conf (`member =>`), sign-in/out unpause/pause them; "dynamic": Hotline QueueAdds
    # them at sign-in and QueueRemoves them at sign-out (cti.ami.members).
    pbx_members: Literal["static", "dynamic"] = "static"
    # The PBX whose callers this queue holds (a name of HOTLINE_PBX_LINKS; "main": HOTLINE_AMI_*).
    pbx: str = Field(default=MAIN_PBX, pattern=PBX_NAME)
    # skill -> minimum proficiency every call of this queue needs (the router's
    # QueueConfig.required_skills); an IVR option may add its own (ivr.options[].skills).
    required_skills: dict[str, int] = Field(default_factory=dict)
    # Routing options beyond the basics are passed through to routing.QueueConfig.
    routing: dict[str, Any] = Field(default_factory=dict)

    @field_validator("required_skills")
    @classmethod
    def _minimum_in_range(cls, skills: dict[str, int]) -> dict[str, int]:
        return _proficiencies(skills)


class AgentSpec(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    queues: dict[str, int] = Field(default_factory=dict)  # queue name -> penalty (0 = first choice)
    skills: dict[str, int] = Field(default_factory=dict)  # skill -> proficiency 0..100
    # PBX interface: the queues.conf member (observe) and what control mode dials;
    # default "Local/<id>@agents/n", as in config/asterisk/queues.conf. Or "PJSIP/1001".
    interface: str | None = None
    # The PBX the agent's phone is on; their queues must be on it too (a call cannot cross PBXs).
    pbx: str = Field(default=MAIN_PBX, pattern=PBX_NAME)
    language: str = "zh-CN"
    wrapup_s: float | None = Field(default=None, ge=0)  # overrides the queue's wrap-up for this agent
    twilio: str | None = None  # Twilio: "client:<identity>", "sip:<uri>" or "+E164" (default client:<id>)

    def twilio_target(self) -> str:
        return self.twilio or f"client:{self.id}"

    @field_validator("skills")
    @classmethod
    def _proficiency_in_range(cls, skills: dict[str, int]) -> dict[str, int]:
        return _proficiencies(skills)

    def pbx_interface(self) -> str:
        return self.interface or f"Local/{self.id}@agents/n"


class UserSpec(_Strict):
    """A sign-in account. Agents get one automatically (login = agent id)."""

    login: str
    name: str
    role: str = Field(pattern=r"^(agent|supervisor|auditor|admin|technician)$")
    password: str | None = None  # demo seed only; production users set theirs
    queues: list[str] = Field(default_factory=list)  # supervisors: the queues they supervise (empty: all)
    phone: str | None = None  # supervisors: PBX device rung for listen/whisper/barge, e.g. "PJSIP/2001"


class CustomerSpec(_Strict):
    name: str
    phones: list[str]
    company: str = ""
    tier: str = "ordinary"
    address: str = ""
    notes: str = ""


class CallCenter(_Strict):
    queues: list[QueueSpec]
    agents: list[AgentSpec] = Field(default_factory=list)
    users: list[UserSpec] = Field(default_factory=list)
    demo_password: str | None = None  # demo: password of every seeded account
    customers: list[CustomerSpec] = Field(default_factory=list)  # demo seed
    ivr: IvrSpec = Field(default_factory=IvrSpec)  # Twilio IVR (config.ivr)
    # Service-desk rules (open-ticket window, categories, SLA policies, business calendar):
    # validated by tickets.config.parse_desk_config when the desk is built.
    service_desk: dict[str, Any] = Field(default_factory=dict)
    # The call center's own time zone: "since midnight" KPIs and the wallboard's day use it.
    timezone: str = "Asia/Shanghai"
    # The rolling window of the live figures (the wallboard's rates, handle time and Erlang C
    # forecast): the last 15 or 30 minutes is what supervisors usually staff by.
    kpi_window_min: int = Field(default=15, ge=5, le=240)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return known_zone(name)

    @cached_property
    def _queues_by_name(self) -> dict[str, QueueSpec]:
        return {q.name: q for q in reversed(self.queues)}  # the first of a name wins, as before

    @cached_property
    def _agents_by_id(self) -> dict[str, AgentSpec]:
        # The ticket list and the console look agents up per row and per request: a scan of a
        # center's thousands of agents each time cost tens of µs. The model is frozen, and an
        # admin's change builds a new CallCenter, so the index cannot go stale.
        return {a.id: a for a in reversed(self.agents)}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> CallCenter:
        """A copy whose indexes are built again: pydantic copies `__dict__`, caches included."""
        copy = super().model_copy(update=update, deep=deep)
        for index in ("_queues_by_name", "_agents_by_id"):
            copy.__dict__.pop(index, None)
        return copy

    def queue(self, name: str) -> QueueSpec | None:
        return self._queues_by_name.get(name)

    def agent(self, agent_id: str) -> AgentSpec | None:
        return self._agents_by_id.get(agent_id)

    def supervised_queues(self, login: str) -> frozenset[str]:
        """The queues a supervisor watches: their `queues`, or every queue when none are listed."""
        user = next((u for u in self.users if u.login == login), None)
        if user is None or not user.queues:
            return frozenset(q.name for q in self.queues)
        return frozenset(user.queues)


def load_callcenter(path: Path) -> CallCenter:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CallCenterError(f"cannot read call-center file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise CallCenterError(f"{path}: not valid YAML: {exc}") from exc
    return parse_callcenter(raw, origin=str(path))


def parse_callcenter(raw: object, origin: str = "<call-center>") -> CallCenter:
    try:
        center = CallCenter.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False))
        raise CallCenterError(f"{origin}: {problems}") from None
    names = {q.name for q in center.queues}
    for agent in center.agents:
        unknown = set(agent.queues) - names
        if unknown:
            raise CallCenterError(f"{origin}: agent {agent.id} is in unknown queue(s) {sorted(unknown)}")
        elsewhere = sorted(q for q in agent.queues if (spec := center.queue(q)) and spec.pbx != agent.pbx)
        if elsewhere:
            raise CallCenterError(
                f"{origin}: agent {agent.id} is on PBX {agent.pbx!r} but queue(s) {elsewhere} are on"
                " another PBX: a call is connected on its own PBX, so each queue's agents share it"
            )
    for i, option in enumerate(center.ivr.options):
        if option.queue not in names:
            raise CallCenterError(f"{origin}: ivr.options[{i}].queue: unknown queue {option.queue!r}")
    for user in center.users:
        unknown = set(user.queues) - names
        if unknown:
            raise CallCenterError(f"{origin}: user {user.login} watches unknown queue(s) {sorted(unknown)}")
    return center


def check_pbx_names(center: CallCenter, known: Collection[str], origin: str = "<call-center>") -> None:
    """Every queue's and agent's `pbx` is a configured link (settings.ami_links()): checked when the
    links are built, since the call-center file alone does not know them. The first unknown one is
    named with its queue or agent."""
    for queue in center.queues:
        if queue.pbx not in known:
            raise CallCenterError(
                f"{origin}: queue {queue.name}: unknown PBX {queue.pbx!r} (configured: {sorted(known)};"
                " further PBXs are set in HOTLINE_PBX_LINKS)"
            )
    for agent in center.agents:
        if agent.pbx not in known:
            raise CallCenterError(
                f"{origin}: agent {agent.id}: unknown PBX {agent.pbx!r} (configured: {sorted(known)};"
                " further PBXs are set in HOTLINE_PBX_LINKS)"
            )


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "file"
