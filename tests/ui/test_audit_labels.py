"""Every action the services write to the audit trail reads as words on the audit page, in both
languages: not as its code ('kb.create') nor as a family with an English verb ('派工单: on the way')."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_ui.i18n import messages
from agent_ui.i18n.audit_labels import action_label
from tickets.models import TicketState, WorkOrderState

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent_ui", "tickets", "recordings", "audit", "cti", "calls")
# `action="family.verb"` and `tx.audit(actor, "family.verb", ...)`, as the services write them.
WRITTEN = re.compile(
    r'(?:action\s*=\s*|\.audit\(\s*\w+,\s*|else\s+|^\s+)"((?P<family>[a-z_]+)\.[a-z_]+)",?\s*(?:$|if|\))',
    re.M,
)
FAMILIES = {"admin", "audit", "auth", "category", "customer", "department", "incident", "kb", "recording",
            "supervisor", "technician", "ticket", "work_order"}  # fmt: skip
NOT_VERBS = {"id", "html"}  # a column ("ticket.id") or a template ("ticket.html"), not an action


def written_actions() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "i18n" in path.parts:
                continue
            for match in WRITTEN.finditer(path.read_text(encoding="utf-8")):
                if match["family"] in FAMILIES and match[1].partition(".")[2] not in NOT_VERBS:
                    found.add(match[1])
    # the ones built from a value: f"ticket.{state}", f"work_order.{state}", f"supervisor.{action}"
    found |= {f"ticket.{s.value}" for s in TicketState if s is not TicketState.REPORTED}
    found |= {f"work_order.{s.value}" for s in WorkOrderState}
    found |= {f"supervisor.{a}" for a in ("listen", "whisper", "barge", "pause", "ready", "logout")}
    return found


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_audited_action_has_a_label_of_its_own(language: str) -> None:
    actions = written_actions()
    assert {"kb.create", "category.update", "work_order.on_the_way", "admin.config_change"} <= actions
    catalogue = messages(language)
    missing = sorted(a for a in actions if f"aud.act.{a}" not in catalogue)
    assert missing == [], missing
    assert action_label("kb.create", "zh-CN") == "新建知识库文章"
