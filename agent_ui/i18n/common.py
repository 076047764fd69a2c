"""Messages every page uses: the header, navigation, sign-in, roles, the live link's status.

Each key with its English and Simplified Chinese text side by side: (en, zh-CN).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("Hotline", "Hotline 热线"),
    "nav.skip": ("Skip to content", "跳到正文"),
    "nav.label": ("Pages", "页面"),
    "nav.signout": ("Sign out", "退出"),
    "lang.label": ("Language", "语言"),
    "lang.switch": ("Switch", "切换"),
    "role.agent": ("agent", "坐席"),
    "role.supervisor": ("supervisor", "班长"),
    "role.auditor": ("auditor", "审计"),
    "role.admin": ("admin", "管理员"),
    "role.technician": ("technician", "维修师傅"),
    "login.title": ("Sign in", "登录"),
    "login.login": ("Login", "工号 / 登录名"),
    "login.password": ("Password", "密码"),
    "login.submit": ("Sign in", "登录"),
    "login.failed": (
        "Wrong login or password, or the account is disabled.",
        "登录名或密码错误，或账号已停用。",
    ),
    "login.throttled": (
        "Too many sign-in attempts. Wait a few minutes, then try again.",
        "登录尝试次数过多，请等几分钟后再试。",
    ),
    "login.busy": ("Sign-in is busy. Try again in a moment.", "登录繁忙，请稍后再试。"),
    "forbidden.text": ("You may not open {page}.", "您无权打开 {page}。"),
    "link.connecting": ("connecting…", "连接中…"),
    "link.connected": ("connected", "已连接"),
    "link.reconnecting": ("connection lost, reconnecting…", "连接中断，正在重连…"),
    "link.signed_out": ("signed out", "已退出"),
    "link.forbidden": ("this page is not for your role", "您的角色不能使用此页面"),
    # API errors as a page shows them (Hotline.problem in common.js picks err.<error_id>)
    "err.generic": ("Refused: {message}", "未能执行：{message}"),
    "err.invalid_transition": (
        "Not possible in the agent's current state (for example logging out during a call).",
        "坐席当前状态下无法执行（例如通话中不能签出）。",
    ),
    "err.no_call": ("The agent is not talking with a caller right now.", "该坐席当前没有通话。"),
    "err.not_available": ("This telephony link does not offer that.", "当前电话链路不支持此操作。"),
    "err.telephony_refused": ("The phone system refused it; try again.", "电话系统拒绝了该操作，请重试。"),
    "err.unknown_agent": ("No such agent.", "没有该坐席。"),
    "err.not_your_agent": ("That agent is in none of your queues.", "该坐席不在您负责的队列中。"),
    "err.not_your_call": ("That call is not yours.", "这不是您的通话。"),
    "err.invalid_input": ("Something entered is not valid.", "输入的内容无效。"),
    "err.forbidden": ("Your role may not do that.", "您的角色无权执行此操作。"),
    "err.not_authenticated": ("Please sign in again.", "请重新登录。"),
    "err.csrf_failed": ("The page was out of date; reload it and try again.", "页面已过期，请刷新后重试。"),
    "err.not_found": ("It no longer exists.", "该对象已不存在。"),
    "err.version_conflict": (
        "Someone else changed this in the meantime; the page shows it as it is now.",
        "其他人刚刚修改过，页面已显示最新内容。",
    ),
    "err.unknown_action": ("No such action.", "没有该操作。"),
    "tz.label": ("Times: {zone}", "时区：{zone}"),
    "tz.title": (
        "All times on these pages are in the call center's time zone.",
        "本系统所有时间均为呼叫中心所在时区。",
    ),
}
