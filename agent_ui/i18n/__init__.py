"""Two languages, one small catalogue: Simplified Chinese and English.

Pages call `_("key")` in templates; scripts get the same catalogue as JSON in
the page (`<script type="application/json" id="i18n">`, escaped by `tojson`)
and format numbers and dates with the browser's `Intl` for the page language.
Server-rendered figures (reports, CSV headers) use `fmt_*` below. A key missing
in one language falls back to English, then to the key itself, so a gap shows
as an odd word, never as an error page.

The catalogue is one module per area of the UI (`common`, `console`,
`wallboard`, `reports`, `audit`), each key with both languages side by side;
a new page adds its own module to `AREAS`. They are merged here at import, and
a key defined by two areas is an error at import, not a silent overwrite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

from agent_ui.i18n import admin, audit, bounces, common, console, customers, desk, field, reports, wallboard

AREAS = (common, console, wallboard, reports, audit, field, desk, customers, admin, bounces)

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_NAMES: Mapping[str, str] = {"zh-CN": "简体中文", "en": "English"}

Translate = Callable[..., str]


def _merge() -> tuple[dict[str, str], dict[str, str]]:
    en: dict[str, str] = {}
    zh: dict[str, str] = {}
    for area in AREAS:
        for key, (english, chinese) in area.MESSAGES.items():
            if key in en:
                raise RuntimeError(f"message {key!r} is defined twice (again in {area.__name__})")
            en[key], zh[key] = english, chinese
    return en, zh


EN, ZH = _merge()
MESSAGES: Mapping[str, Mapping[str, str]] = {"en": EN, "zh-CN": ZH}


def supported(language: str | None) -> str:
    """`language` if Hotline speaks it (`zh`, `zh-Hans-CN` → `zh-CN`; `en-GB` → `en`), else the default."""
    if not language:
        return DEFAULT_LANGUAGE
    tag = language.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def negotiate(accept_language: str | None) -> str:
    """The best language for an `Accept-Language` header (used before sign-in)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, i, tag.strip()))
    for _q, _i, tag in sorted(ranked):
        low = tag.lower()
        if low.startswith("zh") or low.startswith("en"):
            return supported(low)
    return DEFAULT_LANGUAGE


def messages(language: str) -> dict[str, str]:
    """Every message for `language`, English filling any gap."""
    return {**MESSAGES["en"], **MESSAGES.get(supported(language), {})}


def translator(language: str) -> Translate:
    catalogue = messages(language)

    def translate(key: str, **params: object) -> str:
        text = catalogue.get(key, key)
        return text.format(**params) if params else text

    return translate


# ------------------------------------------------------------------ formatting


def fmt_number(value: float | None, language: str, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"  # zh-CN and en group and separate decimals alike


def fmt_percent(value: float | None, language: str) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def fmt_duration(seconds: float | None, language: str) -> str:
    """`1:05` (m:ss) or `1:02:05` (h:mm:ss); the same in both languages."""
    if seconds is None:
        return "—"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_datetime(value: datetime | None, language: str, utc_offset_s: int = 0) -> str:
    if value is None:
        return "—"
    local = value.astimezone(timezone(timedelta(seconds=utc_offset_s)))
    if supported(language) == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.day} {local:%b %Y %H:%M}"
