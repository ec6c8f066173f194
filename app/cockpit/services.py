"""The leaders' cockpit (领导驾驶舱) and the chain map (产业链图谱), computed in SQL.

Every number here is a :class:`~app.pipeline.stats.Tally` from the shared statistics module, so
it links to the list behind it and agrees with the statistical reports. A page runs a fixed
number of statements whatever the number of records.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import cachetools
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.local import LocalProxy

from app.auth.models import Role, User
from app.core.db import SAME_PLAN
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.reads import run_reads
from app.parks.models import Chain, ChainLink, Park
from app.pipeline import visibility
from app.pipeline.flags import Thresholds
from app.pipeline.lifecycle import MAIN_LINE, MILESTONE_FIELDS, Stage
from app.pipeline.models import Lead, Project
from app.pipeline.queries import ListFilters, amount_column, conditions, largest_ids
from app.pipeline.stats import (
    COUNTED_EVENTS,
    REPORT_TIERS,
    ZERO,
    Tally,
    data_stamp,
    kind_of,
    median_days_in_stage,
    milestone_cells,
    milestones,
    month_cells,
    month_starts,
    monthly,
    reached,
    tally,
)
from app.targets.services import TargetProgress, progress

# The longest date range the cockpit accepts (a range is read month by month).
MAX_RANGE_DAYS = 366 * 5
# Stages of time in stage: the main line before 达产; the stages before signing are measured
# on leads, the later ones on projects (the records that live through them).
WORKING_STAGES: tuple[Stage, ...] = MAIN_LINE[:-1]
LEAD_STAGES: tuple[Stage, ...] = MAIN_LINE[:3]
PROJECT_STAGES: tuple[Stage, ...] = MAIN_LINE[3:-1]
# Signed or further: a chain link with such a project is not a gap.
SIGNED_OR_LATER: tuple[Stage, ...] = tuple(MILESTONE_FIELDS)
BIG_PROJECTS_SHOWN = 50
CARDS_PER_LINK = 8


class CockpitError(UserError):
    """Filters that cannot be read; the message is shown above the cockpit."""


# Leaders and admins see the district; park managers their parks. Officers work from lists.
COCKPIT_ROLES: tuple[Role, ...] = (Role.LEADER, Role.ADMIN, Role.MANAGER)


@dataclass(frozen=True)
class Scope:
    """What the cockpit covers: a date range (usually a year), a park, some chains."""

    start: dt.date
    end: dt.date
    park_id: int | None = None
    chain_ids: tuple[int, ...] = ()
    year: int | None = None

    @classmethod
    def from_args(cls, args: Any, today: dt.date) -> Scope:
        """Read ``year`` or ``from``/``to``, ``park`` and ``chain``; raise CockpitError."""
        filters = ListFilters.from_args(args)
        raw_from, raw_to = args.get("from", "").strip(), args.get("to", "").strip()
        if raw_from or raw_to:
            try:
                start = dt.date.fromisoformat(raw_from) if raw_from else None
                end = dt.date.fromisoformat(raw_to) if raw_to else None
            except ValueError as exc:
                raise CockpitError(_("日期格式应为 YYYY-MM-DD。"), "from") from exc
            start = start or (end or today).replace(month=1, day=1)
            end = end or today
            if start > end:
                raise CockpitError(_("开始日期不能晚于结束日期。"), "from")
            if (end - start).days > MAX_RANGE_DAYS:
                raise CockpitError(_("统计区间不能超过5年。"), "from")
            return cls(start, end, filters.park_id, filters.chain_ids)
        year_text = args.get("year", "").strip()
        try:
            year = int(year_text) if year_text else today.year
        except ValueError as exc:
            raise CockpitError(_("年份应为四位数字，如 2026。"), "year") from exc
        if not 2000 <= year <= 2100:
            raise CockpitError(_("年份应在2000至2100之间。"), "year")
        return cls(
            dt.date(year, 1, 1), dt.date(year, 12, 31), filters.park_id, filters.chain_ids, year
        )

    @property
    def base(self) -> ListFilters:
        """The list filters every number of the cockpit starts from."""
        return ListFilters(park_id=self.park_id, chain_ids=self.chain_ids)

    @property
    def target_year(self) -> int:
        return self.year if self.year is not None else self.end.year


@dataclass
class FunnelStep:
    stage: Stage
    tally: Tally
    # Share of the previous step's records that reached this one (None for the first step).
    conversion: Decimal | None = None


@dataclass
class ParkRow:
    """One park's figures in a table (a row per park plus a totals row with park None)."""

    park: Park | None
    cells: dict[Any, Tally] = field(default_factory=dict)


