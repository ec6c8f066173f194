"""Counts and 亿元 sums of leads and projects, computed in SQL from the lists' own filters.

Every number the cockpit, the targets and the statistical reports show is a :class:`Tally`: a
count and a sum together with the :class:`~app.pipeline.queries.ListFilters` of the list behind
it. The number is computed from :func:`app.pipeline.queries.conditions` of those same filters over
the rows :mod:`app.pipeline.visibility` lets the user see, so the number and the length of the list
it links to cannot disagree.

One statement computes many numbers: the base filters go into ``WHERE``, optional dimensions into
``GROUP BY`` (park, stage, chain link), and each *cell* adds its own filters as a ``FILTER``
clause on the aggregates. A cell must narrow the base, never widen it (a month inside the
base's year, a tier on top of a park), which is what makes ``base AND cell`` equal to the
filters of the list it links to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import True_

from app.auth.models import User
from app.core.db import SAME_PLAN
from app.pipeline import visibility
from app.pipeline.flags import Thresholds
from app.pipeline.lifecycle import MAIN_LINE, MILESTONE_FIELDS, Stage
from app.pipeline.models import Lead, Project, StageChange
from app.pipeline.queries import (
    ListFilters,
    amount_column,
    conditions,
    in_range,
    subject_column,
)

ZERO = Decimal(0)

Model = type[Lead] | type[Project]

# The dimensions a tally can be grouped by: name -> (filter field, column name on the record).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "park": ("park_id", "park_id"),
    "stage": ("stage", "stage"),
    "link": ("link_id", "chain_link_id"),
}


@dataclass(frozen=True)
class Tally:
    """A count and an 亿元 sum of the records a list with *filters* shows."""

    kind: str  # "leads" or "projects": the list the number links to
    filters: ListFilters
    count: int = 0
    total: Decimal = ZERO

    @property
    def endpoint(self) -> str:
        return "pipeline.lead_list" if self.kind == "leads" else "pipeline.project_list"


def kind_of(model: Model) -> str:
    return "leads" if model is Lead else "projects"


def tally(
    session: Session,
    user: User,
    model: Model,
    base: ListFilters,
    thresholds: Thresholds,
    today: dt.date,
    *,
    group_by: tuple[str, ...] = (),
    cells: Mapping[Hashable, Mapping[str, Any]] | None = None,
    within: Iterable[ListFilters] = (),
) -> dict[tuple[Any, ...], Tally]:
    """Count and sum *model* in one statement.

    Returns one :class:`Tally` per group and cell, keyed by ``(*group values, cell key)``
    (without cells: by the group values alone). Groups with no rows are absent: callers fill
    the gaps with an empty :class:`Tally` of the group's filters. *within* optionally narrows
    the rows read to those matching one of several filters (a year around its months): every
    cell must imply one of them.
    """
    amount = amount_column(model)
    stmt = visibility.visible(select(), user, model).select_from(model)
    stmt = stmt.where(*conditions(model, base, thresholds, today))
    narrowing = [and_(*conditions(model, f, thresholds, today)) for f in within]
    if narrowing:
        stmt = stmt.where(or_(*narrowing))
    group_columns = [getattr(model, DIMENSIONS[name][1]) for name in group_by]
    cell_items = list((cells or {None: {}}).items())
    aggregates: list[Any] = []
    for _key, changes in cell_items:
        extra = conditions(model, ListFilters(**changes), thresholds, today)
        condition = and_(*extra) if extra else true()
        aggregates.append(func.count().filter(condition))
        aggregates.append(func.coalesce(func.sum(amount).filter(condition), literal(0)))
    stmt = stmt.add_columns(*group_columns, *aggregates)
    if group_columns:
        stmt = stmt.group_by(*group_columns)
    result: dict[tuple[Any, ...], Tally] = {}
    kind = kind_of(model)
    for row in session.execute(stmt):
        groups = tuple(row[: len(group_columns)])
        values = row[len(group_columns) :]
        group_changes = _group_changes(group_by, groups)
        for i, (key, changes) in enumerate(cell_items):
            filters = dataclasses.replace(base, **group_changes, **changes)
            total = values[2 * i + 1]
            tally_ = Tally(kind, filters, values[2 * i], _decimal(total))
            result[groups if cells is None else (*groups, key)] = tally_
    return result


def _group_changes(group_by: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in zip(group_by, values, strict=True):
        field = DIMENSIONS[name][0]
        changes[field] = Stage(value) if name == "stage" and value is not None else value
    return changes


def _decimal(value: Any) -> Decimal:
    """Sums come back as Decimal 亿元 through the Money type, or as 0 for an empty group."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    # A bare SUM over the BIGINT column (no Money type applied): whole yuan.
    return Decimal(int(value)).scaleb(-8)


