"""`hotline serve --role all|router|web`: roles that share PostgreSQL and Redis are refused without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ProcessRole, SettingsError, load_settings

GOOD = {"session_secret": "s" * 32, "ami_secret": "a-real-secret"}
PG = "postgresql+psycopg://hotline@db.example/hotline"


def test_one_process_on_sqlite_is_still_the_default() -> None:
    settings = load_settings(**GOOD)
    assert settings.role == ProcessRole.ALL
    assert settings.redis_url is None


@pytest.mark.parametrize("role", ["router", "web"])
def test_a_router_or_web_process_on_sqlite_is_refused_saying_why(role: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**GOOD, role=role, redis_url="redis://127.0.0.1:6379/0")
    message = str(refused.value)
    assert f"HOTLINE_ROLE={role}" in message and f"--role {role}" in message
    assert "SQLite is the embedded single-process default" in message
    assert "HOTLINE_DATABASE_URL=postgresql" in message and "HOTLINE_REDIS_URL" in message


def test_the_sqlite_refusal_comes_before_complaints_about_secrets() -> None:
    """An operator trying `--role web` on the default database hears about the database first."""
    with pytest.raises(SettingsError, match="refused on SQLite") as refused:
        load_settings(role="web", redis_url="redis://127.0.0.1:6379/0")
    assert "placeholder secret" not in str(refused.value)


def test_a_router_on_postgresql_without_redis_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"HOTLINE_ROLE=router .* needs HOTLINE_REDIS_URL"):
        load_settings(**GOOD, role="router", database_url=PG)


def test_a_web_worker_on_postgresql_and_redis_is_accepted_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_ROLE", "web")
    monkeypatch.setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:6379/3")
    settings = load_settings(**GOOD, database_url=PG)
    assert settings.role == ProcessRole.WEB
    assert settings.redis_url == "redis://127.0.0.1:6379/3"


def test_a_redis_url_that_is_not_one_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError, match=r"HOTLINE_REDIS_URL: .*not a Redis URL") as refused:
        load_settings(**GOOD, redis_url="http://user:hunter2@cache")
    assert "hunter2" not in str(refused.value)


def _serve(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    clean["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this tree's code, not the installed one
    return subprocess.run(
        [sys.executable, "-m", "agent_ui.cli", "serve", *args],
        cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("role", ["router", "web"])
def test_hotline_serve_with_a_role_on_sqlite_exits_non_zero_saying_why(role: str, tmp_path: Path) -> None:
    env = {
        "HOTLINE_SESSION_SECRET": "s" * 40,
        "HOTLINE_AMI_SECRET": "a-real-secret",
        "HOTLINE_REDIS_URL": "redis://127.0.0.1:6379/0",
        "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hotline.db",
    }
    done = _serve("--role", role, env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SQLite is the embedded single-process default" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "hotline.db").exists()  # refused before anything was created or migrated


def test_hotline_serve_rejects_an_unknown_role(tmp_path: Path) -> None:
    done = _serve("--role", "standby", env={"COLUMNS": "200"}, cwd=tmp_path)
    assert done.returncode != 0
    assert "standby" in done.stderr and "router" in done.stderr
