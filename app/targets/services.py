"""Annual targets: keeping them (admins) and measuring progress from the records (everyone).

Progress is never typed in: each target is a list filter (projects of a tier, in a park or a
chain, whose milestone date falls in the year), and its progress is the :class:`Tally` of that
list, computed by :func:`app.pipeline.stats.tally` for all targets in one statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.auth.models import Role, User
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.timeutil import today_local
from app.parks.models import Chain, Park
from app.pipeline.flags import TIERS, Thresholds
from app.pipeline.models import Project
from app.pipeline.queries import ListFilters
from app.pipeline.stats import Tally, tally
from app.targets.models import AnnualTarget, Metric

MIN_YEAR, MAX_YEAR = 2000, 2100


class TargetError(UserError):
    """A target that cannot be saved; the message is shown to the admin."""


@dataclass(frozen=True)
class YearClock:
    """How much of a year has passed on a given day (for the "on pace" check)."""

    year: int
    today: dt.date

    @property
    def share(self) -> Decimal:
        """The elapsed share of the year: 0 before it starts, 1 once it is over."""
        start, end = dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)
        if self.today < start:
            return Decimal(0)
        if self.today >= end:
            return Decimal(1)
        days = (end - start).days + 1
        return Decimal((self.today - start).days + 1) / Decimal(days)

    @property
    def past_half(self) -> bool:
        """Whether the year's first half is over (the "双过半" check applies)."""
        return self.today >= dt.date(self.year, 7, 1)


@dataclass(frozen=True)
class TargetProgress:
    """One target with what the records show so far."""

    target: AnnualTarget
    done: Tally
    clock: YearClock

    @property
    def goal(self) -> Decimal:
        return self.target.goal

    @property
    def actual(self) -> Decimal:
        """Projects counted, or their 亿元, depending on the metric."""
        return self.done.total if self.target.metric.is_amount else Decimal(self.done.count)

    @property
    def share(self) -> Decimal:
        """Done divided by the goal (may exceed 1)."""
        return self.actual / self.goal if self.goal else Decimal(0)

    @property
    def on_pace(self) -> bool:
        """Done at least in proportion to the time gone (half the target by half the year)."""
        return self.share >= self.clock.share

    @property
    def half_done(self) -> bool:
        """ "双过半": half of the target reached (checked once the first half-year is over)."""
        return self.actual * 2 >= self.goal


def describe(target: AnnualTarget, thresholds: Thresholds) -> str:
    """A target's name as people say it: "2026年 集成电路产业园 50亿元+ 签约项目数"."""
    parts = [_("%(year)s年", year=target.year)]
    if target.park is not None:
        parts.append(target.park.name)
    if target.chain is not None:
        parts.append(_("%(chain)s产业链", chain=target.chain.name))
    if target.tier:
        parts.append(thresholds.label(target.tier))
    parts.append(target.metric.label)
    return " ".join(parts)


def target_filters(target: AnnualTarget, as_of: dt.date | None = None) -> ListFilters:
    """The project list whose count (or sum) is the target's progress (up to *as_of*)."""
    year_end = dt.date(target.year, 12, 31)
    return ListFilters(
        park_id=target.park_id,
        chain_ids=(target.chain_id,) if target.chain_id else (),
        tier=target.tier,
        event=target.metric.event,
        date_from=dt.date(target.year, 1, 1),
        date_to=min(year_end, as_of) if as_of else year_end,
    )


def targets_for(
    session: Session, user: User, year: int, park_id: int | None = None
) -> list[AnnualTarget]:
    """The year's targets *user* may follow: all (leaders, admins) or his parks' (managers)."""
    stmt = (
        select(AnnualTarget)
        .where(AnnualTarget.year == year)
        .options(joinedload(AnnualTarget.park), joinedload(AnnualTarget.chain))
        .order_by(
            AnnualTarget.park_id.is_not(None),
            AnnualTarget.park_id,
            AnnualTarget.chain_id.is_not(None),
            AnnualTarget.chain_id,
            AnnualTarget.metric,
            AnnualTarget.tier,
            AnnualTarget.id,
        )
    )
    if park_id is not None:
        stmt = stmt.where(AnnualTarget.park_id == park_id)
    if user.role is Role.MANAGER:
        stmt = stmt.where(AnnualTarget.park_id.in_(sorted(user.park_ids)))
    elif user.role not in (Role.LEADER, Role.ADMIN):
        return []
    return list(session.scalars(stmt).unique())


