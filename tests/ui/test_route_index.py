"""`agent_ui.route_index`: the path-indexed lookup picks, for every route the app serves,
the route FastAPI's own walk picks; what it does not decide goes to the walk unchanged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, _IncludedRouter
from starlette import routing
from starlette.routing import Match

from agent_ui import route_index
from agent_ui.app import create_app
from config.settings import load_settings


def _app(tmp_path: Path) -> FastAPI:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        session_secret="route-index-test-secret-0123456789abcdef",
        pbx="none",
    )
    return create_app(settings)


def _templates(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path template, methods) of every route the app serves, included routers' too."""
    out: list[tuple[str, set[str]]] = []
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for context in route.effective_route_contexts():
                if context.starlette_route is not None:
                    r = context.starlette_route
                    out.append((r.path, set(getattr(r, "methods", None) or {"GET"})))
                else:
                    out.append((context.path_format, set(context.methods or {"GET"})))
        elif isinstance(route, routing.Mount):
            out.append((route.path + "/{path}", {"GET"}))
        elif isinstance(route, (APIRoute, routing.Route, routing.WebSocketRoute)):
            out.append((route.path, set(getattr(route, "methods", None) or {"GET"})))
    return out


def _concrete(template: str) -> list[str]:
    """Paths the template matches: each parameter as a number, a word, and (path) two segments."""
    return [re.sub(r"\{[^}]*\}", value, template) for value in ("7", "abc", "a/b")]


def _first_match(routes: Sequence[Any], scope: dict[str, Any]) -> tuple[Match, Any]:
    """The route a walk of `routes` in order handles `scope` with, as FastAPI's walk chooses:
    the first full match, else the first partial one (a 405)."""
    partial = None
    for route in routes:
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return match, route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


def _indexed_of(app: FastAPI) -> route_index.IndexedRoutes:
    holder: Any = app.router.middleware_stack
    while not isinstance(holder, route_index.IndexedRoutes):
        holder = holder.app
    return holder


def test_every_route_and_method_picks_what_fastapis_walk_picks(tmp_path: Path) -> None:
    app = _app(tmp_path)
    indexed = _indexed_of(app)
    templates = _templates(app)
    assert len(templates) > 100
    checked = 0
    for template, methods in templates:
        for path in [*_concrete(template), template.rstrip("/") + "/", template + "/x", template.rstrip("/")]:
            for method in (*methods, "DELETE", "OPTIONS"):
                scope = {"type": "http", "method": method, "path": path or "/", "root_path": "",
                         "headers": [], "query_string": b""}  # fmt: skip
                walked = _first_match(app.router.routes, scope)
                assert _first_match(indexed.candidates(scope["path"]), scope) == walked, (method, path)
                checked += walked[0] != Match.NONE
    assert checked > len(templates)  # most concrete paths matched something: the check has teeth


def test_a_path_no_route_has_is_tried_against_no_route() -> None:
    app = _app(Path("/nonexistent-but-unused"))
    indexed = _indexed_of(app)
    tickets = indexed.candidates("/api/tickets/5")
    assert tickets and all(r.path.startswith("/api/tickets") for r in tickets)  # of ~130 routes
    assert indexed.candidates("/no/such/place") == []
    assert indexed.candidates("/") != []  # the home page


def test_a_route_added_before_the_first_request_is_in_the_table(tmp_path: Path) -> None:
    app = _app(tmp_path)
    indexed = _indexed_of(app)
    assert indexed.candidates("/api/tickets/5")  # builds the table

    async def extra() -> dict[str, str]:
        return {}

    app.add_api_route("/api/zzz-extra", extra, methods=["GET"])
    found = indexed.candidates("/api/zzz-extra")
    assert [getattr(r, "path", None) for r in found] == ["/api/zzz-extra"]


async def test_unmatched_paths_still_get_fastapis_answers(tmp_path: Path) -> None:
    """404 (a page for a browser path, JSON under /api), 405 with Allow, and the slash redirect:
    the requests the table finds no route for, or only a partial one."""
    app = _app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        missing_api = await client.get("/api/no-such-thing", headers={"accept": "application/json"})
        wrong_method = await client.put("/api/health")
        redirect = await client.get("/api/health/")
    assert missing_api.status_code == 404
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers.get("allow", "")
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/api/health")
