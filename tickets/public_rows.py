"""Tickets read straight into their JSON: the columns of `TicketPublic`, in its field order.

The ticket GET and the list page serialise rows without validating a `TicketPublic` per row
(validation, then serialisation again, was most of a page's CPU). That is safe because each
column is the field: its table type gives what the model would hold (aware UTC datetimes,
booleans, ints, nulls). Enum columns are read as their text: the JSON is the same, and
`pydantic_core.to_json` infers each enum member's type one by one (150 of them cost more than
the rest of a 50-ticket page). On SQLite, datetimes are read as the text pydantic would
write, straight from the stored form (parsing 200 of them per page and formatting them again
cost ~0.2 ms). Tests hold the bytes equal to the model's own JSON.

On SQLite the rows' JSON is written by SQLite itself (`SQLITE_DOC`: `json_object` of the
public columns, in the reading thread, in C): fetching 27 columns per row into Python objects,
converting the datetimes, building a dict and serialising it was most of a page's CPU (#18).
SQLite escapes strings as pydantic does (quote, backslash, the short forms of newline, tab and
the like, a six-character unicode escape for other control characters, nothing else:
tests/tickets/test_timeline.py holds the bytes equal); booleans (stored 0/1) are written as
`true`/`false`, the two stored datetime forms as pydantic's text. A row with a datetime in
any other form says so (`SQLITE_PLAIN` is 0) and its page is written from the rows as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic_core
from sqlalchemy import Boolean, Dialect, Integer, String, TypeDecorator, literal_column, type_coerce

from config.database import UTCDateTime
from tickets.models import EnumText, Ticket
from tickets.schemas import TicketPublic


def sqlite_utc_text(stored: str) -> str | datetime:
    """SQLite's stored UTC datetime (`2026-12-01 01:00:00.250000`, naive UTC) as pydantic writes
    an aware UTC datetime (`2026-12-01T01:00:00.25…Z`: six digits, none when zero). A form this
    does not know is parsed, and pydantic formats it."""
    if len(stored) == 26 and stored[10] == " " and stored[19] == ".":
        fraction = stored[20:]
        return f"{stored[:10]}T{stored[11:19]}{'' if fraction == '000000' else '.' + fraction}Z"
    if len(stored) == 19 and stored[10] == " ":
        return f"{stored[:10]}T{stored[11:]}Z"
    parsed = datetime.fromisoformat(stored)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class UTCJson(TypeDecorator[Any]):
    """A `UTCDateTime` column read for JSON: SQLite's text made pydantic's text; elsewhere the
    driver's aware datetime as it comes (psycopg parses timestamptz itself)."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and dialect.name == "sqlite":
            return sqlite_utc_text(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _for_json(column: Any) -> Any:
    if isinstance(column.type, EnumText):
        return type_coerce(column, String()).label(column.key)
    if isinstance(column.type, UTCDateTime):
        return type_coerce(column, UTCJson()).label(column.key)
    return column


_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
PUBLIC_NAMES: tuple[str, ...] = tuple(TicketPublic.model_fields)
PUBLIC_COLUMNS: tuple[Any, ...] = tuple(_for_json(_TICKETS.c[name]) for name in PUBLIC_NAMES)


def as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """The public fields of a row that starts with PUBLIC_COLUMNS (what follows is ignored)."""
    return dict(zip(PUBLIC_NAMES, row, strict=False))


def to_json(value: Any) -> bytes:
    return pydantic_core.to_json(value)


def _sqlite_forms(c: str) -> tuple[str, str]:
    """The two stored forms `sqlite_utc_text` writes directly, as SQL conditions on `c`."""
    return (
        f"length({c}) = 26 AND substr({c}, 11, 1) = ' ' AND substr({c}, 20, 1) = '.'",
        f"length({c}) = 19 AND substr({c}, 11, 1) = ' '",
    )


def _sqlite_utc_sql(c: str) -> str:
    """`sqlite_utc_text` in SQL, for the two stored forms (NULL for NULL and for any other).
    A 26-character form keeps its `.ffffff` unless it is all zeros (`substr(c, 12)` is the
    time with its fraction: position 20 is the checked '.')."""
    long, short = _sqlite_forms(c)
    return (
        f"CASE WHEN {long} THEN substr({c}, 1, 10) || 'T'"
        f" || CASE WHEN substr({c}, 21) = '000000' THEN substr({c}, 12, 8) ELSE substr({c}, 12) END || 'Z'"
        f" WHEN {short} THEN substr({c}, 1, 10) || 'T' || substr({c}, 12) || 'Z'"
        " END"
    )


def _sqlite_json_value(column: Any) -> str:
    c = f"{column.table.name}.{column.name}"
    if isinstance(column.type, UTCDateTime):
        return _sqlite_utc_sql(c)
    if isinstance(column.type, Boolean):
        return f"json(CASE WHEN {c} IS NULL THEN 'null' WHEN {c} THEN 'true' ELSE 'false' END)"
    return c


def _sqlite_known_forms() -> str:
    """Every datetime column NULL or in a form `_sqlite_utc_sql` writes (the conditions under
    which it is not NULL, checked without building the text a second time: that was a
    quarter of the page's SQL, #18)."""
    dated = [
        f"{c.table.name}.{c.name}"
        for c in (_TICKETS.c[n] for n in PUBLIC_NAMES)
        if isinstance(c.type, UTCDateTime)
    ]
    return " AND ".join(f"({c} IS NULL OR ({_sqlite_forms(c)[0]}) OR ({_sqlite_forms(c)[1]}))" for c in dated)


SQLITE_DOC: Any = literal_column(
    "json_object("
    + ", ".join(f"'{name}', {_sqlite_json_value(_TICKETS.c[name])}" for name in PUBLIC_NAMES)
    + ")",
    String(),
).label("doc")
SQLITE_PLAIN: Any = literal_column(f"CASE WHEN {_sqlite_known_forms()} THEN 1 ELSE 0 END", Integer()).label(
    "plain"
)


def joined_page(docs: list[str], total: int) -> bytes:
    """A `TicketPage`'s JSON from each ticket's JSON."""
    items = ",".join(docs)
    return f'{{"items":[{items}],"total":{total}}}'.encode()
