"""The election's lease and PostgreSQL's idle_session_timeout are settings: the current values by
default, read from the environment, and a timeout at or below the lease refused naming both."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from agent_ui.bootstrap import _elector
from config.settings import SettingsError, load_settings

ROUTER = {
    "session_secret": "s" * 32,
    "ami_secret": "a-real-secret",
    "role": "router",
    "database_url": "postgresql+psycopg://hotline@db.example/hotline",
    "redis_url": "redis://127.0.0.1:6379/0",
}


def test_the_lease_is_one_second_and_the_idle_session_timeout_two_by_default() -> None:
    settings = load_settings(**ROUTER)
    assert (settings.router_lease_s, settings.router_idle_session_timeout_s) == (1.0, 2.0)


async def test_the_router_elects_with_the_lease_and_timeout_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_ROUTER_LEASE_S", "1.5")
    monkeypatch.setenv("HOTLINE_ROUTER_IDLE_SESSION_TIMEOUT_S", "4")
    settings = load_settings(**ROUTER)
    engine = create_async_engine(settings.database_url)  # never connects here
    try:
        elector = _elector(settings, engine, "host:1")
        assert elector is not None
        assert elector.fence.lease_s == 1.5
        assert elector.elector.idle_timeout_s == 4.0
        assert elector.elector.query_timeout_s == 1.5  # the keepalive's own bound follows the lease
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("lease", "timeout"), [("1", "1"), ("2", "1.5")])
def test_an_idle_session_timeout_not_above_the_lease_is_refused_naming_both(
    monkeypatch: pytest.MonkeyPatch, lease: str, timeout: str
) -> None:
    monkeypatch.setenv("HOTLINE_ROUTER_LEASE_S", lease)
    monkeypatch.setenv("HOTLINE_ROUTER_IDLE_SESSION_TIMEOUT_S", timeout)
    refused = r"ROUTER_IDLE_SESSION_TIMEOUT_S .* must be greater than .*LEASE_S"
    with pytest.raises(SettingsError, match=refused):
        load_settings(**ROUTER)


def test_a_lease_shorter_than_two_keepalives_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ROUTER_LEASE_S", "0.3")
    with pytest.raises(SettingsError, match="HOTLINE_ROUTER_LEASE_S"):
        load_settings(**ROUTER)
