"""Markdown to safe HTML for knowledge-base articles.

markdown-it-py (CommonMark, raw HTML off) renders; nh3 (the Ammonia sanitiser) then keeps
only a small set of tags and attributes, drops any script/style/event handler and any
`javascript:` URL, and adds `rel="noopener noreferrer nofollow"` to links. Two layers on
purpose: the renderer alone would pass a `[x](javascript:…)` link through some options, and
the page's CSP (no inline script) is the third.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "pre",
    "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(source: str) -> Markup:
    html = _md.render(source)
    clean = nh3.clean(
        html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )  # fmt: skip
    return Markup(clean)
