"""The OpenAPI document says every status an operation can answer, derived once from the routes.

FastAPI documents 200 and 422 (with a body shape we do not send). The app also answers:
401/403 where a role dependency guards the route (`agent_ui.auth.require_roles`), 403 to a
cross-origin state-changing request (`agent_ui.middleware.OriginCheck`), 404 where a path
names a row, 409 where a write meets a stale version or an illegal transition, 400/413 to a
body that cannot be parsed or is too large, and whatever a route declares itself
(`responses={429: ..., 503: ...}`). Every error has one shape, `ErrorBody`
(`agent_ui.errors`). Each operation also lists the roles that may call it as `x-roles`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error_id", "message"],
    "properties": {
        "error_id": {"type": "string", "description": "stable: clients switch on it"},
        "message": {"type": "string", "description": "for people"},
        "details": {"description": "e.g. the invalid fields of a 422"},
    },
}

DESCRIPTIONS = {
    400: "The body could not be parsed",
    401: "Not signed in (`not_authenticated`), or the sign-in failed (`login_failed`)",
    403: "The role may not do this, the resource is not yours, or the request came from another site",
    404: "No such resource, or not one you may see",
    409: "A stale version, an illegal transition or a conflicting state",
    413: "The body is larger than the server accepts",
    422: "Invalid input; `details` names each field",
    429: "Too many attempts; wait for Retry-After seconds",
    501: "Not offered by this telephony link",
    502: "The telephony link refused the order",
    503: "Busy or not configured here; Retry-After when it is worth retrying",
}
WITH_RETRY_AFTER = frozenset({429, 503})


def _response(status: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if status in WITH_RETRY_AFTER:
        body["headers"] = {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}
    return body


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _params(dependant: Dependant) -> tuple[set[str], set[str]]:
    path = {p.name for p in dependant.path_params}
    query = {q.name for q in dependant.query_params}
    for sub in dependant.dependencies:
        sub_path, sub_query = _params(sub)
        path |= sub_path
        query |= sub_query
    return path, query


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route as served: FastAPI keeps included routers nested, and what an include
    adds (its prefix, its dependencies) lives on the route's context, not on the route."""
    for context in iter_route_contexts(app.routes):
        if getattr(context, "dependant", None) is not None and context.methods:
            yield context


def roles_of(route: Any) -> frozenset[str] | None:
    """The roles that may call the route (None: no sign-in needed). The narrowest guard wins."""
    found: frozenset[str] | None = None
    # The endpoint itself may carry the guard: a hot read that checks its role by a plain
    # call instead of a dependency level (`agent_ui.api.tickets.get_ticket`).
    for call in (route.dependant.call, *_calls(route.dependant)):
        roles = getattr(call, "hotline_roles", None)
        if roles is not None:
            allowed = frozenset(str(r) for r in roles)
            found = allowed if found is None else found & allowed
    return found


def _statuses(route: Any, method: str, all_roles: frozenset[str]) -> set[int]:
    statuses: set[int] = set()
    roles = roles_of(route)
    path_params, query_params = _params(route.dependant)  # a dependency's own parameters too
    has_params = bool(path_params or query_params)
    has_body = route.body_field is not None
    if roles is not None:
        statuses |= {401}
        if roles != all_roles:
            statuses.add(403)
    if method in UNSAFE:
        statuses |= {403, 409, 413}
    if path_params:
        statuses.add(404)
    if has_body:
        statuses |= {400, 413, 422}
        if method in UNSAFE:
            statuses.add(404)  # a row the body names (customer_id, department_id, ...) is missing
    if has_params:
        statuses.add(422)
    return statuses


def install(app: FastAPI, all_roles: frozenset[str]) -> None:
    """Replace `app.openapi` with one that declares the error statuses (cached, like FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas["ErrorBody"] = ERROR_BODY
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        routes = {(route.path_format, method): route for route in api_routes(app) for method in route.methods}
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                route = routes.get((path, method.upper()))
                if route is None:
                    continue
                responses = operation.setdefault("responses", {})
                declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
                for status in sorted(_statuses(route, method.upper(), all_roles) | declared):
                    if status in DESCRIPTIONS:  # else the route's own declaration stands (416)
                        responses[str(status)] = _response(status)
                roles = roles_of(route)
                operation["x-roles"] = sorted(roles) if roles is not None else []
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
