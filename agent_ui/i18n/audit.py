"""The audit page: recordings for auditors, the hash-chained trail, verifying it.

Each key with its English and Simplified Chinese text side by side: (en, zh-CN).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.audit": ("Audit", "审计"),
    "aud.title": ("Recordings and audit trail", "录音与审计日志"),
    "aud.verify": ("Verify", "校验"),
    "aud.verify_help": (
        "Re-hash the audit chain and every stored recording; any break is reported with its position.",
        "重新计算审计链和每个已存录音的哈希；如有断裂，报告其位置。",
    ),
    "aud.verify_button": ("Verify now", "立即校验"),
    "aud.chain_ok": ("Audit chain intact ({n} entries).", "审计链完整（{n} 条）。"),
    "aud.chain_broken": ("Audit chain BROKEN at entry {seq}: {why}.", "审计链在第 {seq} 条断裂：{why}。"),
    "aud.files_ok": ("All {n} stored recordings match their SHA-256.", "全部 {n} 个录音与其 SHA-256 一致。"),
    "aud.files_broken": (
        "{n} problems with stored recordings: missing, altered, or no longer what the audit log archived.",
        "已存录音有 {n} 处问题：缺失、被改动，或与审计日志归档时的记录不符。",
    ),
    "aud.checkpoints_ok": (
        "The log still holds every one of the {n} published checkpoints.",
        "已发布的 {n} 个检查点均与审计日志一致。",
    ),
    "aud.checkpoints_broken": (
        "{n} published checkpoints do not match the log: entries were cut off or rewritten.",
        "有 {n} 个已发布的检查点与审计日志不符：日志末尾被截断或被改写。",
    ),
    "aud.checkpoints_off": (
        "No checkpoint key is configured (HOTLINE_AUDIT_CHECKPOINT_KEY): "
        "entries cut off the end of the log would go unnoticed.",
        "未配置检查点密钥（HOTLINE_AUDIT_CHECKPOINT_KEY）：日志末尾的条目被删除将无法发现。",
    ),
    "aud.problem.missing": (
        "Recording {id}: its file is gone from the store.",
        "录音 {id}：存储中的文件已丢失。",
    ),
    "aud.problem.hash_mismatch": (
        "Recording {id}: its file was altered (the bytes no longer hash to the stored SHA-256).",
        "录音 {id}：文件被改动（内容与记录的 SHA-256 不符）。",
    ),
    "aud.problem.row_hash_changed": (
        "Recording {id}: its SHA-256 is not the one the audit log archived: the audio was swapped.",
        "录音 {id}：其 SHA-256 与审计日志归档时的不同：音频被替换。",
    ),
    "aud.problem.size_changed": (
        "Recording {id}: its size is not the archived one.",
        "录音 {id}：文件大小与归档时不同。",
    ),
    "aud.problem.blob_key_changed": (
        "Recording {id}: it points to another stored file than when archived.",
        "录音 {id}：指向的存储文件与归档时不同。",
    ),
    "aud.problem.owner_changed": (
        "Recording {id}: its agent was changed after archiving.",
        "录音 {id}：归档后坐席被改动。",
    ),
    "aud.problem.agents_changed": (
        "Recording {id}: who may listen changed without an audit entry.",
        "录音 {id}：可收听的坐席在无审计记录的情况下被改动。",
    ),
    "aud.problem.queue_changed": (
        "Recording {id}: its queue was changed after archiving.",
        "录音 {id}：归档后队列被改动。",
    ),
    "aud.problem.not_audited": (
        "Recording {id}: stored, but never archived through the audit log.",
        "录音 {id}：已存储，但审计日志中没有其归档记录。",
    ),
    "aud.problem.row_missing": (
        "Recording {id}: archived on the audit log, but its record was deleted.",
        "录音 {id}：审计日志中有归档记录，但其数据行已被删除。",
    ),
    "aud.recordings": ("Recordings", "录音"),
    "aud.call": ("Call", "通话"),
    "aud.agent": ("Agent", "坐席"),
    "aud.queue": ("Queue", "队列"),
    "aud.started": ("Started", "开始时间"),
    "aud.duration": ("Duration", "时长"),
    "aud.hold": ("Legal hold", "法律保全"),
    "aud.on_hold": ("on hold", "保全中"),
    "aud.play": ("Play", "播放"),
    "aud.download": ("Download", "下载"),
    "aud.deleted": ("deleted (hash kept)", "已删除（保留哈希）"),
    "aud.none": ("Nothing yet.", "暂无。"),
    "aud.trail": ("Audit trail (newest first)", "审计日志（最新在前）"),
    "aud.at": ("Time", "时间"),
    "aud.actor": ("Who", "操作人"),
    "aud.action": ("What", "操作"),
    "aud.subject": ("Subject", "对象"),
    "aud.outcome": ("Outcome", "结果"),
}