@dataclass
class Cockpit:
    scope: Scope
    parks: list[Park]
    chains: list[Chain]
    thresholds: Thresholds
    targets: list[TargetProgress]
    headline: dict[tuple[str | None, Stage], Tally]
    milestone_rows: list[ParkRow]
    funnel_kind: str
    funnel: list[FunnelStep]
    months: list[dt.date]
    monthly_rows: dict[Stage, list[ParkRow]]
    tier_rows: dict[str, list[ParkRow]]
    stalled_rows: list[ParkRow]
    medians: list[tuple[Stage, tuple[float, int] | None, tuple[float, int] | None]]
    big_projects: list[Project]
    big_total: Tally


def parks_for(session: Session, user: User) -> list[Park]:
    """The parks a cockpit user looks at: his parks for a manager, all parks otherwise."""
    stmt = select(Park).order_by(Park.sort_order, Park.id).execution_options(**SAME_PLAN)
    if user.role is Role.MANAGER:
        stmt = stmt.where(Park.id.in_(sorted(user.park_ids)))
    return list(session.scalars(stmt))


def _park_rows(
    parks: list[Park],
    grouped: Mapping[tuple[Any, ...], Tally],
    keys: list[Any],
    model: type[Lead] | type[Project],
    base: ListFilters,
    cell_changes: Mapping[Any, Mapping[str, Any]],
) -> list[ParkRow]:
    """One row per park and a totals row, every cell a tally linking to its list.

    The totals add up every group the query returned (also parks outside the list), so a
    total equals the count of its list exactly.
    """
    rows = []
    for park in parks:
        row = ParkRow(park)
        for key in keys:
            found = grouped.get((park.id, key))
            row.cells[key] = found or Tally(
                kind_of(model), base.but(park_id=park.id, **cell_changes[key])
            )
        rows.append(row)
    totals = ParkRow(None)
    for key in keys:
        count, total = 0, ZERO
        for group, item in grouped.items():
            if group[-1] == key:
                count += item.count
                total += item.total
        totals.cells[key] = Tally(kind_of(model), base.but(**cell_changes[key]), count, total)
    rows.append(totals)
    return rows


