"""The unit-subtree filter: every query for records that belong to a unit goes through here."""

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from shared.db import AnySelect
from shared.errors import Forbidden, NotFound, invalid
from shared.i18n import tr
from shared.models import (
    Adjustment,
    Finding,
    Notice,
    Program,
    Project,
    Task,
    TaskUnit,
    Team,
    TeamCover,
    TeamMember,
    Unit,
    Visit,
)
from shared.vocabulary import NoticeKind

BULLETINS = (NoticeKind.CRITICISM, NoticeKind.PRAISE)  # published to every unit of the program

M = TypeVar("M")
Q = TypeVar("Q", bound=AnySelect)


def subtree_ids(principal: Principal) -> Select[uuid.UUID]:
    """Ids of the units in the principal's subtree (its own unit and everything below)."""
    return select(col(Unit.id)).where(col(Unit.path).startswith(principal.unit_path, autoescape=True))


def ancestor_ids(principal: Principal) -> list[uuid.UUID]:
    """The principal's own unit and every unit above it, read off its materialized path."""
    return [uuid.UUID(part) for part in principal.unit_path.strip("/").split("/") if part]


def condition(model: Any, principal: Principal) -> Any:
    """The SQL condition placing rows of `model` inside the principal's view. Each model says how:

    - `subtree_column`: the unit it belongs to must be in the principal's subtree;
    - `subtree_columns`: any of these units in the subtree will do (a project is seen by its
      region, its owner and its responsible unit);
    - `shared_down = True` as well: it is also seen from below (a program is shared down its
      office's tree, so a county takes part in its province's program);
    - `subtree_via = (column, parent model)`: seen exactly when the parent row is;
    - a task or an adjustment of a program shared down the tree is seen by the program's office
      (and above), and below it only by the units it concerns: a task's named units, an
      adjustment's withdrawn project — county B does not read county A's;
    - a notice is seen by its recipient's subtree, and a bulletin (criticism, praise: 通报) by
      every unit taking part in its program, as on paper.

    Twin: the filing function (services/api/reports/file_project_report.sql) writes the rule for
    Project again in SQL, so a filing is one statement; a change here changes it there
    (tests/api/test_reports.py::test_who_may_file_is_who_sees_the_project ties them).
    """
    if model is Unit:
        return col(Unit.path).startswith(principal.unit_path, autoescape=True)
    if model is Task:  # a shared program's task: its office's subtree, or a unit it names
        named = select(col(TaskUnit.task_id)).where(col(TaskUnit.unit_id).in_(subtree_ids(principal)))
        return or_(program_held(Task, principal), col(Task.id).in_(named))
    if model is Adjustment:  # a shared program's adjustment: its office's subtree, or the project's
        seen = select(col(Project.id)).where(condition(Project, principal))
        return or_(program_held(Adjustment, principal), col(Adjustment.withdrawn_project_id).in_(seen))
    if model is Notice:  # a bulletin (通报: criticism, praise) is published to every unit of its program
        bulletin = and_(
            col(Notice.kind).in_(BULLETINS),
            col(Notice.program_id).in_(select(col(Program.id)).where(condition(Program, principal))),
        )
        return or_(col(Notice.recipient_unit_id).in_(subtree_ids(principal)), bulletin)
    if model is Visit:
        return _visit_seen(principal)
    via = getattr(model, "subtree_via", None)
    if via is not None:
        column, parent = via
        parent_ids = select(parent.id).where(condition(parent, principal))
        return getattr(model, column).in_(parent_ids)
    names = getattr(model, "subtree_columns", None) or (model.subtree_column,)
    below = subtree_ids(principal)
    conditions = [getattr(model, name).in_(below) for name in names]
    if getattr(model, "shared_down", False):
        conditions += [getattr(model, name).in_(ancestor_ids(principal)) for name in names]
    return or_(*conditions) if len(conditions) > 1 else conditions[0]


def on_team(team_id: Any, principal: Principal) -> Any:
    """The team's leader or one of its members is the principal."""
    led = select(col(Team.id)).where(col(Team.leader_user_id) == principal.id)
    member = select(col(TeamMember.team_id)).where(col(TeamMember.user_id) == principal.id)
    return or_(team_id.in_(led), team_id.in_(member))


