"""Settings and the call-center file: bad configuration is refused with its name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.callcenter import CallCenterError, check_pbx_names, load_callcenter, parse_callcenter
from config.router import router_config
from config.settings import SAMPLE_CALLCENTER, SettingsError, load_settings

GOOD = {"session_secret": "s" * 32, "ami_secret": "a-real-secret"}


def test_settings_come_from_hotline_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_WEB_PORT", "9123")
    monkeypatch.setenv("HOTLINE_AMI_HOST", "10.0.0.5")
    settings = load_settings(**GOOD)
    assert settings.web_port == 9123
    assert settings.ami_host == "10.0.0.5"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_placeholder_secrets_are_refused_outside_demo_mode_naming_the_variables() -> None:
    with pytest.raises(SettingsError, match="HOTLINE_SESSION_SECRET, HOTLINE_AMI_SECRET"):
        load_settings()
    assert load_settings(demo=True).demo


def test_the_refusal_of_a_placeholder_ami_secret_says_which_list_it_is_on() -> None:
    """The AMI fixtures' secret (`hotline-secret`) is public: refused, and the message says why."""
    with pytest.raises(SettingsError) as refused:
        load_settings(session_secret="s" * 32, ami_secret="Hotline-Secret")
    message = str(refused.value)
    assert "HOTLINE_AMI_SECRET" in message and "PLACEHOLDER_SECRETS" in message
    assert "'hotline-secret'" in message and "'change-me'" in message


def test_a_session_secret_shorter_than_32_characters_is_refused_outside_demo_mode() -> None:
    for short in ("x", "s" * 31, " " * 40 + "abc"):
        with pytest.raises(SettingsError, match="HOTLINE_SESSION_SECRET must be at least 32 characters"):
            load_settings(session_secret=short, ami_secret="a-real-secret")
    assert load_settings(session_secret="s" * 32, ami_secret="a-real-secret")
    assert load_settings(demo=True, session_secret="x").demo


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_WEB_PORT", "eighty")
    with pytest.raises(SettingsError, match="HOTLINE_WEB_PORT"):
        load_settings(**GOOD)


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = load_settings(**GOOD)
    assert "a-real-secret" not in repr(settings)
    assert "a-real-secret" not in str(settings.model_dump())


