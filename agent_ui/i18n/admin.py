"""Messages of the account pages (/account/password, /admin/users) and the administration pages."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.admin_users": ("Accounts", "账号"),
    "nav.password": ("My password", "修改密码"),
    "password.title": ("Change your password", "修改密码"),
    "password.forced": (
        "Your password was set by an administrator: choose your own to continue.",
        "您的密码由管理员设置，请先设置您自己的密码。",
    ),
    "password.current": ("Current password", "当前密码"),
    "password.new": ("New password", "新密码"),
    "password.again": ("New password again", "再次输入新密码"),
    "password.rules": (
        "At least 10 characters, not your login.",
        "至少 10 个字符，不能与登录名相同。",
    ),
    "password.submit": ("Change password", "修改密码"),
    "password.mismatch": ("The two new passwords differ.", "两次输入的新密码不一致。"),
    "password.same": ("The new password must differ from the current one.", "新密码不能与当前密码相同。"),
    "password.wrong_current": ("The current password is wrong.", "当前密码错误。"),
    "password.weak": ("Password refused: {reason}.", "密码不符合要求：{reason}。"),
    "users.title": ("Accounts", "账号管理"),
    "users.login": ("Login", "登录名"),
    "users.name": ("Name", "姓名"),
    "users.role": ("Role", "角色"),
    "users.language": ("Language", "语言"),
    "users.state": ("State", "状态"),
    "users.active": ("active", "启用"),
    "users.disabled": ("disabled", "已停用"),
    "users.must_change": ("must change password", "须修改密码"),
    "users.actions": ("Actions", "操作"),
    "users.create": ("New account", "新建账号"),
    "users.create_submit": ("Create", "创建"),
    "users.create_hint": (
        "A one-time password is shown once; the person chooses their own at the first sign-in. "
        "An agent's login is their agent id.",
        "一次性密码只显示一次，本人首次登录时须改为自己的密码。坐席的登录名即坐席工号。",
    ),
    "users.issued": ("One-time password for {login}:", "{login} 的一次性密码："),
    "users.issued_hint": ("Shown only now. Hand it over in person.", "仅显示这一次，请当面交给本人。"),
    "users.reset": ("Reset password", "重置密码"),
    "users.disable": ("Disable", "停用"),
    "users.enable": ("Enable", "启用"),
    "users.set_role": ("Set role", "设置角色"),
    "users.sessions": ("Signed in", "在线会话"),
    "users.end_sessions": ("Sign out everywhere", "强制下线"),
    "users.sessions_ended": (
        "{login} is signed out everywhere ({n} sessions ended).",
        "{login} 已在所有设备上下线（结束 {n} 个会话）。",
    ),
    "users.refused.invalid_login": (
        "Login: 1-40 letters, digits or _ . @ -.",
        "登录名：须为 1-40 个字母、数字或 _ . @ -。",
    ),
    "users.refused.invalid_name": ("Name: required.", "姓名：必填。"),
    "users.refused.login_taken": (
        "Login: an account {login} exists already.",
        "登录名：账号 {login} 已存在。",
    ),
    "users.refused.own_account": (
        "You cannot change your own role or disable your own account.",
        "不能更改自己的角色，也不能停用自己的账号。",
    ),
    "users.refused.unknown_user": ("Login: no account {login}.", "登录名：没有账号 {login}。"),
    "users.refused.weak_password": ("Password: {reason}.", "密码：{reason}。"),
    "users.refused.role": ("Role: not a role of Hotline.", "角色：不是有效的角色。"),
    "password.rule.too_short": ("at least 10 characters", "至少 10 个字符"),
    "password.rule.is_login": ("it may not be the login", "不能与登录名相同"),
    "password.rule.one_character": ("not one character repeated", "不能是同一个字符重复"),
    "admin.title": ("Administration", "系统管理"),
    "admin.queues": ("Queues", "队列"),
    "admin.agents": ("Agents", "坐席"),
    "admin.center": ("Supervisors, IVR, SLA", "班长、语音导航、SLA"),
    "admin.saved": ("Saved: {what}. In force now, no restart.", "已保存：{what}。立即生效，无需重启。"),
    "admin.save": ("Save", "保存"),
    "admin.live_hint": (
        "Changes apply at once to the running router: waiting callers keep their place and the "
        "skills they arrived with; the next call is routed by the new settings.",
        "修改立即应用于正在运行的路由：排队中的来电保持原有位置和进线时所需的技能；下一通来电按新设置分配。",
    ),
    "admin.wrapup_guarantee.control": (
        "Control mode: Hotline's router offers an agent in wrap-up no call until they press Done "
        "(wrap-up ends: when the agent presses Done); the maximum only marks them overdue.",
        "控制模式：坐席处于话后处理时，Hotline 的路由在其按“完成”之前不分配任何来电"
        "（结束方式为“坐席按完成”时）；上限只会把坐席标为超时。",
    ),
    "admin.wrapup_guarantee.observe": (
        "Observe mode: Asterisk's app_queue rings the agents. During wrap-up Hotline pauses the "
        "member in app_queue (QueuePause, reason hotline-wrap-up) and unpauses it at Done, so no "
        "call rings until then; keep a wrapuptime of a few seconds in queues.conf to cover the "
        "moment between the end of the call and the pause.",
        "旁听模式：由 Asterisk 的 app_queue 振铃坐席。话后处理期间 Hotline 在 app_queue 中暂停该成员"
        "（QueuePause，原因 hotline-wrap-up），按“完成”后恢复，因此在此之前不会振铃；请在 queues.conf "
        "中保留几秒的 wrapuptime，覆盖通话结束到暂停之间的片刻。",
    ),
    "admin.strategy": ("Strategy", "分配策略"),
    # each strategy in words; the option shows its name in the call-center file beside it
    "admin.strategy.ring-all": ("Ring everyone", "全部振铃"),
    "admin.strategy.longest-idle": ("Longest idle first", "空闲最久优先"),
    "admin.strategy.round-robin": ("Round robin", "轮流分配"),
    "admin.strategy.fewest-calls": ("Fewest calls today first", "今日接听最少优先"),
    "admin.strategy.least-talk-time": ("Least talk time today first", "今日通话时长最短优先"),
    "admin.strategy.random": ("Random", "随机"),
    "admin.strategy.weighted-random": ("Weighted random", "加权随机"),
    "admin.strategy.linear": ("In configured order", "按配置顺序"),
    "admin.required_skills": (
        "Skills every caller needs (skill:minimum proficiency)",
        "来电所需技能（技能:最低熟练度）",
    ),
    "admin.ring_timeout": ("Ring timeout (s)", "振铃超时（秒）"),
    "admin.wrapup_max": ("Wrap-up maximum (s, 0 = none)", "话后处理上限（秒，0 为不限）"),
    "admin.wrapup_ends": ("Wrap-up ends", "话后处理结束方式"),
    "admin.wrapup_ends.agent": ("when the agent presses Done", "坐席按“完成”"),
    "admin.wrapup_ends.timer": ("by itself after the time", "到时自动结束"),
    "admin.timezone": ("Time zone", "时区"),
    "admin.hours": ("Opening hours", "营业时间"),
    "admin.holidays": ("Holidays (closed)", "节假日（不营业）"),
    "admin.hours_hint": (
        "One line per day range, e.g. mon-fri: 08:30-12:00, 13:00-18:00. Empty: always open.",
        "每行一组日期，例如 mon-fri: 08:30-12:00, 13:00-18:00。留空表示全天营业。",
    ),
    "admin.overflow_to": ("Overflow to", "溢出到"),
    "admin.overflow_after": ("Overflow after (s)", "等待多久后溢出（秒）"),
    "admin.agents_hint": (
        "Queues as queue:penalty (0 is tried first), skills as skill:proficiency (0-100). "
        "The agent signs in with the account of the same login (Accounts).",
        "队列写成 队列:优先级（0 最先），技能写成 技能:熟练度（0-100）。坐席用同名账号登录（见“账号”）。",
    ),
    "admin.agent_id": ("Agent id", "坐席工号"),
    "admin.agent_queues": ("Queues (queue:penalty)", "队列（队列:优先级）"),
    "admin.agent_skills": ("Skills (skill:proficiency)", "技能（技能:熟练度）"),
    "admin.interface": ("PBX interface", "交换机分机"),
    "admin.twilio": ("Twilio identity", "Twilio 标识"),
    "admin.add_agent": ("Add agent", "新增坐席"),
    "admin.supervisors": ("Supervisors' queues", "班长负责的队列"),
    "admin.supervisors_hint": (
        "A supervisor sees and acts on the queues ticked here (none ticked: all queues).",
        "班长只能查看和管理勾选的队列（都不勾选：全部队列）。",
    ),
    "admin.supervised": ("Queues", "队列"),
    "admin.phone": ("Phone for listen/whisper/barge", "监听/密语/强插所用话机"),
    "admin.no_supervisors": ("No supervisor accounts yet (Accounts).", "还没有班长账号（见“账号”）。"),
    "admin.ivr": ("IVR prompts and menu", "语音导航提示与菜单"),
    "admin.yaml_hint": (
        "The ivr: section of the call-center file, checked as strictly as the file.",
        "即呼叫中心文件中的 ivr: 部分，校验与文件相同。",
    ),
    "admin.import": ("Import / export the call-center file", "导入 / 导出呼叫中心文件"),
    "admin.import_hint": (
        "Paste a whole call-center file (YAML, as hotline config export writes it). It is checked as "
        "strictly as at start-up and applied at once, like every change on these pages: queues, "
        "strategies, agents, skills, hours, supervisors' queues, the service desk's rules and SLA, "
        "and with Twilio the IVR and the agents' Twilio identities.",
        "粘贴完整的呼叫中心文件（YAML，与 hotline config export 的格式相同）。校验与启动时一样严格，"
        "并像本页其他修改一样立即生效：队列、分配策略、坐席、技能、营业时间、班长队列、服务台规则与 SLA，"
        "使用 Twilio 时还包括语音导航和坐席的 Twilio 标识。",
    ),
    "admin.restart_needed": (
        "Taken by the telephony link at start-up, these need a restart of Hotline:",
        "以下内容由电话线路在启动时读取，修改后须重启 Hotline：",
    ),
    "admin.restart.1": (
        "the mode (HOTLINE_MODE: control or observe)",
        "运行模式（HOTLINE_MODE：control 或 observe）",
    ),
    "admin.restart.2": ("agents' PBX interface (Asterisk)", "坐席的交换机分机（Asterisk）"),
    "admin.restart.3": ("supervisors' phones", "班长的话机"),
    "admin.restart.4": ("queues' pbx_members (static or dynamic)", "队列的 pbx_members（static 或 dynamic）"),
    "admin.restart.5": (
        "queues added or removed on the PBX side (queues.conf, the simulated PBX)",
        "交换机一侧新增或删除的队列（queues.conf、模拟交换机）",
    ),
    "admin.export": (
        "Download the configuration in force (callcenter.yaml)",
        "下载当前生效的配置（callcenter.yaml）",
    ),
    "admin.import_text": ("Call-center file (YAML)", "呼叫中心文件（YAML）"),
    "admin.import_submit": ("Import and apply", "导入并生效"),
    "admin.sla": ("Service desk rules and SLA policies", "服务台规则与 SLA 策略"),
    "admin.sla_hint": (
        "The service_desk: section (categories, SLA policies, calendar), checked as strictly as the file.",
        "即 service_desk: 部分（类别、SLA 策略、日历），校验与文件相同。",
    ),
}
