"""Annual targets: rules for keeping them, and progress read from the records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from app.pipeline.flags import Thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Project
from app.pipeline.queries import filtered
from app.targets.models import AnnualTarget, Metric
from app.targets.services import (
    TargetError,
    YearClock,
    copy_year,
    delete_target,
    describe,
    progress,
    save_target,
    target_filters,
)
from tests.factories import ChainLinkFactory, LeadFactory, ProjectFactory

D = Decimal

T = Thresholds()
MID_YEAR = dt.date(2026, 7, 1)
YEAR_END = dt.date(2026, 12, 31)


def _project(park: Any, amount: str, **dates: Any) -> Project:
    lead = LeadFactory(park=park, stage=Stage.NEGOTIATING)
    fields = {"signed_on": None, "construction_on": None, "production_on": None, **dates}
    return ProjectFactory(lead=lead, total_investment=D(amount), **fields)


def _save(session: Any, user: Any, **fields: Any) -> AnnualTarget:
    values = {
        "year": 2026,
        "metric": Metric.SIGNED,
        "tier": None,
        "park": None,
        "chain": None,
        "goal": D(4),
        "note": None,
        **fields,
    }
    return save_target(session, user, None, **values)


@pytest.fixture
def signed(session: Any, world: Any) -> Any:
    a, b = world.park_a, world.park_b
    _project(a, "60", signed_on=dt.date(2026, 1, 5), construction_on=dt.date(2026, 5, 1))
    _project(a, "6", signed_on=dt.date(2026, 3, 1))
    chip = _project(b, "1.5", signed_on=dt.date(2026, 12, 31))
    chip.chain_link = world.link
    _project(b, "0.5", signed_on=dt.date(2026, 2, 1))
    _project(a, "80", signed_on=dt.date(2025, 12, 31))  # last year: never counted
    session.flush()
    return world


def test_progress_counts_the_records(session: Any, signed: Any) -> None:
    admin = signed.admin
    targets = [
        _save(session, admin, goal=D(8)),
        _save(session, admin, tier="big", goal=D(2)),
        _save(session, admin, metric=Metric.SIGNED_INVESTMENT, goal=D(100)),
        _save(session, admin, park=signed.park_a, tier="major", goal=D(2)),
        _save(session, admin, chain=signed.chain, goal=D(1)),
        _save(session, admin, metric=Metric.CONSTRUCTION, goal=D(3)),
    ]
    rows = {row.target.id: row for row in progress(session, admin, 2026, T, YEAR_END)}
    assert [rows[t.id].actual for t in targets] == [
        D(4),
        D(1),
        D("68"),
        D(2),
        D(1),
        D(1),
    ]
    # The number is the length of the list the target links to.
    for target in targets:
        row = rows[target.id]
        assert row.done.filters == target_filters(target, YEAR_END)
        listed = session.scalars(filtered(admin, Project, row.done.filters, T)).all()
        assert len(listed) == row.done.count


def test_pace_and_half_year(session: Any, signed: Any) -> None:
    target = _save(session, signed.admin, goal=D(6))
    row = progress(session, signed.admin, 2026, T, MID_YEAR)[0]
    # Three signings by 1 July; the one on 31 December is not counted yet.
    assert row.target is target
    assert row.share == D("0.5")
    assert row.clock.past_half and row.half_done
    assert row.on_pace  # 50% done on 1 July: 182 of 365 days gone
    late = progress(session, signed.admin, 2026, T, dt.date(2026, 7, 15))[0]
    assert not late.on_pace and late.half_done
    early = progress(session, signed.admin, 2026, T, dt.date(2026, 3, 1))[0]
    assert early.actual == 3 and early.on_pace and not early.clock.past_half
    assert progress(session, signed.admin, 2026, T, YEAR_END)[0].actual == 4
    assert YearClock(2026, dt.date(2025, 6, 1)).share == 0
    assert YearClock(2026, dt.date(2027, 1, 1)).share == 1
    assert YearClock(2026, dt.date(2026, 12, 31)).share == 1


def test_manager_follows_his_parks_targets(session: Any, signed: Any) -> None:
    admin = signed.admin
    _save(session, admin, goal=D(8))
    mine = _save(session, admin, park=signed.park_a, goal=D(3))
    _save(session, admin, park=signed.park_b, goal=D(3))
    assert [r.target for r in progress(session, signed.manager, 2026, T, MID_YEAR)] == [mine]
    assert len(progress(session, signed.leader, 2026, T, MID_YEAR)) == 3
    assert progress(session, signed.officer, 2026, T, MID_YEAR) == []
    only_a = progress(session, admin, 2026, T, MID_YEAR, park_id=signed.park_a.id)
    assert [r.target for r in only_a] == [mine]


def test_describe(session: Any, signed: Any) -> None:
    target = _save(session, signed.admin, park=signed.park_a, tier="big", goal=D(16))
    assert describe(target, T) == "2026年 集成电路产业园 50亿元+ 签约项目数"
    amount = _save(session, signed.admin, metric=Metric.SIGNED_INVESTMENT, chain=signed.chain)
    assert describe(amount, T) == "2026年 芯产业链 签约项目总投资（亿元）"
    assert amount.goal_amount == D(4) and amount.goal_count is None


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"year": 1999}, "年份须在", "year"),
        ({"goal": D(0)}, "目标值必须大于0", "goal"),
        ({"goal": D("2.5")}, "必须是整数", "goal"),
        ({"tier": "huge"}, "未知的投资额档次", "tier"),
        ({"note": "长" * 201}, "备注不能超过200个字", "note"),
    ],
)
def test_bad_targets_are_refused(
    session: Any, world: Any, fields: dict, message: str, field: str
) -> None:
    with pytest.raises(TargetError, match=message) as caught:
        _save(session, world.admin, **fields)
    assert caught.value.field == field
    assert session.query(AnnualTarget).count() == 0


def test_one_target_per_year_metric_and_scope(session: Any, world: Any) -> None:
    _save(session, world.admin, park=world.park_a, tier="big")
    with pytest.raises(TargetError, match="已有相同指标和范围"):
        _save(session, world.admin, park=world.park_a, tier="big", goal=D(9))
    # Another scope, tier or year is another target.
    _save(session, world.admin, park=world.park_b, tier="big")
    _save(session, world.admin, park=world.park_a)
    _save(session, world.admin, park=world.park_a, tier="big", year=2027)
    other_chain = ChainLinkFactory().chain
    _save(session, world.admin, park=world.park_a, tier="big", chain=other_chain)
    assert session.query(AnnualTarget).count() == 5


def test_only_admins_keep_targets(session: Any, world: Any) -> None:
    for user in (world.leader, world.manager, world.officer):
        with pytest.raises(TargetError, match="只有系统管理员"):
            _save(session, user)
    target = _save(session, world.admin)
    with pytest.raises(TargetError):
        delete_target(session, world.leader, target)
    delete_target(session, world.admin, target)
    assert session.query(AnnualTarget).count() == 0


def test_copy_year(session: Any, world: Any) -> None:
    _save(session, world.admin, tier="big", goal=D(16))
    _save(session, world.admin, metric=Metric.SIGNED_INVESTMENT, goal=D(1500))
    assert copy_year(session, world.admin, 2026, 2027) == 2
    copied = session.query(AnnualTarget).filter_by(year=2027).all()
    assert sorted(t.goal for t in copied) == [D(16), D(1500)]
    with pytest.raises(TargetError, match="2027年已有目标"):
        copy_year(session, world.admin, 2026, 2027)
    with pytest.raises(TargetError, match="2020年没有可复制的目标"):
        copy_year(session, world.admin, 2020, 2030)
