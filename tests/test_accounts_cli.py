"""Accounts from the command line, and every verb finding (or refusing) its database in one line."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent_ui.accounts import MIN_PASSWORD_LENGTH, password_problem


def _hotline(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "agent_ui.cli", *args],
        cwd=cwd, env={**clean, "COLUMNS": "60", **(env or {})}, input=stdin,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _one_time(output: str) -> str:
    found = re.search(r"one-time password: (\S+?)[;\s]", output)
    assert found, output
    return found.group(1)


def test_password_rules_refuse_short_passwords_and_the_login() -> None:
    assert password_problem("1001", "x" * (MIN_PASSWORD_LENGTH - 1)) is not None
    assert password_problem("wang.xiaoming", "Wang.Xiaoming") is not None
    assert password_problem("1001", "a" * 20) is not None
    assert password_problem("1001", "correct horse battery") is None


def test_a_verb_on_a_missing_database_names_the_file_and_what_to_run_and_creates_nothing(
    tmp_path: Path,
) -> None:
    for verb in (["customers", "export", "out.csv"], ["audit", "verify"], ["users", "list"]):
        code, output = _hotline(*verb, cwd=tmp_path)
        assert code == 2, output
        assert "Traceback" not in output
        lines = output.strip().splitlines()
        assert len(lines) == 1, output
        assert str(tmp_path / "var" / "hotline.db") in lines[0]
        assert "hotline db upgrade" in lines[0] and "--demo" in lines[0]
    assert not (tmp_path / "var" / "hotline.db").exists()
    code, output = _hotline("customers", "export", "out.csv", "--demo", cwd=tmp_path)
    assert code == 2 and str(tmp_path / "var" / "demo" / "hotline.db") in output
    assert "hotline db upgrade --demo" in output


def test_an_unmigrated_database_is_named_with_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    sqlite3.connect(tmp_path / "var" / "hotline.db").close()  # an empty file: not set up
    code, output = _hotline("users", "list", cwd=tmp_path)
    assert code == 2 and "Traceback" not in output
    assert "is not set up: run `hotline db upgrade`" in output


def test_db_upgrade_creates_the_first_admin_once_and_users_verbs_manage_accounts(tmp_path: Path) -> None:
    code, output = _hotline("db", "upgrade", cwd=tmp_path)
    assert code == 0, output
    first = _one_time(output)
    assert len(first) >= MIN_PASSWORD_LENGTH
    code, again = _hotline("db", "upgrade", cwd=tmp_path)
    assert code == 0 and "one-time password" not in again and first not in again

    code, output = _hotline("users", "add", "1001", "--name", "王小明", cwd=tmp_path)
    assert code == 0, output
    agent_password = _one_time(output)
    code, output = _hotline("users", "add", "1001", "--name", "again", cwd=tmp_path)
    assert code == 2 and "exists already" in output and "Traceback" not in output
    code, output = _hotline("users", "add", "x", "--name", "X", "--role", "boss", cwd=tmp_path)
    assert code == 2 and "unknown role" in output

    code, listing = _hotline("users", "list", cwd=tmp_path)
    assert code == 0
    assert re.search(r"^1001\s+agent\s+王小明 must-change-password$", listing, re.M), listing
    assert re.search(r"^admin\s+admin\s+Administrator must-change-password$", listing, re.M), listing

    code, output = _hotline("users", "passwd", "1001", "--prompt", cwd=tmp_path, stdin="short\nshort\n" * 3)
    assert code != 0 and "refused: the password needs at least" in output  # then the prompt gives up
    code, output = _hotline(
        "users", "passwd", "1001", "--prompt", "--keep", cwd=tmp_path,
        stdin="a proper passphrase\na proper passphrase\n",
    )  # fmt: skip
    assert code == 0, output
    code, output = _hotline("users", "disable", "1001", cwd=tmp_path)
    assert code == 0 and "disabled" in output
    code, listing = _hotline("users", "list", cwd=tmp_path)
    assert re.search(r"^1001\s+agent\s+王小明 disabled$", listing, re.M), listing
    assert agent_password not in listing and first not in listing


def test_the_first_admin_takes_hotline_admin_password_and_a_weak_one_is_refused(tmp_path: Path) -> None:
    code, output = _hotline("db", "upgrade", cwd=tmp_path, env={"HOTLINE_ADMIN_PASSWORD": "admin"})
    assert code == 2 and "the password needs at least" in output and "Traceback" not in output
    strong = "a long admin passphrase"
    code, output = _hotline("db", "upgrade", cwd=tmp_path, env={"HOTLINE_ADMIN_PASSWORD": strong})
    assert code == 0 and "created with HOTLINE_ADMIN_PASSWORD" in output and strong not in output
    code, listing = _hotline("users", "list", cwd=tmp_path)
    assert re.search(r"^admin\s+admin\s+Administrator$", listing, re.M), listing


@pytest.mark.parametrize("verb", [["users", "list"], ["customers", "export", "o.csv"]])
def test_verbs_read_hotline_database_url_like_serve(tmp_path: Path, verb: list[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}"
    code, output = _hotline("db", "upgrade", cwd=tmp_path, env={"HOTLINE_DATABASE_URL": url})
    assert code == 0, output
    code, output = _hotline(*verb, cwd=tmp_path, env={"HOTLINE_DATABASE_URL": url})
    assert code == 0, output
    assert not (tmp_path / "var" / "hotline.db").exists()


def test_config_export_and_import_round_trip_and_a_bad_file_is_one_line_changing_nothing(
    tmp_path: Path,
) -> None:
    assert _hotline("db", "upgrade", cwd=tmp_path)[0] == 0
    code, output = _hotline("config", "export", "center.yaml", cwd=tmp_path)
    assert code == 0, output
    text = (tmp_path / "center.yaml").read_text(encoding="utf-8")
    assert "name: support" in text and "strategy: longest-idle" in text
    (tmp_path / "center.yaml").write_text(text.replace("strategy: longest-idle", "strategy: fewest-calls"))
    code, output = _hotline("config", "import", "center.yaml", cwd=tmp_path)
    assert code == 0 and "configuration version 1" in output, output
    (tmp_path / "bad.yaml").write_text(text.replace("wrapup_s:", "wrapup_seconds:", 1))
    code, output = _hotline("config", "import", "bad.yaml", cwd=tmp_path)
    assert code == 2 and "Traceback" not in output and len(output.strip().splitlines()) == 1
    assert "queues[0].wrapup_seconds" in output
    code, exported = _hotline("config", "export", cwd=tmp_path)
    assert code == 0 and "strategy: fewest-calls" in exported and "wrapup_seconds" not in exported


def test_database_verbs_run_with_the_env_of_serve_that_names_several_pbxs(tmp_path: Path) -> None:
    """Found running a real two-Asterisk center: with the env file of `hotline serve`
    (HOTLINE_PBX_LINKS set) `hotline db upgrade` and `hotline users ...` refused to start,
    because they run without a PBX and further links are only for Asterisk."""
    env = {
        "HOTLINE_PBX_LINKS": '{"east": {"host": "127.0.0.1", "secret": "east-ami-secret-1"}}',
        "HOTLINE_AMI_SECRET": "main-ami-secret-1",
        "HOTLINE_ADMIN_PASSWORD": "an-admin-password-1",
    }
    code, output = _hotline("db", "upgrade", cwd=tmp_path, env=env)
    assert code == 0, output
    code, output = _hotline("users", "list", cwd=tmp_path, env=env)
    assert code == 0 and "admin" in output, output
