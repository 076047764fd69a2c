"""The sample dialplan (config/asterisk/extensions.conf) has every extension the Asterisk link
sends callers to, in the context the link names (cti.ami.dialplan).

Found on a real Asterisk 22.10.1 (tests/fixtures/live-22.10.1/control-rewait-misplaced.ami): `rewait`
had slipped into [hotline-ivr], so the link's `Redirect hotline-control,rewait,1` after an
unanswered ring ran the queue pattern `_[a-z].` of [hotline-control] instead: the caller was
recorded again, announced again (`UserEvent HotlineWaiting`, `Queue: rewait`) and the router
offered the call anew while the old offer was still being called off.
"""

from __future__ import annotations

import re
from pathlib import Path

from cti.ami.dialplan import CONNECT_CONTEXT, CONNECT_EXTEN, REWAIT_EXTEN, WAIT_CONTEXT, WAIT_EXTEN

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "asterisk" / "extensions.conf"
FIXTURES = ROOT / "tests" / "fixtures" / "live-22.10.1"


def extensions(text: str) -> dict[str, set[str]]:
    """context → the extensions defined in it (`exten => name,1,...`), as pbx_config reads them."""
    contexts: dict[str, set[str]] = {}
    current: set[str] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if header := re.fullmatch(r"\[([^\]]+)\](?:\(.*\))?", line):
            current = contexts.setdefault(header.group(1), set())
        elif current is not None and (exten := re.match(r"exten\s*=>?\s*([^,]+),", line)):
            current.add(exten.group(1).strip())
    return contexts


def test_the_link_targets_are_literal_extensions_of_their_context() -> None:
    contexts = extensions(SAMPLE.read_text(encoding="utf-8"))
    assert WAIT_EXTEN in contexts[WAIT_CONTEXT]
    assert REWAIT_EXTEN in contexts[WAIT_CONTEXT]  # else `_[a-z].` takes "rewait" for a queue
    assert CONNECT_EXTEN in contexts[CONNECT_CONTEXT]


def test_rewait_is_defined_once_and_only_where_the_redirect_goes() -> None:
    contexts = extensions(SAMPLE.read_text(encoding="utf-8"))
    holding = sorted(name for name, extens in contexts.items() if REWAIT_EXTEN in extens)
    assert holding == [WAIT_CONTEXT]


def test_the_real_capture_shows_what_the_misplaced_rewait_did() -> None:
    """The capture of the defect: after the Redirect to rewait, the same caller channel ran the
    queue pattern and announced itself again, with "rewait" as its queue."""
    capture = (FIXTURES / "control-rewait-misplaced.ami").read_bytes().decode("utf-8")
    announced = [m for m in capture.split("\r\n\r\n") if "UserEvent: HotlineWaiting" in m]
    assert any("Queue: rewait" in m for m in announced)
    assert any("Queue: billing" in m for m in announced)
