# ruff: noqa: E501 - a message reads better on one line than wrapped
"""The supervisors' wallboard: queue and agent figures, supervision (listen/whisper/barge), charts, alerts.

Each key with its English and Simplified Chinese text side by side: (en, zh-CN).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.wallboard": ("Wallboard", "监控墙"),
    "sup.title": ("Wallboard", "监控墙"),
    "sup.queues": ("Queues", "队列"),
    "sup.agents": ("Agents", "坐席"),
    "sup.alerts": ("SLA breaches and complaints", "SLA 超时与投诉"),
    "q.waiting": ("Waiting now", "排队中"),
    "q.longest": ("Longest wait", "最长等待"),
    "q.sl": ("Service level / target", "服务水平 / 目标"),
    "q.asa": ("ASA", "平均应答速度"),
    "q.abandon": ("Abandon rate", "放弃率"),
    "q.erlang": ("Agents needed (Erlang C)", "建议坐席数（Erlang C）"),
    "q.erlang_value": ("{need} (staffed {have})", "{need}（在岗 {have}）"),
    "q.agents_by_state": ("Agents", "坐席"),
    "q.counts": (
        "Today: {offered} offered, {answered} answered, {abandoned} abandoned; service level = answered within {sl} s",
        "今日：呼入 {offered}，接听 {answered}，放弃 {abandoned}；服务水平 = {sl} 秒内接听",
    ),
    "a.name": ("Agent", "坐席"),
    "a.state": ("State", "状态"),
    "a.time": ("Time in state", "状态时长"),
    "a.calls": ("Calls today", "今日通话"),
    "a.aht": ("AHT", "平均处理时长"),
    "a.actions": ("Actions", "操作"),
    "a.force_pause": ("Pause", "置忙"),
    "a.ready": ("Make ready", "置闲"),
    "a.force_logout": ("Log out", "强制签出"),
    "a.listen": ("Listen", "监听"),
    "a.whisper": ("Whisper", "密语"),
    "a.barge": ("Barge", "强插"),
    "a.done": ("Done: agent {agent}.", "已执行：坐席 {agent}。"),
    "spy.unavailable": (
        "Listen, whisper and barge need a telephony link that offers them; this one does not yet.",
        "监听、密语、强插需要电话链路支持，当前链路尚未提供。",
    ),
    "chart.calls": ("Calls per 15 minutes today", "今日每 15 分钟来电"),
    "chart.calls.desc": (
        "Light bars: calls offered; dark bars: answered; line: service level. Today so far: {offered} offered, {answered} answered.",
        "浅色柱：呼入；深色柱：接听；折线：服务水平。今日至今：呼入 {offered}，接听 {answered}。",
    ),
    "chart.calls.caption": (
        "Calls offered (light) and answered (dark) per 15 minutes today; the line is the service level (right axis).",
        "今日每 15 分钟呼入（浅色）与接听（深色）；折线为服务水平（右轴）。",
    ),
    "chart.waiting": ("Callers waiting, last hour", "近一小时排队人数"),
    "chart.waiting.desc": (
        "Callers waiting now: {now}; most in the last hour: {peak}.",
        "当前排队 {now} 人；近一小时最多 {peak} 人。",
    ),
    "chart.waiting.caption": (
        "Callers waiting over the last hour (minutes ago).",
        "近一小时排队人数（横轴为几分钟前）。",
    ),
    "chart.now": ("now", "现在"),
    "alert.sla": ("SLA breached", "SLA 超时"),
    "alert.complaint": ("complaint", "投诉"),
    "alert.flagged": ("flagged", "需关注"),
    "alert.none": ("No open breaches or complaints.", "暂无超时或投诉。"),
}
