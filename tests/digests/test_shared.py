"""Building many digests in one go: what overseers of one scope share is computed once, and each
digest is still exactly the one built alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import app.digests.content as content
from app.auth.models import Role, User
from app.core.timeutil import today_local
from app.digests.content import CHANGES, Digest, SharedFigures, build_digest
from app.digests.delivery import send_week
from app.digests.weeks import IsoWeek
from app.pipeline.flags import save_thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import StageChange
from app.targets.models import AnnualTarget, Metric
from tests.factories import LeadFactory, ParkFactory, ProjectFactory, UserFactory

BASE = "http://crm.test"


def this_week() -> IsoWeek:
    return IsoWeek.of(today_local())


def change(record: Any, to: Stage, on: dt.date, from_: Stage | None = None) -> StageChange:
    column = "lead_id" if record.kind == "lead" else "project_id"
    return StageChange(**{column: record.id}, from_stage=from_, to_stage=to, effective_on=on)


def alone(digest: Digest) -> Digest:
    """The digest without its recipient, the one field digests of a scope do not share."""
    return dataclasses.replace(digest, user=None)


def add_records(world: Any, session: Any, n: int, week: IsoWeek) -> None:
    """*n* leads with a project each in parks A and B, with news in *week* in every section."""
    reading = week.next().monday
    for i in range(n):
        lead = LeadFactory(
            owner=world.officer if i % 2 else world.other_officer,
            park=world.park_a if i % 3 else world.park_b,
            next_step_due=reading + dt.timedelta(days=i % 9 - 3),
            last_contact_on=reading - dt.timedelta(days=20 + i),
        )
        project = ProjectFactory(
            lead=lead,
            total_investment=Decimal(i * 7),
            planned_construction_on=reading + dt.timedelta(days=i % 20),
        )
        session.add(change(lead, Stage.CONTACTED, week.monday, Stage.LEAD))
        session.add(change(project, Stage.SIGNED, week.monday + dt.timedelta(days=1)))
    session.flush()


@pytest.fixture
def batch(world: Any, session: Any) -> dict[str, User]:
    """Records in parks A and B (and an inactive park C), a target, and overseers of every
    scope: two managers of park A, one of park B, one of both, two leaders and an admin."""
    add_records(world, session, 12, this_week())
    park_c = ParkFactory(code="OLD", name="旧园区", active=False)
    LeadFactory(owner=world.officer, park=park_c, last_contact_on=None)
    end = this_week().sunday
    session.add_all(
        [
            AnnualTarget(year=end.year, metric=Metric.SIGNED, tier="major", goal_count=4),
            AnnualTarget(
                year=end.year,
                metric=Metric.SIGNED_INVESTMENT,
                park_id=world.park_a.id,
                goal_amount=Decimal(100),
            ),
        ]
    )
    session.flush()
    return {
        "manager": world.manager,
        "leader": world.leader,
        "officer": world.officer,
        "both": UserFactory(username="both", role=Role.MANAGER, parks=[world.park_b, world.park_a]),
        "manager2": world.other_manager,
        "twin": UserFactory(username="twin", role=Role.MANAGER, parks=[world.park_a]),
        "admin": world.admin,
        "officer2": world.other_officer,
        "leader2": UserFactory(username="leader2", role=Role.LEADER),
    }


def test_shared_digests_are_the_digests_built_alone(
    session: Any, world: Any, batch: dict[str, User]
) -> None:
    week = this_week()
    shared = SharedFigures()
    digests = {}
    for name, user in batch.items():
        digest = build_digest(session, user, week, BASE, shared=shared)
        assert digest.user is user
        assert alone(digest) == alone(build_digest(session, user, week, BASE)), name
        digests[name] = digest

    # Leaders and admins, park A, park B, parks A and B (officers have no scope).
    assert len(shared) == 4
    parks = {name: [p.park_id for p in d.parks] for name, d in digests.items()}
    assert parks["manager"] == parks["twin"] == [world.park_a.id]
    assert parks["manager2"] == [world.park_b.id]
    assert sorted(parks["both"]) == sorted([world.park_a.id, world.park_b.id])
    assert len(parks["leader"]) == 3  # the inactive park is listed: it has a record
    # The scopes really differ: park A's manager sees none of park B's lines.
    assert {e.park_id for e in digests["manager"].all_entries()} == {world.park_a.id}
    assert {e.park_id for e in digests["manager2"].all_entries()} == {world.park_b.id}
    assert digests["manager"].targets and not digests["manager2"].targets
    assert digests["leader"].section(content.BIG_MOVES) is not None
    assert digests["both"].section(content.BIG_MOVES) is None
    assert alone(digests["leader2"]) == alone(digests["leader"])
    assert dataclasses.replace(alone(digests["admin"]), role=Role.LEADER) == alone(
        digests["leader"]
    )


def test_changing_a_digest_does_not_change_the_next_one(
    session: Any, world: Any, batch: dict[str, User]
) -> None:
    week = this_week()
    shared = SharedFigures()
    for first, second in (("leader", "admin"), ("manager", "twin")):
        digest = build_digest(session, batch[first], week, BASE, shared=shared)
        assert digest.all_entries()
        # Everything a template or a caller could touch.
        for park in digest.parks:
            park.name = "改过"
            park.sections[0].entries.clear()
            park.section(CHANGES).entries.reverse()
            park.section(CHANGES).truncated = True
            park.totals[0].lead_count += 1000
            park.totals.pop()
        for section in digest.sections:
            section.entries.clear()
        digest.totals[0].project_count += 1000
        for target in digest.targets:
            target.actual += 1
        digest.parks.pop()

        again = build_digest(session, batch[second], week, BASE, shared=shared)
        assert alone(again) == alone(build_digest(session, batch[second], week, BASE))


def test_the_week_the_day_the_links_and_the_thresholds_are_part_of_the_key(
    session: Any, world: Any, batch: dict[str, User]
) -> None:
    week = this_week()
    leader = batch["leader"]
    shared = SharedFigures()
    first = build_digest(session, leader, week, BASE, shared=shared)
    variants = [
        (week.next(), BASE, None),
        (week, BASE, week.next().monday + dt.timedelta(days=40)),
        (week, "https://other.test/crm/", None),
    ]
    for other_week, base, today in variants:
        built = build_digest(session, leader, other_week, base, today, shared=shared)
        assert alone(built) == alone(build_digest(session, leader, other_week, base, today))
        assert alone(built) != alone(first)
    assert len(shared) == 4

    # New tier lines take effect at once, within the same batch.
    save_thresholds(session, Decimal("2"), Decimal("20"))
    session.flush()
    moved = build_digest(session, batch["admin"], week, BASE, shared=shared)
    assert alone(moved) == alone(build_digest(session, batch["admin"], week, BASE))
    big = moved.section(content.BIG_MOVES)
    assert big is not None and big.title.startswith("20亿元+")
    assert len(big.entries) > len(first.section(content.BIG_MOVES).entries)
    assert len(shared) == 5


def test_a_shared_scope_costs_a_constant_handful_of_statements(
    session: Any, world: Any, count_queries: Any
) -> None:
    week = this_week()
    twin = UserFactory(username="twin", role=Role.MANAGER, parks=[world.park_a])
    order = [
        ("leader", world.leader),
        ("admin", world.admin),
        ("manager", world.manager),
        ("twin", twin),
        ("officer", world.officer),
        ("officer2", world.other_officer),
    ]

    def counts() -> dict[str, int]:
        shared = SharedFigures()
        out = {}
        for name, user in order:
            session.expire_all()  # as between two rows of a delivery run
            with count_queries() as counter:
                digest = build_digest(session, user, week, BASE, shared=shared)
            assert not digest.is_empty
            out[name] = counter.count
        return out

    add_records(world, session, 3, week)
    small = counts()
    add_records(world, session, 30, week)
    assert counts() == small
    # Reloading the expired recipient, the thresholds and (a manager) his parks: nothing else.
    assert small["admin"] <= 2
    assert small["twin"] <= 3
    assert small["leader"] > 8 and small["manager"] > 8  # the first of each scope computes it
    # Officers the batch was not told about are read one by one: as many statements as a
    # digest built alone (test_officer_batch.py: a batch told its recipients).
    session.expire_all()
    with count_queries() as counter:
        build_digest(session, world.officer, week, BASE)
    assert small["officer"] == small["officer2"] == counter.count


def test_one_delivery_run_sends_each_overseer_the_figures_of_his_own_scope(
    session: Any, world: Any, inbox: Any, monkeypatch: Any
) -> None:
    week = IsoWeek.last_completed()
    twin = UserFactory(username="twin", role=Role.MANAGER, parks=[world.park_a])
    both = UserFactory(username="both", role=Role.MANAGER, parks=[world.park_a, world.park_b])
    leader2 = UserFactory(username="leader2", full_name="陈局长", role=Role.LEADER)
    recipients = [world.manager, world.other_manager, twin, both, world.leader, leader2]
    recipients.append(world.admin)
    for user in recipients:
        user.email = f"{user.username}@crm.test"
    in_a = LeadFactory(title="园区A本周签约", owner=world.officer, park=world.park_a)
    in_b = LeadFactory(title="园区B本周签约", owner=world.other_officer, park=world.park_b)
    for lead in (in_a, in_b):
        session.add(change(lead, Stage.SIGNED, week.monday + dt.timedelta(days=2), Stage.LEAD))
    session.commit()

    computed = []
    real = content._scope_figures

    def counting(session: Any, user: User, *args: Any) -> Any:
        computed.append(user.username)
        return real(session, user, *args)

    monkeypatch.setattr(content, "_scope_figures", counting)

    summary = send_week(session, week)

    assert summary.sent == len(recipients), summary
    # Park A (manager and twin), park B, parks A and B, the district (leaders and the admin).
    assert len(computed) == 4, computed

    def text(user: User) -> str:
        (message,) = inbox.to(user.email)
        assert user.full_name in str(message["To"])
        return message.get_body(preferencelist=("plain",)).get_content()

    for user in (world.manager, twin):
        assert in_a.title in text(user) and in_b.title not in text(user)
    assert in_b.title in text(world.other_manager) and in_a.title not in text(world.other_manager)
    for user in (both, world.leader, leader2, world.admin):
        assert in_a.title in text(user) and in_b.title in text(user)


def test_the_dry_run_shares_too(runner: Any, session: Any, world: Any, monkeypatch: Any) -> None:
    for user in (world.manager, world.leader, world.admin, world.officer):
        user.email = f"{user.username}@crm.test"
    session.flush()
    computed = []
    real = content._scope_figures

    def counting(session: Any, user: User, *args: Any) -> Any:
        computed.append(user.username)
        return real(session, user, *args)

    monkeypatch.setattr(content, "_scope_figures", counting)
    week = IsoWeek.last_completed()
    result = runner.invoke(args=["digests", "send", "--week", str(week), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.count(f"招商周报 {week.label}") == 4
    assert sorted(computed) in (["leader", "manager"], ["admin", "manager"])
