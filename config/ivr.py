"""The IVR of the call-center file (`ivr:`): greeting, menu, prompts, in Simplified Chinese and English.

Used by the Twilio adapter (cti/twilio) to build TwiML. Every text is given per
language; a missing translation is refused at load time (a caller must never
hear silence because one language was forgotten). Prompts not set in the file
use the defaults below, so a file may set only its menu.

    ivr:
      default_language: zh-CN
      language_key: "9"          # switches to the next language
      options:
        - key: "1"
          queue: support
          prompt: {zh-CN: 技术支持请按 1。, en: For technical support, press 1.}
          words: {zh-CN: [技术, 支持], en: [support, technical]}
          skills: {network: 50}    # optional: who may take these calls (on top of the queue's)
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Texts = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IvrVoice(_Strict):
    """How one language is spoken and heard. Values are Twilio's (<Say> language/voice, <Gather> language)."""

    say_language: str
    voice: str | None = None
    speech_language: str | None = None  # None: this language takes keys only, no speech


DEFAULT_VOICES: dict[str, IvrVoice] = {
    "zh-CN": IvrVoice(say_language="cmn-CN", voice="Polly.Zhiyu", speech_language="cmn-Hans-CN"),
    "en": IvrVoice(say_language="en-US", voice="Polly.Joanna", speech_language="en-US"),
}

DEFAULT_MESSAGES: dict[str, Texts] = {
    "greeting": {
        "zh-CN": "您好，欢迎致电服务热线。",
        "en": "Hello, and thank you for calling our hotline.",
    },
    # Spoken in the language it offers, inside the other languages' menus.
    "offer_language": {"zh-CN": "普通话服务请按 {key}。", "en": "For English, press {key}."},
    "menu_retry": {"zh-CN": "对不起，没有听清您的选择。", "en": "Sorry, I did not catch that."},
    "hold": {"zh-CN": "正在为您转接客服，请稍候。", "en": "Please hold, we are connecting you to an agent."},
    "position": {
        "zh-CN": "您目前排在第 {position} 位，预计等待约 {minutes} 分钟。",
        "en": "You are number {position} in the queue. The estimated wait is about {minutes} minutes.",
    },
    "callback_offer": {
        "zh-CN": "如不想继续等待，请按 {key}，我们将保留您的排队位置并回电给您。",
        "en": "To hang up and keep your place, press {key}, and we will call you back.",
    },
    "callback_confirmed": {
        "zh-CN": "好的，您的排队位置已为您保留，轮到您时我们会回拨您的来电号码。再见。",
        "en": "Thank you. You keep your place in the queue, and we will call you back on this number. "
        "Goodbye.",
    },
    "after_hours": {
        "zh-CN": "您好，现在是非工作时间。请在提示音后留言，我们上班后会尽快回复您。",
        "en": "We are closed right now. Please leave a message after the tone and we will get back to you.",
    },
    "busy": {
        "zh-CN": "很抱歉，现在暂时无法接通客服。请在提示音后留言，我们会尽快回复您。",
        "en": "Sorry, no agent can take your call right now. Please leave a message after the tone.",
    },
    "forward": {
        "zh-CN": "正在为您转接值班电话，请稍候。",
        "en": "Please hold, we are putting you through to our on-call line.",
    },
    "voicemail_thanks": {"zh-CN": "谢谢您的留言，再见。", "en": "Thank you for your message. Goodbye."},
    "callback_agent": {
        "zh-CN": "回拨排队客户，正在接通。",
        "en": "Callback to a customer who kept their place. Connecting now.",
    },
    "callback_no_answer": {"zh-CN": "客户未接听。", "en": "The customer did not answer."},
    "survey_prompt": {
        "zh-CN": "您好，这里是服务热线回访。请为本次服务打分，非常满意请按 5，非常不满意请按 1。",
        "en": "Hello, this is a follow-up from our hotline. "
        "Please rate our service from 1, very poor, to 5, excellent, on your keypad.",
    },
    "survey_invalid": {"zh-CN": "请按 1 到 5 之间的数字。", "en": "Please press a key from 1 to 5."},
    "survey_thanks": {"zh-CN": "感谢您的评价，再见。", "en": "Thank you for your feedback. Goodbye."},
    "goodbye": {"zh-CN": "感谢您的来电，再见。", "en": "Thank you for calling. Goodbye."},
    # A caller affected by an open incident (tickets.incidents) hears it is known, before the menu.
    "incident_known": {
        "zh-CN": "您好，我们已经知道这个故障：{description}。维修人员正在处理，预计{expected}恢复。",
        "en": "We already know about this problem: {description}. "
        "It is being fixed, and we expect it to be back {expected}.",
    },
    "incident_known_no_time": {
        "zh-CN": "您好，我们已经知道这个故障：{description}。维修人员正在处理，恢复后将短信通知您。",
        "en": "We already know about this problem: {description}. "
        "It is being fixed, and we will text you when it is back.",
    },
}