def _visit_seen(principal: Principal) -> Any:
    """A supervision visit is seen by its program's office (and above), its team, the units the
    team watches (a unit, or a unit named by a task it watches) and a unit one of its findings
    names, each with the units above it; never by another unit of the program."""
    below = subtree_ids(principal)
    watched_units = select(col(TeamCover.team_id)).where(
        col(TeamCover.target_type) == "unit", col(TeamCover.target_id).in_(below)
    )
    watched_tasks = (
        select(col(TeamCover.team_id))
        .join(TaskUnit, col(TaskUnit.task_id) == col(TeamCover.target_id))
        .where(col(TeamCover.target_type) == "task", col(TaskUnit.unit_id).in_(below))
    )
    named = select(col(Finding.visit_id)).where(col(Finding.unit_id).in_(below))
    return or_(
        program_held(Visit, principal),
        on_team(col(Visit.team_id), principal),
        col(Visit.team_id).in_(watched_units),
        col(Visit.team_id).in_(watched_tasks),
        col(Visit.id).in_(named),
    )


def program_held(model: Any, principal: Principal) -> Any:
    """Rows of a program whose office lies in the principal's subtree (the office and those above)."""
    return col(model.program_id).in_(select(col(Program.id)).where(owns(Program, principal)))


def owns(model: Any, principal: Principal) -> Any:
    """Rows the principal's subtree holds itself (not merely shared with it from above)."""
    names = getattr(model, "subtree_columns", None) or (model.subtree_column,)
    below = subtree_ids(principal)
    return or_(*[getattr(model, name).in_(below) for name in names])


def visible(stmt: Q, model: Any, principal: Principal) -> Q:
    """`stmt` narrowed to rows of `model` the principal may see (see `condition`)."""
    return stmt.where(condition(model, principal))


def not_visible(what: str, record_id: uuid.UUID) -> NotFound:
    """The 404 for a record that does not exist *or* is outside the principal's subtree."""
    return NotFound(tr("There is no {what} with id {id} that you can see.", what=tr(what), id=record_id))


async def get_visible(
    session: AsyncSession,
    model: type[M],
    record_id: uuid.UUID,
    principal: Principal,
    what: str,
    *,
    lock: bool = False,
) -> M:
    """The record, or 404 when it does not exist *or* is outside the principal's subtree.

    `lock` takes the row FOR UPDATE in the same query (writes that must not interleave).
    """
    stmt = visible(select(model).where(model.id == record_id), model, principal)  # type: ignore[attr-defined]
    if lock:
        stmt = stmt.with_for_update(of=model)
    found: M | None = await session.scalar(stmt)
    if found is None:
        raise not_visible(what, record_id)
    return found


async def unseen_units(
    session: AsyncSession, principal: Principal, refs: list[tuple[list[str | int], uuid.UUID]]
) -> list[tuple[list[str | int], str]]:
    """Every body field that refers to a unit the principal cannot see, with what to do."""
    wanted = {unit_id for _, unit_id in refs}
    if not wanted:
        return []
    found = set(
        await session.scalars(
            select(col(Unit.id)).where(col(Unit.id).in_(wanted), condition(Unit, principal))
        )
    )
    return [
        (loc, tr("there is no unit {id} that you can see", id=unit_id))
        for loc, unit_id in refs
        if unit_id not in found
    ]


async def require_visible_units(
    session: AsyncSession, principal: Principal, refs: list[tuple[list[str | int], uuid.UUID]]
) -> None:
    """422 naming every body field that refers to a unit the principal cannot see."""
    if missing := await unseen_units(session, principal, refs):
        raise invalid(missing)


async def holds(session: AsyncSession, model: Any, record_id: uuid.UUID, principal: Principal) -> bool:
    """Whether the record sits in the principal's own subtree (not merely shared with it from above)."""
    stmt = select(model.id).where(model.id == record_id, owns(model, principal))
    return await session.scalar(stmt) is not None


async def owned_or_403(
    session: AsyncSession, model: Any, record_id: uuid.UUID, principal: Principal, why: str
) -> None:
    """For records shared down the tree: changing one takes holding it in your own subtree."""
    if not await holds(session, model, record_id, principal):
        raise Forbidden(tr(why))
