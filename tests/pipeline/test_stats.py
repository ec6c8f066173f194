"""The shared statistics: every tally equals the length of the list its filters give."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.pipeline import services
from app.pipeline.flags import Thresholds
from app.pipeline.lifecycle import MAIN_LINE, Move, Stage
from app.pipeline.models import Lead, Project, StageChange
from app.pipeline.queries import ListFilters, filtered
from app.pipeline.stats import (
    COUNTED_EVENTS,
    REPORT_TIERS,
    median_days_in_stage,
    milestones,
    month_starts,
    monthly,
    reached,
    tally,
)
from tests.factories import LeadFactory, ProjectFactory

D = Decimal

TODAY = dt.date(2026, 11, 27)
T = Thresholds()


def day(month: int, dom: int = 15, year: int = 2026) -> dt.date:
    return dt.date(year, month, dom)


def _history(session: Any, record: Any, steps: list[tuple[Stage, dt.date]]) -> None:
    column = "lead_id" if isinstance(record, Lead) else "project_id"
    previous = None
    for stage, when in steps:
        session.add(
            StageChange(
                **{column: record.id}, from_stage=previous, to_stage=stage, effective_on=when
            )
        )
        previous = stage
    session.flush()


@pytest.fixture
def scene(session: Any, world: Any) -> Any:
    """Projects and leads in two parks, tiers, milestones, histories and contacts."""
    a, b = world.park_a, world.park_b

    def project(park: Any, owner: Any, amount: str, stage: Stage, **dates: Any) -> Project:
        lead = LeadFactory(park=park, owner=owner, stage=Stage.NEGOTIATING, chain_link=None)
        fields = {"signed_on": None, "construction_on": None, "production_on": None, **dates}
        return ProjectFactory(
            lead=lead, stage=stage, total_investment=D(amount) if amount else None, **fields
        )

    p1 = project(a, world.officer, "60", Stage.CONSTRUCTION, signed_on=day(1, 10))
    p1.construction_on = day(3, 1)
    p1.chain_link = world.link
    p2 = project(a, world.officer, "5", Stage.SIGNED, signed_on=day(2, 28))
    p3 = project(b, world.other_officer, "1", Stage.PRODUCTION, signed_on=day(12, 31, 2025))
    p3.production_on = day(6, 30)
    p4 = project(b, world.other_officer, "0.5", Stage.SIGNED, signed_on=day(12, 31))
    project(a, world.officer, "", Stage.NEGOTIATING)
    # Stalled: no contact for months, too long in its stage.
    p2.last_contact_on = TODAY - dt.timedelta(days=45)
    p2.stage_since = TODAY - dt.timedelta(days=400)
    session.flush()
    _history(
        session,
        p1,
        [
            (Stage.LEAD, day(1, 1)),
            (Stage.CONTACTED, day(1, 5)),
            (Stage.NEGOTIATING, day(1, 8)),
            (Stage.SIGNED, day(1, 10)),
            (Stage.CONSTRUCTION, day(3, 1)),
        ],
    )
    _history(
        session,
        p2,
        [
            (Stage.LEAD, day(1, 1)),
            (Stage.CONTACTED, day(1, 11)),
            (Stage.NEGOTIATING, day(1, 21)),
            (Stage.SIGNED, day(2, 28)),
        ],
    )
    _history(session, p4, [(Stage.LEAD, day(12, 1, 2025)), (Stage.SIGNED, day(12, 31))])
    return world


def _count(session: Any, user: Any, model: Any, filters: ListFilters) -> tuple[int, D]:
    rows = session.scalars(filtered(user, model, filters, T, TODAY)).all()
    amounts = [r.amount for r in rows if r.amount is not None]
    return len(rows), sum(amounts, D(0))


FILTER_CASES = [
    ListFilters(),
    ListFilters(stage=Stage.SIGNED),
    ListFilters(tier="yi"),
    ListFilters(tier="big", event=Stage.SIGNED, date_from=day(1, 1), date_to=day(12, 31)),
    ListFilters(event=Stage.SIGNED, date_from=day(1, 1), date_to=day(1, 31)),
    ListFilters(event=Stage.LEAD, date_from=day(1, 1), date_to=day(12, 31)),
    ListFilters(reached=Stage.CONTACTED),
    ListFilters(stale=True),
    ListFilters(too_long=True),
]


@pytest.mark.parametrize("who", ["admin", "manager", "officer", "other_manager"])
@pytest.mark.parametrize("case", range(len(FILTER_CASES)))
def test_tally_equals_list(session: Any, scene: Any, who: str, case: int) -> None:
    user = getattr(scene, who)
    filters = FILTER_CASES[case]
    found = tally(session, user, Project, filters, T, TODAY)
    item = found.get(())
    count, total = _count(session, user, Project, filters)
    assert (item.count if item else 0) == count
    assert (item.total if item else D(0)) == total


def test_grouped_cells_equal_their_lists(session: Any, scene: Any) -> None:
    user = scene.admin
    cells = {tier: {"tier": tier} for tier in REPORT_TIERS}
    found = tally(
        session, user, Project, ListFilters(), T, TODAY, group_by=("park", "stage"), cells=cells
    )
    assert found
    for (park_id, stage, tier), item in found.items():
        assert item.filters == ListFilters(park_id=park_id, stage=Stage(stage), tier=tier)
        assert (item.count, item.total) == _count(session, user, Project, item.filters)


def test_list_args_read_back(session: Any, scene: Any) -> None:
    filters = ListFilters(
        park_id=3,
        chain_ids=(1, 2),
        tier="major",
        event=Stage.CONSTRUCTION,
        date_from=day(1, 1),
        date_to=day(3, 31),
        reached=Stage.SIGNED,
        stale=True,
        too_long=True,
    )
    args = MultiDict()
    for key, value in filters.to_args().items():
        for v in value if isinstance(value, list) else [value]:
            args.add(key, str(v))
    assert ListFilters.from_args(args) == filters


@pytest.mark.parametrize(
    "filters",
    [
        ListFilters(),
        ListFilters(park_id=3, chain_ids=(1, 2), stage=Stage.SIGNED, tier="big", stale=True),
        ListFilters(event=Stage.CONSTRUCTION, date_from=day(1, 1), date_to=day(3, 31)),
        ListFilters(q="半导体 & 显示/面板+100%", too_long=True, reached=Stage.PRODUCTION),
        ListFilters(q="a~b_c.d-e"),
    ],
)
def test_query_string_as_urlencode_writes_it(filters: ListFilters) -> None:
    assert filters.to_query() == urlencode(filters.to_args(), doseq=True)
    assert ListFilters.from_args(MultiDict(parse_qsl(filters.to_query()))) == filters


def test_milestones_per_tier_and_event(session: Any, scene: Any) -> None:
    found = milestones(session, scene.admin, ListFilters(), day(1, 1), day(12, 31), T, TODAY)
    counts = {key: item.count for (key,), item in found.items()}
    assert counts[(None, Stage.SIGNED)] == 3  # p1, p2, p4 (p3 signed in 2025)
    assert counts[("yi", Stage.SIGNED)] == 2
    assert counts[("major", Stage.SIGNED)] == 2
    assert counts[("big", Stage.SIGNED)] == 1
    assert counts[(None, Stage.CONSTRUCTION)] == 1
    assert counts[(None, Stage.PRODUCTION)] == 1
    assert found[((None, Stage.SIGNED),)].total == D("65.5")
    assert set(counts) == {(t, e) for t in (None, *REPORT_TIERS) for e in COUNTED_EVENTS}


def test_monthly_clips_to_the_range(session: Any, scene: Any) -> None:
    start, end = day(1, 15), day(3, 10)
    assert month_starts(start, end) == [day(1, 1), day(2, 1), day(3, 1)]
    found = monthly(session, scene.admin, ListFilters(), start, end, T, TODAY)
    january = found[((Stage.SIGNED, day(1, 1)),)]
    assert january.count == 0  # p1 was signed on 1-10, before the range starts
    assert january.filters.date_from == start and january.filters.date_to == day(1, 31)
    assert found[((Stage.SIGNED, day(2, 1)),)].count == 1
    march = found[((Stage.CONSTRUCTION, day(3, 1)),)]
    assert march.count == 1 and march.filters.date_to == end


def test_median_days_in_stage(session: Any, scene: Any) -> None:
    medians = median_days_in_stage(
        session, scene.admin, Project, ListFilters(), T, TODAY, day(1, 1), day(12, 31)
    )
    # 线索: p1 4 days, p2 10 days, p4 395 days (ended 2026-12-31) → median 10.
    assert medians[Stage.LEAD] == (10.0, 3)
    # 接洽: 3 and 10 days → median 6.5; 洽谈: 2 and 38 days → 20.
    assert medians[Stage.CONTACTED] == (6.5, 2)
    assert medians[Stage.NEGOTIATING] == (20.0, 2)
    assert medians[Stage.SIGNED] == (50.0, 1)
    assert Stage.CONSTRUCTION not in medians  # still under construction
    # A manager sees his park's stays only.
    theirs = median_days_in_stage(
        session, scene.other_manager, Project, ListFilters(), T, TODAY, None, None
    )
    assert theirs == {Stage.LEAD: (395.0, 1)}


@pytest.mark.parametrize("who", ["admin", "manager", "other_manager", "officer"])
def test_reached_equals_the_lists_reached_filter(
    session: Any, scene: Any, who: str, count_queries: Any
) -> None:
    """How far records got, per stage of the main line, in one statement; p4's history jumps
    from 线索 to 签约 and still counts as having got past 接洽 and 洽谈."""
    user = getattr(scene, who)
    base = ListFilters(event=Stage.LEAD, date_from=day(1, 1, 2025), date_to=day(12, 31))
    with count_queries() as counter:
        found = reached(session, user, Project, base, T, TODAY)
    assert counter.count == 1
    assert list(found) == list(MAIN_LINE)
    for stage, item in found.items():
        assert item.filters == base.but(reached=stage)
        assert (item.count, item.total) == _count(session, user, Project, item.filters), stage
    if who == "admin":
        counts = [found[s].count for s in MAIN_LINE]
        # p1 (to 开工), p2 (to 签约), p4 (线索 → 签约); p3 and p5 have no history.
        assert counts == [3, 3, 3, 3, 1, 0, 0]
        assert found[Stage.SIGNED].total == D("65.5")


def test_tally_runs_one_statement(session: Any, scene: Any, count_queries: Any) -> None:
    cells = {tier: {"tier": tier} for tier in REPORT_TIERS}
    with count_queries() as counter:
        tally(
            session,
            scene.manager,
            Project,
            ListFilters(),
            T,
            TODAY,
            group_by=("park",),
            cells=cells,
        )
    assert counter.count == 1
    total = session.scalar(select(func.count()).select_from(Project))
    assert total == 5


def test_moves_record_the_day_their_stay_began(session: Any, world: Any) -> None:
    """A move's row carries the start of the stay it ends, skipped stages included."""
    lead = LeadFactory(
        park=world.park_a, owner=world.officer, stage=Stage.LEAD, stage_since=day(1, 2)
    )
    move = Move(
        target=Stage.NEGOTIATING,
        effective_on=day(3, 1),
        skipped_dates={Stage.CONTACTED: day(2, 1)},
    )
    services.move_stage(session, world.manager, lead, move, version=lead.version)
    rows = session.scalars(
        select(StageChange).where(StageChange.lead_id == lead.id).order_by(StageChange.id)
    ).all()
    assert [(r.from_stage, r.from_since, r.effective_on) for r in rows] == [
        (Stage.LEAD, day(1, 2), day(2, 1)),
        (Stage.CONTACTED, day(2, 1), day(3, 1)),
    ]
    medians = median_days_in_stage(
        session, world.admin, Lead, ListFilters(), T, TODAY, day(1, 1), day(12, 31)
    )
    assert medians[Stage.LEAD] == (30.0, 1) and medians[Stage.CONTACTED] == (28.0, 1)
