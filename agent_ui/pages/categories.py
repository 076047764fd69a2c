"""Categories and their dispatch rules (supervisors, admins): department, SLA policy, auto-dispatch.

    GET  /desk/categories    the list, one form per category, and a form for a new one
    POST /desk/categories    save one (by code; version-checked; on the audit log)

The rules are applied by the desk whenever a ticket's category is set (tickets.categories).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from agent_ui.api.desk_common import actor_of
from agent_ui.auth import SessionUser
from agent_ui.deps import Desk
from agent_ui.i18n import supported, translator
from agent_ui.pages.common import gate, invalid_fields, render
from agent_ui.pages.nav import CATEGORIES
from tickets.categories import CategoryIn
from tickets.errors import AlreadyExists, DeskError, InvalidPhoneNumber, NotFound, TicketConflict
from tickets.lifecycle import Actor
from tickets.schemas import DepartmentCreate, TechnicianCreate
from tickets.service import ServiceDesk

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request,
    user: SessionUser,
    desk: ServiceDesk,
    *,
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    lang = supported(user.language)
    rules = await desk.categories.all(include_inactive=True)
    saved = request.query_params.get("saved", "")
    return render(
        request,
        "categories.html",
        user,
        status_code=status_code,
        message=message,
        saved=saved if saved in {r.code for r in rules} | {"department", "technician"} else "",
        rules=[{"rule": r, "title": r.title(lang)} for r in rules],
        departments=await desk.work_orders.departments(),
        technicians=await desk.work_orders.technicians(),
        policies=[p.name for p in desk.ctx.sla.policies],
    )


@router.get("/desk/categories", response_class=HTMLResponse)
async def categories_page(request: Request, desk: Desk) -> Response:
    user, refusal = await gate(request, CATEGORIES)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    return await _page(request, user, desk)


def _id(raw: object) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) <= 9 else None


Submit = Callable[[FormData, Actor], Awaitable[str]]
"""What a form on this page does with its fields; answers the `saved` marker shown on return."""


async def _submit(request: Request, desk: ServiceDesk, submit: Submit) -> Response:
    """One form post: the role gate, the action, and each refusal as the page with its message
    (422 a field, 404 a department that is gone, 409 a clash), or back to the page, saved."""
    user, refusal = await gate(request, CATEGORIES)
    if refusal is not None or user is None:
        return refusal  # type: ignore[return-value]
    t = translator(supported(user.language))
    form = await request.form()
    try:
        saved = await submit(form, actor_of(user, request))
    except ValidationError as exc:
        message = t("tk.err.invalid", fields=invalid_fields(exc, t))
        return await _page(request, user, desk, status_code=422, message=message)
    except InvalidPhoneNumber as exc:
        return await _page(request, user, desk, status_code=422, message=t("cus.bad_phone", phone=exc.raw))
    except NotFound:
        message = t("tk.err.invalid", fields=t("tk.department"))
        return await _page(request, user, desk, status_code=404, message=message)
    except AlreadyExists:
        return await _page(request, user, desk, status_code=409, message=t("org.code_taken"))
    except TicketConflict:
        return await _page(request, user, desk, status_code=409, message=t("cat.conflict"))
    except DeskError as exc:
        return await _page(request, user, desk, status_code=409, message=t("tk.err.refused", why=str(exc)))
    return RedirectResponse(f"/desk/categories?saved={saved}", status_code=303)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "")).strip()


@router.post("/desk/categories", response_class=HTMLResponse)
async def save_category(request: Request, desk: Desk) -> Response:
    async def save(form: FormData, actor: Actor) -> str:
        data = CategoryIn(
            code=_text(form, "code"),
            name_zh=str(form.get("name_zh", "")),
            name_en=str(form.get("name_en", "")),
            department_id=_id(form.get("department_id")),
            sla_policy=str(form.get("sla_policy") or "") or None,
            auto_dispatch=form.get("auto_dispatch") == "on",
            technician_id=_id(form.get("technician_id")),
            active=form.get("active") == "on",
            version=_id(form.get("version")),
        )
        await desk.categories.save(data, actor)
        return data.code

    return await _submit(request, desk, save)


# ------------------------------------------------------------------ departments and technicians
# The people work orders go to: added here by supervisors and admins (the API could; no page
# could, so a real center had no way to add its first technician without a script).


@router.post("/desk/departments", response_class=HTMLResponse)
async def add_department(request: Request, desk: Desk) -> Response:
    async def add(form: FormData, actor: Actor) -> str:
        data = DepartmentCreate(code=_text(form, "code"), name=_text(form, "name"))
        await desk.work_orders.add_department(data, actor)
        return "department"

    return await _submit(request, desk, add)


@router.post("/desk/technicians", response_class=HTMLResponse)
async def add_technician(request: Request, desk: Desk) -> Response:
    async def add(form: FormData, actor: Actor) -> str:
        data = TechnicianCreate(
            name=_text(form, "name"),
            phone=_text(form, "phone"),
            department_id=_id(form.get("department_id")),
            login=_text(form, "login") or None,
        )
        await desk.work_orders.add_technician(data, actor)
        return "technician"

    return await _submit(request, desk, add)
