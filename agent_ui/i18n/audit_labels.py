"""Human labels for audit actions and outcomes, in the page's language.

The trail stores codes (`ticket.accepted`, `refused`) so that it reads the same
in every language and never changes under its hashes; the page shows a label.
An action without a label of its own (a new one another package adds) still
reads as its family plus the code's last part — "Ticket: merged" — rather than
as a bare code.
"""

from __future__ import annotations

import json

from agent_ui.i18n import messages

_SUMMARY_KEYS = (
    "call_id",
    "from_state",
    "to_state",
    "fields",
    "reason",
    "note",
    "error",
    "owner",
    "range",
    "score",
)


def action_label(action: str, language: str) -> str:
    catalogue = messages(language)
    own = catalogue.get(f"aud.act.{action}")
    if own is not None:
        return own
    family, _, verb = action.partition(".")
    name = catalogue.get(f"aud.obj.{family}")
    return f"{name}: {verb.replace('_', ' ')}" if name and verb else action


def outcome_label(outcome: str, language: str) -> str:
    return messages(language).get(f"aud.out.{outcome}", outcome)


def detail_summary(detail: dict[str, object], limit: int = 160) -> str:
    """The few detail fields an auditor reads first (call, states, reason), as compact text."""
    parts = []
    for key in _SUMMARY_KEYS:
        value = detail.get(key)
        if value in (None, "", []):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    summary = " · ".join(parts)
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"
