"""Officers' digests built in one batch: each officer's sections are read for all officers of the
batch at once (one statement per section and model), and each digest is exactly the one built
alone, truncation included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import app.digests.content as content
from app.auth.models import Role, User
from app.core.timeutil import today_local
from app.digests.content import (
    CHANGES,
    DUE,
    OFFICER_READS,
    OVERDUE,
    SECTION_LIMIT,
    STALE,
    Digest,
    SharedFigures,
    build_digest,
)
from app.digests.delivery import send_week
from app.digests.weeks import IsoWeek
from app.pipeline.lifecycle import Stage
from app.pipeline.models import StageChange
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory, UserFactory

BASE = "http://crm.test"
READS = len(OFFICER_READS)  # statements of one batch read (and of one digest built alone)


def this_week() -> IsoWeek:
    return IsoWeek.of(today_local())


def change(
    record: Any, to: Stage, on: dt.date, from_: Stage | None = None, **extra: Any
) -> StageChange:
    column = "lead_id" if record.kind == "lead" else "project_id"
    return StageChange(
        **{column: record.id}, from_stage=from_, to_stage=to, effective_on=on, **extra
    )


def news(session: Any, officer: User, park: Any, week: IsoWeek, n: int = 2) -> None:
    """Records of *officer* in every officer section, and some that are in none."""
    reading = week.next().monday
    for i in range(n):
        due = LeadFactory(
            owner=officer,
            park=park,
            next_step=f"回访{i}",
            next_step_due=reading + dt.timedelta(days=i),
            estimated_investment=None if i % 2 else Decimal("3.5"),
            last_contact_on=None if i % 2 else reading - dt.timedelta(days=45),
        )
        overdue = LeadFactory(
            owner=officer,
            park=park,
            stage=Stage.ON_HOLD,
            next_step_due=week.monday - dt.timedelta(days=i),
            last_contact_on=None,
        )
        stale = ProjectFactory(
            lead=due,
            stage=Stage.CONSTRUCTION,
            last_contact_on=reading - dt.timedelta(days=31 + i),
            next_step_due=week.monday,
            total_investment=Decimal(7 * i + 1),
        )
        # In no section: dropped (its follow-up does not count), recently contacted, changed
        # before the week.
        quiet = LeadFactory(
            owner=officer,
            park=park,
            stage=Stage.DROPPED,
            next_step_due=week.monday,
            last_contact_on=None,
        )
        session.add_all(
            [
                change(due, Stage.CONTACTED, week.monday + dt.timedelta(days=i), Stage.LEAD),
                change(stale, Stage.CONSTRUCTION, week.sunday, Stage.SIGNED, reason="开工仪式"),
                # Back-dated, recorded in the week: news; back-dated and recorded before: not.
                change(
                    overdue,
                    Stage.ON_HOLD,
                    week.monday - dt.timedelta(days=9),
                    Stage.LEAD,
                    recorded_at=week.start_utc() + dt.timedelta(hours=30),
                ),
                change(
                    quiet,
                    Stage.DROPPED,
                    week.monday - dt.timedelta(days=9),
                    Stage.LEAD,
                    recorded_at=week.start_utc() - dt.timedelta(days=3),
                ),
            ]
        )
    session.flush()


@pytest.fixture
def officers(world: Any, session: Any) -> dict[str, User]:
    """Officers with news, one with more stale records than a section lists, one with nothing
    and an inactive one who owns records; and a manager who owns records too."""
    week = this_week()
    reading = week.next().monday
    busy = UserFactory(username="busy", full_name="忙专员", role=Role.OFFICER)
    idle = UserFactory(username="idle", full_name="闲专员", role=Role.OFFICER)
    gone = UserFactory(username="gone", full_name="离职专员", role=Role.OFFICER, active=False)
    news(session, world.officer, world.park_a, week)
    news(session, world.other_officer, world.park_b, week, n=3)
    news(session, busy, world.park_a, week, n=1)
    news(session, gone, world.park_b, week)
    news(session, world.manager, world.park_a, week)
    # More stale leads than a section lists: never contacted first, then ties on the same day
    # (ordered by id).
    enterprise = EnterpriseFactory()
    for i in range(SECTION_LIMIT + 3):
        LeadFactory(
            owner=busy,
            park=world.park_b,
            enterprise=enterprise,
            stage=Stage.CONTACTED,
            last_contact_on=None if i % 50 == 7 else reading - dt.timedelta(days=40 + i % 3),
        )
    session.flush()
    return {
        "officer": world.officer,
        "officer2": world.other_officer,
        "busy": busy,
        "idle": idle,
        "gone": gone,
    }


@pytest.fixture
def read(monkeypatch: Any) -> list[list[int]]:
    """The officer ids of every batch read of officers' sections, in order."""
    found: list[list[int]] = []
    real = content._officers_rows

    def reading(session: Any, ids: list[int], *args: Any) -> Any:
        found.append(sorted(ids))
        return real(session, ids, *args)

    monkeypatch.setattr(content, "_officers_rows", reading)
    return found


