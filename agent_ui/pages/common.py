"""What every page shares: the templates, rendering in the user's language, the role gate.

Pages carry little data of their own: live content arrives over the websocket
and is written into the page with `textContent`, never `innerHTML`, so a
customer named `<script>` shows as text. Every page speaks the signed-in user's
language (stored on the user, switchable at /language); before sign-in, the
browser's `Accept-Language` or the language chosen on the sign-in page.
Jinja2 with autoescape on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_ui import csrf, errors
from agent_ui.auth import SessionUser, session_user
from agent_ui.i18n import LANGUAGE_NAMES, Translate, messages, negotiate, supported, translator
from agent_ui.pages.nav import NavEntry, entries_for
from config.callcenter import QueueSpec
from tickets.errors import DeskError, InvalidTransition, NotFound, RefusalNotAllowed, TicketConflict

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

LANGUAGE_COOKIE = "hotline_lang"


def page_language(request: Request, user: SessionUser | None) -> str:
    if user is not None:
        return supported(user.language)
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return supported(chosen) if chosen else negotiate(request.headers.get("accept-language"))


def render(
    request: Request, name: str, user: SessionUser | None, status_code: int = 200, **context: Any
) -> Response:
    language = page_language(request, user)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "lang": language,
            "_": translator(language),
            "js_messages": messages(language),
            "languages": LANGUAGE_NAMES,
            "path": request.url.path,
            "here": _here(request),
            "tz": _center_zone(request),
            "nav": entries_for(user.role) if user is not None else [],
            "csrf_input": csrf.form_input(request),
            **context,
        },
        status_code=status_code,
    )
    csrf.set_cookie_if_new(request, response)
    return response


def _center_zone(request: Request) -> str | None:
    """The call center's time zone: every page shows times in it (and names it)."""
    container = getattr(request.app.state, "container", None)
    center = getattr(container, "callcenter", None)
    return getattr(center, "timezone", None)


def _here(request: Request) -> str:
    """This page with its query (filters, a verification shown): where the language switch returns to."""
    query = request.url.query
    here = f"{request.url.path}?{query}" if query else request.url.path
    return here if len(here) <= 1000 else request.url.path


# The label (message key) a desk form shows for each field its model may refuse: a 422 on a page
# names the field as the person read it, in their language, not by the model's attribute.
FIELD_LABELS: dict[str, str] = {
    "text": "tk.note_field",  # a ticket note (NoteIn.text; the form's field is `note`)
    "note": "tk.note_field",
    "reason": "tk.reason",
    "department_id": "tk.department",
    "technician_id": "tk.technician",
    "appointment_start": "tk.window",
    "due_at": "tk.until",
    "instructions": "tk.instructions",
    "resolution_code": "tk.code",
    "visibility": "tk.visibility",
    "into": "tk.merge_into",
    "category": "tk.category",
    "priority": "tk.priority",
    "owner_agent_id": "tk.owner",
    "area": "inc.area",
    "customer_tag": "inc.group",
    "description_zh": "inc.description_zh",
    "description_en": "inc.description_en",
    "expected_at": "inc.expected",
    "code": "cat.code",
    "name_zh": "cat.name_zh",
    "name_en": "cat.name_en",
    "sla_policy": "cat.sla",
    "title_zh": "kb.title_zh",
    "title_en": "kb.title_en",
    "body_zh": "kb.body_zh",
    "body_en": "kb.body_en",
    "duplicate_id": "cus.duplicate",
    "name": "org.name",
    "phone": "org.phone",
    "login": "org.login",
}


# A field refused because it and its sibling are both empty names both (ArticleIn: a title in
# either language).
EITHER_OF: dict[str, tuple[str, ...]] = {"title_en": ("title_zh", "title_en")}


