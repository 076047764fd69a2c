"""Server-side SVG charts: well-formed, labelled for screen readers, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from agent_ui.charts import calls_chart, waiting_chart
from agent_ui.i18n import translator
from calls.reports import Slot

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_the_calls_chart_is_an_image_with_a_title_and_a_description_in_words() -> None:
    data = [
        Slot(T0 + timedelta(minutes=15 * i), offered=i, answered=i // 2, service_level=0.5) for i in range(12)
    ]
    root = ET.fromstring(calls_chart(data, translator("en")))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Calls per 15 minutes today"  # type: ignore[union-attr]
    assert "66 offered, 30 answered" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    assert len(root.findall(f"{SVG}rect")) == 24
    assert root.find(f"{SVG}polyline") is not None


def test_chart_text_is_escaped() -> None:
    def hostile(key: str, **params: object) -> str:
        return "<script>alert(1)</script> & " + key

    svg = waiting_chart([(0.0, 1), (1800.0, 3)], 3600.0, hostile)
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    assert (root.find(f"{SVG}title").text or "").startswith("<script>")  # type: ignore[union-attr]


def test_the_waiting_chart_in_chinese_says_now_and_peak() -> None:
    root = ET.fromstring(waiting_chart([(0.0, 2), (1800.0, 5), (3500.0, 1)], 3600.0, translator("zh-CN")))
    assert (root.find(f"{SVG}desc").text or "") == "当前排队 1 人；近一小时最多 5 人。"  # type: ignore[union-attr]