def build_cockpit(
    session: Session,
    user: User,
    scope: Scope,
    thresholds: Thresholds,
    today: dt.date,
    funnel_kind: str = "leads",
) -> Cockpit:
    """Compute every figure of the cockpit for *user* (a fixed number of statements)."""
    base = scope.base
    parks = parks_for(session, user)
    if scope.park_id is not None:
        parks = [p for p in parks if p.id == scope.park_id]
    chains = list(
        session.scalars(
            select(Chain)
            .options(selectinload(Chain.links))
            .order_by(Chain.sort_order, Chain.id)
            .execution_options(**SAME_PLAN)
        )
    )

    funnel_model = Lead if funnel_kind == "leads" else Project
    figures = cockpit_figures(session, user, scope, thresholds, today, funnel_model)

    # Projects signed, started and producing in the period, per tier and park.
    event_changes = milestone_cells(scope.start, scope.end)
    milestone_rows = _park_rows(
        parks, figures.milestones, list(event_changes), Project, base, event_changes
    )
    headline = milestone_rows[-1].cells

    # Signings, starts and production starts per month, per park.
    months = month_starts(scope.start, scope.end)
    month_changes = month_cells(scope.start, scope.end)
    monthly_rows: dict[Stage, list[ParkRow]] = {
        event: _park_rows(
            parks,
            figures.monthly,
            [(event, month) for month in months],
            Project,
            base,
            month_changes,
        )
        for event in COUNTED_EVENTS
    }

    # Records as they stand now, by park and stage; sums over stages give the per-park figures.
    by_stage = figures.by_stage
    tier_rows: dict[str, list[ParkRow]] = {}
    for tier in REPORT_TIERS:
        regrouped = {
            (park_id, Stage(stage)): item
            for (park_id, stage, key), item in by_stage[Project].items()
            if key == tier
        }
        stage_changes = {stage: {"stage": stage, "tier": tier} for stage in MAIN_LINE}
        tier_rows[tier] = _park_rows(
            parks, regrouped, list(MAIN_LINE), Project, base, stage_changes
        )
    stalled_rows = []
    for park in [*parks, None]:
        row = ParkRow(park)
        for model in (Lead, Project):
            for flag in STALLED_FLAGS:
                items = [
                    item
                    for (park_id, _stage, key), item in by_stage[model].items()
                    if key == flag and (park is None or park_id == park.id)
                ]
                changes = {flag: True} if park is None else {"park_id": park.id, flag: True}
                row.cells[(kind_of(model), flag)] = Tally(
                    kind_of(model),
                    base.but(**changes),
                    sum(i.count for i in items),
                    sum((i.total for i in items), ZERO),
                )
        stalled_rows.append(row)

    # The funnel: records opened in the period and how far they got.
    funnel: list[FunnelStep] = []
    for stage in MAIN_LINE:
        item = figures.how_far[stage]
        conversion = None
        if funnel:
            before = funnel[-1].tally.count
            conversion = Decimal(item.count) / Decimal(before) if before else None
        funnel.append(FunnelStep(stage, item, conversion))

    medians = [
        (stage, figures.lead_medians.get(stage), figures.project_medians.get(stage))
        for stage in WORKING_STAGES
    ]

    # The 50亿元+ projects, largest first (their number and sum are among the figures).
    big_projects = list(
        session.scalars(
            visibility.visible(select(Project), user, Project)
            .where(*conditions(Project, base.but(tier="big"), thresholds, today))
            .options(
                joinedload(Project.enterprise),
                joinedload(Project.park),
                joinedload(Project.owner),
            )
            .order_by(Project.total_investment.desc(), Project.id)
            .limit(BIG_PROJECTS_SHOWN)
        )
    )

    return Cockpit(
        scope=scope,
        parks=parks,
        chains=chains,
        thresholds=thresholds,
        targets=progress(session, user, scope.target_year, thresholds, today, scope.park_id),
        headline=headline,
        milestone_rows=milestone_rows,
        funnel_kind=kind_of(funnel_model),
        funnel=funnel,
        months=months,
        monthly_rows=monthly_rows,
        tier_rows=tier_rows,
        stalled_rows=stalled_rows,
        medians=medians,
        big_projects=big_projects,
        big_total=figures.big_total,
    )


# --- the figure sets, computed once per change of the data -------------------------------------

# Stalled: no contact for 30 days, too long in the stage.
STALLED_FLAGS = ("stale", "too_long")
#: Figure sets kept by each worker process (least recently used dropped first).
FIGURES_KEPT = 64


@dataclass(frozen=True)
class Figures:
    """The cockpit's aggregates over every record (the costly part of the page), as plain data:
    grouped tallies by park (and month, stage), the funnel and the medians."""

    milestones: dict[tuple[Any, ...], Tally]
    monthly: dict[tuple[Any, ...], Tally]
    by_stage: dict[type, dict[tuple[Any, ...], Tally]]
    how_far: dict[Stage, Tally]
    lead_medians: dict[Stage, tuple[float, int]]
    project_medians: dict[Stage, tuple[float, int]]
    big_total: Tally


