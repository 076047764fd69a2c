"""Categories as a chosen list, each with its dispatch rule: department, SLA policy, auto-dispatch.

The list is what the console and the ticket page offer (never free text). It is the
`desk_category` rows, plus the categories the call-center file names (`default_category`,
`category_departments`, `complaint_categories`, `ivr_categories`) that have no row yet, so a
center that configured only the file still gets a list. A row's rule wins over the file:

    department   `Category.department_id`, else `service_desk.category_departments`
    SLA policy   `Category.sla_policy`, else the policies' own match rules
    auto-dispatch on accept, a work order to `technician_id` (or the department), by `system`

Rules are applied when the category is set (a new ticket, or a category change), by
`tickets.workflow`. Every change of a rule is on the audit log (`category.create|update`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pydantic import Field
from sqlalchemy import bindparam
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import RowId, Version
from tickets.errors import AlreadyExists, NotFound, RuleViolation, TicketConflict
from tickets.lifecycle import Actor
from tickets.models import Category, Department, Technician
from tickets.uow import DeskContext

CODE_PATTERN = r"^[a-z0-9_.-]{1,60}$"

BUILT_IN_NAMES: dict[str, tuple[str, str]] = {
    "general": ("一般", "General"),
    "complaint": ("投诉", "Complaint"),
}
"""(zh, en) names of the desk's built-in categories (DeskConfig.default_category and the default
of DeskConfig.complaint_categories), shown while no row names them: the stored codes stay
"general" and "complaint", users read 一般 / General and 投诉 / Complaint, not the codes."""


class CategoryIn(SQLModel):
    """A category and its rule as a supervisor sets it (a page form or the API)."""

    code: str = Field(pattern=CODE_PATTERN)
    name_zh: str = Field(default="", max_length=100)
    name_en: str = Field(default="", max_length=100)
    department_id: RowId | None = None
    sla_policy: str | None = Field(default=None, max_length=60)
    auto_dispatch: bool = False
    technician_id: RowId | None = None
    active: bool = True
    version: Version | None = None  # of the row being changed; None: a new category


@dataclass(frozen=True, slots=True)
class CategoryRule:
    code: str
    name_zh: str
    name_en: str
    department_id: int | None
    sla_policy: str | None
    auto_dispatch: bool
    technician_id: int | None
    active: bool
    version: int | None  # None: from the call-center file only, no row yet

    def title(self, language: str) -> str:
        """The name in `language`, else the other one; a built-in category unnamed by its row
        has its built-in names; the code only when there is no name at all."""
        zh, en = (self.name_zh, self.name_en) if self.name_zh or self.name_en else _built_in(self.code)
        chinese = language.lower().startswith("zh")
        return (zh if chinese and zh else en or zh) or self.code


def _built_in(code: str) -> tuple[str, str]:
    return BUILT_IN_NAMES.get(code, ("", ""))


def _rule(row: Category) -> CategoryRule:
    return CategoryRule(
        row.code,
        row.name_zh,
        row.name_en,
        row.department_id,
        row.sla_policy,
        row.auto_dispatch,
        row.technician_id,
        row.active,
        row.version,
    )


async def rule_for(session: AsyncSession, code: str) -> CategoryRule | None:
    return await session.run_sync(rule_for_sync, code)


_BY_CODE = select(Category).where(col(Category.code) == bindparam("code"))


def rule_for_sync(session: Session, code: str) -> CategoryRule | None:
    row = session.execute(_BY_CODE, {"code": code}).scalars().first()
    return _rule(row) if row is not None and row.active else None


class Categories:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    def _from_file(self) -> list[str]:
        config = self._ctx.config
        named = [config.default_category, *config.category_departments, *config.complaint_categories]
        return list(dict.fromkeys([*named, *config.ivr_categories.values()]))

    async def all(self, *, include_inactive: bool = False) -> list[CategoryRule]:
        """The chosen list: rows first (by code), then file-only categories."""
        async with self._ctx.sessions() as session:
            rows = (await session.exec(select(Category).order_by(col(Category.code)))).all()
        rules = [_rule(r) for r in rows if include_inactive or r.active]
        have = {r.code for r in rows}
        rules += [
            CategoryRule(code, "", "", None, None, False, None, True, None)
            for code in self._from_file()
            if code not in have
        ]
        return rules

    async def codes(self) -> list[str]:
        return [r.code for r in await self.all()]

    async def save(self, data: CategoryIn, actor: Actor) -> CategoryRule:
        """Create or change a category's rule (by code), version-checked, audited."""
        if data.sla_policy and self._ctx.sla.policy(data.sla_policy) is None:
            raise RuleViolation(f"no SLA policy named {data.sla_policy!r} in the call-center file")
        if data.auto_dispatch and data.department_id is None and data.technician_id is None:
            raise RuleViolation("auto-dispatch needs a department or a technician")
        async with self._ctx.tx() as tx:
            if (
                data.department_id is not None
                and await tx.session.get(Department, data.department_id) is None
            ):
                raise NotFound("department", data.department_id)
            if (
                data.technician_id is not None
                and await tx.session.get(Technician, data.technician_id) is None
            ):
                raise NotFound("technician", data.technician_id)
            row = (await tx.session.exec(select(Category).where(Category.code == data.code))).first()
            fields = data.model_dump(exclude={"version", "code"})
            before: dict[str, object] | None = None
            if row is None:
                if data.version is not None:
                    raise NotFound("category", data.code)
                row = Category(code=data.code, **fields)
            else:
                if data.version is None:
                    raise AlreadyExists("category", data.code)
                if data.version != row.version:
                    raise TicketConflict(f"category {data.code}", data.version, row.version)
                before = asdict(_rule(row))
                for key, value in fields.items():
                    setattr(row, key, value)
                row.version += 1
            tx.session.add(row)
            await tx.session.flush()
            after = _rule(row)
            action = "category.create" if before is None else "category.update"
            tx.audit(actor, action, f"category:{row.code}", before=before, after=asdict(after))
        return after
