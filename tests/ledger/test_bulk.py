"""The bulk import writes what importing row by row through the services writes; all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.core.audit import set_actor
from app.enterprises.models import Enterprise
from app.enterprises.services import create_enterprise
from app.ledger.importer import (
    CREATE,
    SKIP,
    UPDATE,
    ImportResult,
    LedgerFileError,
    _apply_update,
    apply_import,
    plan_import,
    read_ledger,
)
from app.pipeline import services
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, LeadSource, Project
from tests.factories import EnterpriseFactory, LeadFactory, ParkFactory, ProjectFactory, credit_code
from tests.ledger.conftest import build_xlsx

LIMITS = {"max_bytes": 5_000_000, "max_rows": 1000, "max_uncompressed": 50_000_000}
TABLES = ("enterprise", "lead", "project", "stage_change", "stage_proposal", "audit_log")
# Columns that hold the moment of writing, which differs between any two runs.
MOMENTS = {"created_at", "updated_at", "recorded_at", "proposed_at", "at"}


def apply_through_services(session: Any, user: Any, plan: Any) -> None:
    """The reference: every planned row through the enterprise and pipeline services."""
    set_actor(session, user.id, "import")
    enterprises: dict[str, Enterprise] = {}
    leads: dict[tuple[str, int], Lead] = {}
    for row in plan.rows:
        data = row.data
        if row.outcome == SKIP:
            continue
        if row.outcome == UPDATE:  # updates go through the services on both paths
            _apply_update(session, user, data, ImportResult())
            continue
        assert row.outcome == CREATE
        key = data["enterprise_key"]
        enterprise = data.get("enterprise") or enterprises.get(key)
        if enterprise is None:
            enterprise = create_enterprise(
                session, user, name=data["enterprise_name"], credit_code=data["credit_code"]
            )
            enterprises[key] = enterprise
        park = data["park"]
        common = {"chain_link": data["chain_link"], "owner": data["owner"]}
        if plan.ledger.kind == "projects":
            lead = data.get("lead") or leads.get((key, park.id))
            if lead is None:
                lead = services.create_lead(
                    session, user, enterprise=enterprise, title=data["name"], park=park,
                    source=LeadSource.OTHER, estimated_investment=data["total"],
                    started_on=data["start"], **common,
                )  # fmt: skip
                leads[(key, park.id)] = lead
            services.create_project(
                session, user, lead, name=data["name"], park=park,
                total_investment=data["total"], fixed_asset_investment=data["fixed"],
                description=data["note"], started_on=data["start"], move=data["move"], **common,
            )  # fmt: skip
        else:
            lead = services.create_lead(
                session, user, enterprise=enterprise, title=data["name"], park=park,
                source=LeadSource.OTHER, estimated_investment=data["total"],
                description=data["note"], started_on=data["start"], **common,
            )  # fmt: skip
            if data["move"] is not None:
                services.move_stage(session, user, lead, data["move"], version=lead.version)
    session.flush()


def snapshot(session: Any, after: dict[str, int]) -> dict[str, list[tuple]]:
    """Rows written since *after* (max id per table), ids replaced by what the rows are."""
    names: dict[tuple[str, int], Any] = {}
    for id_, name, code in session.execute(text("SELECT id, name, credit_code FROM enterprise")):
        names[("enterprise", id_)] = (name, code)
    for id_, title, eid, park in session.execute(
        text("SELECT id, title, enterprise_id, park_id FROM lead")
    ):
        names[("lead", id_)] = (title, names[("enterprise", eid)], park)
    for id_, name, eid in session.execute(text("SELECT id, name, enterprise_id FROM project")):
        names[("project", id_)] = (name, names[("enterprise", eid)])
    out: dict[str, list[tuple]] = {}
    for table in TABLES:
        result = session.execute(
            text(f"SELECT * FROM {table} WHERE id > :after ORDER BY id"),  # noqa: S608
            {"after": after[table]},
        )
        columns = list(result.keys())
        rows = []
        for values in result:
            row = dict(zip(columns, values, strict=True))
            entity = table if table in ("enterprise", "lead", "project") else None
            row["id"] = names.get((entity, row["id"])) if entity else None
            for ref in ("enterprise_id", "lead_id", "project_id"):
                if row.get(ref) is not None:
                    row[ref] = names[(ref.removesuffix("_id"), row[ref])]
            if table == "audit_log":
                row["entity_id"] = names[(row["entity"], row["entity_id"])]
            rows.append(tuple(sorted((k, v) for k, v in row.items() if k not in MOMENTS)))
        out[table] = rows
    # The names' pairs of the new records, by what the records are.
    kinds = {model.__search__[0]: model.__tablename__ for model in (Enterprise, Lead, Project)}
    out["name_gram"] = sorted(
        (kind, gram, names[(kinds[kind], ref_id)])
        for kind, gram, ref_id in session.execute(text("SELECT kind, gram, ref_id FROM name_gram"))
        if ref_id > after[kinds[kind]]
    )
    return out


def max_ids(session: Any) -> dict[str, int]:
    return {
        t: session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}"))  # noqa: S608
        for t in TABLES
    }


def both_ways(session: Any, user: Any, data: bytes, name: str = "台账.xlsx") -> tuple[dict, dict]:
    """Import *data* through the services, roll back, import it in bulk; both snapshots."""
    before = max_ids(session)
    snapshots = []
    for apply in (apply_through_services, apply_import):
        savepoint = session.begin_nested()
        plan = plan_import(session, user, read_ledger(data, name, **LIMITS))
        assert not plan.has_errors, [(r.number, r.message) for r in plan.rows if r.message]
        if apply is apply_import:
            apply(session, user, plan, batch_size=2)  # several batches
        else:
            apply(session, user, plan)
        session.flush()
        snapshots.append(snapshot(session, before))
        savepoint.rollback()
        session.expire_all()
    return snapshots[0], snapshots[1]


def project_rows(world: Any, existing: Enterprise) -> list[list[Any]]:
    today = dt.date.today()
    day = today - dt.timedelta(days=400)
    return [
        # Milestones with and without dates, 万元 and 亿元, notes, an owner named.
        [1, "芯片设计中心", "青岛芯云科技有限公司", credit_code(9101), "IC", "芯片设计",
         "3.5亿", 5000, "在谈", None, None, "张专员", " 首期 "],
        [2, "封测基地二期", "青岛芯云科技有限公司", credit_code(9101), "IC", None,
         12, "8000万元", "已签约", day, None, None, None],
        [3, "面板模组项目", "屏星光电股份有限公司", None, "IC", None,
         "5000万元", None, "在建", day, day + dt.timedelta(days=30), "张专员", None],
        [4, "材料项目", "新材料科技（青岛）有限公司", None, "IC", None,
         2, None, "线索", None, None, None, None],
        # An enterprise already registered (with its lead in the park), and one on hold.
        [5, "老企业新项目", existing.name, existing.credit_code, "IC", None,
         1, None, "接洽", None, None, None, None],
        [6, "暂缓的项目", "暂缓科技有限公司", None, "IC", None,
         1, None, "暂缓", None, None, "王主任", None],
        [7, "终止的项目", "终止科技有限公司", None, "IC", None,
         1, None, "终止", None, None, None, "企业撤资"],
        [8, "已签约项目", "签约科技有限公司", None, "IC", "芯 · 芯片设计", 1, None, "签约",
         today - dt.timedelta(days=900), None, "李专员", None],
    ]  # fmt: skip


@pytest.mark.parametrize("who", ["manager", "officer", "admin"])
def test_bulk_writes_what_the_services_write(session: Any, world: Any, who: str) -> None:
    user = getattr(world, who)
    existing = EnterpriseFactory()
    lead = LeadFactory(enterprise=existing, owner=world.officer, park=world.park_a)
    assert lead.stage is Stage.LEAD
    rows = project_rows(world, existing)
    if who == "officer":  # an officer imports his own records only
        rows = [[*row[:11], None, row[12]] for row in rows]
    if who == "admin":  # an admin names an owner for every new record
        rows = [[*row[:11], row[11] or "张专员", row[12]] for row in rows]
    reference, bulk = both_ways(session, user, build_xlsx(rows))
    assert reference["project"], "nothing was imported"
    assert reference["audit_log"], "nothing was audited"
    assert reference["name_gram"], "the names' pairs were not written"
    for table in (*TABLES, "name_gram"):
        assert bulk[table] == reference[table], table
    if who == "officer":
        assert reference["stage_proposal"], "an officer's milestones become proposals"
    else:
        assert not reference["stage_proposal"]


def test_bulk_leads_ledger(session: Any, world: Any) -> None:
    day = dt.date.today() - dt.timedelta(days=100)
    headers = ["线索名称", "企业名称", "统一社会信用代码", "园区", "预计投资（万元）", "阶段",
               "签约日期", "招商专员", "备注"]  # fmt: skip
    rows = [
        ["甲线索", "甲科技有限公司", credit_code(9201), "IC", 3000, "洽谈", None, "张专员", "x"],
        ["乙线索", "乙科技有限公司", None, "DISPLAY", "2亿", "签约", day, "赵主任", None],
        ["丙线索", "丙科技有限公司", None, "IC", None, "线索", None, "李专员", None],
    ]
    reference, bulk = both_ways(session, world.admin, build_xlsx(rows, headers))
    assert len(reference["lead"]) == 3
    assert reference["name_gram"], "the names' pairs were not written"
    for table in (*TABLES, "name_gram"):
        assert bulk[table] == reference[table], table


def _counts(session: Any) -> dict[str, int]:
    return {t: session.scalar(text(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}  # noqa: S608


def _rows(n: int, park: str) -> list[list[Any]]:
    return [
        [i, f"项目{i}", f"第{i}号新材料有限公司", credit_code(9300 + i), park, None, 1, None,
         "签约", "2024.5.6", None, "张专员", None]
        for i in range(1, n + 1)
    ]  # fmt: skip


def test_a_conflict_half_way_writes_nothing(session: Any, world: Any) -> None:
    """Someone registers row 5's enterprise between the dry run and the confirmation."""
    plan = plan_import(session, world.manager, read_ledger(build_xlsx(_rows(6, "IC")), "a.xlsx",
                                                           **LIMITS))  # fmt: skip
    assert plan.counts[CREATE] == 6
    EnterpriseFactory(name="抢先登记的公司", credit_code=credit_code(9305))
    before = _counts(session)
    with pytest.raises(LedgerFileError, match="已登记"):
        apply_import(session, world.manager, plan, batch_size=2)  # rows 1-4 are written first
    assert _counts(session) == before
    # The session is still usable, and a new dry run finds the enterprise by its code.
    again = plan_import(session, world.manager, read_ledger(build_xlsx(_rows(6, "IC")), "a.xlsx",
                                                            **LIMITS))  # fmt: skip
    assert again.counts[CREATE] == 6
    assert again.rows[4].data["enterprise"].name == "抢先登记的公司"


