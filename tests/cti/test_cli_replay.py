"""`hotline ami replay` prints what cti.replay computes, one JSON line each."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agent_ui.cli import app
from tests.cti.peer import FIXTURES


def test_ami_replay_prints_one_summary_per_call_and_events_on_request() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ami", "replay", str(FIXTURES / "04-two-concurrent.ami")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(x["agent"], x["outcome"]) for x in lines] == [("1001", "answered"), ("1002", "answered")]
    result = runner.invoke(app, ["ami", "replay", "--events", str(FIXTURES / "03-abandon.ami")])
    kinds = [json.loads(line)["kind"] for line in result.output.splitlines()]
    assert "abandoned" in kinds and all(
        not json.loads(x)["at"].startswith("1970") for x in result.output.splitlines()
    )


def test_ami_replay_of_a_missing_file_fails_with_one_line() -> None:
    result = CliRunner().invoke(app, ["ami", "replay", "missing.ami"])
    assert result.exit_code == 2 and "no such trace file" in result.output
