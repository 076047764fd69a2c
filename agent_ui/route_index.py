"""The app's top-level routes looked up by the request path's first two segments.

FastAPI 0.165 matches a request by trying the app's routes in order, and an included router
by trying its routes in turn (`_IncludedRouter._match`, nested routers inside it, each with a
walk of its routes to check their version): a `GET /api/tickets/5` went through the pages
router's 63 routes, the websockets', and the auth, console, supervisor and reports routers'
before the desk's — ~90 route matches, about half of the request's CPU in-process (py-spy,
docs/BENCHMARKS.md #18). Every route's path starts with literal segments (`/api/tickets/…`,
`/admin/users`, `/static/…`), so for most paths only one or two top-level routes can match.

`install(app)` replaces the router's entry point with `IndexedRoutes`: for an HTTP request it
tries, in the app's own order, only the top-level routes that have a route whose first two
path segments can equal the request's (a literal segment equal to it, or a `{parameter}`),
and handles the first full match, else the first partial one (a 405), exactly as FastAPI's
walk does. Routes skipped cannot match the path (their regex starts with a different literal),
so the route chosen is the one the walk would choose. A request no candidate matches — a 404,
a slash redirect, a low-priority route — and every websocket and lifespan event go through
FastAPI's own walk, unchanged. The routes themselves, their dependencies, the OpenAPI
document and `url_path_for` are not touched.

The table is built at the first request from the routes as they are then, and built again if
the app's own route list changes length or version (`add_api_route`, `include_router`);
routes added afterwards to a router already included are not seen (none are: the app's routes
are all declared in `create_app`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter, _apply_router_form_limits, _IncludedRouter, _update_scope
from fastapi.telemetry._api import _route_selected
from starlette import routing
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

WILD = object()  # a route segment that can be any request segment (a parameter)
END = object()  # a route path with no segment here: matches a request path that has none
DEPTH = 2  # segments looked at: `/api/tickets/…` tells the desk's routes from the others'
MEMO_MAX = 1024  # request keys remembered; beyond it (paths nobody serves) computed each time


def _route_key(path: str | None) -> tuple[object, ...] | None:
    """The first DEPTH segments of a route's path, a parameter as WILD (and everything after
    it: a `{name:path}` parameter spans slashes), a missing segment as END; None: any path."""
    if path is None or not path.startswith("/"):
        return None
    segments = path.split("/")[1:]
    key: list[object] = []
    for i in range(DEPTH):
        if i >= len(segments):
            key.append(END)
        elif "{" in segments[i]:
            key.extend([WILD] * (DEPTH - i))
            break
        else:
            key.append(segments[i])
    return tuple(key)


def _keys_of(route: Any) -> list[tuple[object, ...] | None]:
    """Every key a top-level route can match (None in the list: it can match any path)."""
    if isinstance(route, _IncludedRouter):
        keys: list[tuple[object, ...] | None] = []
        for context in route.effective_route_contexts():
            if context.starlette_route is not None:
                keys.extend(_keys_of(context.starlette_route))
            elif isinstance(context.original_route, APIRoute):
                keys.append(_route_key(context.path_format))
            else:  # a frontend route group or anything else FastAPI may add: no assumption
                keys.append(None)
        return keys
    if isinstance(route, routing.Mount):
        return [_route_key(route.path.rstrip("/") + "/{path:path}")]
    if isinstance(route, (APIRoute, routing.Route, routing.WebSocketRoute)):
        return [_route_key(route.path)]
    return [None]  # Host, custom routes: tried for every path


def _request_key(path: str) -> tuple[str | None, ...]:
    segments = path.split("/", DEPTH + 1)[1:]
    return tuple(segments[i] if i < len(segments) else None for i in range(DEPTH))


def _fits(route_key: tuple[object, ...] | None, request_key: tuple[str | None, ...]) -> bool:
    if route_key is None:
        return True
    for want, got in zip(route_key, request_key, strict=True):
        if want is WILD:
            return got is not None  # a parameter: what follows it is not looked at
        if want is END:
            if got is not None:
                return False
            continue
        if want != got:
            return False
    return True


class IndexedRoutes:
    """The router's entry point (`router.middleware_stack`): see the module docstring."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.walk = router.app  # FastAPI's own matching, for everything the table does not decide
        self._built_for: tuple[int, int, int] | None = None
        self._keys: list[tuple[Any, list[tuple[object, ...] | None]]] = []
        self._memo: dict[tuple[str | None, ...], list[Any]] = {}

    def _fingerprint(self) -> tuple[int, int, int]:
        routes = self.router.routes
        return id(routes), len(routes), self.router._routes_version

    def _build(self) -> None:
        self._keys = [(route, _keys_of(route)) for route in self.router.routes]
        self._memo = {}
        self._built_for = self._fingerprint()

    def candidates(self, path: str) -> list[Any]:
        """The top-level routes that can match `path`, in the app's order."""
        if self._built_for != self._fingerprint():
            self._build()
        key = _request_key(path)
        found = self._memo.get(key)
        if found is None:
            found = [route for route, keys in self._keys if any(_fits(k, key) for k in keys)]
            if len(self._memo) < MEMO_MAX:
                self._memo[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.walk(scope, receive, send)
            return
        router = self.router
        _apply_router_form_limits(scope, router.form_limits)  # as the walk starts (idempotent)
        if "router" not in scope:
            scope["router"] = router
        partial: tuple[Any, Scope] | None = None
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                await self._handle(route, child_scope, scope, receive, send)
                return
            if match == Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            await self._handle(partial[0], partial[1], scope, receive, send)
            return
        await self.walk(scope, receive, send)  # no route: slash redirect, low priority, 404

    @staticmethod
    async def _handle(route: Any, child_scope: Scope, scope: Scope, receive: Receive, send: Send) -> None:
        # What FastAPI's walk does with the route it picked (fastapi.routing.APIRouter.app).
        _update_scope(scope, child_scope)
        _route_selected(
            scope=scope, path=getattr(route, "path_format", None), mount=isinstance(route, routing.Mount)
        )
        await route.handle(scope, receive, send)


def install(app: FastAPI) -> IndexedRoutes | None:
    """Route `app`'s HTTP requests through the table, in place of FastAPI's walk inside the
    router's own middlewares (its body limit). Not installed (None) when the walk is not
    found there."""
    router = app.router
    holder: Any = router
    attribute = "middleware_stack"
    for _ in range(8):  # the router's middlewares, each holding the next as `.app`
        inner = getattr(holder, attribute, None)
        if inner == router.app:
            indexed = IndexedRoutes(router)
            setattr(holder, attribute, indexed)
            return indexed
        if inner is None or not hasattr(inner, "app"):
            return None
        holder, attribute = inner, "app"
    return None