class IvrOption(_Strict):
    """One menu entry: a key (and words, if speech is on) that lead to a queue."""

    key: str = Field(pattern=r"^[0-9]$")
    queue: str
    choice: str | None = None  # reported as the IVR choice (tickets: ivr_categories); default: the queue
    prompt: Texts
    words: dict[str, list[str]] = Field(default_factory=dict)  # language -> words heard for this entry
    # skill -> minimum proficiency the agent taking this entry's calls needs (on top of the queue's)
    skills: dict[str, int] = Field(default_factory=dict)

    @property
    def choice_name(self) -> str:
        return self.choice or self.queue

    @field_validator("skills")
    @classmethod
    def _minimum_in_range(cls, skills: dict[str, int]) -> dict[str, int]:
        for skill, level in skills.items():
            if not 0 <= level <= 100:
                raise ValueError(f"proficiency of {skill!r} must be 0..100, got {level}")
        return skills


class SurveySpec(_Strict):
    """After a resolved ticket's follow-up falls due, call the customer for a 1–5 score."""

    enabled: bool = False
    attempts: int = Field(default=2, ge=1, le=5)  # prompts before giving up on a valid key


class IvrSpec(_Strict):
    default_language: str = "zh-CN"
    languages: dict[str, IvrVoice] = Field(default_factory=lambda: dict(DEFAULT_VOICES))
    language_key: str = Field(default="9", pattern=r"^[0-9*#]$")
    callback_key: str = Field(default="1", pattern=r"^[0-9*#]$")  # while waiting: call me back
    speech: bool = True  # the menu also listens for words
    menu_timeout_s: int = Field(default=6, ge=1, le=60)
    menu_attempts: int = Field(default=2, ge=1, le=5)  # then the first option is taken
    hold_music_url: str | None = None  # played between announcements; None: silence
    hold_pause_s: int = Field(default=20, ge=1, le=600)
    voicemail_max_s: int = Field(default=120, ge=5, le=3600)
    options: list[IvrOption] = Field(default_factory=list)  # empty: straight to the first queue
    messages: dict[str, Texts] = Field(default_factory=dict)  # overrides DEFAULT_MESSAGES
    survey: SurveySpec = Field(default_factory=SurveySpec)

    @model_validator(mode="after")
    def _complete(self) -> IvrSpec:
        langs = set(self.languages)
        if self.default_language not in langs:
            raise ValueError(f"default_language {self.default_language!r} is not in languages")
        unknown = set(self.messages) - set(DEFAULT_MESSAGES)
        if unknown:
            raise ValueError(f"unknown messages {sorted(unknown)}; known: {sorted(DEFAULT_MESSAGES)}")
        for name, texts in {**DEFAULT_MESSAGES, **self.messages}.items():
            _all_languages(f"messages.{name}", texts, langs)
        keys = [o.key for o in self.options]
        if len(set(keys)) != len(keys) or self.language_key in keys:
            raise ValueError("menu keys must be unique and differ from language_key")
        for i, option in enumerate(self.options):
            _all_languages(f"options[{i}].prompt", option.prompt, langs)
        return self

    def text(self, name: str, language: str, **values: Any) -> str:
        texts = self.messages.get(name) or DEFAULT_MESSAGES[name]
        return texts[language].format(**values)

    def next_language(self, language: str) -> str:
        names = list(self.languages)
        return names[(names.index(language) + 1) % len(names)] if language in names else names[0]

    def language_for(self, hint: str | None) -> str | None:
        """A configured language matching a customer's hint ("en", "en-US", "zh", "zh-CN"), if any."""
        if not hint:
            return None
        hint = hint.strip().lower()
        for name in self.languages:
            lower = name.lower()
            if hint == lower or hint.split("-")[0] == lower.split("-")[0]:
                return name
        return None

    def option_for(self, digits: str | None, speech: str | None, language: str) -> IvrOption | None:
        if digits:
            return next((o for o in self.options if o.key == digits.strip()), None)
        if speech:
            heard = speech.strip().lower()
            for option in self.options:
                if any(w.lower() in heard for w in option.words.get(language, ())):
                    return option
        return None


def minutes(seconds: float) -> int:
    """Whole minutes for an announcement: never 'about 0 minutes'."""
    return max(1, math.ceil(seconds / 60))


def _all_languages(where: str, texts: Texts, langs: set[str]) -> None:
    missing = langs - set(texts)
    if missing:
        raise ValueError(f"{where}: missing the {', '.join(sorted(missing))} text")
