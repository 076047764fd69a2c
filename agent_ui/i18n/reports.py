# ruff: noqa: E501 - a message reads better on one line than wrapped
"""The reports page: queue and agent figures over an interval, and the definition of each figure.

Each key with its English and Simplified Chinese text side by side: (en, zh-CN).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.reports": ("Reports", "报表"),
    "rep.title": ("Reports", "报表"),
    "rep.from": ("From", "开始"),
    "rep.to": ("To", "结束"),
    "rep.show": ("Show", "查询"),
    "rep.csv": ("CSV", "导出 CSV"),
    "rep.by_queue": ("By queue", "按队列"),
    "rep.by_agent": ("By agent", "按坐席"),
    "rep.definitions": ("Definitions", "指标定义"),
    "rep.queue": ("Queue", "队列"),
    "rep.talk": ("Talk time", "通话时长"),
    "rep.hold": ("Hold time", "保持时长"),
    "rep.wrap": ("Wrap-up time", "话后处理时长"),
    "rep.none": ("No calls in this interval.", "此时段内没有来电。"),
    "rep.bad_interval": ("That interval is not valid; showing today instead.", "时段无效，改为显示今日。"),
    "def.offered.name": ("Offered", "呼入量"),
    "def.offered": (
        "Calls that entered a queue in the interval (by the time they arrived).",
        "时段内进入队列的来电（按到达时间计）。",
    ),
    "def.answered.name": ("Answered", "接听量"),
    "def.answered": ("Offered calls an agent answered.", "坐席接听的呼入来电。"),
    "def.abandoned.name": ("Abandoned", "放弃量"),
    "def.abandoned": (
        "Callers who hung up before an agent answered. Those who hung up within {short} s are short abandons and count neither for nor against the queue.",
        "坐席接听前挂机的来电。{short} 秒内挂机的算短时放弃，不计入也不扣减队列指标。",
    ),
    "def.service_level.name": ("Service level", "服务水平"),
    "def.service_level": (
        "Calls answered within the queue's threshold ({sl} s by default) ÷ (offered − short abandons).",
        "在队列阈值（默认 {sl} 秒）内接听的来电 ÷（呼入量 − 短时放弃）。",
    ),
    "def.service_level_asterisk.name": ("SL (Asterisk)", "SL（Asterisk 口径）"),
    "def.service_level_asterisk": (
        "Asterisk's ServicelevelPerf: calls answered within the threshold ÷ answered calls. Abandons do not count, so it can look good while callers give up.",
        "Asterisk 的 ServicelevelPerf：阈值内接听 ÷ 接听量。不计放弃，来电者放弃时该值仍可能很高。",
    ),
    "def.service_level_asterisk_sl2.name": ("SL2 (Asterisk)", "SL2（Asterisk 口径）"),
    "def.service_level_asterisk_sl2": (
        "Asterisk's ServicelevelPerf2: (answered + abandoned within the threshold) ÷ (answered + abandoned).",
        "Asterisk 的 ServicelevelPerf2：（阈值内接听 + 阈值内放弃）÷（接听量 + 放弃量）。",
    ),
    "def.asa.name": ("ASA", "平均应答速度"),
    "def.asa": ("Average speed of answer: the mean wait of answered calls.", "已接听来电的平均等待时长。"),
    "def.aht.name": ("AHT", "平均处理时长"),
    "def.aht": (
        "Average handle time: the mean of talk + hold + wrap-up over answered calls whose wrap-up has ended. Talk runs from the answer to the end of the agent's leg, less hold; wrap-up until the agent's next state. The wallboard uses the same definition.",
        "平均处理时长：已结束话后处理的已接来电的（通话 + 保持 + 话后处理）平均值。通话从接通到坐席挂断，不含保持；话后处理到坐席进入下一状态为止。监控墙使用同一定义。",
    ),
    "def.abandon_rate.name": ("Abandon rate", "放弃率"),
    "def.abandon_rate": (
        "(Abandoned − short abandons) ÷ (offered − short abandons).",
        "（放弃量 − 短时放弃）÷（呼入量 − 短时放弃）。",
    ),
    "def.longest_wait.name": ("Longest wait", "最长等待"),
    "def.longest_wait": (
        "The longest time any call waited, answered or not.",
        "时段内任一来电的最长等待时长，无论是否接听。",
    ),
}