def invalid_fields(exc: ValidationError | RequestValidationError, t: Translate) -> str:
    """The fields a form's model refused, by their labels on the page ("备注、部门"); a field no
    label is known for by its name, a check of the whole form by its message."""
    names: list[str] = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        keys = [FIELD_LABELS[loc[-1]]] if loc and loc[-1] in FIELD_LABELS else []
        if loc and loc[-1] in EITHER_OF:  # "one of these two": name both
            keys = [FIELD_LABELS[f] for f in EITHER_OF[loc[-1]]]
        for name in [t(k) for k in keys] or [".".join(loc) or str(err["msg"])]:
            if name not in names:
                names.append(name)
    return t("form.list_separator").join(names) or "—"


def safe_next(raw: str) -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere`. Browsers drop tabs
    and newlines from a URL (WHATWG URL parsing) and read a backslash as a slash, so `/<tab>/evil`
    and `/<backslash>evil` are `//evil` to them: any control character, space or backslash refuses it."""
    if not raw.startswith("/") or raw.startswith("//"):
        return "/"
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in raw):
        return "/"
    return raw


async def form_refused(request: Request, exc: Exception) -> Response:
    """A form the framework refused before a page's handler ran (letters in a number field, a
    field missing): a page in the reader's language naming the fields, with the way back, not
    the API's JSON. The API (and the PBX's webhooks) keep their JSON answer."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith(("/api/", "/twilio/")):
        return await errors.validation_error(request, exc)
    user = await session_user(request)
    t = translator(page_language(request, user))
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc == request.url.netloc and referer.path.startswith("/")
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else "")) if same_site else "/"
    message = t("tk.err.invalid", fields=invalid_fields(exc, t))
    return render(request, "refused.html", user, status_code=422, message=message, back=back)


async def page_missing(request: Request, exc: Exception) -> Response:
    """A person's browser asking for a page that does not exist (a mistyped or old link) gets a
    page in their language with the way home, not the API's JSON; the API, the PBX's webhooks,
    static files and any caller not asking for HTML keep the JSON answer."""
    assert isinstance(exc, StarletteHTTPException)
    machine = request.url.path.startswith(("/api/", "/twilio/", "/static/", "/metrics"))
    if exc.status_code != 404 or machine or "text/html" not in request.headers.get("accept", ""):
        return await errors.http_error(request, exc)
    user = await session_user(request)
    t = translator(page_language(request, user))
    return render(
        request,
        "refused.html",
        user,
        status_code=404,
        message=t("page.missing"),
        back="/",
        status_missing=True,
    )


def queue_title(queue: QueueSpec, language: str) -> str:
    chinese = supported(language) == "zh-CN"
    return (queue.title_zh if chinese and queue.title_zh else queue.title_en) or queue.name


async def gate(request: Request, entry: NavEntry) -> tuple[SessionUser | None, Response | None]:
    """The signed-in user if their role may open `entry`'s page; else the response to send instead."""
    user = await session_user(request)
    if user is None:
        return None, RedirectResponse("/login", status_code=303)
    if user.must_change_password:  # a password an admin chose: nothing else until it is changed
        return None, RedirectResponse("/account/password", status_code=303)
    if user.role not in entry.roles:
        return None, render(request, "forbidden.html", user, status_code=403, page=entry.path)
    return user, None


def work_order_refusal(exc: DeskError, prefix: str) -> tuple[str, int]:
    """The message key and status a work-order page answers a refused step with.

    The dispatch board, the technician's page and arbitration refuse the same way: someone
    changed the order since the page was read (409), the order's state does not allow the step
    (409), it is gone or not the user's (404), a refusal past the last allowed one (409), anything
    else the desk refused (409). `prefix` picks the page's wording (`dsp`, `fld`, `arb`)."""
    if isinstance(exc, TicketConflict):
        return f"{prefix}.conflict", 409
    if isinstance(exc, RefusalNotAllowed):
        return "fld.final", 409
    if isinstance(exc, InvalidTransition):
        return f"{prefix}.illegal", 409
    if isinstance(exc, NotFound):
        return f"{prefix}.not_found", 404
    return f"{prefix}.failed", 409
