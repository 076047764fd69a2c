"""API errors: one shape, one registry.

Every error response is `{"error_id": ..., "message": ..., "details": ...}`.
`error_id` is stable (clients switch on it), the message is for people.
Domain exceptions from tickets/, recordings/, routing/ are mapped to HTTP here,
in one table, instead of try/except in every route: a package registers its
exception with `register(ExcType, status, error_id)` when the app is built.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raise from a route or dependency to answer with a specific error."""

    def __init__(
        self,
        status: int,
        error_id: str,
        message: str,
        details: Any = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = details
        self.headers = headers


_REGISTRY: dict[type[Exception], tuple[int, str]] = {}


def register(exc_type: type[Exception], status: int, error_id: str) -> None:
    _REGISTRY[exc_type] = (status, error_id)


def error_body(error_id: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error_id": error_id, "message": message}
    if details is not None:
        body["details"] = details
    return body


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.error_id, exc.message, exc.details), status_code=exc.status, headers=exc.headers
    )


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]
    fields = ", ".join(d["field"] for d in details)
    return JSONResponse(error_body("invalid_input", f"invalid input: {fields}", details), status_code=422)


def _allowed_methods(request: Request) -> str | None:
    """Every method the path answers: Starlette's 405 names only the first matching route's,
    while FastAPI keeps one route per method."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= route.methods or set()
    return ", ".join(sorted(methods)) if methods else None


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error_id = {
        400: "bad_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
    }
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = allowed
    return JSONResponse(
        error_body(error_id.get(exc.status_code, "http_error"), str(exc.detail)),
        status_code=exc.status_code,
        headers=headers or None,
    )


def _domain_handler(status: int, error_id: str) -> Any:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(error_id, str(exc)), status_code=status)

    return handle


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for exc_type, (status, error_id) in _REGISTRY.items():
        app.add_exception_handler(exc_type, _domain_handler(status, error_id))