def forget_figures() -> None:
    """Drop every kept figure set (tests that roll back data they counted)."""
    cockpit_figures.cache_clear()


def _figures_key(
    session: Session, user: User, scope: Scope, thresholds: Thresholds, today: dt.date, model: Any
) -> tuple[Any, ...]:
    """What the figures depend on: who sees what, the scope, funnel, day and thresholds, and
    the state of the data (:func:`~app.pipeline.stats.data_stamp`, one statement on indexes)."""
    return (visibility.sight(user), scope, model.__name__, today, thresholds, data_stamp(session))


_kept: cachetools.LRUCache = cachetools.LRUCache(maxsize=FIGURES_KEPT)


@cachetools.cached(_kept, key=_figures_key, lock=threading.Lock())
def cockpit_figures(
    session: Session,
    user: User,
    scope: Scope,
    thresholds: Thresholds,
    today: dt.date,
    funnel_model: type[Lead] | type[Project],
) -> Figures:
    """The figure sets of a cockpit (a dozen aggregates over every record), computed once per
    state of the data and shared by every view with the same :func:`_figures_key`.

    The sets are independent reads; :func:`~app.core.reads.run_reads` runs them side by side on
    ``PARALLEL_READS`` connections, the longest first."""
    base = scope.base
    # The readers' threads have no request: they get the user object itself (not Flask-Login's
    # proxy of the request's user), with his parks loaded here rather than on their threads.
    if isinstance(user, LocalProxy):
        user = user._get_current_object()
    visibility.sight(user)
    # As records stand now, per park and stage: projects of 1亿元+, 5亿元+ and 50亿元+, and
    # stalled records (one pass over each table).
    now_cells: dict[Any, dict[str, Any]] = {flag: {flag: True} for flag in STALLED_FLAGS}
    tier_cells = {tier: {"tier": tier} for tier in REPORT_TIERS}
    # The funnel: records opened in the period and how far they got.
    cohort = base.but(event=Stage.LEAD, date_from=scope.start, date_to=scope.end)
    big_filters = base.but(tier="big")

    def now(model: type[Lead] | type[Project], cells: dict[Any, dict[str, Any]]) -> Any:
        return lambda s: tally(
            s, user, model, base, thresholds, today, group_by=("park", "stage"), cells=cells
        )

    def stays(model: type[Lead] | type[Project], stages: tuple[Stage, ...]) -> Any:
        # Median days in each stage, for stays that ended in the period.
        return lambda s: median_days_in_stage(
            s, user, model, base, thresholds, today, scope.start, scope.end, stages
        )

    found = run_reads(
        session,
        {
            "now_projects": now(Project, {**now_cells, **tier_cells}),
            "now_leads": now(Lead, now_cells),
            "lead_medians": stays(Lead, LEAD_STAGES),
            # Projects signed, started and producing in the period, per tier and park; and
            # per month.
            "milestones": lambda s: milestones(
                s, user, base, scope.start, scope.end, thresholds, today, group_by=("park",)
            ),
            "monthly": lambda s: monthly(
                s, user, base, scope.start, scope.end, thresholds, today, group_by=("park",)
            ),
            "how_far": lambda s: reached(s, user, funnel_model, cohort, thresholds, today),
            "project_medians": stays(Project, PROJECT_STAGES),
            "big_total": lambda s: tally(s, user, Project, big_filters, thresholds, today),
        },
    )
    return Figures(
        found["milestones"],
        found["monthly"],
        {Project: found["now_projects"], Lead: found["now_leads"]},
        found["how_far"],
        found["lead_medians"],
        found["project_medians"],
        found["big_total"].get((), Tally("projects", big_filters)),
    )


# --- the chain map ----------------------------------------------------------------------------

# Leads that could still fill a link: not signed yet and not on hold or dropped.
OPEN_LEAD_STAGES: tuple[Stage, ...] = (Stage.LEAD, Stage.CONTACTED, Stage.NEGOTIATING)


