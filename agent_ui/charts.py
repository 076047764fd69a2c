"""Wallboard charts drawn on the server as small inline SVG: no chart library, no build step.

Each chart is a `<svg role="img">` with a `<title>` and a `<desc>` that says in
words what the bars show (screen readers get the numbers, not just a picture).
Every piece of text is XML-escaped; the figures are numbers we computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from html import escape

from agent_ui.i18n import Translate
from calls.reports import Slot

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 44, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
OFFERED, ANSWERED, LEVEL, LINE, GRID, INK = "#9db4d6", "#0b5fff", "#b35c00", "#0b5fff", "#d0d5dd", "#344054"


def _svg(chart_id: str, title: str, desc: str, body: list[str], total: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" id="{chart_id}" class="chart" '
        f'data-total="{total}">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _nice_max(value: float) -> int:
    for step in (4, 8, 10, 20, 40, 50, 100, 200, 400, 500, 1000, 2000, 5000):
        if value <= step:
            return step
    return int(value) + 1


def _text(x: float, y: float, text: str, anchor: str = "middle", color: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="{color}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def _grid(top_value: int, right_label: bool) -> list[str]:
    out = []
    for i in range(5):
        y = TOP + PLOT_H - PLOT_H * i / 4
        out.append(f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(LEFT - 6, y + 4, str(round(top_value * i / 4)), "end"))
        if right_label:
            out.append(_text(LEFT + PLOT_W + 6, y + 4, f"{25 * i}%", "start", LEVEL))
    return out


def calls_chart(slots: Sequence[Slot], t: Translate, utc_offset_s: int = 0) -> str:
    """Bars: calls offered and answered per 15 minutes today; line: service level."""
    zone = timezone(timedelta(seconds=utc_offset_s))
    top = _nice_max(max((s.offered for s in slots), default=0))
    body = _grid(top, right_label=True)
    n = max(len(slots), 1)
    slot_w = PLOT_W / max(n, 32)  # at least 8 hours wide, so early-morning bars are not huge
    points = []
    for i, s in enumerate(slots):
        x = LEFT + i * slot_w
        for value, color, inset in ((s.offered, OFFERED, 0.1), (s.answered, ANSWERED, 0.3)):
            h = PLOT_H * value / top
            body.append(
                f'<rect x="{x + slot_w * inset:.1f}" y="{TOP + PLOT_H - h:.1f}" '
                f'width="{max(slot_w * (1 - 2 * inset), 1):.1f}" height="{h:.1f}" fill="{color}"/>'
            )
        if s.service_level is not None:
            points.append(f"{x + slot_w / 2:.1f},{TOP + PLOT_H * (1 - s.service_level):.1f}")
        local = s.start.astimezone(zone)
        if local.minute == 0 and local.hour % 2 == 0:
            body.append(_text(x, HEIGHT - 10, f"{local:%H:%M}"))
    if points:
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LEVEL}" stroke-width="2"/>')
    offered = sum(s.offered for s in slots)
    answered = sum(s.answered for s in slots)
    desc = t("chart.calls.desc", offered=offered, answered=answered)
    return _svg("chart-calls", t("chart.calls"), desc, body, offered)


def waiting_chart(points: Sequence[tuple[float, int]], now: float, t: Translate, span_s: float = 3600) -> str:
    """Callers waiting over the last hour, as a step line."""
    top = _nice_max(max((n for _, n in points), default=0))
    body = _grid(top, right_label=False)
    start = now - span_s

    def xy(at: float, n: int) -> tuple[float, float]:
        return LEFT + PLOT_W * max(0.0, at - start) / span_s, TOP + PLOT_H * (1 - n / top)

    path: list[str] = []
    previous: int | None = None
    for at, n in points:
        x, y = xy(at, n)
        if previous is not None:
            path.append(f"{x:.1f},{xy(at, previous)[1]:.1f}")
        path.append(f"{x:.1f},{y:.1f}")
        previous = n
    if path:
        body.append(f'<polyline points="{" ".join(path)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for minutes in (60, 45, 30, 15, 0):
        x = LEFT + PLOT_W * (span_s - minutes * 60) / span_s
        body.append(_text(x, HEIGHT - 10, f"-{minutes}" if minutes else t("chart.now")))
    peak = max((n for _, n in points), default=0)
    now_n = points[-1][1] if points else 0
    desc = t("chart.waiting.desc", now=now_n, peak=peak)
    return _svg("chart-waiting", t("chart.waiting"), desc, body, now_n)


def midnight_utc(midnight_epoch: float) -> datetime:
    return datetime.fromtimestamp(midnight_epoch, tz=UTC)
