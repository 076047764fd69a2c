"""Call controls on the console and the wallboard, wired to what the telephony link offers.

The link (`cti.asterisk.AsteriskLink`, a Twilio link, ...) implements
`cti.telephony.Telephony`; controls beyond it (hold, transfers, recording
pause, listen/whisper/barge) are optional methods a link may grow. Each control
is enabled exactly when the link has its method, so the console shows a button
disabled, with the reason, instead of a button that fails. The optional methods
and their signatures:

    answer(call_id, agent_id)                 phones with remote answer (most cannot)
    hangup(call_id)                           in Telephony
    hold(call_id, agent_id) / unhold(...)
    blind_transfer(call_id, target)
    attended_transfer(call_id, agent_id, target)
    pause_recording(call_id) / resume_recording(call_id)
    supervise(agent_id, supervisor_login, mode)   mode: listen | whisper | barge

A refused action (`cti.telephony.TelephonyError`) is answered with 502 and the
platform's reason; a control the link lacks with 501.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from agent_ui.errors import ApiError
from cti.telephony import TelephonyError

ACTIONS: tuple[str, ...] = (
    "answer",
    "hangup",
    "hold",
    "unhold",
    "transfer_blind",
    "transfer_attended",
    "recording_pause",
    "recording_resume",
)
_METHOD = {
    "answer": "answer",
    "hangup": "hangup",
    "hold": "hold",
    "unhold": "unhold",
    "transfer_blind": "blind_transfer",
    "transfer_attended": "attended_transfer",
    "recording_pause": "pause_recording",
    "recording_resume": "resume_recording",
}
SPY_MODES = ("listen", "whisper", "barge")
_TARGET = re.compile(r"^[0-9A-Za-z*#+_-]{1,40}$")


class CallControls:
    def __init__(self, link: object | None) -> None:
        self._link = link

    def _method(self, name: str) -> Callable[..., Awaitable[Any]] | None:
        method = getattr(self._link, name, None) if self._link is not None else None
        return method if callable(method) else None

    def available(self) -> dict[str, bool]:
        return {action: self._method(_METHOD[action]) is not None for action in ACTIONS}

    @property
    def can_supervise(self) -> bool:
        return self._method("supervise") is not None

    async def perform(self, action: str, call_id: str, agent_id: str, target: str | None) -> None:
        if action not in _METHOD:
            raise ApiError(404, "unknown_action", f"no call control named {action!r}")
        method = self._method(_METHOD[action])
        if method is None:
            raise ApiError(501, "not_available", f"{action} is not available with this telephony link")
        if action.startswith("transfer") and (target is None or not _TARGET.match(target)):
            raise ApiError(422, "invalid_input", "transfer target: digits or an extension name")
        args: tuple[object, ...] = {
            "answer": (call_id, agent_id),
            "hangup": (call_id,),
            "hold": (call_id, agent_id),
            "unhold": (call_id, agent_id),
            "transfer_blind": (call_id, target),
            "transfer_attended": (call_id, agent_id, target),
            "recording_pause": (call_id,),
            "recording_resume": (call_id,),
        }[action]
        try:
            await method(*args)
        except TelephonyError as exc:
            raise ApiError(502, "telephony_refused", str(exc)) from exc

    async def supervise(self, agent_id: str, supervisor: str, mode: str) -> None:
        if mode not in SPY_MODES:
            raise ApiError(422, "invalid_input", f"mode must be one of {', '.join(SPY_MODES)}")
        method = self._method("supervise")
        if method is None:
            raise ApiError(501, "not_available", "listen/whisper/barge is not offered by this telephony link")
        try:
            await method(agent_id, supervisor, mode)
        except TelephonyError as exc:
            raise ApiError(502, "telephony_refused", str(exc)) from exc