def test_cli_reports_invalid_settings_in_one_line_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_WEB_PORT": "eighty", "HOTLINE_SESSION_SECRET": "s" * 32}
    env["HOTLINE_AMI_SECRET"] = "a-real-secret"
    result = subprocess.run(
        [sys.executable, "-m", "agent_ui.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "HOTLINE_WEB_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_callcenter_file_loads() -> None:
    center = load_callcenter(SAMPLE_CALLCENTER)
    assert [q.name for q in center.queues] == ["support", "billing"]
    assert center.agent("1001") is not None


def test_unknown_key_in_callcenter_file_is_refused_with_its_place() -> None:
    raw = {"queues": [{"name": "support"}, {"name": "billing", "wrapup": 5}]}
    with pytest.raises(CallCenterError, match=r"queues\[1\]\.wrapup"):
        parse_callcenter(raw)


def test_agent_in_unknown_queue_is_refused() -> None:
    raw = {"queues": [{"name": "support"}], "agents": [{"id": "1001", "name": "A", "queues": {"sales": 0}}]}
    with pytest.raises(CallCenterError, match="unknown queue"):
        parse_callcenter(raw)


def test_proficiency_outside_0_to_100_is_refused() -> None:
    raw = {"queues": [{"name": "support"}], "agents": [{"id": "1", "name": "A", "skills": {"x": 101}}]}
    with pytest.raises(CallCenterError, match=r"agents\[0\]\.skills"):
        parse_callcenter(raw)


def test_missing_callcenter_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CallCenterError, match="cannot read"):
        load_callcenter(tmp_path / "nope.yaml")


def test_router_options_in_the_callcenter_file_are_checked_with_the_queue_named() -> None:
    from config.router import router_config

    raw = {"queues": [{"name": "support", "routing": {"overflow_after": 30}}]}
    with pytest.raises(CallCenterError, match=r"queues\[support\].*overflow_after"):
        router_config(parse_callcenter(raw), "control")


def test_nested_router_options_reach_the_router() -> None:
    from config.router import router_config

    raw = {
        "queues": [
            {
                "name": "support",
                "routing": {
                    "skill_widening": [{"after_s": 30, "min_proficiency": 50}],
                    "overflow_after_s": 60,
                },
            }
        ],
        "agents": [{"id": "1001", "name": "A", "queues": {"support": 0}, "wrapup_s": 12}],
    }
    config = router_config(parse_callcenter(raw), "control")
    assert config.queues[0].skill_widening[0].min_proficiency == 50
    assert config.queues[0].overflow_after_s == 60
    assert config.agents[0].wrapup_s == 12


def test_a_queue_and_an_ivr_entry_requiring_skills_reach_the_router() -> None:
    from config.router import router_config

    raw = yaml.safe_load(SAMPLE_CALLCENTER.read_text())
    raw["queues"][0]["required_skills"] = {"network": 50}
    raw["ivr"]["options"][1].update(choice="invoice", skills={"billing": 70})
    config = router_config(parse_callcenter(raw), "control")
    assert dict(config.queues[0].required_skills) == {"network": 50}
    assert {k: dict(v) for k, v in config.choice_skills.items()} == {"invoice": {"billing": 70}}
    raw["queues"][0]["required_skills"] = {"network": 101}
    with pytest.raises(CallCenterError, match=r"queues\[0\]\.required_skills"):
        parse_callcenter(raw)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(CallCenterError, match="timezone"):
        parse_callcenter({"queues": [{"name": "support"}], "timezone": "Mars/Olympus"})


def test_service_desk_rules_in_the_callcenter_file_are_checked() -> None:
    from tickets.config import desk_config

    good = parse_callcenter({"queues": [{"name": "support"}], "service_desk": {"open_ticket_window_h": 24}})
    assert desk_config(good).open_ticket_window_h == 24
    bad = parse_callcenter({"queues": [{"name": "support"}], "service_desk": {"open_ticket_window": 24}})
    with pytest.raises(CallCenterError, match=r"service_desk\.open_ticket_window"):
        desk_config(bad)


def test_the_live_figures_window_is_set_in_minutes_in_the_call_center_file() -> None:
    raw = yaml.safe_load(SAMPLE_CALLCENTER.read_text())
    assert router_config(parse_callcenter(raw), "control").kpi_window_s == 15 * 60
    raw["kpi_window_min"] = 30
    assert router_config(parse_callcenter(raw), "control").kpi_window_s == 30 * 60
    raw["kpi_window_min"] = 1
    with pytest.raises(CallCenterError, match="kpi_window_min"):
        parse_callcenter(raw)


# ----------------------------------------------------------------- several PBXs (#17 item 5)
def test_the_single_ami_link_is_the_main_pbx_without_any_new_setting() -> None:
    settings = load_settings(**GOOD, ami_host="10.0.0.5", ami_port=5039)
    links = settings.ami_links()
    assert list(links) == ["main"]
    assert (links["main"].host, links["main"].port) == ("10.0.0.5", 5039)
    assert links["main"].secret.get_secret_value() == "a-real-secret"


def test_further_pbx_links_come_from_a_json_object_and_never_print_their_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "HOTLINE_PBX_LINKS", '{"east": {"host": "10.0.0.7", "port": 5040, "secret": "east-pbx-secret-1"}}'
    )
    settings = load_settings(**GOOD)
    links = settings.ami_links()
    assert list(links) == ["main", "east"]
    assert (links["east"].host, links["east"].port, links["east"].username) == ("10.0.0.7", 5040, "hotline")
    assert "east-pbx-secret-1" not in repr(settings) and "east-pbx-secret-1" not in str(links)


def test_a_placeholder_secret_of_a_further_pbx_is_refused_by_its_name() -> None:
    with pytest.raises(SettingsError, match=r"HOTLINE_PBX_LINKS\.east\.secret"):
        load_settings(**GOOD, pbx_links={"east": {"host": "10.0.0.7", "secret": "change-me"}})
    assert load_settings(demo=True, pbx_links={"east": {"host": "10.0.0.7", "secret": "change-me"}}).pbx_links


