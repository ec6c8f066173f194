"""Pipeline pages run a fixed number of SQL statements, whatever the amount of data.

Each test measures one page with 3 records, adds 27 more (spread over owners, links, stages,
enterprises, contacts and stage changes as real data is), and measures again: an N+1 query shows
up as a difference. Before each measurement the session is committed (which expires every loaded
object) and the request cache in ``g`` is cleared, so the request loads what it shows as a real
request would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from flask import g

from app.auth.models import Role
from app.core.timeutil import today_local
from app.pipeline.lifecycle import ACTIVE, MAIN_LINE, Stage
from app.pipeline.models import Lead, StageChange, StageProposal
from tests.factories import (
    ChainFactory,
    ChainLinkFactory,
    LeadFactory,
    ProjectFactory,
    UserFactory,
)
from tests.pipeline.helpers import ContactFactory, measure

TODAY = today_local()
SMALL, LARGE = 3, 30
ACTIVE_STAGES = [s for s in MAIN_LINE if s in ACTIVE]


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@pytest.fixture
def refs(session: Any, world: Any) -> SimpleNamespace:
    """Reference data, the same for both measurements: chain links, owners, contact authors."""
    screen = ChainFactory(code="SCREEN", name="屏")
    links = [world.link] + [
        ChainLinkFactory(chain=screen, name=name, position=i)
        for i, name in enumerate(("玻璃基板", "偏光片", "驱动芯片", "面板制造", "模组"))
    ]
    return SimpleNamespace(
        links=links,
        owners=[world.officer, world.other_officer, world.manager],
        authors=[world.officer, world.other_officer, world.manager, world.admin],
        park=world.park_a,
    )


def add_records(session: Any, refs: SimpleNamespace, start: int, stop: int) -> None:
    """Add leads start..stop-1 in park A, each with a project, contacts and stage history."""
    for i in range(start, stop):
        # Every owner has records in the small set too: pages show rows in both measurements.
        owner = refs.owners[i % len(refs.owners)]
        stage = ACTIVE_STAGES[i % len(ACTIVE_STAGES)]
        due = [ago(3), TODAY, None, TODAY + dt.timedelta(days=20)][i % 4]
        lead = LeadFactory(
            owner=owner,
            park=refs.park,
            chain_link=refs.links[i % len(refs.links)],
            stage=stage,
            stage_since=ago(200 + i),
            estimated_investment=Decimal(i * 3 + 1),
            last_contact_on=ago(45) if i % 3 == 0 else ago(2),
            next_step="回访" if due else None,
            next_step_due=due,
        )
        project = ProjectFactory(
            lead=lead,
            chain_link=refs.links[(i + 1) % len(refs.links)],
            stage=Stage.SIGNED if i % 2 else Stage.CONSTRUCTION,
            total_investment=Decimal(i + 5),
            next_step="协调用地" if due else None,
            next_step_due=due,
            last_contact_on=ago(50) if i % 2 else ago(1),
        )
        ContactFactory(lead=lead, created_by=refs.authors[i % len(refs.authors)])
        ContactFactory(lead=lead, project=project, created_by=refs.authors[(i + 1) % 4])
        session.add(
            StageChange(
                lead_id=lead.id,
                from_stage=None,
                to_stage=Stage.LEAD,
                effective_on=ago(200 + i),
                recorded_by_id=owner.id,
            )
        )
        if i % 5 == 0:
            session.add(
                StageProposal(
                    lead_id=lead.id,
                    park_id=refs.park.id,
                    from_stage=stage,
                    to_stage=Stage.DROPPED,
                    effective_on=TODAY,
                    reason="企业迁出",
                    proposed_by_id=owner.id,
                )
            )
    session.flush()


def small_and_large(
    session: Any, client: Any, count_queries: Any, refs: SimpleNamespace, url: str
) -> tuple[int, int]:
    add_records(session, refs, 0, SMALL)
    small = measure(session, client, count_queries, url)
    add_records(session, refs, SMALL, LARGE)
    large = measure(session, client, count_queries, url)
    return small, large


@pytest.mark.parametrize("role", ["officer", "manager", "leader"])
@pytest.mark.parametrize("url", ["/leads", "/projects", "/leads?stale=1&tier=yi&q=测试"])
def test_lists(
    login_as: Any,
    world: Any,
    session: Any,
    count_queries: Any,
    refs: SimpleNamespace,
    role: str,
    url: str,
) -> None:
    client = login_as(getattr(world, role))
    small, large = small_and_large(session, client, count_queries, refs, url)
    assert small == large


@pytest.mark.parametrize("role", ["manager", "leader"])
@pytest.mark.parametrize("kind", ["leads", "projects"])
def test_board(
    login_as: Any,
    world: Any,
    session: Any,
    count_queries: Any,
    refs: SimpleNamespace,
    role: str,
    kind: str,
) -> None:
    client = login_as(getattr(world, role))
    small, large = small_and_large(session, client, count_queries, refs, f"/board?kind={kind}")
    assert small == large


@pytest.mark.parametrize("role", ["officer", "manager"])
def test_my_work(
    login_as: Any,
    world: Any,
    session: Any,
    count_queries: Any,
    refs: SimpleNamespace,
    role: str,
) -> None:
    client = login_as(getattr(world, role))
    small, large = small_and_large(session, client, count_queries, refs, "/my")
    assert small == large


def test_proposals(
    login_as: Any, world: Any, session: Any, count_queries: Any, refs: SimpleNamespace
) -> None:
    client = login_as(world.manager)
    small, large = small_and_large(session, client, count_queries, refs, "/proposals")
    assert small == large


def _add_history(session: Any, refs: SimpleNamespace, lead: Lead, start: int, stop: int) -> None:
    """Give *lead* contacts (on it and its projects) and stage changes start..stop-1."""
    for i in range(start, stop):
        project = ProjectFactory(lead=lead, total_investment=Decimal(i + 1)) if i % 3 == 0 else None
        ContactFactory(
            lead=lead,
            project=project,
            created_by=refs.authors[i % len(refs.authors)],
            contact_on=ago(100 - i),
            next_step="回访" if i % 2 else None,
        )
        session.add(
            StageChange(
                lead_id=lead.id,
                from_stage=Stage.ON_HOLD if i % 2 else Stage.NEGOTIATING,
                to_stage=Stage.NEGOTIATING if i % 2 else Stage.ON_HOLD,
                effective_on=ago(100 - i),
                recorded_by_id=refs.authors[i % len(refs.authors)].id,
                confirmed_by_id=refs.authors[(i + 1) % len(refs.authors)].id,
                reason="等待政策落地" if i % 2 == 0 else None,
            )
        )
        lead.description = f"第{i}次修改"  # an audit row per change
        # A change the history shows by name (the names are read in one statement).
        lead.chain_link = refs.links[i % len(refs.links)]
        session.flush()


@pytest.mark.parametrize("role", ["officer", "manager", "admin"])
def test_lead_detail(
    login_as: Any,
    world: Any,
    session: Any,
    count_queries: Any,
    refs: SimpleNamespace,
    role: str,
) -> None:
    lead = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        chain_link=world.link,
        stage=Stage.NEGOTIATING,
        stage_since=ago(200),
    )
    client = login_as(getattr(world, role))
    url = f"/leads/{lead.id}"
    _add_history(session, refs, lead, 0, SMALL)
    small = measure(session, client, count_queries, url)
    _add_history(session, refs, lead, SMALL, LARGE)
    large = measure(session, client, count_queries, url)
    assert small == large


def test_project_detail(
    login_as: Any, world: Any, session: Any, count_queries: Any, refs: SimpleNamespace
) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    project = ProjectFactory(lead=lead, chain_link=refs.links[2])
    client = login_as(world.manager)
    url = f"/projects/{project.id}"

    def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            ContactFactory(
                lead=lead, project=project, created_by=refs.authors[i % len(refs.authors)]
            )
            session.add(
                StageChange(
                    project_id=project.id,
                    from_stage=Stage.SIGNED,
                    to_stage=Stage.SIGNED,
                    effective_on=ago(30),
                    recorded_by_id=refs.authors[(i + 2) % len(refs.authors)].id,
                )
            )
        session.flush()

    add(0, SMALL)
    small = measure(session, client, count_queries, url)
    add(SMALL, LARGE)
    large = measure(session, client, count_queries, url)
    assert small == large


def test_lead_detail_does_not_grow_with_the_number_of_managers(
    login_as: Any, world: Any, session: Any, count_queries: Any
) -> None:
    """The reassign form names the owner by typing: no list of the park's possible owners."""
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    client = login_as(world.manager)
    url = f"/leads/{lead.id}"

    def add_managers(start: int, stop: int) -> None:
        for i in range(start, stop):
            park = world.park_a if i % 2 else world.park_b
            UserFactory(username=f"mgr{i}", full_name=f"主任{i}", role=Role.MANAGER, parks=[park])

    add_managers(0, SMALL)
    small = measure(session, client, count_queries, url)
    add_managers(SMALL, LARGE)
    large = measure(session, client, count_queries, url)
    assert small == large


@pytest.mark.parametrize("kind", ["leads", "projects"])
def test_record_page_reads_its_park_and_chain_with_the_record(
    login_as: Any, world: Any, session: Any, count_queries: Any, kind: str
) -> None:
    """The page shows the record's park, chain link and chain: no statement of their own."""
    lead = LeadFactory(owner=world.officer, park=world.park_a, chain_link=world.link)
    record = ProjectFactory(lead=lead, chain_link=world.link) if kind == "projects" else lead
    url, shown = f"/{kind}/{record.id}", (world.park_a.name, world.link.name)
    client = login_as(world.leader)
    session.commit()
    session.expunge_all()  # nothing in the session beforehand, as in a request of its own
    for key in ("_login_user", "thresholds", "_flask_babel"):
        g.pop(key, None)
    with count_queries() as counter:
        page = client.get(url).get_data(as_text=True)
    assert all(name in page for name in shown)
    alone = [
        s
        for s in counter.statements
        if s.split("WHERE")[0].rstrip().endswith(("park", "chain_link", "chain"))
    ]
    assert alone == []
