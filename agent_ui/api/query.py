"""Query strings parsed by one pydantic model, for routes where FastAPI's per-parameter work shows.

FastAPI resolves each declared query parameter on its own (look it up, pick its model field,
validate it alone): ~110 µs for the ticket list's ten, a tenth of the whole page on SQLite
(docs/BENCHMARKS.md, #18). `parse_query` validates the whole query string in one
`model_validate` call (~10 µs). What stays the same: a bad value answers 422 through the
same `RequestValidationError` handler, each error located as FastAPI locates it
(`query.limit`, `query.state.0`); unknown parameters are ignored; a repeated scalar takes its
last value. `query_parameters` lists the model's fields in the route's OpenAPI, as declared
parameters would be (pass it as `openapi_extra`), so the schema, the docs and the fuzz tests
still see them.

Declare such a route's 422 in its `responses`: `agent_ui.openapi` infers it only from
declared parameters.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection

M = TypeVar("M", bound=BaseModel)

_LISTS: dict[type[BaseModel], frozenset[str]] = {}


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return origin is list


def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    found = _LISTS.get(model)
    if found is None:
        found = _LISTS[model] = frozenset(
            name for name, field in model.model_fields.items() if _is_list(field.annotation)
        )
    return found


def parse_query(model: type[M], conn: HTTPConnection) -> M:
    """The request's query string validated as `model`; RequestValidationError (422) if not."""
    params = conn.query_params
    lists = _list_fields(model)
    values: dict[str, Any] = {}
    for key, value in params.multi_items():
        if key in lists:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = [{**err, "loc": ("query", *err["loc"])} for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` listing the model's fields as optional query parameters (enum and model
    references point at `#/components/schemas`, where the app's schema holds them)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    parameters = []
    for name, prop in schema["properties"].items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return {"parameters": parameters}
