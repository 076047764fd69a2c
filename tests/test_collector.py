"""A serving app settles the cyclic collector once it has started; an app built for a test does not."""

from __future__ import annotations

import gc

from agent_ui.app import YOUNG_OBJECTS, create_app
from agent_ui.bootstrap import build
from config.settings import load_settings
from tests.serve import in_process


async def test_a_serving_app_freezes_what_it_built_and_collects_the_young_less_often(
    database_url: str,
) -> None:
    settings = load_settings(
        database_url=database_url, session_secret="collector-test-secret-2b7e-91c4d0a8f3e6", pbx="none"
    )
    threshold = gc.get_threshold()
    try:
        gc.unfreeze()
        async with in_process(create_app(settings, container=build(settings))):
            assert gc.get_freeze_count() == 0  # a test's app leaves the process's collector alone
            assert gc.get_threshold() == threshold
        async with in_process(create_app(settings, container=build(settings), serving=True)):
            assert gc.get_freeze_count() > 10_000  # the routes, models and container built to serve
            assert gc.get_threshold()[0] == YOUNG_OBJECTS
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