def batch_digests(session: Any, users: list[User], week: IsoWeek) -> dict[str, Digest]:
    shared = SharedFigures(user.id for user in users)
    return {user.username: build_digest(session, user, week, BASE, shared=shared) for user in users}


def test_each_officer_of_a_batch_gets_the_digest_built_alone(
    session: Any, world: Any, officers: dict[str, User]
) -> None:
    week = this_week()
    # Overseers in the same batch: announced too, and unaffected.
    users = [*officers.values(), world.manager, world.leader]
    built = batch_digests(session, users, week)

    for user in users:
        alone = build_digest(session, user, week, BASE)
        assert built[user.username] == alone, user.username
        assert [s.key for s in alone.sections] == [s.key for s in built[user.username].sections]

    def section(name: str, key: str) -> Any:
        found = built[name].section(key)
        assert found is not None
        return found

    for name in ("officer", "officer2"):
        assert not built[name].is_empty
        for key in (OVERDUE, DUE, STALE, CHANGES):
            assert section(name, key).entries, (name, key)
            assert not section(name, key).truncated
        mine = {e.owner for e in built[name].all_entries()}
        assert mine == {officers[name].full_name}
    # Three changes of the week for each of his three leads (one back-dated but recorded in the
    # week); not the one recorded before it.
    assert len(section("officer2", CHANGES).entries) == 3 * 3
    # The busy officer: his section lists SECTION_LIMIT lines and says it was cut.
    stale = section("busy", STALE)
    assert stale.truncated
    assert len([e for e in stale.entries if e.kind == "lead"]) == SECTION_LIMIT
    assert stale.entries[0].note == "从未联系"
    assert not section("busy", CHANGES).truncated
    assert built["idle"].is_empty and not built["idle"].all_entries()
    assert built["gone"].is_empty and not built["gone"].all_entries()


def test_every_section_cut_at_its_limit_in_the_batch_as_alone(
    session: Any, world: Any, officers: dict[str, User], monkeypatch: Any
) -> None:
    monkeypatch.setattr(content, "SECTION_LIMIT", 2)
    week = this_week()
    users = list(officers.values())
    built = batch_digests(session, users, week)
    for user in users:
        assert built[user.username] == build_digest(session, user, week, BASE), user.username
    cut = {s.key for s in built["officer2"].sections if s.truncated}
    assert cut == {OVERDUE, DUE, STALE, CHANGES}
    assert len(built["officer2"].section(DUE).entries) == 2  # its own leads, not starved
    assert len(built["officer2"].section(STALE).entries) == 2 * 2  # leads and projects


