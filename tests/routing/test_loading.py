"""Plain call-center data (as parsed from YAML) becomes router configuration."""

from __future__ import annotations

import pytest

from routing import AgentConfig, Router, RouterConfig, WideningStep
from routing.config import QueueConfig
from routing.errors import ConfigError
from routing.loading import queue_config

MONDAY_2025_01_06_UTC = 1736121600.0


def test_a_queue_mapping_with_nested_widening_and_hours_becomes_a_queue_config() -> None:
    q = queue_config(
        {
            "name": "support",
            "strategy": "round-robin",
            "skill_widening": [{"after_s": 30, "min_proficiency": 50}, {"after_s": 60, "min_proficiency": 0}],
            "hours": {
                "utc_offset_s": 8 * 3600,
                "open": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}],
                "holidays": ["2025-01-07"],
            },
        }
    )
    assert q.skill_widening == (WideningStep(30, min_proficiency=50), WideningStep(60, min_proficiency=0))
    assert q.hours is not None
    assert q.hours.is_open(MONDAY_2025_01_06_UTC + 3 * 3600)  # 11:00 local
    assert not q.hours.is_open(MONDAY_2025_01_06_UTC + 27 * 3600)  # Tuesday, a holiday
    Router(RouterConfig(queues=[q]))


@pytest.mark.parametrize(
    "data",
    [
        {"name": "q", "colour": "blue"},
        {"name": "q", "skill_widening": [{"min_proficiency": 50}]},
        {"name": "q", "hours": {"open": [{"from": "9h", "to": "18:00"}]}},
        {"name": "q", "hours": {"open": [{"days": ["someday"]}]}},
        {"name": "q", "hours": {"open": [{"from": "18:00", "to": "09:00"}]}},
    ],
)
def test_bad_queue_data_is_a_config_error_naming_the_field(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        queue_config(data)


@pytest.mark.parametrize(
    "config",
    [
        RouterConfig(queues=[QueueConfig(name="a"), QueueConfig(name="a")]),
        RouterConfig(queues=[QueueConfig(name="a", overflow_to="nowhere")]),
        RouterConfig(queues=[QueueConfig(name="a", strategy="fastest")]),  # type: ignore[arg-type]
        RouterConfig(queues=[QueueConfig(name="a")], agents=[AgentConfig(id="x", queues={"b": 0})]),
        RouterConfig(queues=[QueueConfig(name="a")], agents=[AgentConfig(id="x", skills={"s": 120})]),
        RouterConfig(queues=[QueueConfig(name="a", skill_widening=(WideningStep(60), WideningStep(30)))]),
        RouterConfig(
            queues=[QueueConfig(name="a", skill_widening=({"after_s": 30},))]  # type: ignore[arg-type]
        ),
    ],
)
def test_an_inconsistent_configuration_is_refused_at_start(config: RouterConfig) -> None:
    with pytest.raises(ConfigError):
        Router(config)
