"""Call controls on the console and the wallboard, wired to what the telephony link offers.

The link (cti.telephony.TelephonyLink) has every control as a typed method and
says which ones it offers (`controls`); the console shows each control enabled
exactly when it is offered, and disabled with the reason otherwise, instead of
a button that fails. Each action maps to its method in one `match`, checked by
mypy: a renamed method is a type error, not a silent 501.

A refused action (`cti.telephony.TelephonyError`) is answered with 502 and the
platform's reason; a control the link does not offer with 501; an unknown
action name with 404.
"""

from __future__ import annotations

import re

from agent_ui.errors import ApiError
from cti.telephony import SPY_MODES, CallControlPort, Control, TelephonyError

ACTIONS: tuple[str, ...] = tuple(control.value for control in Control if control is not Control.SUPERVISE)
"""The console's per-call actions (supervising is the wallboard's, on an agent)."""
_TARGET = re.compile(r"^[0-9A-Za-z*#+_-]{1,40}$")


class CallControls:
    def __init__(self, link: CallControlPort | None) -> None:
        self._link = link
        self._offered = link.controls if link is not None else frozenset()

    def available(self) -> dict[str, bool]:
        return {action: Control(action) in self._offered for action in ACTIONS}

    @property
    def can_supervise(self) -> bool:
        return Control.SUPERVISE in self._offered

    def _offering(self, control: Control) -> CallControlPort:
        if self._link is None or control not in self._offered:
            raise ApiError(501, "not_available", f"{control} is not available with this telephony link")
        return self._link

    async def perform(self, action: str, call_id: str, agent_id: str, target: str | None) -> None:
        if action not in ACTIONS:
            raise ApiError(404, "unknown_action", f"no call control named {action!r}")
        control = Control(action)
        link = self._offering(control)
        if control in (Control.TRANSFER_BLIND, Control.TRANSFER_ATTENDED) and (
            target is None or not _TARGET.match(target)
        ):
            raise ApiError(422, "invalid_input", "transfer target: digits or an extension name")
        try:
            match control:
                case Control.ANSWER:
                    await link.answer(call_id, agent_id)
                case Control.HANGUP:
                    await link.hangup(call_id)
                case Control.HOLD:
                    await link.hold(call_id, agent_id)
                case Control.UNHOLD:
                    await link.unhold(call_id, agent_id)
                case Control.TRANSFER_BLIND:
                    assert target is not None
                    await link.blind_transfer(call_id, target)
                case Control.TRANSFER_ATTENDED:
                    assert target is not None
                    await link.attended_transfer(call_id, agent_id, target)
                case Control.RECORDING_PAUSE:
                    await link.pause_recording(call_id)
                case Control.RECORDING_RESUME:
                    await link.resume_recording(call_id)
                case Control.SUPERVISE:  # not an action of a call (see supervise)
                    raise ApiError(404, "unknown_action", f"no call control named {action!r}")
        except TelephonyError as exc:
            raise ApiError(502, "telephony_refused", str(exc)) from exc

    async def supervise(self, agent_id: str, supervisor: str, mode: str) -> None:
        spy = next((m for m in SPY_MODES if m == mode), None)
        if spy is None:
            raise ApiError(422, "invalid_input", f"mode must be one of {', '.join(SPY_MODES)}")
        if self._link is None or Control.SUPERVISE not in self._offered:
            raise ApiError(501, "not_available", "listen/whisper/barge is not offered by this telephony link")
        try:
            await self._link.supervise(agent_id, supervisor, spy)
        except TelephonyError as exc:
            raise ApiError(502, "telephony_refused", str(exc)) from exc
