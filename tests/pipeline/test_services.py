"""The pipeline's operations: leads, contacts, stage moves and proposals, projects, thresholds.

Services flush and never commit; every test runs in a transaction rolled back afterwards.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import event, select
from sqlalchemy.dialects import sqlite
from werkzeug.exceptions import Forbidden

from app.core.audit import AuditLog, set_actor
from app.core.db import StaleVersionError
from app.core.timeutil import today_local
from app.pipeline import queries, services
from app.pipeline.flags import (
    ThresholdError,
    Thresholds,
    load_thresholds,
    save_thresholds,
)
from app.pipeline.lifecycle import Move, Stage
from app.pipeline.models import (
    AppendOnlyError,
    ContactLog,
    ContactType,
    Lead,
    LeadSource,
    Project,
    ProposalStatus,
    StageChange,
    StageProposal,
)
from app.pipeline.services import DuplicateLeadError, PipelineError
from tests.factories import EnterpriseFactory, LeadFactory, ParkFactory, ProjectFactory
from tests.pipeline.helpers import count

pytestmark = pytest.mark.usefixtures("ctx")

TODAY = today_local()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def history(session: Any, record: Lead | Project) -> list[StageChange]:
    column = StageChange.lead_id if isinstance(record, Lead) else StageChange.project_id
    return list(
        session.scalars(select(StageChange).where(column == record.id).order_by(StageChange.id))
    )


def _lead(world: Any, **kw: Any) -> Lead:
    kw.setdefault("owner", world.officer)
    kw.setdefault("park", world.park_a)
    kw.setdefault("stage_since", ago(60))
    return LeadFactory(**kw)


def _create(session: Any, user: Any, world: Any, **kw: Any) -> Lead:
    kw.setdefault("enterprise", EnterpriseFactory())
    kw.setdefault("title", "京东方第10.5代线配套项目")
    kw.setdefault("park", world.park_a)
    return services.create_lead(session, user, **kw)


# --- create_lead ----------------------------------------------------------------------------


def test_officer_creates_a_lead_he_owns(session: Any, world: Any) -> None:
    lead = _create(
        session,
        world.officer,
        world,
        owner=world.other_officer,  # an officer cannot give his lead away
        source=LeadSource.EXHIBITION,
        chain_link=world.link,
        estimated_investment=Decimal("3.5"),
        description="  在深圳展会上接触  ",
    )

    assert lead.id is not None
    assert lead.owner_id == world.officer.id
    assert lead.stage is Stage.LEAD and lead.stage_since == TODAY
    assert lead.estimated_investment == Decimal("3.5")
    assert lead.description == "在深圳展会上接触"
    assert lead.chain_link_id == world.link.id
    [change] = history(session, lead)
    assert (change.from_stage, change.to_stage, change.effective_on) == (None, Stage.LEAD, TODAY)
    assert change.recorded_by_id == world.officer.id


def test_officer_may_create_in_any_park(session: Any, world: Any) -> None:
    lead = _create(session, world.officer, world, park=world.park_b)
    assert lead.park_id == world.park_b.id


def test_back_dated_start_is_kept(session: Any, world: Any) -> None:
    lead = _create(session, world.officer, world, started_on=ago(15))
    assert lead.stage_since == ago(15)
    assert history(session, lead)[0].effective_on == ago(15)


def test_start_in_the_future_is_refused(session: Any, world: Any) -> None:
    with pytest.raises(PipelineError) as info:
        _create(session, world.officer, world, started_on=TODAY + dt.timedelta(days=1))
    assert info.value.field == "started_on"
    assert count(session, Lead) == 0


@pytest.mark.parametrize(
    ("title", "message"), [("   ", "请填写线索名称。"), ("长" * 121, "最多120字")]
)
def test_title_is_required_and_limited(session: Any, world: Any, title: str, message: str) -> None:
    with pytest.raises(PipelineError) as info:
        _create(session, world.officer, world, title=title)
    assert message in info.value.message and info.value.field == "title"
    assert count(session, Lead) == 0


def test_inactive_park_is_refused(session: Any, world: Any) -> None:
    closed = ParkFactory(active=False)
    with pytest.raises(PipelineError, match="该园区已停用"):
        _create(session, world.officer, world, park=closed)


def test_manager_creates_in_his_park_for_an_officer(session: Any, world: Any) -> None:
    lead = _create(session, world.manager, world, owner=world.officer)
    assert lead.owner_id == world.officer.id
    assert lead.park_id == world.park_a.id
    assert history(session, lead)[0].recorded_by_id == world.manager.id


def test_manager_without_owner_owns_the_lead(session: Any, world: Any) -> None:
    lead = _create(session, world.manager, world)
    assert lead.owner_id == world.manager.id


def test_manager_may_not_create_in_another_park(session: Any, world: Any) -> None:
    with pytest.raises(PipelineError) as info:
        _create(session, world.manager, world, park=world.park_b)
    assert info.value.field == "park_id"
    assert "不负责该园区" in info.value.message
    assert count(session, Lead) == 0


@pytest.mark.parametrize("owner", ["leader", "admin"])
def test_owner_must_be_an_officer_or_manager(session: Any, world: Any, owner: str) -> None:
    with pytest.raises(PipelineError) as info:
        _create(session, world.admin, world, owner=getattr(world, owner))
    assert info.value.field == "owner_id"


def test_inactive_owner_is_refused(session: Any, world: Any) -> None:
    world.other_officer.active = False
    with pytest.raises(PipelineError, match="在职"):
        _create(session, world.manager, world, owner=world.other_officer)


def test_leader_may_not_create(session: Any, world: Any) -> None:
    with pytest.raises(Forbidden):
        _create(session, world.leader, world)
    assert count(session, Lead) == 0


@pytest.fixture
def courted(world: Any) -> Lead:
    """An enterprise 李专员 courts for park B, with details no one else should learn."""
    return _lead(
        world,
        owner=world.other_officer,
        park=world.park_b,
        title="保密：海信高端面板二期",
        estimated_investment=Decimal("88.8"),
        description="对方要求保密",
    )


def test_duplicate_names_only_owner_and_park(session: Any, world: Any, courted: Lead) -> None:
    with pytest.raises(DuplicateLeadError) as info:
        _create(session, world.officer, world, enterprise=courted.enterprise)

    message = info.value.message
    assert "李专员" in message and "新型显示产业园" in message
    assert info.value.field == "enterprise"
    for secret in ("保密", "海信", "88", "二期", courted.title, str(courted.id)):
        assert secret not in message
    assert count(session, Lead) == 1


def test_officer_cannot_override_a_duplicate(session: Any, world: Any, courted: Lead) -> None:
    with pytest.raises(DuplicateLeadError):
        _create(session, world.officer, world, enterprise=courted.enterprise, allow_duplicate=True)
    assert count(session, Lead) == 1


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_and_admin_may_override_a_duplicate(
    session: Any, world: Any, courted: Lead, role: str
) -> None:
    user = getattr(world, role)
    with pytest.raises(DuplicateLeadError):
        _create(session, user, world, enterprise=courted.enterprise, owner=world.officer)
    lead = _create(
        session,
        user,
        world,
        enterprise=courted.enterprise,
        owner=world.officer,
        allow_duplicate=True,
    )
    assert lead.owner_id == world.officer.id
    assert count(session, Lead) == 2


def test_lead_on_hold_still_counts_as_courted(session: Any, world: Any, courted: Lead) -> None:
    courted.stage = Stage.ON_HOLD
    session.flush()
    with pytest.raises(DuplicateLeadError):
        _create(session, world.officer, world, enterprise=courted.enterprise)


@pytest.mark.parametrize("stage", [Stage.DROPPED, Stage.FULL_PRODUCTION])
def test_closed_lead_is_no_duplicate(session: Any, world: Any, courted: Lead, stage: Stage) -> None:
    courted.stage = stage
    session.flush()
    lead = _create(session, world.officer, world, enterprise=courted.enterprise)
    assert lead.owner_id == world.officer.id


def test_own_active_lead_is_no_duplicate(session: Any, world: Any) -> None:
    mine = _lead(world)
    lead = _create(session, world.officer, world, enterprise=mine.enterprise)
    assert lead.id != mine.id


# --- update_lead ----------------------------------------------------------------------------


def _update(session: Any, user: Any, lead: Lead, version: Any, **kw: Any) -> Lead:
    values = {
        "title": lead.title,
        "park": lead.park,
        "source": lead.source,
        "chain_link": lead.chain_link,
        "estimated_investment": lead.estimated_investment,
        "description": lead.description,
    }
    values.update(kw)
    return services.update_lead(session, user, lead, version=version, **values)


def test_update_lead_bumps_the_version(session: Any, world: Any) -> None:
    lead = _lead(world)
    _update(session, world.officer, lead, lead.version, title="新名称", park=world.park_b)
    assert (lead.title, lead.park_id, lead.version) == ("新名称", world.park_b.id, 2)


@pytest.mark.parametrize("version", [0, "0", None, "abc", 2])
def test_update_with_a_stale_version_changes_nothing(
    session: Any, world: Any, version: Any
) -> None:
    lead = _lead(world, title="原名称", estimated_investment=Decimal("2"))
    with pytest.raises(StaleVersionError):
        _update(
            session,
            world.officer,
            lead,
            version,
            title="覆盖",
            estimated_investment=Decimal("9"),
        )
    assert not session.dirty
    session.expire_all()
    assert (lead.title, lead.estimated_investment, lead.version) == ("原名称", Decimal("2"), 1)


def test_second_save_with_the_old_version_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world)
    loaded = lead.version
    _update(session, world.officer, lead, loaded, title="第一次保存")
    with pytest.raises(StaleVersionError):
        _update(session, world.manager, lead, loaded, title="第二次保存")
    session.expire_all()
    assert lead.title == "第一次保存"


def test_manager_may_not_move_a_lead_into_a_park_he_does_not_run(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _update(session, world.manager, lead, lead.version, park=world.park_b)
    assert info.value.field == "park_id"


@pytest.mark.parametrize("who", ["leader", "other_officer", "other_manager"])
def test_update_lead_forbidden(session: Any, world: Any, who: str) -> None:
    lead = _lead(world)
    with pytest.raises(Forbidden):
        _update(session, getattr(world, who), lead, lead.version, title="x")


def test_audit_rows_for_lead_changes(session: Any, world: Any) -> None:
    lead = _lead(world, title="旧名称", estimated_investment=Decimal("2"))
    set_actor(session, world.manager.id, "web")
    _update(
        session,
        world.manager,
        lead,
        lead.version,
        title="新名称",
        estimated_investment=Decimal("3.5"),
        source=LeadSource.AGENCY,
    )
    rows = session.scalars(
        select(AuditLog).where(
            AuditLog.entity == "lead", AuditLog.entity_id == lead.id, AuditLog.action == "update"
        )
    ).all()
    changes = {r.field: (r.old_value, r.new_value) for r in rows}
    assert changes == {
        "title": ("旧名称", "新名称"),
        "estimated_investment": ("2", "3.5"),
        "source": ("visit", "agency"),
    }
    assert {(r.actor_id, r.source) for r in rows} == {(world.manager.id, "web")}


def test_creating_a_lead_is_audited(session: Any, world: Any) -> None:
    set_actor(session, world.officer.id, "web")
    lead = _create(session, world.officer, world)
    [row] = session.scalars(
        select(AuditLog).where(AuditLog.entity == "lead", AuditLog.entity_id == lead.id)
    ).all()
    assert (row.action, row.actor_id) == ("create", world.officer.id)


# --- reassign -------------------------------------------------------------------------------


def test_manager_reassigns_a_lead(session: Any, world: Any) -> None:
    lead = _lead(world)
    services.reassign(session, world.manager, lead, owner=world.other_officer, version=1)
    assert lead.owner_id == world.other_officer.id


def test_reassign_to_a_manager_of_another_park_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        services.reassign(session, world.manager, lead, owner=world.other_manager, version=1)
    assert info.value.field == "owner_id"
    assert lead.owner_id == world.officer.id


@pytest.mark.parametrize("who", ["officer", "other_manager", "leader"])
def test_reassign_forbidden(session: Any, world: Any, who: str) -> None:
    lead = _lead(world)
    with pytest.raises(Forbidden):
        services.reassign(session, getattr(world, who), lead, owner=world.other_officer, version=1)


def test_reassign_with_a_stale_version(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(StaleVersionError):
        services.reassign(session, world.manager, lead, owner=world.other_officer, version=7)
    assert lead.owner_id == world.officer.id


# --- log_contact ----------------------------------------------------------------------------


def _contact(session: Any, user: Any, record: Any, **kw: Any) -> ContactLog:
    kw.setdefault("contact_type", ContactType.VISIT)
    kw.setdefault("contact_on", TODAY)
    kw.setdefault("summary", "拜访企业，介绍园区政策。")
    return services.log_contact(session, user, record, **kw)


def test_log_contact_keeps_the_latest_contact_date(session: Any, world: Any) -> None:
    lead = _lead(world, last_contact_on=ago(40))
    contact = _contact(session, world.officer, lead, contact_on=ago(5), participants="王总")
    assert lead.last_contact_on == ago(5)
    assert (contact.lead_id, contact.project_id, contact.created_by_id) == (
        lead.id,
        None,
        world.officer.id,
    )
    # An older visit logged afterwards does not move the date back.
    _contact(session, world.officer, lead, contact_on=ago(20))
    assert lead.last_contact_on == ago(5)
    assert count(session, ContactLog, ContactLog.lead_id == lead.id) == 2


def test_first_contact_sets_the_date(session: Any, world: Any) -> None:
    lead = _lead(world, last_contact_on=None)
    _contact(session, world.officer, lead, contact_on=ago(2))
    assert lead.last_contact_on == ago(2)


def test_next_step_is_replaced_only_when_given(session: Any, world: Any) -> None:
    lead = _lead(world)
    _contact(session, world.officer, lead, next_step="报送项目建议书", next_step_due=TODAY)
    assert (lead.next_step, lead.next_step_due) == ("报送项目建议书", TODAY)

    _contact(session, world.officer, lead, summary="电话沟通")
    assert (lead.next_step, lead.next_step_due) == ("报送项目建议书", TODAY)

    _contact(session, world.officer, lead, next_step="安排考察园区")
    assert (lead.next_step, lead.next_step_due) == ("安排考察园区", None)


def test_contact_in_the_future_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world, last_contact_on=ago(3))
    with pytest.raises(PipelineError) as info:
        _contact(session, world.officer, lead, contact_on=TODAY + dt.timedelta(days=1))
    assert info.value.field == "contact_on"
    assert info.value.message == "联系日期不能晚于今天。"
    assert count(session, ContactLog) == 0
    assert lead.last_contact_on == ago(3)


def test_next_step_due_before_the_contact_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _contact(
            session,
            world.officer,
            lead,
            contact_on=ago(2),
            next_step="回访",
            next_step_due=ago(3),
        )
    assert info.value.field == "next_step_due"
    assert info.value.message == "下一步日期不能早于联系日期。"
    assert count(session, ContactLog) == 0


def test_next_step_due_on_the_contact_day_is_allowed(session: Any, world: Any) -> None:
    lead = _lead(world)
    _contact(
        session, world.officer, lead, contact_on=ago(2), next_step="回访", next_step_due=ago(2)
    )
    assert lead.next_step_due == ago(2)


def test_next_step_due_needs_a_next_step(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _contact(session, world.officer, lead, next_step="  ", next_step_due=TODAY)
    assert info.value.field == "next_step"


@pytest.mark.parametrize("summary", ["", "   "])
def test_contact_needs_a_summary(session: Any, world: Any, summary: str) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _contact(session, world.officer, lead, summary=summary)
    assert info.value.field == "summary"


def test_project_contact_also_touches_the_lead(session: Any, world: Any) -> None:
    lead = _lead(world, last_contact_on=ago(50), next_step="旧的下一步", next_step_due=TODAY)
    project = ProjectFactory(lead=lead, last_contact_on=ago(60))
    contact = _contact(
        session,
        world.officer,
        project,
        contact_on=ago(1),
        next_step="协调用地指标",
        next_step_due=TODAY + dt.timedelta(days=3),
    )
    assert (contact.lead_id, contact.project_id) == (lead.id, project.id)
    assert project.last_contact_on == ago(1)
    assert lead.last_contact_on == ago(1)
    assert project.next_step == "协调用地指标"
    assert lead.next_step == "旧的下一步"


def test_project_contact_older_than_the_lead_contact(session: Any, world: Any) -> None:
    lead = _lead(world, last_contact_on=ago(1))
    project = ProjectFactory(lead=lead, last_contact_on=None)
    _contact(session, world.officer, project, contact_on=ago(10))
    assert project.last_contact_on == ago(10)
    assert lead.last_contact_on == ago(1)


@pytest.mark.parametrize("who", ["leader", "other_officer", "other_manager"])
def test_log_contact_forbidden(session: Any, world: Any, who: str) -> None:
    lead = _lead(world)
    with pytest.raises(Forbidden):
        _contact(session, getattr(world, who), lead)
    assert count(session, ContactLog) == 0


def test_manager_logs_contact_in_his_park(session: Any, world: Any) -> None:
    lead = _lead(world)
    contact = _contact(session, world.manager, lead)
    assert contact.created_by_id == world.manager.id


def test_complete_next_step(session: Any, world: Any) -> None:
    lead = _lead(world, next_step="回访", next_step_due=TODAY)
    services.complete_next_step(session, world.officer, lead)
    assert (lead.next_step, lead.next_step_due) == (None, None)
    with pytest.raises(Forbidden):
        services.complete_next_step(session, world.leader, lead)


# --- move_stage -----------------------------------------------------------------------------


def test_manager_move_applies_at_once_writing_every_skipped_stage(session: Any, world: Any) -> None:
    lead = _lead(world, stage_since=ago(60))
    flushes: list[tuple[set[str], set[str]]] = []

    def before_flush(sess: Any, context: Any, instances: Any) -> None:
        flushes.append(
            (
                {type(o).__name__ for o in sess.new},
                {type(o).__name__ for o in sess.dirty if sess.is_modified(o)},
            )
        )

    real = session()
    event.listen(real, "before_flush", before_flush)
    try:
        move = Move(
            Stage.SIGNED,
            ago(5),
            skipped_dates={Stage.CONTACTED: ago(50), Stage.NEGOTIATING: ago(30)},
            note="  在区政府签约  ",
        )
        result = services.move_stage(session, world.manager, lead, move, version=lead.version)
    finally:
        event.remove(real, "before_flush", before_flush)

    assert result is None
    assert flushes == [({"StageChange"}, {"Lead"})]
    rows = history(session, lead)
    assert [(r.from_stage, r.to_stage, r.effective_on) for r in rows] == [
        (Stage.LEAD, Stage.CONTACTED, ago(50)),
        (Stage.CONTACTED, Stage.NEGOTIATING, ago(30)),
        (Stage.NEGOTIATING, Stage.SIGNED, ago(5)),
    ]
    assert {(r.recorded_by_id, r.confirmed_by_id) for r in rows} == {
        (world.manager.id, world.manager.id)
    }
    assert [r.note for r in rows] == [None, None, "在区政府签约"]
    assert (lead.stage, lead.stage_since, lead.signed_on) == (Stage.SIGNED, ago(5), ago(5))
    assert lead.construction_on is None
    assert lead.version == 2
    assert count(session, StageProposal) == 0


def test_moving_through_every_milestone_sets_every_date(session: Any, world: Any) -> None:
    lead = _lead(world, stage=Stage.NEGOTIATING, stage_since=ago(100))
    move = Move(
        Stage.FULL_PRODUCTION,
        ago(1),
        skipped_dates={
            Stage.SIGNED: ago(90),
            Stage.CONSTRUCTION: ago(60),
            Stage.PRODUCTION: ago(10),
        },
    )
    services.move_stage(session, world.admin, lead, move, version=lead.version)
    assert (lead.signed_on, lead.construction_on, lead.production_on) == (
        ago(90),
        ago(60),
        ago(10),
    )
    assert lead.full_production_on == ago(1)
    assert lead.stage is Stage.FULL_PRODUCTION
    assert len(history(session, lead)) == 4


def test_officer_move_into_signing_waits_for_the_manager(session: Any, world: Any) -> None:
    lead = _lead(world, stage=Stage.CONTACTED, stage_since=ago(30))
    move = Move(
        Stage.SIGNED, ago(2), skipped_dates={Stage.NEGOTIATING: ago(20)}, note="已签框架协议"
    )
    proposal = services.move_stage(session, world.officer, lead, move, version=lead.version)

    assert isinstance(proposal, StageProposal)
    assert proposal.status is ProposalStatus.PENDING
    assert (proposal.from_stage, proposal.to_stage, proposal.effective_on) == (
        Stage.CONTACTED,
        Stage.SIGNED,
        ago(2),
    )
    assert proposal.skipped_dates == f"negotiating={ago(20).isoformat()}"
    assert (proposal.lead_id, proposal.project_id) == (lead.id, None)
    assert (proposal.park_id, proposal.proposed_by_id) == (world.park_a.id, world.officer.id)
    assert proposal.note == "已签框架协议"
    assert (lead.stage, lead.stage_since, lead.signed_on) == (Stage.CONTACTED, ago(30), None)
    assert history(session, lead) == []
    assert services.pending_proposal(session, lead) is proposal


def test_officer_move_to_contacted_applies_directly(session: Any, world: Any) -> None:
    lead = _lead(world)
    assert (
        services.move_stage(
            session, world.officer, lead, Move(Stage.CONTACTED, ago(1)), version=lead.version
        )
        is None
    )
    assert lead.stage is Stage.CONTACTED
    [row] = history(session, lead)
    assert row.recorded_by_id == world.officer.id


def test_officer_dropping_a_lead_waits_for_the_manager(session: Any, world: Any) -> None:
    lead = _lead(world)
    proposal = services.move_stage(
        session, world.officer, lead, Move(Stage.DROPPED, TODAY, reason="企业外迁"), version=1
    )
    assert proposal is not None and proposal.reason == "企业外迁"
    assert lead.stage is Stage.LEAD


def test_a_second_proposal_while_one_is_pending_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world, stage=Stage.NEGOTIATING)
    services.move_stage(session, world.officer, lead, Move(Stage.SIGNED, TODAY), version=1)
    for target in (Stage.SIGNED, Stage.ON_HOLD):
        with pytest.raises(PipelineError) as info:
            services.move_stage(session, world.officer, lead, Move(target, TODAY), version=1)
        assert "等待园区负责人确认" in info.value.message
    # Not even the manager moves the record past a pending proposal.
    with pytest.raises(PipelineError):
        services.move_stage(session, world.manager, lead, Move(Stage.SIGNED, TODAY), version=1)
    assert count(session, StageProposal) == 1
    assert lead.stage is Stage.NEGOTIATING


def test_hold_and_resume(session: Any, world: Any) -> None:
    lead = _lead(world, stage=Stage.NEGOTIATING, stage_since=ago(30))
    services.move_stage(session, world.officer, lead, Move(Stage.ON_HOLD, ago(20)), version=1)
    assert (lead.stage, lead.held_from) == (Stage.ON_HOLD, Stage.NEGOTIATING)

    with pytest.raises(PipelineError):
        services.move_stage(session, world.officer, lead, Move(Stage.CONTACTED, ago(1)), version=2)

    services.move_stage(session, world.officer, lead, Move(Stage.NEGOTIATING, ago(1)), version=2)
    assert (lead.stage, lead.held_from, lead.stage_since) == (Stage.NEGOTIATING, None, ago(1))
    assert [r.to_stage for r in history(session, lead)] == [Stage.ON_HOLD, Stage.NEGOTIATING]


@pytest.mark.parametrize(
    ("move", "field"),
    [
        (Move(Stage.SIGNED, TODAY), "skip_contacted"),
        (Move(Stage.CONTACTED, TODAY + dt.timedelta(days=1)), "effective_on"),
        (Move(Stage.CONTACTED, TODAY - dt.timedelta(days=61)), "effective_on"),
        (Move(Stage.DROPPED, TODAY), "reason"),
        (Move(Stage.LEAD, TODAY), "target"),
    ],
)
def test_illegal_moves_change_nothing(session: Any, world: Any, move: Move, field: str) -> None:
    lead = _lead(world, stage_since=ago(60))
    with pytest.raises(PipelineError) as info:
        services.move_stage(session, world.manager, lead, move, version=1)
    assert info.value.field == field
    assert (lead.stage, lead.version) == (Stage.LEAD, 1)
    assert history(session, lead) == []


def test_move_with_a_stale_version_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(StaleVersionError):
        services.move_stage(session, world.manager, lead, Move(Stage.CONTACTED, TODAY), version=3)
    assert lead.stage is Stage.LEAD


@pytest.mark.parametrize("who", ["leader", "other_officer", "other_manager"])
def test_move_stage_forbidden(session: Any, world: Any, who: str) -> None:
    lead = _lead(world)
    with pytest.raises(Forbidden):
        services.move_stage(
            session, getattr(world, who), lead, Move(Stage.CONTACTED, TODAY), version=1
        )
    assert lead.stage is Stage.LEAD


# --- proposals ------------------------------------------------------------------------------


@pytest.fixture
def proposed(session: Any, world: Any) -> StageProposal:
    """张专员 proposes: 接洽 → 签约 (洽谈 skipped) on a lead of park A."""
    lead = _lead(world, stage=Stage.CONTACTED, stage_since=ago(40))
    move = Move(
        Stage.SIGNED,
        ago(3),
        skipped_dates={Stage.NEGOTIATING: ago(25)},
        note="签约仪式在市里举行",
    )
    proposal = services.move_stage(session, world.officer, lead, move, version=lead.version)
    assert proposal is not None
    return proposal


def test_confirm_applies_the_proposal_as_asked(
    session: Any, world: Any, proposed: StageProposal
) -> None:
    lead = proposed.lead
    services.confirm_proposal(session, world.manager, proposed, note=" 同意 ")

    rows = history(session, lead)
    assert [(r.from_stage, r.to_stage, r.effective_on) for r in rows] == [
        (Stage.CONTACTED, Stage.NEGOTIATING, ago(25)),
        (Stage.NEGOTIATING, Stage.SIGNED, ago(3)),
    ]
    assert {(r.recorded_by_id, r.confirmed_by_id) for r in rows} == {
        (world.officer.id, world.manager.id)
    }
    assert rows[-1].note == "签约仪式在市里举行"
    assert (lead.stage, lead.stage_since, lead.signed_on) == (Stage.SIGNED, ago(3), ago(3))
    assert proposed.status is ProposalStatus.CONFIRMED
    assert (proposed.decided_by_id, proposed.decision_note) == (world.manager.id, "同意")
    assert proposed.decided_at is not None
    assert services.pending_proposal(session, lead) is None


def test_a_decided_proposal_cannot_be_decided_again(
    session: Any, world: Any, proposed: StageProposal
) -> None:
    services.confirm_proposal(session, world.manager, proposed)
    with pytest.raises(PipelineError, match="已处理"):
        services.confirm_proposal(session, world.manager, proposed)
    with pytest.raises(PipelineError, match="已处理"):
        services.reject_proposal(session, world.manager, proposed, "晚了")
    assert len(history(session, proposed.lead)) == 2


@pytest.mark.parametrize("note", ["", "   "])
def test_reject_requires_a_note(
    session: Any, world: Any, proposed: StageProposal, note: str
) -> None:
    with pytest.raises(PipelineError) as info:
        services.reject_proposal(session, world.manager, proposed, note)
    assert info.value.field == "note"
    assert proposed.status is ProposalStatus.PENDING


def test_reject_leaves_the_stage_and_frees_the_record(
    session: Any, world: Any, proposed: StageProposal
) -> None:
    lead = proposed.lead
    services.reject_proposal(session, world.manager, proposed, "合同尚未盖章")
    assert proposed.status is ProposalStatus.REJECTED
    assert proposed.decision_note == "合同尚未盖章"
    assert lead.stage is Stage.CONTACTED and history(session, lead) == []
    # The officer may propose again.
    again = services.move_stage(
        session, world.officer, lead, Move(Stage.NEGOTIATING, ago(1)), version=lead.version
    )
    assert again is None and lead.stage is Stage.NEGOTIATING


def test_confirm_rechecks_the_rules_against_the_stage_now(
    session: Any, world: Any, proposed: StageProposal
) -> None:
    """The record was changed meanwhile (e.g. by an import): the proposal no longer fits."""
    lead = proposed.lead
    lead.stage = Stage.CONSTRUCTION
    session.flush()
    with pytest.raises(PipelineError):
        services.confirm_proposal(session, world.manager, proposed)
    assert proposed.status is ProposalStatus.PENDING


@pytest.mark.parametrize("who", ["officer", "other_officer", "other_manager", "leader"])
def test_only_the_park_manager_or_admin_decides(
    session: Any, world: Any, proposed: StageProposal, who: str
) -> None:
    with pytest.raises(Forbidden):
        services.confirm_proposal(session, getattr(world, who), proposed)
    with pytest.raises(Forbidden):
        services.reject_proposal(session, getattr(world, who), proposed, "不同意")
    assert proposed.status is ProposalStatus.PENDING


def test_admin_confirms(session: Any, world: Any, proposed: StageProposal) -> None:
    services.confirm_proposal(session, world.admin, proposed)
    assert proposed.lead.stage is Stage.SIGNED


# --- the leader reads only ------------------------------------------------------------------


def test_leader_can_change_nothing(session: Any, world: Any, proposed: StageProposal) -> None:
    lead = proposed.lead
    leader = world.leader
    calls = [
        lambda: _create(session, leader, world),
        lambda: _update(session, leader, lead, lead.version, title="x"),
        lambda: services.reassign(session, leader, lead, owner=world.officer, version=1),
        lambda: _contact(session, leader, lead),
        lambda: services.complete_next_step(session, leader, lead),
        lambda: services.move_stage(
            session, leader, lead, Move(Stage.ON_HOLD, TODAY), version=lead.version
        ),
        lambda: services.confirm_proposal(session, leader, proposed),
        lambda: services.reject_proposal(session, leader, proposed, "no"),
        lambda: services.create_project(
            session,
            leader,
            lead,
            name="x",
            park=world.park_a,
            chain_link=None,
            total_investment=None,
            fixed_asset_investment=None,
        ),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            call()
    assert not session.dirty and not session.new


# --- stage history is append-only -----------------------------------------------------------


def test_stage_changes_cannot_be_updated(session: Any, world: Any) -> None:
    lead = _create(session, world.officer, world)
    [row] = history(session, lead)
    row.note = "改写历史"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()


def test_stage_changes_cannot_be_deleted(session: Any, world: Any) -> None:
    lead = _create(session, world.officer, world)
    [row] = history(session, lead)
    session.delete(row)
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()


# --- projects -------------------------------------------------------------------------------


def _project(session: Any, user: Any, lead: Lead, **kw: Any) -> tuple[Project, Any]:
    kw.setdefault("name", "京东方物联网创新中心")
    kw.setdefault("park", lead.park)
    kw.setdefault("chain_link", None)
    kw.setdefault("total_investment", Decimal("60"))
    kw.setdefault("fixed_asset_investment", Decimal("45"))
    return services.create_project(session, user, lead, **kw)


SKIPS = {Stage.CONTACTED: ago(300), Stage.NEGOTIATING: ago(200), Stage.SIGNED: ago(100)}


def test_create_project_at_construction_writes_consistent_history(session: Any, world: Any) -> None:
    lead = _lead(world)
    project, proposal = _project(
        session,
        world.manager,
        lead,
        started_on=ago(365),
        move=Move(Stage.CONSTRUCTION, ago(10), skipped_dates=SKIPS),
        planned={"planned_production_on": TODAY + dt.timedelta(days=300)},
    )

    assert proposal is None
    assert project.owner_id == world.officer.id  # the lead's owner, by default
    assert (project.enterprise_id, project.lead_id) == (lead.enterprise_id, lead.id)
    rows = history(session, project)
    assert [(r.from_stage, r.to_stage, r.effective_on) for r in rows] == [
        (None, Stage.LEAD, ago(365)),
        (Stage.LEAD, Stage.CONTACTED, ago(300)),
        (Stage.CONTACTED, Stage.NEGOTIATING, ago(200)),
        (Stage.NEGOTIATING, Stage.SIGNED, ago(100)),
        (Stage.SIGNED, Stage.CONSTRUCTION, ago(10)),
    ]
    for previous, row in itertools.pairwise(rows):
        assert row.from_stage == previous.to_stage
        assert row.effective_on >= previous.effective_on
    assert all(r.project_id == project.id and r.lead_id is None for r in rows)
    assert (project.stage, project.stage_since) == (Stage.CONSTRUCTION, ago(10))
    assert (project.signed_on, project.construction_on) == (ago(100), ago(10))
    assert project.production_on is None
    assert project.planned_production_on == TODAY + dt.timedelta(days=300)
    # The lead itself does not move.
    assert lead.stage is Stage.LEAD and history(session, lead) == []


def test_officer_creating_a_signed_project_proposes_the_move(session: Any, world: Any) -> None:
    lead = _lead(world)
    project, proposal = _project(
        session,
        world.officer,
        lead,
        started_on=ago(365),
        move=Move(Stage.CONSTRUCTION, ago(10), skipped_dates=SKIPS),
    )
    assert proposal is not None and proposal.project_id == project.id
    assert project.stage is Stage.LEAD
    assert len(history(session, project)) == 1
    services.confirm_proposal(session, world.manager, proposal)
    assert project.stage is Stage.CONSTRUCTION
    assert len(history(session, project)) == 5


def test_create_project_with_a_bad_move_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _project(
            session,
            world.manager,
            lead,
            started_on=ago(365),
            move=Move(Stage.CONSTRUCTION, ago(10), skipped_dates={Stage.CONTACTED: ago(300)}),
        )
    assert info.value.field == "skip_negotiating"


def test_fixed_asset_investment_above_total_is_refused(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _project(
            session,
            world.manager,
            lead,
            total_investment=Decimal("10"),
            fixed_asset_investment=Decimal("10.01"),
        )
    assert info.value.field == "fixed_asset_investment"
    assert count(session, Project) == 0


def test_fixed_asset_investment_equal_to_total_is_allowed(session: Any, world: Any) -> None:
    lead = _lead(world)
    project, _ = _project(
        session,
        world.manager,
        lead,
        total_investment=Decimal("10"),
        fixed_asset_investment=Decimal("10"),
    )
    assert project.fixed_asset_investment == Decimal("10")


def test_duplicate_project_name_for_the_same_enterprise_is_refused(
    session: Any, world: Any
) -> None:
    lead = _lead(world)
    _project(session, world.officer, lead, name="二期项目")
    with pytest.raises(PipelineError) as info:
        _project(session, world.officer, lead, name="  二期项目 ")
    assert info.value.field == "name" and "二期项目" in info.value.message
    assert count(session, Project) == 1
    # The same name for another enterprise is fine.
    other = _lead(world)
    _project(session, world.officer, other, name="二期项目")
    assert count(session, Project) == 2


def test_planned_dates_must_be_in_order(session: Any, world: Any) -> None:
    lead = _lead(world)
    with pytest.raises(PipelineError) as info:
        _project(
            session,
            world.officer,
            lead,
            planned={
                "planned_signing_on": TODAY + dt.timedelta(days=30),
                "planned_construction_on": TODAY + dt.timedelta(days=10),
            },
        )
    assert info.value.field == "planned_construction_on"


@pytest.mark.parametrize("who", ["other_officer", "other_manager", "leader"])
def test_create_project_forbidden(session: Any, world: Any, who: str) -> None:
    lead = _lead(world)
    with pytest.raises(Forbidden):
        _project(session, getattr(world, who), lead)


def test_update_project_checks_investments_and_version(session: Any, world: Any) -> None:
    lead = _lead(world)
    project, _ = _project(session, world.officer, lead)
    kw = {
        "name": project.name,
        "park": project.park,
        "chain_link": None,
        "planned": {},
        "description": None,
    }
    with pytest.raises(PipelineError):
        services.update_project(
            session,
            world.officer,
            project,
            version=project.version,
            total_investment=Decimal("1"),
            fixed_asset_investment=Decimal("2"),
            **kw,
        )
    with pytest.raises(StaleVersionError):
        services.update_project(
            session,
            world.officer,
            project,
            version=project.version + 1,
            total_investment=Decimal("1"),
            fixed_asset_investment=None,
            **kw,
        )
    services.update_project(
        session,
        world.officer,
        project,
        version=project.version,
        total_investment=Decimal("70"),
        fixed_asset_investment=Decimal("50"),
        **kw,
    )
    assert project.total_investment == Decimal("70")


# --- thresholds -----------------------------------------------------------------------------


def test_default_thresholds(session: Any) -> None:
    assert load_thresholds(session) == Thresholds(Decimal("5"), Decimal("50"))


@pytest.mark.parametrize(
    ("major", "big", "message"),
    [
        ("0", "50", "门槛必须大于0。"),
        ("-1", "50", "门槛必须大于0。"),
        ("5", "0", "门槛必须大于0。"),
        ("50", "50", "重大项目门槛必须小于大项目门槛。"),
        ("60", "50", "重大项目门槛必须小于大项目门槛。"),
    ],
)
def test_save_thresholds_refuses_nonsense(session: Any, major: str, big: str, message: str) -> None:
    with pytest.raises(ThresholdError) as info:
        save_thresholds(session, Decimal(major), Decimal(big))
    assert str(info.value) == message
    assert load_thresholds(session) == Thresholds()


def test_save_thresholds_stores_them(session: Any) -> None:
    saved = save_thresholds(session, Decimal("3.50"), Decimal("30"))
    session.flush()
    assert saved == Thresholds(Decimal("3.5"), Decimal("30"))
    assert load_thresholds(session) == Thresholds(Decimal("3.5"), Decimal("30"))
    save_thresholds(session, Decimal("10"), Decimal("100"))
    session.flush()
    assert load_thresholds(session) == Thresholds(Decimal("10"), Decimal("100"))


@pytest.mark.parametrize(
    ("amount", "tier"),
    [
        (None, None),
        ("0", None),
        ("1", None),
        ("4.99999999", None),
        ("5", "major"),
        ("5.000000", "major"),
        ("49.99", "major"),
        ("50", "big"),
        ("1500", "big"),
    ],
)
def test_tier_of_default_thresholds(amount: str | None, tier: str | None) -> None:
    value = Decimal(amount) if amount is not None else None
    assert Thresholds().tier_of(value) == tier


@pytest.mark.parametrize(("amount", "tier"), [("2.99", None), ("3", "major"), ("30", "big")])
def test_tier_of_edited_thresholds(amount: str, tier: str | None) -> None:
    assert Thresholds(Decimal("3"), Decimal("30")).tier_of(Decimal(amount)) == tier


@pytest.mark.parametrize(
    ("filters", "condition", "hinted"),
    [
        ({"tier": "yi"}, "lead.estimated_investment >= ?", True),
        ({"tier": "major"}, "lead.estimated_investment >= ?", False),
        ({"tier": "big"}, "lead.estimated_investment >= ?", False),
        ({"stale": True}, "lead.stale_on <= ?", True),
        ({"too_long": True}, "lead.too_long_on <= ?", True),
        ({"stage": Stage.SIGNED}, "lead.stage = ?", False),
    ],
)
def test_filters_most_records_pass_are_told_to_sqlite(
    world: Any, filters: dict[str, Any], condition: str, hinted: bool
) -> None:
    """SQLite's planner hears that most records are above 1亿, 久未联系 or 超期 (and reads such
    a list by its other filters rather than through those ranges' indexes)."""
    shown = queries.ListFilters(**filters)
    listed = queries.filtered(world.leader, Lead, shown, Thresholds(), TODAY)
    sql = str(listed.with_only_columns(Lead.id).compile(dialect=sqlite.dialect()))
    assert condition in sql
    hint = re.search(rf"likelihood\({re.escape(condition)}, 0\.\d+\)(?! = 1)", sql)
    assert (hint is not None) is hinted
    # Not for the statistics, whose aggregates' FILTER would call likelihood() on every row.
    where = queries.conditions(Lead, shown, Thresholds(), TODAY)
    plain = str(select(Lead.id).where(*where).compile(dialect=sqlite.dialect()))
    assert condition in plain and "likelihood" not in plain


