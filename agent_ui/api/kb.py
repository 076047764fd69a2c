"""Knowledge base over REST: articles suggested for a category (the pop) and found by words."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from agent_ui.api.desk_common import Desk, Reader
from tickets.kb import ArticlePublic

router = APIRouter(prefix="/kb", tags=["knowledge base"])


@router.get("", response_model=list[ArticlePublic])
async def find_articles(
    desk: Desk,
    _user: Reader,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[ArticlePublic]:
    """Active articles of the category (and those for any category) matching every word."""
    return await desk.kb.find(q, category=category, limit=limit)