# --- the figures the cockpit and the reports share ----------------------------------------------

# Lowest tier first, as public reports list them: 亿元以上, 5亿元以上, 50亿元以上.
REPORT_TIERS = ("yi", "major", "big")
# The milestones leaders count in a period: projects signed, started and producing.
COUNTED_EVENTS: tuple[Stage, ...] = (Stage.SIGNED, Stage.CONSTRUCTION, Stage.PRODUCTION)


def _event_cell(
    event: Stage, start: dt.date | None, end: dt.date | None, tier: str | None = None
) -> dict[str, Any]:
    cell: dict[str, Any] = {"event": event, "date_from": start, "date_to": end}
    if tier is not None:
        cell["tier"] = tier
    return cell


def milestone_cells(start: dt.date, end: dt.date) -> dict[Any, dict[str, Any]]:
    """The cells of :func:`milestones`: each tier (or none) × each counted milestone."""
    return {
        (tier, event): _event_cell(event, start, end, tier)
        for tier in (None, *REPORT_TIERS)
        for event in COUNTED_EVENTS
    }


def month_cells(
    start: dt.date, end: dt.date, events: tuple[Stage, ...] = COUNTED_EVENTS
) -> dict[Any, dict[str, Any]]:
    """The cells of :func:`monthly`: each milestone × each month, clipped to start..end."""
    return {
        (event, month): _event_cell(
            event, max(month, start), min(next_month(month) - dt.timedelta(days=1), end)
        )
        for event in events
        for month in month_starts(start, end)
    }


def milestones(
    session: Session,
    user: User,
    base: ListFilters,
    start: dt.date,
    end: dt.date,
    thresholds: Thresholds,
    today: dt.date,
    *,
    group_by: tuple[str, ...] = (),
) -> dict[tuple[Any, ...], Tally]:
    """Projects signed, started and producing between *start* and *end*, of any size and per
    tier; keyed by ``(*groups, (tier or None, event))``, as the cells of
    :func:`milestone_cells` (groups without projects are absent, as in :func:`tally`)."""
    amount = amount_column(Project)
    floors = [thresholds.floor(tier) for tier in REPORT_TIERS]  # lowest first
    # The highest tier a project reaches, as a number: 0 below 亿元 (or no amount), 1 for 亿元+ …
    reached_tier = case(
        *((amount >= floor, index) for index, floor in reversed(list(enumerate(floors, 1)))),
        else_=0,
    )
    rows = _per_event(
        session, user, base, start, end, thresholds, today, COUNTED_EVENTS, group_by, reached_tier
    )
    cells = milestone_cells(start, end)
    sums = _every_cell(rows, group_by, cells)
    for event, groups, tier_index, count, total in rows:
        # A project of tier k counts in every tier up to k, and in "any size".
        for tier in (None, *REPORT_TIERS[: int(tier_index)]):
            found = sums[(*groups, (tier, event))]
            found[0] += count
            found[1] += total
    return {
        key: Tally(
            "projects",
            dataclasses.replace(base, **_group_changes(group_by, key[:-1]), **cells[key[-1]]),
            count,
            total,
        )
        for key, (count, total) in sums.items()
    }


def _every_cell(
    rows: list[tuple[Any, ...]], group_by: tuple[str, ...], cells: Mapping[Hashable, Any]
) -> dict[tuple[Any, ...], list[Any]]:
    """A zero [count, sum] for every cell of every group that has rows (of the one group when
    not grouped), as :func:`tally` returns them."""
    groups = {row[1] for row in rows} if group_by else {()}
    return {(*group, key): [0, ZERO] for group in groups for key in cells}


