"""The content of the weekly digest: the right items for each role, and nothing outside sight."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from app.core.audit import AuditLog
from app.core.timeutil import today_local
from app.digests.content import (
    BIG_MOVES,
    CHANGES,
    DUE,
    MILESTONES_KEY,
    NEW_LEADS,
    OVERDUE,
    STALE,
    STALLED,
    THRESHOLDS,
    Digest,
    annual_target_progress,
    build_digest,
)
from app.digests.render import render_digest
from app.digests.weeks import IsoWeek
from app.pipeline.flags import Thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import StageChange
from app.targets.models import AnnualTarget, Metric
from app.targets.services import progress
from tests.factories import LeadFactory, ProjectFactory, UserFactory

BASE = "http://crm.test"


def this_week() -> IsoWeek:
    return IsoWeek.of(today_local())


def ids(digest: Digest, key: str, kind: str | None = None) -> set[int]:
    """Record ids listed under section *key* anywhere in the digest."""
    out = set()
    for section in [*digest.sections, *(s for p in digest.parks for s in p.sections)]:
        if section.key == key:
            out |= {e.record_id for e in section.entries if kind is None or e.kind == kind}
    return out


def change(record: Any, to: Stage, on: dt.date, from_: Stage | None = None) -> StageChange:
    column = "lead_id" if record.kind == "lead" else "project_id"
    return StageChange(**{column: record.id}, from_stage=from_, to_stage=to, effective_on=on)


@pytest.fixture
def scene(world: Any, session: Any) -> dict[str, Any]:
    """Records of two officers in two parks, with news in the current week."""
    week = this_week()
    reading = week.next().monday
    today = today_local()
    mine_due = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        next_step="<script>alert(1)</script> 送达协议",
        next_step_due=reading + dt.timedelta(days=2),
    )
    mine_overdue = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        next_step="回访",
        next_step_due=week.monday,
    )
    mine_stale = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        last_contact_on=reading - dt.timedelta(days=45),
        stage=Stage.CONTACTED,
    )
    mine_signed = ProjectFactory(
        lead=mine_due, total_investment=Decimal("8"), stage=Stage.SIGNED, signed_on=today
    )
    mine_planned = ProjectFactory(
        lead=mine_due,
        stage=Stage.SIGNED,
        planned_construction_on=reading + dt.timedelta(days=10),
    )
    theirs = LeadFactory(
        owner=world.other_officer,
        park=world.park_b,
        next_step_due=reading,
        last_contact_on=reading - dt.timedelta(days=60),
    )
    their_big = ProjectFactory(
        lead=theirs, total_investment=Decimal("60"), stage=Stage.CONSTRUCTION
    )
    session.add_all(
        [
            change(mine_due, Stage.CONTACTED, today, Stage.LEAD),
            change(mine_signed, Stage.SIGNED, today, Stage.NEGOTIATING),
            change(theirs, Stage.CONTACTED, today, Stage.LEAD),
            change(their_big, Stage.CONSTRUCTION, today, Stage.SIGNED),
        ]
    )
    session.flush()
    return {
        "week": week,
        "mine_due": mine_due,
        "mine_overdue": mine_overdue,
        "mine_stale": mine_stale,
        "mine_signed": mine_signed,
        "mine_planned": mine_planned,
        "theirs": theirs,
        "their_big": their_big,
    }


def test_officer_gets_his_follow_ups_stale_records_and_changes(
    session: Any, world: Any, scene: dict[str, Any]
) -> None:
    digest = build_digest(session, world.officer, scene["week"], BASE)

    assert not digest.is_empty
    assert ids(digest, DUE) == {scene["mine_due"].id}
    assert ids(digest, OVERDUE) == {scene["mine_overdue"].id}
    assert ids(digest, STALE) == {scene["mine_stale"].id}
    assert ids(digest, CHANGES, "lead") == {scene["mine_due"].id}
    assert ids(digest, CHANGES, "project") == {scene["mine_signed"].id}
    assert digest.parks == []


def test_officer_never_sees_another_officers_records(
    session: Any, world: Any, scene: dict[str, Any]
) -> None:
    digest = build_digest(session, world.officer, scene["week"], BASE)
    entries = digest.all_entries()
    assert entries
    assert all(e.owner == world.officer.full_name for e in entries)
    theirs = {("lead", scene["theirs"].id), ("project", scene["their_big"].id)}
    assert not theirs & {(e.kind, e.record_id) for e in entries}

    other = build_digest(session, world.other_officer, scene["week"], BASE)
    assert ids(other, DUE) == {scene["theirs"].id}
    assert {e.owner for e in other.all_entries()} == {world.other_officer.full_name}


def test_manager_sees_only_his_parks(session: Any, world: Any, scene: dict[str, Any]) -> None:
    digest = build_digest(session, world.manager, scene["week"], BASE)

    assert [p.park_id for p in digest.parks] == [world.park_a.id]
    assert {e.park_id for e in digest.all_entries()} == {world.park_a.id}
    assert ids(digest, NEW_LEADS) == {
        scene["mine_due"].id,
        scene["mine_overdue"].id,
        scene["mine_stale"].id,
    }
    changes = digest.parks[0].section(CHANGES).entries
    assert changes[0].record_id == scene["mine_signed"].id and changes[0].highlight
    assert not next(e for e in changes if e.kind == "lead").highlight
    assert ids(digest, STALLED) == {scene["mine_stale"].id}
    assert ids(digest, MILESTONES_KEY) == {scene["mine_planned"].id}
    assert ids(digest, THRESHOLDS) == {scene["mine_signed"].id, scene["mine_planned"].id}
    assert scene["their_big"].id not in ids(digest, THRESHOLDS)

    totals = {t.stage: t for t in digest.parks[0].totals}
    assert totals[Stage.LEAD].lead_count == 2
    assert totals[Stage.CONTACTED].lead_count == 1
    assert totals[Stage.SIGNED].project_count == 2
    assert totals[Stage.SIGNED].project_total == Decimal("18")

    other = build_digest(session, world.other_manager, scene["week"], BASE)
    assert {e.park_id for e in other.all_entries()} == {world.park_b.id}


def test_leader_and_admin_see_every_park_and_the_big_projects_that_moved(
    session: Any, world: Any, scene: dict[str, Any]
) -> None:
    for user in (world.leader, world.admin):
        digest = build_digest(session, user, scene["week"], BASE)
        assert {p.park_id for p in digest.parks} >= {world.park_a.id, world.park_b.id}
        assert ids(digest, BIG_MOVES) == {scene["their_big"].id}
        assert ids(digest, CHANGES, "project") == {
            scene["mine_signed"].id,
            scene["their_big"].id,
        }
        assert ids(digest, STALLED) == {scene["mine_stale"].id, scene["theirs"].id}
        by_stage = {t.stage: t for t in digest.totals}
        assert by_stage[Stage.CONSTRUCTION].project_total == Decimal("60")
        assert sum(t.lead_count for t in digest.totals) == 4
        assert digest.targets == []
    assert annual_target_progress(session, world.leader, scene["week"], Thresholds()) == []


def test_targets_progress_as_of_the_week(session: Any, world: Any, scene: dict) -> None:
    week = scene["week"]
    end = week.monday + dt.timedelta(days=6)
    signed = ProjectFactory(
        lead=LeadFactory(park=world.park_a, owner=world.officer),
        total_investment=Decimal("60"),
        signed_on=end,
    )
    ProjectFactory(  # signed after the week: not counted yet
        lead=LeadFactory(park=world.park_a, owner=world.officer),
        total_investment=Decimal("70"),
        signed_on=end + dt.timedelta(days=1),
    )
    session.add_all(
        [
            AnnualTarget(year=end.year, metric=Metric.SIGNED, tier="big", goal_count=4),
            AnnualTarget(
                year=end.year,
                metric=Metric.SIGNED_INVESTMENT,
                park_id=world.park_a.id,
                goal_amount=Decimal(1500),
            ),
        ]
    )
    session.flush()
    leader = build_digest(session, world.leader, week, BASE)
    as_of_week = progress(session, world.leader, end.year, Thresholds(), end)
    assert [t.actual for t in leader.targets] == [r.actual for r in as_of_week]
    big = as_of_week[0]
    assert big.done.filters.date_to == end
    # The project signed the day after the week is counted in the next digest.
    later = progress(session, world.leader, end.year, Thresholds(), end + dt.timedelta(days=1))
    assert later[0].actual == big.actual + 1
    assert leader.targets[1].label == f"{end.year}年 集成电路产业园 签约项目总投资（亿元）"
    assert leader.targets[1].figures.endswith(" / 1,500.00 亿元")
    assert signed.total_investment <= leader.targets[1].actual
    assert leader.targets[0].figures == f"{int(big.actual)} / 4 个"
    assert leader.targets[0].percent == f"{(big.share * 100).quantize(Decimal('0.1'))}%"
    # A park manager follows his parks' targets; another park's manager none of these.
    manager = build_digest(session, world.manager, week, BASE)
    assert [t.in_yi for t in manager.targets] == [True]
    assert build_digest(session, world.other_manager, week, BASE).targets == []
    text = render_digest(leader).text
    assert "【年度目标进度】" in text and f"{int(big.actual)} / 4 个（" in text


def test_threshold_crossings_come_from_the_audit_log(session: Any, world: Any) -> None:
    # A week after today's: only the audit rows written below fall in it.
    last = IsoWeek.of(today_local()).next().next()
    in_week = last.start_utc() + dt.timedelta(days=2)
    crossed = ProjectFactory(lead__owner=world.officer, lead__park=world.park_a)
    crossed.total_investment = Decimal("3")  # what it is now, after the week
    was_major = ProjectFactory(lead__owner=world.officer, lead__park=world.park_a)
    fell_back = ProjectFactory(
        lead__owner=world.officer, lead__park=world.park_a, total_investment=Decimal("2")
    )
    outside = ProjectFactory(lead__owner=world.other_officer, lead__park=world.park_b)
    session.flush()

    def update(project: Any, old: str, new: str, at: dt.datetime) -> AuditLog:
        return AuditLog(
            entity="project",
            entity_id=project.id,
            action="update",
            field="total_investment",
            old_value=old,
            new_value=new,
            at=at,
            source="system",
        )

    session.add_all(
        [
            update(crossed, "4", "55", in_week),
            update(crossed, "55", "3", last.end_utc() + dt.timedelta(hours=1)),
            update(was_major, "6", "8", in_week),  # already past 5亿元 and 1亿元
            update(fell_back, "2", "7", in_week),
            update(fell_back, "7", "2", in_week + dt.timedelta(hours=1)),  # back below by Sunday
            update(outside, "1", "70", in_week),
        ]
    )
    session.flush()

    manager = build_digest(session, world.manager, last, BASE)
    entries = manager.parks[0].section(THRESHOLDS).entries
    assert [(e.record_id, e.tag) for e in entries] == [(crossed.id, "50亿元+")]
    assert "4.00 → 55.00" in entries[0].note

    leader = build_digest(session, world.leader, last, BASE)
    assert ids(leader, THRESHOLDS) == {crossed.id, outside.id}
    officer = build_digest(session, world.officer, last, BASE)
    assert THRESHOLDS not in {s.key for s in officer.sections}


def test_projects_created_in_the_week_count_from_nothing(session: Any, world: Any) -> None:
    small = ProjectFactory(lead__park=world.park_a, total_investment=Decimal("0.5"))
    yi = ProjectFactory(lead__park=world.park_a, total_investment=Decimal("1"))
    digest = build_digest(session, world.manager, this_week(), BASE)
    entries = {e.record_id: e for e in digest.parks[0].section(THRESHOLDS).entries}
    assert small.id not in entries
    assert entries[yi.id].tag == "1亿元+"


def test_nothing_to_report_is_flagged_empty(session: Any, world: Any) -> None:
    newcomer = UserFactory(full_name="新专员")
    digest = build_digest(session, newcomer, this_week(), BASE)
    assert digest.is_empty
    assert digest.all_entries() == []

    quiet = build_digest(session, world.manager, IsoWeek(2020, 10), BASE)
    assert quiet.is_empty
    assert [p.park_id for p in quiet.parks] == [world.park_a.id]


def test_records_outside_the_week_are_not_news(session: Any, world: Any) -> None:
    week = this_week()
    old = LeadFactory(owner=world.officer, park=world.park_a, stage=Stage.CONTACTED)
    session.add(change(old, Stage.CONTACTED, week.monday - dt.timedelta(days=3), Stage.LEAD))
    session.flush()
    digest = build_digest(session, world.manager, week.next(), BASE)
    assert ids(digest, CHANGES) == set()
    assert ids(digest, NEW_LEADS) == set()


def test_links_are_absolute_and_open_for_the_recipient(
    session: Any, world: Any, scene: dict[str, Any], login_as: Any
) -> None:
    for user in (world.officer, world.manager, world.leader):
        digest = build_digest(session, user, scene["week"], BASE + "/")
        urls = {e.url for e in digest.all_entries()} | {p.url for p in digest.parks}
        urls.add(digest.home_url)
        assert urls
        client = login_as(user)
        for url in urls:
            assert url.startswith(BASE + "/") and "//" not in url[len("http://") :]
            response = client.get(url[len(BASE) :])
            assert response.status_code == 200, (user.username, url)


def _bulk(world: Any, session: Any, n: int, week: IsoWeek) -> None:
    reading = week.next().monday
    today = today_local()
    for i in range(n):
        officer = world.officer if i % 2 else world.other_officer
        park = world.park_a if i % 3 else world.park_b
        lead = LeadFactory(
            owner=officer,
            park=park,
            next_step_due=reading + dt.timedelta(days=i % 9 - 3),
            last_contact_on=reading - dt.timedelta(days=20 + i),
        )
        project = ProjectFactory(
            lead=lead,
            total_investment=Decimal(i * 3),
            planned_construction_on=reading + dt.timedelta(days=i % 20),
        )
        session.add(change(lead, Stage.CONTACTED, today, Stage.LEAD))
        session.add(change(project, Stage.SIGNED, today, Stage.NEGOTIATING))
    session.flush()


def test_query_count_does_not_grow_with_the_data(
    session: Any, world: Any, count_queries: Any
) -> None:
    week = this_week()
    users = (world.officer, world.manager, world.leader, world.admin)

    def counts() -> list[int]:
        out = []
        for user in users:
            session.expire_all()
            with count_queries() as counter:
                digest = build_digest(session, user, week, BASE)
            assert not digest.is_empty
            out.append(counter.count)
        return out

    _bulk(world, session, 3, week)
    small = counts()
    _bulk(world, session, 27, week)
    assert counts() == small
