"""Where a form may send the browser back to: only a path on this site."""

from __future__ import annotations

import pytest

from agent_ui.pages.common import safe_next


@pytest.mark.parametrize(
    "raw",
    [
        "//evil.example/",
        "https://evil.example/",
        "evil.example",
        "/\\evil.example",
        "/\t/evil.example",  # browsers drop the tab: //evil.example
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/ /evil.example",
        "/\x00/evil.example",
        "",
    ],
)
def test_a_next_that_a_browser_would_read_as_another_site_goes_home(raw: str) -> None:
    assert safe_next(raw) == "/"


@pytest.mark.parametrize("raw", ["/", "/agent", "/tickets?status=open&page=2", "/tickets/12#timeline"])
def test_a_path_on_this_site_is_kept(raw: str) -> None:
    assert safe_next(raw) == raw
