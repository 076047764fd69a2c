"""Tickets read straight into their JSON: the columns of `TicketPublic`, in its field order.

The ticket GET and the list page serialise rows without validating a `TicketPublic` per row
(validation, then serialisation again, was most of a page's CPU). That is safe because each
column is the field: its table type gives what the model would hold (aware UTC datetimes,
booleans, ints, nulls). Enum columns are read as their text: the JSON is the same, and
`pydantic_core.to_json` infers each enum member's type one by one (150 of them cost more than
the rest of a 50-ticket page). Tests hold the bytes equal to the model's own JSON.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from sqlalchemy import String, type_coerce

from tickets.models import EnumText, Ticket
from tickets.schemas import TicketPublic

_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
PUBLIC_NAMES: tuple[str, ...] = tuple(TicketPublic.model_fields)
PUBLIC_COLUMNS: tuple[Any, ...] = tuple(
    type_coerce(c, String()).label(c.key) if isinstance(c.type, EnumText) else c
    for c in (_TICKETS.c[name] for name in PUBLIC_NAMES)
)


def as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """The public fields of a row that starts with PUBLIC_COLUMNS (what follows is ignored)."""
    return dict(zip(PUBLIC_NAMES, row, strict=False))


def to_json(value: Any) -> bytes:
    return pydantic_core.to_json(value)
