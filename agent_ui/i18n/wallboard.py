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
    "sup.incidents": ("Open incidents", "进行中的故障事件"),
    "sup.incidents_page": ("declare or resolve", "发布或解除"),
    "sup.incidents_none": ("No open incidents.", "暂无进行中的故障事件。"),
    "q.waiting": ("Waiting now", "排队中"),
    "q.longest": ("Longest wait", "最长等待"),
    "q.sl": ("Service level / target", "服务水平 / 目标"),
    "q.asa": ("ASA", "平均应答速度"),
    "q.aht": ("AHT", "平均处理时长"),
    "q.sl_asterisk": (
        "As Asterisk counts it: SL {sl} (ServicelevelPerf, abandons left out) · SL2 {sl2} (ServicelevelPerf2)",
        "按 Asterisk 口径：SL {sl}（ServicelevelPerf，不计放弃）· SL2 {sl2}（ServicelevelPerf2）",
    ),
    "q.abandon": ("Abandon rate", "放弃率"),
    "q.erlang": ("Agents needed now", "当前需要坐席"),
    "q.erlang_value": ("{need} (staffed {have})", "{need}（在岗 {have}）"),
    "q.erlang_forecast": (
        "Erlang C for the next interval: {agents} at {rate} calls/h, handle time {aht}; the {have} staffed reach a service level of {sl}.",
        "下一时段 Erlang C：{agents} 人（来电 {rate} 通/小时，处理时长 {aht}）；现有 {have} 人可达服务水平 {sl}。",
    ),
    "q.erlang_no_forecast": (
        "No forecast yet (needs calls over 5 minutes); callers waiting count in full.",
        "暂无预测（需观察 5 分钟来电）；排队来电全部计入。",
    ),
    "q.erlang_window": ("Window: last {minutes} min.", "统计窗口：最近 {minutes} 分钟。"),
    "q.erlang_window_short": (
        "Window: last {minutes} min (only {measured} min observed so far).",
        "统计窗口：最近 {minutes} 分钟（目前仅观察了 {measured} 分钟）。",
    ),
    "sup.waiting": ("Callers waiting", "排队来电"),
    "w.position": ("#", "序号"),
    "w.queue": ("Queue", "队列"),
    "w.caller": ("Caller", "来电人"),
    "w.tier": ("Tier", "客户等级"),
    "w.waited": ("Waiting", "已等待"),
    "w.ringing": ("Ringing", "正在振铃"),
    "w.none": ("Nobody is waiting.", "当前无人排队。"),
    "w.unknown": ("unknown number", "未知号码"),
    "w.callback": ("callback", "回拨"),
    "a.caller": ("Caller", "来电人"),
    "a.queue": ("Queue", "队列"),
    "a.pause_after": ("pauses after this call", "本通话结束后置忙"),
    "a.pause_deferred": (
        "Agent {agent} is on a call: paused as soon as the call and its wrap-up end.",
        "坐席 {agent} 正在通话：通话及话后处理结束后即置忙。",
    ),
    "a.refused": ("Not done for agent {agent}: {why}", "坐席 {agent} 未执行：{why}"),
    "spy.phone": (
        "Listen, whisper and barge ring your phone: {phone}.",
        "监听、密语、强插将呼叫您的话机：{phone}。",
    ),
    "spy.no_phone": (
        "Listen, whisper and barge need your phone in the call-center file (users: phone).",
        "监听、密语、强插需要在呼叫中心配置中为您设置话机（users: phone）。",
    ),
    "spy.started_listen": (
        "Listening to agent {agent}: your phone {phone} rings.",
        "正在监听坐席 {agent}：您的话机 {phone} 将振铃。",
    ),
    "spy.started_whisper": (
        "Whispering to agent {agent}: your phone {phone} rings.",
        "正在对坐席 {agent} 密语：您的话机 {phone} 将振铃。",
    ),
    "spy.started_barge": (
        "Barging into agent {agent}'s call: your phone {phone} rings.",
        "正在强插坐席 {agent} 的通话：您的话机 {phone} 将振铃。",
    ),
    "spy.active_listen": ("Listening (until the call ends or you hang up)", "监听中（通话结束或您挂机为止）"),
    "spy.active_whisper": (
        "Whispering (until the call ends or you hang up)",
        "密语中（通话结束或您挂机为止）",
    ),
    "spy.active_barge": ("Barged in (until the call ends or you hang up)", "强插中（通话结束或您挂机为止）"),
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
