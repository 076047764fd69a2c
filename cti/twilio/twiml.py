"""TwiML for every step of a call, built with the SDK's VoiceResponse. Pure: text in, XML out.

The IVR's texts and voices come from the call-center file (config.ivr); URLs
from `Urls`, so every action and callback is absolute on the public base.
"""

from __future__ import annotations

from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from config.ivr import IvrSpec, minutes
from cti.twilio import urls as u
from cti.twilio.urls import Urls

AGENT_LEG_EVENTS = "initiated ringing answered completed"
RECORD_DUAL = "record-from-answer-dual"  # caller and agent on separate channels, from the answer on


class Twiml:
    def __init__(self, ivr: IvrSpec, urls: Urls) -> None:
        self.ivr = ivr
        self.urls = urls

    # ------------------------------------------------------------------ helpers
    def _say(self, parent: Any, language: str, text: str) -> None:
        voice = self.ivr.languages[language]
        parent.say(text, language=voice.say_language, voice=voice.voice)

    def _text(self, name: str, language: str, **values: Any) -> str:
        return self.ivr.text(name, language, **values)

    @staticmethod
    def empty() -> str:
        return str(VoiceResponse())

    def goodbye(self, language: str, message: str = "goodbye") -> str:
        response = VoiceResponse()
        self._say(response, language, self._text(message, language))
        response.hangup()
        return str(response)

    @staticmethod
    def hangup() -> str:
        response = VoiceResponse()
        response.hangup()
        return str(response)

    def redirect(self, url: str) -> str:
        response = VoiceResponse()
        response.redirect(url, method="POST")
        return str(response)

    # ------------------------------------------------------------------ inbound
    def menu(
        self, language: str, attempt: int, *, greet: bool, retry: bool = False, notice: str | None = None
    ) -> str:
        """Greeting (first time), `notice` (a known incident), the options, the other language's
        offer; no input re-prompts."""
        ivr = self.ivr
        voice = ivr.languages[language]
        speech = bool(ivr.speech and voice.speech_language)
        words = [w for o in ivr.options for w in o.words.get(language, ())]
        response = VoiceResponse()
        gather = response.gather(
            input="dtmf speech" if speech else "dtmf",
            num_digits=1,
            timeout=ivr.menu_timeout_s,
            action=self.urls(u.MENU, lang=language, attempt=attempt),
            method="POST",
            language=voice.speech_language if speech else None,
            hints=", ".join(words) if speech and words else None,
            speech_timeout="auto" if speech else None,
        )
        if retry:
            self._say(gather, language, self._text("menu_retry", language))
        if greet:
            self._say(gather, language, self._text("greeting", language))
        if notice:
            self._say(gather, language, notice)
        for option in ivr.options:
            self._say(gather, language, option.prompt[language])
        other = ivr.next_language(language)
        if other != language:
            self._say(gather, other, self._text("offer_language", other, key=ivr.language_key))
        response.redirect(self.urls(u.MENU, lang=language, attempt=attempt, silent=1), method="POST")
        return str(response)

    def hold(
        self,
        language: str,
        n: int,
        position: tuple[int, float] | None,
        *,
        first: bool,
        notice: str | None = None,
    ) -> str:
        """One turn of the waiting loop: position and wait, the callback offer, music, then again."""
        ivr = self.ivr
        response = VoiceResponse()
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=1,
            action=self.urls(u.HOLD_KEY, lang=language, n=n),
            method="POST",
        )
        if first:
            self._say(gather, language, self._text("hold", language))
        if first and notice:
            self._say(gather, language, notice)
        if position is not None:
            pos, wait_s = position
            text = self._text("position", language, position=pos, minutes=minutes(wait_s))
            self._say(gather, language, text)
            self._say(gather, language, self._text("callback_offer", language, key=ivr.callback_key))
            if ivr.hold_music_url:
                gather.play(ivr.hold_music_url)
            else:
                gather.pause(length=ivr.hold_pause_s)
        else:
            gather.pause(length=2)  # the router has not placed the call yet: ask again shortly
        response.redirect(self.urls(u.HOLD, lang=language, n=n + 1), method="POST")
        return str(response)

    def voicemail(self, language: str, call_id: str, message: str) -> str:
        """A closed or unreachable queue: say why, record a message (fed to recordings/ like any)."""
        response = VoiceResponse()
        self._say(response, language, self._text(message, language))
        response.record(
            action=self.urls(u.VOICEMAIL_DONE, lang=language),
            method="POST",
            max_length=self.ivr.voicemail_max_s,
            timeout=5,
            finish_on_key="#",
            play_beep=True,
            recording_status_callback=self.urls(u.RECORDING, call=call_id, kind="voicemail"),
            recording_status_callback_event="completed",
            recording_status_callback_method="POST",
        )
        self._say(response, language, self._text("goodbye", language))
        response.hangup()
        return str(response)

    def forward(self, language: str, destination: str) -> str:
        """Closed, with an after-hours destination (an on-call phone): put the caller through."""
        response = VoiceResponse()
        self._say(response, language, self._text("forward", language))
        dial = response.dial(timeout=30)
        dial_target(dial, destination, None)
        self._say(response, language, self._text("goodbye", language))
        response.hangup()
        return str(response)

    def dial_agents(self, call_id: str, agents: list[tuple[str, str]], attempt: int, timeout_s: float) -> str:
        """Ring the agent(s) (agent id, target); record both channels from the answer; the end comes back.

        Several agents (the ring-all strategy) ring at once: the first to answer
        takes the call, Twilio stops the others.
        """
        response = VoiceResponse()
        only = agents[0][0] if len(agents) == 1 else None
        dial = response.dial(
            action=self.urls(u.DIAL_DONE, call=call_id, attempt=attempt),
            method="POST",
            timeout=max(5, round(timeout_s)),
            record=RECORD_DUAL,
            recording_status_callback=self.urls(u.RECORDING, call=call_id, agent=only),
            recording_status_callback_event="completed",
            recording_status_callback_method="POST",
        )
        for agent, target in agents:
            dial_target(dial, target, self.urls(u.AGENT_STATUS, call=call_id, agent=agent, attempt=attempt))
        return str(response)

    # ------------------------------------------------------------------ outbound
    def callback_answer(
        self, call_id: str, agent: str, language: str, number: str, caller_id: str | None, timeout_s: float
    ) -> str:
        """The agent picked up a callback: tell them, then ring the customer, recorded like any call."""
        response = VoiceResponse()
        self._say(response, language, self._text("callback_agent", language))
        dial = response.dial(
            action=self.urls(u.CALLBACK_DIAL_DONE, call=call_id, agent=agent, lang=language),
            method="POST",
            timeout=max(5, round(timeout_s)),
            caller_id=caller_id or None,
            record=RECORD_DUAL,
            recording_status_callback=self.urls(u.RECORDING, call=call_id, agent=agent),
            recording_status_callback_event="completed",
            recording_status_callback_method="POST",
        )
        dial.number(number)
        return str(response)

    def survey(self, ticket_id: int, language: str, attempt: int) -> str:
        response = VoiceResponse()
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=8,
            action=self.urls(u.SURVEY_SCORE, ticket=ticket_id, lang=language, attempt=attempt),
            method="POST",
        )
        if attempt > 1:
            self._say(gather, language, self._text("survey_invalid", language))
        self._say(gather, language, self._text("survey_prompt", language))
        if attempt < self.ivr.survey.attempts:
            response.redirect(self.urls(u.SURVEY, ticket=ticket_id, lang=language, attempt=attempt + 1))
        else:
            self._say(response, language, self._text("goodbye", language))
            response.hangup()
        return str(response)


def dial_target(dial: Any, target: str, status_callback: str | None) -> None:
    """client:<identity>, sip:<uri> or a phone number; progress goes to `status_callback` if given."""
    progress = {}
    if status_callback is not None:
        progress = {
            "status_callback": status_callback,
            "status_callback_event": AGENT_LEG_EVENTS,
            "status_callback_method": "POST",
        }
    if target.startswith("client:"):
        dial.client(identity=target.removeprefix("client:"), **progress)
    elif target.startswith("sip:"):
        dial.sip(target, **progress)
    else:
        dial.number(target, **progress)