def test_threshold_labels_and_floors(app: Any) -> None:
    t = Thresholds()
    assert (t.label("major"), t.label("big"), t.label("yi")) == ("5亿元+", "50亿元+", "1亿元+")
    assert Thresholds(Decimal("7.50"), Decimal("100")).label("major") == "7.5亿元+"
    assert Thresholds(Decimal("7.50"), Decimal("100")).label("big") == "100亿元+"
    with force_locale("en"):
        assert t.label("major") == "≥ 5 × 100M CNY"
        assert Thresholds(Decimal("7.50"), Decimal("100")).label("major") == "≥ 7.5 × 100M CNY"
    assert t.floor("yi") == Decimal("1")


def test_threshold_sql_condition(session: Any, world: Any) -> None:
    for amount in ("0.5", "1", "5", "49.9", "50", "80"):
        _lead(world, estimated_investment=Decimal(amount))
    _lead(world, estimated_investment=None)
    t = Thresholds()

    def amounts(tier: str) -> list[Decimal]:
        column = Lead.estimated_investment
        return sorted(session.scalars(select(column).where(t.where(column, tier))))

    assert amounts("big") == [Decimal("50"), Decimal("80")]
    assert amounts("major") == [Decimal("5"), Decimal("49.9"), Decimal("50"), Decimal("80")]
    assert len(amounts("yi")) == 5