def _per_event(
    session: Session,
    user: User,
    base: ListFilters,
    start: dt.date,
    end: dt.date,
    thresholds: Thresholds,
    today: dt.date,
    events: tuple[Stage, ...],
    group_by: tuple[str, ...],
    bucket: Any,
) -> list[tuple[Stage, tuple[Any, ...], Any, int, Decimal]]:
    """The visible projects of *base* whose *event* date falls in start..end, counted and summed
    per group and *bucket* (an expression, or a callable of the event's date column), one
    grouped read per event through that date's index, all in one statement.

    A ``FILTER`` per cell would test every project once per cell: the months of a year by three
    events are 72 aggregates, which cost more than everything else the statement does.
    """
    amount = amount_column(Project)
    group_columns = [getattr(Project, DIMENSIONS[name][1]) for name in group_by]
    reads = []
    for index, event in enumerate(events):
        date_column = getattr(Project, MILESTONE_FIELDS[event])
        key = bucket(date_column) if callable(bucket) else bucket
        filters = base.but(event=event, date_from=start, date_to=end)
        reads.append(
            visibility.visible(
                select(
                    literal(index).label("event"),
                    *group_columns,
                    key.label("bucket"),
                    func.count().label("n"),
                    func.sum(amount).label("total"),
                ),
                user,
                Project,
            )
            .select_from(Project)
            .where(*conditions(Project, filters, thresholds, today))
            .group_by(*group_columns, key)
        )
    return [
        (events[row[0]], tuple(row[1:-3]), row[-3], row[-2], _decimal(row[-1]))
        for row in session.execute(union_all(*reads))
    ]


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month that overlaps start..end (inclusive)."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after *day*'s month."""
    index = day.year * 12 + day.month
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly(
    session: Session,
    user: User,
    base: ListFilters,
    start: dt.date,
    end: dt.date,
    thresholds: Thresholds,
    today: dt.date,
    *,
    events: tuple[Stage, ...] = COUNTED_EVENTS,
    group_by: tuple[str, ...] = (),
) -> dict[tuple[Any, ...], Tally]:
    """Projects per month and milestone (clipped to start..end); keyed by
    ``(*groups, (event, first day of month))``, as the cells of :func:`month_cells`."""
    sqlite = session.get_bind().dialect.name == "sqlite"

    def month_of(column: Any) -> Any:
        # Dates are stored as ISO text by SQLite: "2026-03-15"[:7] is the month.
        return func.substr(column, 1, 7) if sqlite else func.to_char(column, "YYYY-MM")

    rows = _per_event(
        session, user, base, start, end, thresholds, today, events, group_by, month_of
    )
    cells = month_cells(start, end, events)
    sums = _every_cell(rows, group_by, cells)
    for event, groups, month_text, count, total in rows:
        year, month = (int(part) for part in str(month_text).split("-"))
        found = sums[(*groups, (event, dt.date(year, month, 1)))]
        found[0] += count
        found[1] += total
    return {
        key: Tally(
            "projects",
            dataclasses.replace(base, **_group_changes(group_by, key[:-1]), **cells[key[-1]]),
            count,
            total,
        )
        for key, (count, total) in sums.items()
    }


# --- how far records got -----------------------------------------------------------------------


def reached(
    session: Session,
    user: User,
    model: Model,
    base: ListFilters,
    thresholds: Thresholds,
    today: dt.date,
) -> dict[Stage, Tally]:
    """For each stage of the main line, the records of *base* that got as far as it (the lists'
    ``reached`` filter: the history shows the stage or a later one), in one statement.

    "Got as far as stage k" is "furthest stage of the main line at least k": the records are
    counted by their stored ``furthest_stage`` and the counts per stage are sums from the far
    end (where a condition per stage would read the records once per stage).
    """
    amount = amount_column(model)
    rows = (
        visibility.visible(
            select(amount.label("amount"), model.furthest_stage.label("furthest")), user, model
        )
        .select_from(model)
        .where(*conditions(model, base, thresholds, today))
        .subquery()
    )
    per_rank = dict.fromkeys(range(len(MAIN_LINE)), (0, ZERO))
    for furthest, count, total in session.execute(
        select(rows.c.furthest, func.count(), func.sum(rows.c.amount)).group_by(rows.c.furthest)
    ):
        if furthest is not None:
            per_rank[furthest.rank] = (count, _decimal(total))
    result: dict[Stage, Tally] = {}
    count, total = 0, ZERO
    for index in reversed(range(len(MAIN_LINE))):
        count, total = count + per_rank[index][0], total + per_rank[index][1]
        stage = MAIN_LINE[index]
        result[stage] = Tally(kind_of(model), base.but(reached=stage), count, total)
    return {stage: result[stage] for stage in MAIN_LINE}