def test_a_database_failure_half_way_writes_nothing(session: Any, world: Any) -> None:
    """The database refuses a later batch (its park was removed meanwhile): all is undone."""
    park = ParkFactory(code="TMP", name="临时园区")
    rows = _rows(4, "IC") + [[9, "临时项目", "临时有限公司", None, "TMP", None, 1, None, None,
                              None, None, "张专员", None]]  # fmt: skip
    plan = plan_import(session, world.admin, read_ledger(build_xlsx(rows), "a.xlsx", **LIMITS))
    assert plan.counts[CREATE] == 5
    session.delete(park)
    session.flush()
    before = _counts(session)
    with pytest.raises(LedgerFileError, match="未写入任何数据"):
        apply_import(session, world.admin, plan, batch_size=2)
    assert _counts(session) == before
    assert session.scalar(select(func.count()).select_from(Project)) == before["project"]


def test_amounts_survive_the_bulk_path(session: Any, world: Any) -> None:
    plan = plan_import(session, world.manager, read_ledger(build_xlsx(), "a.xlsx", **LIMITS))
    apply_import(session, world.manager, plan)
    design = session.scalar(select(Project).where(Project.name == "芯片设计中心"))
    assert design.total_investment == Decimal("3.5")
    assert design.fixed_asset_investment == Decimal("0.5")
    assert design.version == 2 and design.lead.version == 1


