"""The message catalogue and the formatting helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from agent_ui.i18n import (
    EN,
    ZH,
    fmt_datetime,
    fmt_duration,
    fmt_number,
    fmt_percent,
    messages,
    negotiate,
    supported,
    translator,
)

_PARAM = re.compile(r"\{(\w+)\}")


def test_both_languages_have_the_same_keys_and_the_same_parameters() -> None:
    assert set(EN) == set(ZH)
    for key in EN:
        assert set(_PARAM.findall(EN[key])) == set(_PARAM.findall(ZH[key])), key


def test_every_message_formats_with_its_parameters() -> None:
    for language in ("en", "zh-CN"):
        t = translator(language)
        for key, text in messages(language).items():
            params = {name: "x" for name in _PARAM.findall(text)}
            assert "{" not in t(key, **params), key


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR,en;q=0.5,zh;q=0.8", "zh-CN"),
        ("fr-FR,de;q=0.5", "zh-CN"),
        ("de;q=bad, en", "en"),
    ],
)
def test_the_browser_language_picks_chinese_or_english(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_unknown_languages_fall_back_to_chinese_and_unknown_keys_show_the_key() -> None:
    assert supported("en-GB") == "en"
    assert supported("ja") == "zh-CN"
    assert translator("en")("no.such.key") == "no.such.key"


def test_numbers_durations_and_dates_are_formatted_per_language() -> None:
    assert fmt_number(12345.678, "en", 1) == "12,345.7"
    assert fmt_number(None, "en") == "—"
    assert fmt_percent(0.8567, "zh-CN") == "85.7%"
    assert fmt_duration(65, "en") == "1:05"
    assert fmt_duration(3725, "en") == "1:02:05"
    moment = datetime(2026, 11, 22, 6, 5, tzinfo=UTC)
    assert fmt_datetime(moment, "zh-CN", utc_offset_s=8 * 3600) == "2026年11月22日 14:05"
    assert fmt_datetime(moment, "en", utc_offset_s=8 * 3600) == "22 Nov 2026 14:05"