def test_follow_ups_due_in_the_week_are_listed_however_many_are_overdue(
    session: Any, world: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(content, "SECTION_LIMIT", 2)
    week = this_week()
    officer = UserFactory(role=Role.OFFICER)
    for i in range(4):
        LeadFactory(owner=officer, park=world.park_a, next_step_due=week.monday - dt.timedelta(i))
    due = LeadFactory(
        owner=officer, park=world.park_a, next_step_due=week.next().monday + dt.timedelta(1)
    )
    session.flush()

    alone = build_digest(session, officer, week, BASE)
    assert batch_digests(session, [officer], week)[officer.username] == alone
    overdue = alone.section(OVERDUE)
    assert len(overdue.entries) == 2 and overdue.truncated
    assert [e.record_id for e in alone.section(DUE).entries] == [due.id]
    assert not alone.section(DUE).truncated


def test_the_officers_of_a_batch_cost_the_same_statements_however_many(
    session: Any, world: Any, count_queries: Any
) -> None:
    week = this_week()
    team: list[User] = []

    def hire(n: int) -> None:
        for _ in range(n):
            officer = UserFactory(role=Role.OFFICER)
            news(session, officer, world.park_a, week)
            team.append(officer)

    def batch() -> tuple[int, list[int]]:
        session.expire_all()
        users = list(team)  # reloaded below, outside the count (as a delivery run does)
        for user in users:
            assert user.role is Role.OFFICER and user.is_active
        shared = SharedFigures(user.id for user in users)
        each = []
        with count_queries() as total:
            for user in users:
                with count_queries() as one:
                    assert not build_digest(session, user, week, BASE, shared=shared).is_empty
                each.append(one.count)
        return total.count, each

    hire(3)
    few, each_few = batch()
    hire(9)
    many, each_many = batch()
    assert few == many == READS
    # The first officer reads the sections of all; the others run no statement at all.
    assert each_few == [READS, 0, 0]
    assert each_many == [READS] + [0] * 11
    # Built alone, every digest reads its own.
    with count_queries() as alone:
        for user in team:
            build_digest(session, user, week, BASE)
    assert alone.count == READS * len(team)


def test_unannounced_officers_retries_and_the_cap_per_read(
    session: Any, world: Any, officers: dict[str, User], count_queries: Any, monkeypatch: Any
) -> None:
    week = this_week()
    users = [u for u in officers.values() if u.is_active]
    alone = {u.username: build_digest(session, u, week, BASE) for u in users}
    first, second, *rest = users

    # Nobody announced: each officer is read on his own, as alone.
    shared = SharedFigures()
    with count_queries() as counter:
        assert build_digest(session, first, week, BASE, shared=shared) == alone[first.username]
    assert counter.count == READS
    # The same officer again (a retry): his rows were handed out, so read again.
    with count_queries() as counter:
        assert build_digest(session, first, week, BASE, shared=shared) == alone[first.username]
    assert counter.count == READS
    # Announced later: the next officer reads every announced one not read yet.
    shared.expect(u.id for u in users)
    with count_queries() as counter:
        for user in (second, *rest):
            assert build_digest(session, user, week, BASE, shared=shared) == alone[user.username]
    assert counter.count == READS
    # Another week, another reading day: read again (announced for any week).
    other = build_digest(session, second, week.next(), BASE, shared=shared)
    assert other == build_digest(session, second, week.next(), BASE)
    later = week.next().monday + dt.timedelta(days=40)
    assert build_digest(session, second, week, BASE, later, shared=shared) == build_digest(
        session, second, week, BASE, later
    )

    # At most OFFICERS_PER_READ officers per statement.
    monkeypatch.setattr(content, "OFFICERS_PER_READ", 2)
    shared = SharedFigures(u.id for u in users)
    with count_queries() as counter:
        for user in users:
            assert build_digest(session, user, week, BASE, shared=shared) == alone[user.username]
    assert counter.count == READS * ((len(users) + 1) // 2)


def test_a_week_announced_for_a_week_is_read_for_that_week_only(
    session: Any, world: Any, officers: dict[str, User], read: list[list[int]]
) -> None:
    week = this_week()
    officer, officer2 = officers["officer"], officers["officer2"]
    shared = SharedFigures()
    shared.expect([officer.id], week)
    shared.expect([officer2.id], week.next())
    build_digest(session, officer, week, BASE, shared=shared)
    build_digest(session, officer, week.next(), BASE, shared=shared)
    assert read == [[officer.id], sorted([officer.id, officer2.id])]


def test_a_delivery_run_reads_the_officers_once_and_each_gets_his_own(
    session: Any,
    world: Any,
    officers: dict[str, User],
    inbox: Any,
    read: list[list[int]],
    set_config: Any,
) -> None:
    set_config(DIGEST_MAX_ATTEMPTS=3)
    week = IsoWeek.last_completed()
    recipients = [*officers.values(), world.manager, world.leader]
    for user in recipients:
        user.email = f"{user.username}@crm.test"
    titles = {}
    for user in officers.values():
        lead = LeadFactory(owner=user, park=world.park_a, title=f"{user.username}的签约线索")
        session.add(change(lead, Stage.SIGNED, week.monday + dt.timedelta(days=2), Stage.LEAD))
        titles[user.username] = lead.title
    session.commit()
    # Refused every time: retried in the next passes of the run, then failed.
    inbox.refused_recipients.add(officers["officer2"].email)

    summary = send_week(session, week)

    active = [u for u in recipients if u.active]
    assert (summary.sent, summary.failed) == (len(active) - 1, 1), summary
    # Every recipient announced (any role) in one read; then the retried officer on his own.
    assert read[0] == sorted(u.id for u in active)
    assert read[1:] == [[officers["officer2"].id]] * 2
    for user in officers.values():
        if not user.active or user is officers["officer2"]:
            assert not inbox.to(user.email)
            continue
        (message,) = inbox.to(user.email)
        text = message.get_body(preferencelist=("plain",)).get_content()
        for name, title in titles.items():
            assert (title in text) is (name == user.username), (user.username, name)


def test_a_batch_read_that_fails_fails_one_digest(
    session: Any, world: Any, officers: dict[str, User], monkeypatch: Any
) -> None:
    week = this_week()
    users = [u for u in officers.values() if u.is_active]
    real = content._officers_rows
    calls = []

    def flaky(*args: Any) -> Any:
        calls.append(args[1])
        if len(calls) == 1:
            raise RuntimeError("connection lost")
        return real(*args)

    monkeypatch.setattr(content, "_officers_rows", flaky)
    shared = SharedFigures(u.id for u in users)
    with pytest.raises(RuntimeError):
        build_digest(session, users[0], week, BASE, shared=shared)
    for user in users[1:]:
        built = build_digest(session, user, week, BASE, shared=shared)
        assert built == build_digest(session, user, week, BASE)
    # Nothing kept from the failed read: the next one read them all, the first officer too.
    assert len(calls) == 2
    assert sorted(calls[1]) == sorted(u.id for u in users)
    assert build_digest(session, users[0], week, BASE, shared=shared) == build_digest(
        session, users[0], week, BASE
    )
    assert len(calls) == 2
