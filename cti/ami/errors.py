"""Errors of the AMI layer.

AmiError
 ├── FrameError          one received frame could not be parsed (skipped, link kept)
 ├── ActionRefused       a well-formed action the PBX answered with `Response: Error`
 │    └── LoginRefused   wrong user or secret
 ├── ActionTimeout       no response within the action's timeout
 ├── HeaderInjection     an action value with CR/LF: refused before anything is sent
 ├── NotConnected        the link is down (pending actions fail with this)
 └── EventsLost          a subscription that may not lose events overflowed: resync
"""

from __future__ import annotations


class AmiError(Exception):
    pass


class FrameError(AmiError):
    pass


class ActionRefused(AmiError):
    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action} refused by the PBX: {message}")
        self.action = action
        self.message = message


class LoginRefused(ActionRefused):
    pass


class ActionTimeout(AmiError):
    pass


class HeaderInjection(AmiError):
    pass


class NotConnected(AmiError):
    pass


class EventsLost(AmiError):
    """A "lose-link" subscription overflowed: events were lost, state must be rebuilt (resync)."""