# --- time in stage ------------------------------------------------------------------------------


def _days_between(session: Session, start: Any, end: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return end - start


def median_days_in_stage(
    session: Session,
    user: User,
    model: Model,
    base: ListFilters,
    thresholds: Thresholds,
    today: dt.date,
    ended_from: dt.date | None,
    ended_to: dt.date | None,
    stages: tuple[Stage, ...] = MAIN_LINE[:-1],
) -> dict[Stage, tuple[float, int]]:
    """Median days and number of completed stays per stage, for stays that ended in the range.

    A move out of a stage ends a stay that began on the day the move's row records
    (``from_since``); only the moves of the range are read (an index on the move date). SQL
    counts the stays by length (a histogram: at most one row per stage and number of days,
    whatever the number of records); the median is read off the histogram.
    """
    subject = subject_column(model)
    record_conditions = [
        c
        for c in (visibility.condition(user, model), *conditions(model, base, thresholds, today))
        if not isinstance(c, True_)
    ]

    def moves(began_on: Any) -> Select:
        stays = select(
            StageChange.from_stage.label("stage"),
            _days_between(session, began_on, StageChange.effective_on).label("days"),
        ).where(
            StageChange.from_stage.in_([s.value for s in stages]),
            in_range(StageChange.effective_on, ended_from, ended_to),
        )
        if record_conditions:  # everything visible and unfiltered: no need to read the records
            return stays.join(model, model.id == subject).where(*record_conditions)
        return stays.where(subject.is_not(None))

    # Rows carry the day their stay began (the first branch, read from the covering index on
    # the move date alone); rows written without it ask the history for the latest entry into
    # the stage (the second branch, empty where every row has its day).
    earlier = aliased(StageChange)
    entered = (
        select(func.max(earlier.effective_on))
        .where(
            getattr(earlier, subject.key) == subject,
            earlier.to_stage == StageChange.from_stage,
            earlier.effective_on <= StageChange.effective_on,
        )
        .correlate(StageChange)
        .scalar_subquery()
    )
    stays = union_all(
        moves(StageChange.from_since).where(StageChange.from_since.is_not(None)),
        # The terms of the partial index ix_stage_change_without_since, which holds these rows.
        moves(entered).where(StageChange.from_since.is_(None), StageChange.from_stage.is_not(None)),
    ).subquery()
    histogram = session.execute(
        select(stays.c.stage, stays.c.days, func.count()).group_by(stays.c.stage, stays.c.days)
    )
    counts: dict[Stage, list[tuple[float, int]]] = {}
    for stage, length, count in histogram:
        if length is not None:
            counts.setdefault(Stage(stage), []).append((float(length), int(count)))
    return {stage: (_median(pairs), sum(n for _d, n in pairs)) for stage, pairs in counts.items()}


def _median(pairs: list[tuple[float, int]]) -> float:
    """The median of a histogram of (value, count) pairs."""
    pairs.sort()
    size = sum(n for _v, n in pairs)
    wanted = {(size - 1) // 2, size // 2}
    found, seen = [], 0
    for value, count in pairs:
        found += [value for position in wanted if seen <= position < seen + count]
        seen += count
    return sum(found) / len(found)


def data_stamp(session: Session) -> tuple[Any, ...]:
    """A value that changes whenever the records the statistics count change, read in one
    statement from the ends of indexes: the newest change of a lead or project (every update
    moves ``updated_at``), their largest ids (new records) and the largest stage change id.
    Records are never deleted; stage changes are only ever added."""
    return tuple(
        session.execute(
            select(
                select(func.max(Lead.updated_at)).scalar_subquery(),
                select(func.max(Lead.id)).scalar_subquery(),
                select(func.max(Project.updated_at)).scalar_subquery(),
                select(func.max(Project.id)).scalar_subquery(),
                select(func.max(StageChange.id)).scalar_subquery(),
            ).execution_options(**SAME_PLAN)
        ).one()
    )