@pytest.mark.parametrize("name", ["main", "East", "a:b", ""])
def test_a_pbx_link_name_that_cannot_prefix_a_call_id_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match="HOTLINE_PBX_LINKS"):
        load_settings(**GOOD, pbx_links={name: {"host": "10.0.0.7", "secret": "a-real-secret"}})


def test_a_pbx_link_missing_its_secret_names_the_field() -> None:
    with pytest.raises(SettingsError, match=r"HOTLINE_PBX_LINKS\.east\.secret"):
        load_settings(**GOOD, pbx_links={"east": {"host": "10.0.0.7"}})


def _two_pbx_center(agent_pbx: str = "east", queue_pbx: str = "east") -> dict[str, object]:
    return {
        "queues": [{"name": "support"}, {"name": "field", "pbx": queue_pbx}],
        "agents": [
            {"id": "1001", "name": "A", "queues": {"support": 0}},
            {"id": "2001", "name": "B", "queues": {"field": 0}, "pbx": agent_pbx},
        ],
    }


def test_queues_and_agents_are_on_the_main_pbx_unless_they_say() -> None:
    center = parse_callcenter(_two_pbx_center())
    assert [q.pbx for q in center.queues] == ["main", "east"]
    assert [a.pbx for a in center.agents] == ["main", "east"]
    assert {q.pbx for q in load_callcenter(SAMPLE_CALLCENTER).queues} == {"main"}


def test_an_agent_in_a_queue_of_another_pbx_is_refused_naming_both() -> None:
    with pytest.raises(CallCenterError, match=r"agent 2001 is on PBX 'main' but queue\(s\) \['field'\]"):
        parse_callcenter(_two_pbx_center(agent_pbx="main"))


def test_an_unknown_pbx_is_named_with_its_queue_or_agent() -> None:
    center = parse_callcenter(_two_pbx_center())
    check_pbx_names(center, {"main", "east"})
    with pytest.raises(CallCenterError, match=r"queue field: unknown PBX 'east'"):
        check_pbx_names(center, {"main"})
    only_agent = parse_callcenter(
        {"queues": [{"name": "support"}], "agents": [{"id": "7", "name": "C", "pbx": "west"}]}
    )
    with pytest.raises(CallCenterError, match=r"agent 7: unknown PBX 'west'"):
        check_pbx_names(only_agent, {"main", "east"})


def test_further_pbx_links_are_refused_when_the_pbx_is_not_asterisk() -> None:
    with pytest.raises(SettingsError, match="HOTLINE_PBX=asterisk"):
        load_settings(demo=True, pbx="none", pbx_links={"east": {"host": "10.0.0.7", "secret": "x" * 12}})


def test_serve_refuses_a_queue_on_an_unknown_pbx_in_one_line_naming_it(tmp_path: Path) -> None:
    center = tmp_path / "callcenter.yaml"
    center.write_text("queues: [{name: support}, {name: field, pbx: west}]\n", encoding="utf-8")
    env = {**os.environ, "HOTLINE_SESSION_SECRET": "s" * 32, "HOTLINE_AMI_SECRET": "a-real-secret"}
    env |= {
        "HOTLINE_CALLCENTER_FILE": str(center),
        "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/h.db",
    }
    env["HOTLINE_PBX_LINKS"] = '{"east": {"host": "10.0.0.7", "secret": "east-pbx-secret-1"}}'
    result = subprocess.run(
        [sys.executable, "-m", "agent_ui.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "queue field: unknown PBX 'west'" in result.stderr and "['east', 'main']" in result.stderr
    assert "Traceback" not in result.stderr and "east-pbx-secret-1" not in result.stderr


def test_agent_and_queue_lookups_follow_a_copy_with_other_agents() -> None:
    center = load_callcenter(SAMPLE_CALLCENTER)
    first = center.agents[0]
    assert center.agent(first.id) == first  # the index is built now
    assert center.queue(center.queues[0].name) == center.queues[0]
    assert center.agent("no such agent") is None
    emptied = center.model_copy(update={"agents": [], "queues": center.queues[1:]})
    assert emptied.agent(first.id) is None  # not the original's index, copied with the model
    assert emptied.queue(center.queues[0].name) is None
    assert center.agent(first.id) == first
