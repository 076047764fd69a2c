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
}