def progress(
    session: Session,
    user: User,
    year: int,
    thresholds: Thresholds,
    today: dt.date | None = None,
    park_id: int | None = None,
) -> list[TargetProgress]:
    """Progress of every target of *year* that *user* may follow (two statements), or of one
    park's targets, counting what happened up to *today*."""
    today = today or today_local()
    targets = targets_for(session, user, year, park_id)
    if not targets:
        return []
    cells = {t.id: _changes(target_filters(t, today)) for t in targets}
    tallies = tally(session, user, Project, ListFilters(), thresholds, today, cells=cells)
    clock = YearClock(year, today)
    return [
        TargetProgress(
            t, tallies.get((t.id,)) or Tally("projects", target_filters(t, today)), clock
        )
        for t in targets
    ]


def _changes(filters: ListFilters) -> dict[str, Any]:
    """The fields of *filters* that differ from no filter at all."""
    blank = ListFilters()
    return {
        name: getattr(filters, name)
        for name in filters.__dataclass_fields__
        if getattr(filters, name) != getattr(blank, name)
    }


# --- keeping targets (admins) ------------------------------------------------------------------


def save_target(
    session: Session,
    user: User,
    target: AnnualTarget | None,
    *,
    year: int,
    metric: Metric,
    tier: str | None,
    park: Park | None,
    chain: Chain | None,
    goal: Decimal,
    note: str | None = None,
) -> AnnualTarget:
    """Create or change a target after checking it; one target per year, metric and scope."""
    if user.role is not Role.ADMIN:
        raise TargetError(_("只有系统管理员可以设置年度目标。"))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TargetError(_("年份须在%(low)s至%(high)s之间。", low=MIN_YEAR, high=MAX_YEAR), "year")
    if tier is not None and tier not in TIERS:
        raise TargetError(_("未知的投资额档次。"), "tier")
    if goal is None or goal <= 0:
        raise TargetError(_("目标值必须大于0。"), "goal")
    if not metric.is_amount and goal != goal.to_integral_value():
        raise TargetError(_("项目数目标必须是整数。"), "goal")
    note = (note or "").strip() or None
    if note is not None and len(note) > 200:
        raise TargetError(_("备注不能超过200个字。"), "note")
    clash = select(AnnualTarget.id).where(
        AnnualTarget.year == year,
        AnnualTarget.metric == metric,
        _same(AnnualTarget.tier, tier),
        _same(AnnualTarget.park_id, park.id if park else None),
        _same(AnnualTarget.chain_id, chain.id if chain else None),
    )
    if target is not None and target.id is not None:
        clash = clash.where(AnnualTarget.id != target.id)
    if session.scalar(clash) is not None:
        raise TargetError(_("该年度已有相同指标和范围的目标，请直接修改它。"), "metric")
    if target is None:
        target = AnnualTarget()
        session.add(target)
    target.year = year
    target.metric = metric
    target.tier = tier
    target.park = park
    target.chain = chain
    target.goal_count = None if metric.is_amount else int(goal)
    target.goal_amount = goal if metric.is_amount else None
    target.note = note
    session.flush()
    return target


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def delete_target(session: Session, user: User, target: AnnualTarget) -> None:
    """Remove a target (the audit log keeps what it was)."""
    if user.role is not Role.ADMIN:
        raise TargetError(_("只有系统管理员可以设置年度目标。"))
    session.delete(target)
    session.flush()


def copy_year(session: Session, user: User, source: int, year: int) -> int:
    """Copy the targets of one year to another that has none yet; return how many."""
    if user.role is not Role.ADMIN:
        raise TargetError(_("只有系统管理员可以设置年度目标。"))
    if session.scalar(select(AnnualTarget.id).where(AnnualTarget.year == year)) is not None:
        raise TargetError(_("%(year)s年已有目标，不能覆盖。", year=year), "year")
    copied = 0
    for old in session.scalars(select(AnnualTarget).where(AnnualTarget.year == source)):
        session.add(
            AnnualTarget(
                year=year,
                metric=old.metric,
                tier=old.tier,
                park_id=old.park_id,
                chain_id=old.chain_id,
                goal_count=old.goal_count,
                goal_amount=old.goal_amount,
                note=old.note,
            )
        )
        copied += 1
    if not copied:
        raise TargetError(_("%(year)s年没有可复制的目标。", year=source), "source")
    session.flush()
    return copied
