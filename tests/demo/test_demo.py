"""Tests for the demo data (`flask demo load`): content, invariants, idempotence, the command."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.auth.models import Role, User
from app.auth.services import authenticate
from app.core.audit import AuditLog
from app.core.timeutil import today_local, week_bounds
from app.demo.cli import load_demo
from app.demo.data import DEMO_PASSWORD
from app.enterprises.credit_code import is_valid_credit_code
from app.enterprises.models import Enterprise, Ownership
from app.enterprises.names import normalize_name
from app.parks.models import Chain, ChainLink, Park
from app.pipeline.lifecycle import (
    ACTIVE,
    ALL_STAGES,
    MILESTONE_FIELDS,
    NEEDS_CONFIRMATION,
    TERMINAL,
    Stage,
    allowed_targets,
)
from app.pipeline.models import ContactLog, Lead, Project, StageChange

MODELS = (Park, Chain, ChainLink, User, Enterprise, Lead, Project, StageChange, ContactLog)


def counts(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in MODELS
    }


@pytest.fixture
def demo(session: Session) -> Any:
    result = load_demo(session)
    assert result is not None
    session.expire_all()
    return result


def test_loads_parks_chains_accounts_enterprises_and_leads(session: Session, demo: Any) -> None:
    _check_parks_chains_and_accounts(session, demo)
    _check_enterprises(session)
    _check_leads(session, demo)


def test_records_agree_with_their_history_and_contacts(session: Session, demo: Any) -> None:
    _check_stage_histories(session)
    _check_projects(session, demo)
    _check_contacts(session)
    _check_audit(session, demo)


def _check_parks_chains_and_accounts(session: Session, demo: Any) -> None:
    parks = session.scalars(select(Park).order_by(Park.sort_order)).all()
    assert [(p.code, p.name, p.sort_order) for p in parks] == [
        ("IC", "集成电路产业园", 1),
        ("DISPLAY", "新型显示产业园", 2),
        ("MATERIALS", "绿色低碳新材料产业园", 3),
        ("HYDROGEN", "氢能与储能产业园", 4),
        ("MARINE", "海洋产业园", 5),
    ]
    chains = {c.code: c for c in session.scalars(select(Chain))}
    assert chains["CHIP"].name == "芯"
    assert [link.name for link in chains["CHIP"].links] == [
        "EDA/IP", "芯片设计", "晶圆制造", "封装测试", "半导体设备", "半导体材料"
    ]  # fmt: skip
    assert chains["DISPLAY"].name == "屏"
    display = [link.name for link in chains["DISPLAY"].links]
    assert set(display) == {
        "玻璃基板", "偏光片", "OLED/液晶材料", "靶材", "驱动芯片", "面板制造", "模组", "终端应用",
        "显示设备",
    }  # fmt: skip
    assert display.index("玻璃基板") < display.index("面板制造") < display.index("终端应用")
    assert chains["HYDROGEN"].links[0].name == "制氢"
    for chain in chains.values():
        assert [link.position for link in chain.links] == list(range(1, len(chain.links) + 1))

    users = {u.username: u for u in session.scalars(select(User))}
    assert set(users) == {
        "admin", "leader", "manager", "manager2", "officer", "officer2", "officer3"
    }  # fmt: skip
    assert users["admin"].role is Role.ADMIN
    assert users["leader"].role is Role.LEADER
    assert {p.code for p in users["manager"].parks} == {"IC", "DISPLAY"}
    assert {p.code for p in users["manager2"].parks} == {"MATERIALS", "HYDROGEN", "MARINE"}
    assert len({u.password_hash for u in users.values()}) == 1
    assert authenticate(session, "officer", DEMO_PASSWORD) is users["officer"]
    assert [a.username for a in demo.accounts] == [
        "admin", "leader", "manager", "manager2", "officer", "officer2", "officer3"
    ]  # fmt: skip


def _check_enterprises(session: Session) -> None:
    enterprises = session.scalars(select(Enterprise)).all()
    assert 40 <= len(enterprises) <= 60
    for enterprise in enterprises:
        assert enterprise.name_key == normalize_name(enterprise.name)
        assert 1 <= len(enterprise.people) <= 2
        if enterprise.credit_code is None:
            assert enterprise.ownership in (Ownership.FOREIGN, Ownership.HMT)
        else:
            assert is_valid_credit_code(enterprise.credit_code), enterprise.credit_code
    assert any(e.is_global500 for e in enterprises)
    assert any(e.is_china500 for e in enterprises)
    assert any(e.is_listed for e in enterprises)
    assert {e.ownership for e in enterprises} == set(Ownership)


def _check_leads(session: Session, demo: Any) -> None:
    leads = session.scalars(select(Lead)).all()
    assert len(leads) == demo.leads
    assert 280 <= len(leads) <= 320
    assert {lead.stage for lead in leads} == set(ALL_STAGES)
    assert {lead.park.code for lead in leads} == {
        "IC",
        "DISPLAY",
        "MATERIALS",
        "HYDROGEN",
        "MARINE",
    }
    chain_of_park = {"IC": "CHIP", "DISPLAY": "DISPLAY", "HYDROGEN": "HYDROGEN"}
    for lead in leads:
        assert lead.owner.role is Role.OFFICER
        if lead.chain_link is not None:
            assert lead.chain_link.chain.code == chain_of_park[lead.park.code]
        else:
            assert lead.park.code not in ("IC", "DISPLAY")
    amounts = [lead.estimated_investment for lead in leads if lead.estimated_investment is not None]
    assert all(isinstance(a, Decimal) for a in amounts)
    assert sum(1 for a in amounts if a >= 50) >= 8
    assert sum(1 for a in amounts if a >= 5) >= 30
    assert sum(1 for a in amounts if Decimal("0.5") <= a < 5) > len(amounts) / 2
    assert len({lead.enterprise_id for lead in leads}) == session.scalar(
        select(func.count()).select_from(Enterprise)
    )
    # No enterprise is actively courted by two owners.
    owners = defaultdict(set)
    for lead in leads:
        if lead.stage in ACTIVE | {Stage.ON_HOLD}:
            owners[lead.enterprise_id].add(lead.owner_id)
    assert all(len(o) == 1 for o in owners.values())


def _check_history(record: Lead | Project, rows: list[StageChange], today: dt.date) -> None:
    assert rows, record
    assert rows[0].from_stage is None and rows[0].to_stage is Stage.LEAD
    assert rows[0].confirmed_by_id is None
    current, held_from = Stage.LEAD, None
    for previous, row in pairwise(rows):
        assert row.from_stage is previous.to_stage
        assert row.to_stage in allowed_targets(current, held_from), (record, row.to_stage)
        assert row.effective_on >= previous.effective_on
        if row.to_stage is Stage.ON_HOLD:
            held_from = row.from_stage
        elif row.from_stage is Stage.ON_HOLD:
            held_from = None
        if row.to_stage is Stage.DROPPED:
            assert row.reason
        current = row.to_stage
    for row in rows:
        assert row.effective_on <= today
        assert row.effective_on >= today - dt.timedelta(days=3 * 366)
        assert row.recorded_by_id == record.owner_id
        if row.to_stage in NEEDS_CONFIRMATION:
            assert row.confirmed_by is not None
            assert row.confirmed_by.role is Role.MANAGER
            assert record.park_id in row.confirmed_by.park_ids
    assert record.stage is rows[-1].to_stage
    assert record.stage_since == rows[-1].effective_on
    assert record.held_from == held_from
    if record.stage is Stage.ON_HOLD:
        assert record.held_from is rows[-1].from_stage
    for stage, name in MILESTONE_FIELDS.items():
        entered = [r.effective_on for r in rows if r.to_stage is stage]
        assert getattr(record, name) == (entered[-1] if entered else None), (record, name)


def _check_stage_histories(session: Session) -> None:
    today = today_local()
    by_lead: dict[int, list[StageChange]] = defaultdict(list)
    by_project: dict[int, list[StageChange]] = defaultdict(list)
    for row in session.scalars(select(StageChange).order_by(StageChange.id)):
        assert (row.lead_id is None) != (row.project_id is None)
        (by_lead[row.lead_id] if row.lead_id else by_project[row.project_id]).append(row)
    leads = session.scalars(select(Lead)).all()
    projects = session.scalars(select(Project)).all()
    assert set(by_lead) == {lead.id for lead in leads}
    assert set(by_project) == {project.id for project in projects}
    for lead in leads:
        _check_history(lead, by_lead[lead.id], today)
    for project in projects:
        _check_history(project, by_project[project.id], today)


def _check_projects(session: Session, demo: Any) -> None:
    projects = session.scalars(select(Project)).all()
    assert len(projects) == demo.projects
    with_projects = set()
    for project in projects:
        lead = project.lead
        with_projects.add(lead.id)
        assert lead.stage.is_main and lead.stage.rank >= Stage.SIGNED.rank
        assert (project.enterprise_id, project.owner_id, project.park_id) == (
            lead.enterprise_id,
            lead.owner_id,
            lead.park_id,
        )
        assert project.chain_link_id == lead.chain_link_id
        assert isinstance(project.total_investment, Decimal)
        assert isinstance(project.fixed_asset_investment, Decimal)
        assert project.fixed_asset_investment <= project.total_investment
        assert project.signed_on is not None
        if project.stage is Stage.ON_HOLD:
            assert project.held_from is not None
            assert project.held_from.rank >= Stage.SIGNED.rank
        else:
            assert project.stage.rank >= Stage.SIGNED.rank
            assert project.stage.rank <= lead.stage.rank
        assert project.planned_signing_on is not None
        planned = [
            project.planned_signing_on,
            project.planned_construction_on,
            project.planned_production_on,
            project.planned_full_production_on,
        ]
        assert planned == sorted(planned)
    for lead in session.scalars(select(Lead).options(selectinload(Lead.projects))):
        signed_or_later = lead.stage.is_main and lead.stage.rank >= Stage.SIGNED.rank
        assert (lead.id in with_projects) == signed_or_later
        if lead.projects:
            assert 1 <= len(lead.projects) <= 2
            assert sum(p.total_investment for p in lead.projects) == lead.estimated_investment
            assert len({p.name for p in lead.projects}) == len(lead.projects)


def _newest_with_step(contacts: list[ContactLog]) -> ContactLog | None:
    with_step = [c for c in contacts if c.next_step]
    return max(with_step, key=lambda c: (c.contact_on, c.id), default=None)


def _check_contacts(session: Session) -> None:
    today = today_local()
    monday, sunday = week_bounds(today)
    by_lead: dict[int, list[ContactLog]] = defaultdict(list)
    for contact in session.scalars(select(ContactLog).order_by(ContactLog.id)):
        by_lead[contact.lead_id].append(contact)
    leads = session.scalars(select(Lead).options(selectinload(Lead.projects))).all()
    lead_starts = dict(
        session.execute(
            select(StageChange.lead_id, func.min(StageChange.effective_on))
            .where(StageChange.lead_id.is_not(None))
            .group_by(StageChange.lead_id)
        ).all()
    )
    stale = active = 0
    dues: list[dt.date] = []
    for lead in leads:
        contacts = by_lead[lead.id]
        assert 1 <= len(contacts) <= 8
        lead_start = lead_starts[lead.id]
        for contact in contacts:
            assert lead_start <= contact.contact_on <= today
            assert contact.summary and contact.participants
            assert contact.created_by_id == lead.owner_id
            if contact.next_step_due is not None:
                assert contact.next_step and contact.next_step_due >= contact.contact_on
            if contact.project is not None:
                assert contact.project.lead_id == lead.id
                assert contact.contact_on >= contact.project.signed_on
        assert lead.last_contact_on == max(c.contact_on for c in contacts)
        subjects: list[tuple[Lead | Project, list[ContactLog]]] = [
            (lead, [c for c in contacts if c.project_id is None])
        ]
        for project in lead.projects:
            mine = [c for c in contacts if c.project_id == project.id]
            assert project.last_contact_on == max((c.contact_on for c in mine), default=None)
            subjects.append((project, mine))
        for record, mine in subjects:
            newest = _newest_with_step(mine)
            if record.stage in TERMINAL or newest is None:
                assert record.next_step is None and record.next_step_due is None
            else:
                assert (record.next_step, record.next_step_due) == (
                    newest.next_step,
                    newest.next_step_due,
                )
                dues.append(newest.next_step_due)
        if lead.stage in ACTIVE:
            active += 1
            stale += lead.last_contact_on < today - dt.timedelta(days=30)
    assert 0.10 <= stale / active <= 0.25
    assert any(d < today for d in dues)
    assert any(monday <= d <= sunday for d in dues)
    assert any(d > sunday for d in dues)


def _check_audit(session: Session, demo: Any) -> None:
    sources = set(session.scalars(select(AuditLog.source).distinct()))
    assert sources == {"demo"}
    created = session.scalar(
        select(func.count()).where(AuditLog.entity == "lead", AuditLog.action == "create")
    )
    assert created == demo.leads


def test_second_load_changes_nothing(session: Session, demo: Any) -> None:
    before = counts(session)
    assert load_demo(session) is None
    session.flush()
    assert counts(session) == before


def test_refuses_a_database_with_a_user(session: Session) -> None:
    from tests.factories import UserFactory

    UserFactory()
    assert load_demo(session) is None
    assert counts(session)["park"] == 0


def test_same_day_gives_same_data(session: Session) -> None:
    day = today_local()

    def snapshot() -> list[tuple[Any, ...]]:
        nested = session.begin_nested()
        load_demo(session, today=day)
        rows = [
            (
                lead.title,
                lead.enterprise.credit_code,
                lead.stage,
                lead.stage_since,
                lead.estimated_investment,
                lead.last_contact_on,
                lead.owner.username,
                [(p.name, p.stage, p.total_investment) for p in lead.projects],
            )
            for lead in session.scalars(
                select(Lead)
                .options(
                    selectinload(Lead.projects),
                    joinedload(Lead.enterprise),
                    joinedload(Lead.owner),
                )
                .order_by(Lead.id)
            )
        ]
        nested.rollback()
        session.expunge_all()
        return rows

    first = snapshot()
    assert first
    assert snapshot() == first


def test_cli_loads_once_and_prints_the_accounts(session: Session, runner: Any) -> None:
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Demo@2026" in result.output
    for username in ("admin", "leader", "manager", "manager2", "officer", "officer2", "officer3"):
        assert username in result.output
    for text in ("系统管理员", "园区负责人", "招商专员", "集成电路产业园", "海洋产业园"):
        assert text in result.output
    loaded = counts(session)
    assert loaded["lead"] == 300

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "已有数据" in again.output
    assert counts(session) == loaded