def test_the_dry_run_reads_in_a_fixed_number_of_queries(
    session: Any, world: Any, count_queries: Any
) -> None:
    """Existing enterprises, records, open leads and pending proposals: read set-wise."""

    def ledger(n: int) -> bytes:
        rows = []
        for i in range(n):
            lead = LeadFactory(owner=world.officer, park=world.park_a)
            if i % 2:
                ProjectFactory(lead=lead, name=f"老项目{i}", total_investment=Decimal(1))
            name = f"老项目{i}" if i % 2 else f"新项目{i}"
            rows.append([i, name, lead.enterprise.name, lead.enterprise.credit_code, "IC", None,
                         2, None, None, None, None, None, None])  # fmt: skip
        return build_xlsx(rows)

    few, many = ledger(3), ledger(30)
    session.expire_all()
    counts = []
    for data in (few, many):
        parsed = read_ledger(data, "a.xlsx", **LIMITS)
        with count_queries() as counted:
            planned = plan_import(session, world.manager, parsed)
        assert {r.outcome for r in planned.rows} == {"create", "update"}
        counts.append(counted.count)
    assert counts[0] == counts[1]


def test_statistics_refreshed_after_a_large_import(
    session: Any, world: Any, monkeypatch: Any
) -> None:
    """On PostgreSQL a large import ends with ANALYZE, inside the import's transaction."""
    from app.ledger import bulk

    monkeypatch.setattr(bulk, "ANALYZE_AFTER", 2)
    plan = plan_import(session, world.manager, read_ledger(build_xlsx(), "a.xlsx", **LIMITS))
    result = apply_import(session, world.manager, plan)
    assert (result.enterprises, result.leads, result.projects) == (3, 3, 4)


def test_a_column_with_a_default_must_be_given(session: Any, world: Any) -> None:
    """The plain INSERT applies no Python-side default: leaving such a column out is refused."""
    from app.ledger.bulk import _insert

    with pytest.raises(TypeError, match="which has a default"):
        _insert(session, Lead.__table__, [{"title": "无版本号的线索"}])
