"""The 阶段日期 column, and re-imported rows whose park or owner changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.core.audit import AuditLog
from app.core.timeutil import today_local
from app.ledger.importer import apply_import, plan_import, read_ledger
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project, StageChange
from tests.factories import LeadFactory, ProjectFactory, credit_code
from tests.ledger.conftest import build_xlsx

LIMITS = {"max_bytes": 5_000_000, "max_rows": 1000, "max_uncompressed": 50_000_000}
HEADERS = ["项目名称", "企业名称", "统一社会信用代码", "所属园区", "总投资（亿元）", "项目进展",
           "阶段日期", "签约日期", "招商专员"]  # fmt: skip


def plan(session: Any, user: Any, rows: list[list[Any]]):
    return plan_import(session, user, read_ledger(build_xlsx(rows, HEADERS), "a.xlsx", **LIMITS))


def history(session: Any, project: Project) -> list[tuple]:
    stmt = select(StageChange).where(StageChange.project_id == project.id).order_by(StageChange.id)
    return [(c.from_stage, c.to_stage, c.effective_on) for c in session.scalars(stmt)]


def project_named(session: Any, name: str) -> Project:
    return session.scalar(select(Project).where(Project.name == name))


# --- 阶段日期 ---------------------------------------------------------------------------------


def test_stage_date_dates_a_new_record(session: Any, world: Any) -> None:
    may6, march1 = dt.date(2024, 5, 6), dt.date(2024, 3, 1)
    rows = [
        ["在谈项目", "甲公司", credit_code(9401), "IC", 1, "洽谈", "2024.5.6", None, "张专员"],
        ["新线索", "乙公司", credit_code(9402), "IC", 1, "线索", "2024年3月1日", None, "张专员"],
        ["暂缓项目", "丙公司", credit_code(9403), "IC", 1, "暂缓", may6, None, "张专员"],
        ["签约项目", "丁公司", credit_code(9404), "IC", 1, "签约", may6, may6, "张专员"],
    ]
    planned = plan(session, world.manager, rows)
    assert [r.outcome for r in planned.rows] == ["create"] * 4, [r.message for r in planned.rows]
    apply_import(session, world.manager, planned)
    talks = project_named(session, "在谈项目")
    assert (talks.stage, talks.stage_since) == (Stage.NEGOTIATING, may6)
    lead, contacted, negotiating = Stage.LEAD, Stage.CONTACTED, Stage.NEGOTIATING
    assert history(session, talks) == [
        (None, lead, may6), (lead, contacted, may6), (contacted, negotiating, may6)
    ]  # fmt: skip
    new = project_named(session, "新线索")
    assert (new.stage, new.stage_since) == (Stage.LEAD, march1)
    assert new.lead.stage_since == march1
    held = project_named(session, "暂缓项目")
    assert (held.stage, held.stage_since, held.held_from) == (Stage.ON_HOLD, may6, Stage.LEAD)
    signed = project_named(session, "签约项目")
    assert (signed.stage_since, signed.signed_on) == (may6, may6)


def test_stage_date_must_agree_and_not_be_in_the_future(session: Any, world: Any) -> None:
    tomorrow = today_local() + dt.timedelta(days=1)
    rows = [
        ["签约项目", "甲公司", None, "IC", 1, "签约", "2024.5.6", "2024.5.7", "张专员"],
        ["未来项目", "乙公司", None, "IC", 1, "洽谈", tomorrow, None, "张专员"],
    ]
    planned = plan(session, world.manager, rows)
    assert [r.outcome for r in planned.rows] == ["error", "error"]
    assert "不一致" in planned.rows[0].message
    assert "不能晚于今天" in planned.rows[1].message


def test_stage_date_dates_a_move_of_an_existing_record(session: Any, world: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    project = ProjectFactory(lead=lead, name="老项目", stage=Stage.LEAD, signed_on=None,
                             stage_since=today_local() - dt.timedelta(days=30))  # fmt: skip
    day = today_local() - dt.timedelta(days=5)
    row = ["老项目", lead.enterprise.name, lead.enterprise.credit_code, "IC", 10, "接洽", day,
           None, None]  # fmt: skip
    planned = plan(session, world.officer, [row])
    assert planned.rows[0].outcome == "update", planned.rows[0].message
    apply_import(session, world.officer, planned)
    assert (project.stage, project.stage_since) == (Stage.CONTACTED, day)


# --- park and owner changes -------------------------------------------------------------------


def _existing(world: Any) -> Project:
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    return ProjectFactory(lead=lead, name="老项目", total_investment=10)


def _row(project: Project, park: str | None, owner: str | None) -> list[Any]:
    enterprise = project.enterprise
    return ["老项目", enterprise.name, enterprise.credit_code, park, 10, None, None, None, owner]


def _audit(session: Any, project: Project, field: str) -> list[tuple]:
    stmt = select(AuditLog).where(
        AuditLog.entity == "project", AuditLog.entity_id == project.id, AuditLog.field == field
    )
    return [(a.old_value, a.new_value, a.actor_id, a.source) for a in session.scalars(stmt)]


def test_manager_reassigns_through_the_ledger(session: Any, world: Any) -> None:
    project = _existing(world)
    planned = plan(session, world.manager, [_row(project, "IC", "李专员")])
    assert planned.rows[0].outcome == "update"
    assert "负责人 张专员→李专员" in planned.rows[0].message
    assert project.owner_id == world.officer.id  # the dry run changed nothing
    apply_import(session, world.manager, planned)
    assert project.owner_id == world.other_officer.id
    assert _audit(session, project, "owner_id") == [
        (str(world.officer.id), str(world.other_officer.id), world.manager.id, "import")
    ]
    # Imported again: nothing left to change.
    assert plan(session, world.manager, [_row(project, "IC", "李专员")]).rows[0].outcome == "skip"


def test_admin_moves_a_record_to_another_park(session: Any, world: Any) -> None:
    project = _existing(world)
    planned = plan(session, world.admin, [_row(project, "新型显示产业园", None)])
    assert planned.rows[0].outcome == "update"
    assert "园区 集成电路产业园→新型显示产业园" in planned.rows[0].message
    apply_import(session, world.admin, planned)
    assert project.park_id == world.park_b.id
    assert project.lead.park_id == world.park_a.id  # the lead keeps its own park
    assert _audit(session, project, "park_id") == [
        (str(world.park_a.id), str(world.park_b.id), world.admin.id, "import")
    ]


def test_changes_the_user_may_not_make_are_errors(session: Any, world: Any) -> None:
    project = _existing(world)
    # A manager may not move a record into a park he does not manage.
    manager = plan(session, world.manager, [_row(project, "DISPLAY", None)])
    assert manager.rows[0].outcome == "error"
    assert "不负责“新型显示产业园”" in manager.rows[0].message
    # An officer may not hand his record to someone else.
    officer = plan(session, world.officer, [_row(project, "IC", "李专员")])
    assert officer.rows[0].outcome == "error"
    # A park manager of another park cannot be the owner of an IC record.
    admin = plan(session, world.admin, [_row(project, "IC", "赵主任")])
    assert admin.rows[0].outcome == "error"
    assert "赵主任不负责“集成电路产业园”" in admin.rows[0].message
    assert (project.park_id, project.owner_id) == (world.park_a.id, world.officer.id)


def test_blank_park_and_owner_change_nothing(session: Any, world: Any) -> None:
    project = _existing(world)
    for user in (world.officer, world.manager, world.admin):
        planned = plan(session, user, [_row(project, None, None)])
        assert planned.rows[0].outcome == "skip", planned.rows[0].message
    lead = session.get(Lead, project.lead_id)
    assert lead.owner_id == world.officer.id


# --- one enterprise, two owners in one file ---------------------------------------------------


def test_a_second_owner_for_a_new_enterprise_is_refused_in_the_dry_run(
    session: Any, world: Any
) -> None:
    """create_lead refuses a lead for an enterprise someone else courts: the plan says so."""
    rows = [
        ["甲项目", "新企业有限公司", None, "IC", 1, None, None, None, "张专员"],
        ["乙项目", "新企业有限公司", None, "DISPLAY", 1, None, None, None, "张专员"],
        ["丙项目", "新企业有限公司", None, "IC", 1, None, None, None, "李专员"],  # joins 甲's lead
        ["丁项目", "新企业有限公司", None, "新型显示产业园", 1, None, None, None, "李专员"],
    ]
    planned = plan(session, world.admin, rows)
    assert [r.outcome for r in planned.rows] == ["create", "create", "create", "create"]
    assert "归入第5行新增的线索" in planned.rows[2].message
    assert "归入第6行新增的线索" in planned.rows[3].message
    other = [
        ["戊项目", "新企业有限公司", None, "IC", 1, None, None, None, "张专员"],
        ["己项目", "新企业有限公司", None, "DISPLAY", 1, None, None, None, "李专员"],
    ]
    refused = plan(session, world.admin, other)
    assert [r.outcome for r in refused.rows] == ["create", "error"]
    assert "张专员（集成电路产业园）" in refused.rows[1].message
