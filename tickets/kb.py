"""The knowledge base: articles per category, in Chinese and English, edited by supervisors.

Suggested where the category is known (the ticket page; the pop, by the caller's IVR
choice, which maps to a category) and searched by words in titles and bodies. A knowledge
base holds hundreds of articles, not millions: a LIKE over them is the right tool here (the
ticket search's trigram indexes are for the ticket tables). Bodies are markdown source;
rendering them safely is the page's job (agent_ui.markdown). Every change is audited
(`kb.create` / `kb.update`), version-checked like tickets.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlmodel import SQLModel, col, or_, select

from config.database import Version
from tickets.errors import NotFound, TicketConflict
from tickets.lifecycle import Actor
from tickets.models import KbArticle
from tickets.uow import DeskContext


class ArticleIn(SQLModel):
    category: str = Field(default="", max_length=60)
    title_zh: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=200)
    body_zh: str = Field(default="", max_length=50_000)
    body_en: str = Field(default="", max_length=50_000)
    active: bool = True
    version: Version | None = None  # of the article being changed; None: a new one

    @field_validator("title_en")
    @classmethod
    def _titled(cls, value: str, info: ValidationInfo) -> str:
        """An article has a title in at least one language (an empty one was saved as '#5')."""
        if not value.strip() and not str(info.data.get("title_zh") or "").strip():
            raise ValueError("an article needs a title in Chinese or English")
        return value


class ArticlePublic(BaseModel):
    id: int
    category: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    active: bool
    version: int
    updated_by: str
    updated_at: datetime

    def title(self, language: str) -> str:
        chinese = language.lower().startswith("zh")
        return (
            self.title_zh if chinese and self.title_zh else self.title_en or self.title_zh
        ) or f"#{self.id}"

    def body(self, language: str) -> str:
        chinese = language.lower().startswith("zh")
        return (self.body_zh if chinese and self.body_zh else self.body_en or self.body_zh) or ""


def _public(row: KbArticle) -> ArticlePublic:
    return ArticlePublic.model_validate(row, from_attributes=True)


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class KnowledgeBase:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def find(
        self, q: str = "", *, category: str | None = None, limit: int = 20, include_inactive: bool = False
    ) -> list[ArticlePublic]:
        """Articles matching the words (all of them) in titles or bodies, of the category if given
        (articles for any category too), most recently changed first."""
        stmt = select(KbArticle)
        if not include_inactive:
            stmt = stmt.where(col(KbArticle.active))
        if category:
            stmt = stmt.where(col(KbArticle.category).in_([category, ""]))
        for word in q.split()[:8]:
            pattern = _like(word)
            stmt = stmt.where(
                or_(
                    *(
                        col(c).ilike(pattern, escape="\\")
                        for c in (
                            KbArticle.title_zh,
                            KbArticle.title_en,
                            KbArticle.body_zh,
                            KbArticle.body_en,
                        )
                    )
                )
            )
        stmt = stmt.order_by(col(KbArticle.updated_at).desc(), col(KbArticle.id).desc()).limit(limit)
        async with self._ctx.sessions() as session:
            return [_public(r) for r in (await session.exec(stmt)).all()]

    async def get(self, article_id: int) -> ArticlePublic:
        async with self._ctx.sessions() as session:
            row = await session.get(KbArticle, article_id)
        if row is None:
            raise NotFound("article", article_id)
        return _public(row)

    async def save(self, data: ArticleIn, actor: Actor, article_id: int | None = None) -> ArticlePublic:
        async with self._ctx.tx() as tx:
            fields = data.model_dump(exclude={"version"})
            if article_id is None:
                row = KbArticle(**fields, updated_by=actor.id, updated_at=tx.now)
                action = "kb.create"
            else:
                found = await tx.session.get(KbArticle, article_id)
                if found is None:
                    raise NotFound("article", article_id)
                row = found
                if data.version != row.version:
                    raise TicketConflict(f"article {article_id}", data.version or 0, row.version)
                for key, value in fields.items():
                    setattr(row, key, value)
                row.version += 1
                row.updated_by, row.updated_at = actor.id, tx.now
                action = "kb.update"
            tx.session.add(row)
            await tx.session.flush()
            tx.audit(actor, action, f"kb:{row.id}", category=row.category, version=row.version)
        return _public(row)