@dataclass
class LinkView:
    """One link of a chain: its projects by stage, the leads that could fill it."""

    link: ChainLink
    projects_by_stage: dict[Stage, Tally] = field(default_factory=dict)
    leads_by_stage: dict[Stage, Tally] = field(default_factory=dict)
    projects: list[Project] = field(default_factory=list)
    candidate_leads: list[Lead] = field(default_factory=list)

    @property
    def signed_count(self) -> int:
        """Projects signed or further along (under construction, producing)."""
        return sum(self.projects_by_stage[s].count for s in SIGNED_OR_LATER)

    @property
    def open_lead_count(self) -> int:
        return sum(self.leads_by_stage[s].count for s in OPEN_LEAD_STAGES)

    @property
    def is_gap(self) -> bool:
        """No signed project in this link: a 补链 target."""
        return self.signed_count == 0

    @property
    def enterprise_names(self) -> list[str]:
        """The enterprises of the link's largest projects, without repeats."""
        return list(dict.fromkeys(p.enterprise.name for p in self.projects))


@dataclass
class ChainMap:
    chain: Chain
    links: list[LinkView]
    park_id: int | None

    @property
    def gaps(self) -> list[LinkView]:
        return [link for link in self.links if link.is_gap]


def build_chain_map(
    session: Session,
    user: User,
    chain: Chain,
    thresholds: Thresholds,
    today: dt.date,
    park_id: int | None = None,
) -> ChainMap:
    """Every link of *chain*, upstream to downstream, with what *user* sees in it."""
    base = ListFilters(park_id=park_id, chain_ids=(chain.id,))
    views = {link.id: LinkView(link) for link in chain.links}
    project_stages = (*MAIN_LINE, Stage.ON_HOLD)
    found = {
        model: tally(
            session,
            user,
            model,
            base,
            thresholds,
            today,
            group_by=("link", "stage"),
        )
        for model in (Project, Lead)
    }
    for link_id, view in views.items():
        for stage in project_stages:
            view.projects_by_stage[stage] = found[Project].get((link_id, stage)) or Tally(
                "projects", base.but(link_id=link_id, stage=stage)
            )
        for stage in OPEN_LEAD_STAGES:
            view.leads_by_stage[stage] = found[Lead].get((link_id, stage)) or Tally(
                "leads", base.but(link_id=link_id, stage=stage)
            )
    _load_link_records(session, user, base, views, thresholds, today)
    return ChainMap(chain, list(views.values()), park_id)


def _load_link_records(
    session: Session,
    user: User,
    base: ListFilters,
    views: dict[int, LinkView],
    thresholds: Thresholds,
    today: dt.date,
) -> None:
    """The largest projects and open leads of each link, largest first (newest first among
    equal amounts), one statement per kind: per link, short reads of the index on (link,
    amount, id) (:func:`~app.pipeline.queries.largest_ids`). Ranking every record of the
    chain with a window function read and sorted all of them, and PostgreSQL, unable to tell
    how few the ranks keep, then scanned the whole table to fetch them.
    """
    if not views:
        return
    for model in (Project, Lead):
        amount = amount_column(model)
        shown = visibility.condition(user, model)
        groups = []
        for link_id in views:
            in_link = select(model.id).where(
                shown, *conditions(model, base.but(link_id=link_id), thresholds, today)
            )
            if model is Lead:
                in_link = in_link.where(model.stage.in_(OPEN_LEAD_STAGES))
            groups.append(in_link)
        records = session.scalars(
            select(model)
            .where(model.id.in_(largest_ids(model, groups, CARDS_PER_LINK)))
            .options(joinedload(model.enterprise))
            .order_by(amount.desc().nulls_last(), model.id.desc())
        ).all()
        kept: dict[int, int] = {}
        for record in records:
            view = views.get(record.chain_link_id)
            if view is None or kept.get(view.link.id, 0) >= CARDS_PER_LINK:
                continue
            kept[view.link.id] = kept.get(view.link.id, 0) + 1
            if isinstance(record, Project):
                view.projects.append(record)
            else:
                view.candidate_leads.append(record)
