"""The webhook paths Hotline serves to Twilio, and their public URLs.

Every URL handed to Twilio (TwiML actions, status callbacks, REST `url`) is
absolute on the configured public base, so Twilio signs exactly what the
signature check reconstructs. What a later webhook needs to know about the
call (the agent rung, the attempt, the menu language) travels in the query:
Twilio signs the query too, so it cannot be forged.
"""

from __future__ import annotations

from urllib.parse import urlencode

PREFIX = "/twilio"

VOICE = "/voice"  # the number's "A call comes in" webhook
STATUS = "/status"  # the number's "Call status changes" webhook
MENU = "/menu"  # <Gather> action of the menu
HOLD = "/hold"  # the waiting loop
HOLD_KEY = "/hold-key"  # <Gather> action while waiting (callback key)
DIAL_DONE = "/dial-done"  # <Dial> action: the agent leg ended
AGENT_STATUS = "/agent-status"  # status callbacks of the agent leg
RECORDING = "/recording"  # recording status callbacks
VOICEMAIL_DONE = "/voicemail-done"  # <Record> action
CALLBACK_ANSWER = "/callback-answer"  # TwiML when the agent answers a callback
CALLBACK_STATUS = "/callback-status"  # status callbacks of the callback's agent call
CALLBACK_DIAL_DONE = "/callback-dial-done"  # <Dial> action of the callback's customer leg
SURVEY = "/survey"  # TwiML of the survey call, and its prompt again
SURVEY_SCORE = "/survey-score"  # <Gather> action of the survey
SURVEY_STATUS = "/survey-status"  # status callbacks of the survey call
SMS_REPLY = "/sms-reply"  # the number's "A message comes in" webhook: a customer's text


class Urls:
    def __init__(self, public_base_url: str) -> None:
        self.base = public_base_url.rstrip("/")

    def __call__(self, path: str, **query: object) -> str:
        params = {k: str(v) for k, v in query.items() if v is not None}
        return f"{self.base}{PREFIX}{path}" + (f"?{urlencode(params)}" if params else "")
