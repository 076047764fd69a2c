"""Refused orders, arbitration and the responsibility figures (#20): (en, zh-CN) side by side."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.arbitration": ("Arbitration", "仲裁"),
    "nav.responsibility": ("Responsibility", "责任统计"),
    "dsp.refuse": ("Department refuses…", "部门退单…"),
    "arb.title": ("Arbitration of bounced orders", "退单仲裁"),
    "arb.total": ("{n} waiting", "{n} 张待仲裁"),
    "arb.intro": (
        "Orders refused too often, or refused again after a dispatcher overrode a refusal. "
        "Your decision is final for the order: whoever it goes to does it, with no further refusal.",
        "多次退单、或调度驳回退单后再次被退的派工单。您的裁定对该派工单是最终的：指派给谁就由谁处理，不能再退单。",
    ),
    "arb.history": ("Refusals", "退单记录"),
    "arb.assign_to": ("Assign to", "指派给"),
    "arb.choose": ("— choose a technician —", "— 请选择师傅 —"),
    "arb.note": ("Decision note (on the audit log)", "裁定说明（记入审计日志）"),
    "arb.final_hint": ("Final: the order cannot be refused after this.", "最终裁定：此后该派工单不能再退。"),
    "arb.decide": ("Decide", "裁定"),
    "arb.none": ("No order is waiting for arbitration.", "没有待仲裁的派工单。"),
    "arb.decided": ("Decided: the order went to the technician you chose.", "已裁定，派工单已交给所选师傅。"),
    "arb.missing": ("A decision needs: {fields}.", "裁定必须填写：{fields}。"),
    "arb.f_technician": ("a technician", "指派的师傅"),
    "arb.f_note": ("a note", "裁定说明"),
    "arb.conflict": (
        "Someone else changed this order just now; here is the fresh list.",
        "该派工单刚被他人修改，已显示最新列表。",
    ),
    "arb.illegal": ("That order is no longer waiting for arbitration.", "该派工单已不在待仲裁状态。"),
    "arb.not_found": ("No such work order or technician.", "没有这张派工单或这位师傅。"),
    "arb.failed": ("The decision was refused.", "裁定被拒绝。"),
    "rsp.title": ("Responsibility by department and person", "部门与人员责任统计"),
    "rsp.bad_interval": (
        "That interval cannot be read; showing the last 30 days.",
        "时间段无法识别，显示最近 30 天。",
    ),
    "rsp.by_department": ("By department", "按部门"),
    "rsp.by_technician": ("By person", "按人员"),
    "rsp.name": ("Name", "名称"),
    "rsp.none": ("No work orders were handed to anyone in this interval.", "此时段内没有派出的工单。"),
    "rsp.nobody": ("(none)", "（未指定）"),
    "rsp.level": ("Level", "层级"),
    "rsp.level.department": ("department", "部门"),
    "rsp.level.technician": ("person", "人员"),
    "rsp.received": ("Received", "接单数"),
    "rsp.refused": ("Refused", "退单次数"),
    "rsp.refused_for": ("Refused: {reason}", "退单：{reason}"),
    "rsp.bounced": ("Bounced orders", "被退派工单"),
    "rsp.arbitrated": ("Arbitrated", "进入仲裁"),
    "rsp.reopened": ("Reopened", "回访重开"),
    "rsp.completed": ("Completed", "完工"),
    "rsp.ftr": ("First time right", "一次办结率"),
    "rsp.stage.accept": ("Accept (median)", "接单用时（中位数）"),
    "rsp.stage.dispatch": ("Dispatch (median)", "派达用时（中位数）"),
    "rsp.stage.on_site": ("On site (median)", "到场用时（中位数）"),
    "rsp.stage.resolve": ("Resolve (median)", "完工用时（中位数）"),
    "rsp.stages": ("Stage times", "各环节用时"),
    "rsp.sla": ("SLA breaches", "SLA 超时"),
    "rsp.def.received": (
        "Distinct work orders handed to them in the interval.",
        "时间段内交给该部门/人员的派工单数（按单去重）。",
    ),
    "rsp.def.refused": (
        "Their refusals, in all and per reason; one order refused twice counts twice.",
        "其退单次数，合计及按原因；同一单退两次计两次。",
    ),
    "rsp.def.bounced": ("Distinct orders they refused at least once.", "其至少退过一次的派工单数。"),
    "rsp.def.arbitrated": (
        "Distinct orders they held that went to a supervisor's arbitration.",
        "经其手后进入主管仲裁的派工单数。",
    ),
    "rsp.def.reopened": (
        "Orders sent back to them because the follow-up said the problem was not fixed.",
        "因回访答复“未解决”而退回给其重新处理的派工单数。",
    ),
    "rsp.def.ftr": (
        "Of the orders received, the share completed on the first hand-over (no refusal, no "
        "arbitration) and not reopened afterwards.",
        "接单中首次派达即完工（无退单、无仲裁）且之后未被回访重开的比例。",
    ),
    "rsp.def.stages": (
        "Medians from the hand-over to them: accept (took it), on site (arrived), resolve "
        "(completed); dispatch is from the report until the order reached them, bounces included.",
        "自派达起的中位用时：接单、到场、完工；派达用时自申报起至派工单到达其手中（含退单往返）。",
    ),
    "rsp.def.sla": (
        "SLA breaches of the ticket while they held one of its orders.",
        "其持有该工单派工单期间发生的 SLA 超时次数。",
    ),
    "tl.refused": ("Work order {id} refused — {reason}: {note}", "派工单 {id} 被退单 — {reason}：{note}"),
    "tl.overridden": (
        "Work order {id} sent back to {who}, whose department refused it (dispatcher's override)",
        "调度驳回退单，派工单 {id} 重新派回原部门：{who}",
    ),
    "tl.reassigned": ("Work order {id} reassigned to {who}", "派工单 {id} 改派给 {who}"),
    "tl.arbitration_opened": (
        "Work order {id} goes to a supervisor's arbitration",
        "派工单 {id} 进入主管仲裁",
    ),
    "tl.arbitration_decided": (
        "Work order {id} decided (final): {who} — {note}",
        "派工单 {id} 已裁定（最终）：{who} — {note}",
    ),
    "tl.reopened_order": (
        "Work order {id}: not fixed, back to the same department",
        "派工单 {id}：回访未解决，退回原部门重新处理",
    ),
    "fup.fixed": ("Fixed?", "是否解决？"),
    "fup.fixed_unknown": ("— not asked —", "— 未询问 —"),
    "fup.fixed_yes": ("Yes, fixed", "已解决"),
    "fup.fixed_no": ("No, not fixed", "未解决"),
}
