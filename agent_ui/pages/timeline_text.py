"""The ticket timeline in the reader's language.

The journal (`ticket_event`) keeps codes and English notes written by the services: state codes
("reported → accepted"), work-order steps ("work order 1: assigned → accepted"), ISO times in UTC
("due 2026-12-01T19:30:11+00:00"). The page shows them with the translated state labels and times
in the center's time zone; a note a person wrote is kept as written. What is not recognised is
shown as stored, never dropped.
"""

from __future__ import annotations

import re
from datetime import datetime

from agent_ui.i18n import MESSAGES, Translate, fmt_datetime
from tickets.schemas import TimelineEntry

_ENGLISH = MESSAGES["en"]


def known(key: str) -> bool:
    return key in _ENGLISH


def label(prefix: str, code: str | None, t: Translate) -> str:
    """`t(prefix + code)` when the catalogue has it, else the code as stored."""
    if not code:
        return ""
    return t(prefix + code) if known(prefix + code) else code.replace("_", " ")


# Notes the services themselves write (tickets.workorders, .followups, .calls, .workflow,
# .ticket_merge), by message key; a person's note matches none of them and is kept as written.
_SYSTEM_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"all work orders completed"), "tl.sys.all_done"),
    (re.compile(r"closed after a good follow-up"), "tl.sys.good_follow_up"),
    (re.compile(r"opened for a call that was moved"), "tl.sys.call_moved"),
    (re.compile(r"来电放弃 The caller hung up before an agent answered"), "tl.sys.abandoned"),
    (re.compile(r"confirmed by the customer \((?P<channel>[^)]*)\)"), "tl.sys.confirmed"),
    (re.compile(r"auto-dispatch: category (?P<category>.+)"), "tl.sys.auto_dispatch"),
    (re.compile(r"work orders of ticket (?P<ticket>\d+)"), "tl.sys.merged_orders"),
)


def _note(rest: str, t: Translate) -> str:
    """`rest` (": the note" after a step) with a service's own note translated."""
    if not rest.startswith(": "):
        return rest
    for pattern, key in _SYSTEM_NOTES:
        match = pattern.fullmatch(rest[2:])
        if match is not None:
            return ": " + t(key, **match.groupdict())
    return rest


def kind_label(kind: str, t: Translate) -> str:
    return label("tl.", kind, t)


def _when(text: str, lang: str, offset: int) -> str | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return fmt_datetime(moment, lang, offset) if moment.tzinfo is not None else None


def summary(entry: TimelineEntry, lang: str, offset: int, t: Translate) -> str:
    """The entry's detail for people: see the module docstring."""
    text, data = entry.summary, entry.data
    if entry.kind == "transition" and entry.from_state and entry.to_state:
        step = f"{entry.from_state} → {entry.to_state}"
        if text.startswith(step):
            before, after = label("tk.state.", entry.from_state, t), label("tk.state.", entry.to_state, t)
            return f"{before} → {after}{_note(text[len(step) :], t)}"
    before_code = entry.from_state or str(data.get("from_state") or "")
    if entry.kind == "work_order" and before_code and data.get("work_order_id") is not None:
        after_code = str(data.get("action") or "")
        step = f"work order {data['work_order_id']}: {before_code} → {after_code}"
        if text.startswith(step):
            rest = _note(text[len(step) :], t)
            return t(
                "tl.wo_step", id=data["work_order_id"], before=label("wo.state.", before_code, t),
                after=label("wo.state.", after_code, t),
            ) + rest  # fmt: skip
    if entry.kind == "follow_up_scheduled" and text.startswith("due "):
        when = _when(text[4:], lang, offset)
        if when is not None:
            return t("tl.due", when=when)
    if (
        entry.kind == "follow_up"
        and data.get("action") == "rescheduled"
        and text.startswith("rescheduled to ")
    ):
        moment, sep, note = text[len("rescheduled to ") :].partition(": ")
        when = _when(moment, lang, offset)
        if when is not None:
            return t("tl.rescheduled", when=when) + (f": {note}" if sep else "")
    if entry.kind == "follow_up" and data.get("action") == "call" and data.get("to"):
        return t("tl.calling", to=data["to"])
    if entry.kind == "notification" and text.startswith("SMS ") and data.get("state") and data.get("to"):
        state = str(data["state"])
        out = t("tl.sms", state=label("tl.sms.", state, t), to=data["to"])
        if data.get("attempt"):
            out += t("tl.attempt", n=data["attempt"])
        if data.get("provider_status"):
            out += f" ({data['provider_status']})"
        return out
    if text == entry.kind.replace("_", " "):  # no note: the kind column says it all
        return ""
    return text
