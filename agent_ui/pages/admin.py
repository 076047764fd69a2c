"""Administration in the browser (admins): queues, agents, supervisors' queues, IVR prompts, SLA.

Each form changes one part of the call-center document; `agent_ui.center.CenterAdmin` validates the
whole as strictly as the YAML file, applies it to the running router (no restart: the next routing
decision follows it), stores it and writes `admin.config_change` with before and after. A refused
change re-renders the page with the reason (422 invalid, 409 the running router cannot take it now)
and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent_ui.auth import SessionUser, client_ip
from agent_ui.center import RESTART_NEEDED, CenterAdmin, CenterRefused, document
from agent_ui.deps import AccountsDep, container_of
from agent_ui.models import Role
from agent_ui.pages.common import gate, render
from agent_ui.pages.nav import ADMIN_USERS, CATEGORIES, NavEntry
from routing.config import STRATEGIES

router = APIRouter(include_in_schema=False)

ADMINS = ADMIN_USERS.roles
QUEUES = NavEntry("/admin/queues", "admin.queues", ADMINS)
AGENTS = NavEntry("/admin/agents", "admin.agents", ADMINS)
CENTER = NavEntry("/admin/center", "admin.center", ADMINS)
# The categories' dispatch rules have their own page (agent_ui.pages.categories): linked, not repeated.
TABS = [(ADMIN_USERS.path, "nav.admin_users"), (QUEUES.path, QUEUES.label), (AGENTS.path, AGENTS.label),
        (CENTER.path, CENTER.label), (CATEGORIES.path, CATEGORIES.label)]  # fmt: skip

Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=20_000)]


def _admin(request: Request) -> CenterAdmin:
    admin = container_of(request).center_admin
    assert admin is not None
    return admin


def pairs(text: str, what: str) -> dict[str, int]:
    """'support:0, billing:1' -> {'support': 0, 'billing': 1}."""
    out: dict[str, int] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        try:
            out[name.strip()] = int(value.strip()) if sep else 0
        except ValueError:
            raise CenterRefused(422, f"{what}: write name:number, got {part.strip()!r}") from None
    return out


def _pairs_text(values: dict[str, int]) -> str:
    return ", ".join(f"{k}:{v}" for k, v in values.items())


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CenterRefused(422, f"{what}: not a number: {text!r}") from None


async def _page(
    request: Request,
    user: SessionUser,
    name: str,
    status_code: int = 200,
    error: str | None = None,
    **extra: Any,
) -> Response:
    center = _admin(request).current
    return render(
        request, name, user, status_code=status_code, error=error, center=center, doc=document(center),
        admin_tabs=TABS, strategies=sorted(STRATEGIES), pairs_text=_pairs_text,
        mode=container_of(request).settings.mode, **extra,
    )  # fmt: skip


async def _save(
    request: Request, user: SessionUser, raw: dict[str, Any], change: str, before: object, after: object
) -> None:
    await _admin(request).save(
        raw, actor=user.login, role=str(user.role), change=change, before=before, after=after,
        source_ip=client_ip(request),
    )  # fmt: skip


# ------------------------------------------------------------------ queues


@router.get(QUEUES.path, response_class=HTMLResponse)
async def queues_page(request: Request) -> Response:
    user, refusal = await gate(request, QUEUES)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _page(request, user, "admin_queues.html")


@router.post(QUEUES.path + "/{name}", response_class=HTMLResponse)
async def queue_save(
    request: Request,
    name: str,
    strategy: Short,
    ring_timeout_s: Short,
    wrapup_s: Short,
    wrapup_ends: Short,
    open_hours: Long = "",
    holidays: Long = "",
    timezone: Short = "Asia/Shanghai",
    overflow_to: Short = "",
    overflow_after_s: Short = "",
    required_skills: Long = "",
) -> Response:
    user, refusal = await gate(request, QUEUES)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    raw = document(_admin(request).current)
    try:
        queue = next((q for q in raw["queues"] if q["name"] == name), None)
        if queue is None:
            raise CenterRefused(404, f"no queue {name!r}")
        before = dict(queue)
        queue.update(strategy=strategy, wrapup_ends=wrapup_ends)
        queue["ring_timeout_s"] = _number(ring_timeout_s, "ring timeout")
        queue["wrapup_s"] = _number(wrapup_s, "wrap-up maximum")
        queue["required_skills"] = pairs(required_skills, "required skills")  # empty: none
        spans = {}
        for line in open_hours.splitlines():
            if line.strip():
                days, sep, times = line.partition(":")
                if not sep:
                    raise CenterRefused(422, f"hours: write days: HH:MM-HH:MM, got {line.strip()!r}")
                spans[days.strip()] = times.strip()
        dates = [d.strip() for d in holidays.replace("\n", ",").split(",") if d.strip()]
        queue["hours"] = {"timezone": timezone, "open": spans, "holidays": dates} if spans or dates else None
        routing = dict(queue.get("routing") or {})
        routing.pop("overflow_to", None)
        routing.pop("overflow_after_s", None)
        if overflow_to:
            routing["overflow_to"] = overflow_to
            if overflow_after_s:
                routing["overflow_after_s"] = _number(overflow_after_s, "overflow after")
        queue["routing"] = routing
        await _save(request, user, raw, f"queues[{name}]", before, queue)
    except CenterRefused as exc:
        return await _page(request, user, "admin_queues.html", exc.status, exc.message)
    return RedirectResponse(QUEUES.path + "?saved=" + name, status_code=303)


# ------------------------------------------------------------------ agents


@router.get(AGENTS.path, response_class=HTMLResponse)
async def agents_page(request: Request) -> Response:
    user, refusal = await gate(request, AGENTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _page(request, user, "admin_agents.html")


@router.post(AGENTS.path, response_class=HTMLResponse)
async def agent_save(
    request: Request,
    agent_id: Annotated[str, Form(alias="id", max_length=40)],
    name: Short,
    queues: Long = "",
    skills: Long = "",
    interface: Short = "",
    twilio: Short = "",
    language: Short = "zh-CN",
) -> Response:
    """Create or change one agent (by id)."""
    user, refusal = await gate(request, AGENTS)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    raw = document(_admin(request).current)
    try:
        agent = next((a for a in raw["agents"] if a["id"] == agent_id.strip()), None)
        before = dict(agent) if agent else None
        if agent is None:
            agent = {"id": agent_id.strip()}
            raw["agents"].append(agent)
        agent.update(
            name=name.strip(), queues=pairs(queues, "queues"), skills=pairs(skills, "skills"),
            interface=interface.strip() or None, twilio=twilio.strip() or None, language=language,
        )  # fmt: skip
        await _save(request, user, raw, f"agents[{agent_id.strip()}]", before, agent)
    except CenterRefused as exc:
        return await _page(request, user, "admin_agents.html", exc.status, exc.message)
    return RedirectResponse(AGENTS.path + "?saved=" + agent_id.strip(), status_code=303)


# ------------------------------------------------------------------ supervisors, IVR, SLA


async def _supervisors(request: Request, accounts: AccountsDep) -> list[dict[str, Any]]:
    listed = {u.login: u for u in _admin(request).current.users}
    out = []
    for account in await accounts.list():
        if account.role is Role.SUPERVISOR:
            spec = listed.get(account.login)
            out.append(
                {"login": account.login, "name": account.name, "queues": list(spec.queues) if spec else [],
                 "phone": (spec.phone or "") if spec else ""}
            )  # fmt: skip
    return out


def _yaml(value: object) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


@router.get(CENTER.path, response_class=HTMLResponse)
async def center_page(request: Request, accounts: AccountsDep) -> Response:
    user, refusal = await gate(request, CENTER)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    doc = document(_admin(request).current)
    return await _page(
        request, user, "admin_center.html", supervisors=await _supervisors(request, accounts),
        ivr_text=_yaml(doc["ivr"]), desk_text=_yaml(doc["service_desk"]), import_text="",
        restart_needed=RESTART_NEEDED,
    )  # fmt: skip


@router.post(CENTER.path + "/supervisors/{login}", response_class=HTMLResponse)
async def supervisor_save(request: Request, accounts: AccountsDep, login: str) -> Response:
    user, refusal = await gate(request, CENTER)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    form = await request.form()
    chosen = [str(q) for q in form.getlist("queues")]
    phone = str(form.get("phone") or "").strip()[:200]
    account = await accounts.get(login)
    raw = document(_admin(request).current)
    try:
        if account is None or account.role is not Role.SUPERVISOR:
            raise CenterRefused(404, f"no supervisor {login!r}")
        spec = next((u for u in raw["users"] if u["login"] == login), None)
        before = dict(spec) if spec else None
        if spec is None:
            spec = {"login": login, "name": account.name, "role": "supervisor"}
            raw["users"].append(spec)
        spec.update(queues=chosen, phone=phone or None)
        await _save(request, user, raw, f"supervisors[{login}]", before, spec)
    except CenterRefused as exc:
        return await _center_refused(request, accounts, user, exc)
    return RedirectResponse(CENTER.path + "?saved=" + login, status_code=303)


@router.get(CENTER.path + "/export.yaml")
async def center_export(request: Request) -> Response:
    """The configuration in force as the call-center file (`hotline config export` does the same)."""
    user, refusal = await gate(request, CENTER)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return Response(
        _yaml(document(_admin(request).current)), media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="callcenter.yaml"'},
    )  # fmt: skip


@router.post(CENTER.path + "/import", response_class=HTMLResponse)
async def center_import(
    request: Request, accounts: AccountsDep, text: Annotated[str, Form(max_length=500_000)]
) -> Response:
    """A whole call-center file: validated as strictly as at start-up, applied to the running router
    as every admin change is (or refused whole), stored, audited with the counts before and after."""
    user, refusal = await gate(request, CENTER)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    current = _admin(request).current
    try:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CenterRefused(422, f"import: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise CenterRefused(422, "import: a call-center file (a mapping with queues:) is expected")
        before = {"queues": [q.name for q in current.queues], "agents": [a.id for a in current.agents]}
        after = {"queues": [q.get("name") for q in raw.get("queues") or [] if isinstance(q, dict)],
                 "agents": [a.get("id") for a in raw.get("agents") or [] if isinstance(a, dict)]}  # fmt: skip
        await _save(request, user, raw, "import", before, after)
    except CenterRefused as exc:
        return await _center_refused(request, accounts, user, exc, import_text=text)
    return RedirectResponse(CENTER.path + "?saved=import", status_code=303)


@router.post(CENTER.path + "/{section}", response_class=HTMLResponse)
async def section_save(request: Request, accounts: AccountsDep, section: str, text: Long) -> Response:
    """The IVR (`ivr`) or the service desk's rules with the SLA policies (`service_desk`), as YAML."""
    user, refusal = await gate(request, CENTER)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    raw = document(_admin(request).current)
    try:
        if section not in ("ivr", "service_desk"):
            raise CenterRefused(404, f"no section {section!r}")
        try:
            value = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise CenterRefused(422, f"{section}: not valid YAML: {exc}") from None
        before = raw[section]
        raw[section] = value
        await _save(request, user, raw, section, before, value)
    except CenterRefused as exc:
        return await _center_refused(request, accounts, user, exc, **{f"{section}_text": text})
    return RedirectResponse(CENTER.path + "?saved=" + section, status_code=303)


async def _center_refused(
    request: Request, accounts: AccountsDep, user: SessionUser, exc: CenterRefused, **texts: str
) -> Response:
    doc = document(_admin(request).current)
    return await _page(
        request, user, "admin_center.html", exc.status, exc.message,
        supervisors=await _supervisors(request, accounts),
        ivr_text=texts.get("ivr_text", _yaml(doc["ivr"])),
        desk_text=texts.get("service_desk_text", _yaml(doc["service_desk"])),
        import_text=texts.get("import_text", ""), restart_needed=RESTART_NEEDED,
    )  # fmt: skip
