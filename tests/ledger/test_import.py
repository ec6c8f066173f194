"""Importing messy ledgers: reading, the dry run, applying, bad files, visibility."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.enterprises.models import Enterprise
from app.ledger.importer import (
    LedgerFileError,
    apply_import,
    parse_date,
    plan_import,
    plan_report_xlsx,
    read_ledger,
)
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project, StageProposal
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory
from tests.ledger.conftest import CODE_A, CODE_B, HEADERS, NUMERIC_CODE, build_xlsx

LIMITS = {"max_bytes": 5_000_000, "max_rows": 1000, "max_uncompressed": 50_000_000}


def read(data: bytes, name: str = "台账.xlsx", **limits: int):
    return read_ledger(data, name, **{**LIMITS, **limits})


def counts(session: Any) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(m)) for m in (Enterprise, Lead, Project)
    )


def outcomes(plan) -> dict[int, str]:
    return {row.number: row.outcome for row in plan.rows}


# --- reading ----------------------------------------------------------------------------------


def test_reads_header_units_and_values(messy_xlsx: bytes) -> None:
    parsed = read(messy_xlsx)
    assert parsed.kind == "projects"
    assert parsed.header_row == 3
    assert parsed.units["fixed_asset_investment"] == "万元"
    assert parsed.units["total_investment"] == "亿元"
    assert [r.number for r in parsed.rows] == [5, 6, 7, 8]
    first, second, third, fourth = (r.values for r in parsed.rows)
    assert first["enterprise_name"] == "青岛芯云科技有限公司"
    assert first["total_investment"] == Decimal("3.5")
    assert first["fixed_asset_investment"] == Decimal("0.5")
    assert first["stage"] is Stage.NEGOTIATING
    assert second["credit_code"] == CODE_A
    assert second["fixed_asset_investment"] == Decimal("0.8")
    assert second["signed_on"] == dt.date(2023, 3, 5)
    assert second["stage"] is Stage.SIGNED
    assert third["total_investment"] == Decimal("0.5")
    assert third["signed_on"] == dt.date(2023, 3, 5)
    assert third["construction_on"] == dt.date(2023, 6, 1)
    assert third["stage"] is Stage.CONSTRUCTION
    assert fourth["stage"] is Stage.LEAD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023.3.5", dt.date(2023, 3, 5)),
        ("2023/03/05", dt.date(2023, 3, 5)),
        ("2023年3月5日", dt.date(2023, 3, 5)),
        ("2023-3-5", dt.date(2023, 3, 5)),
        (44990, dt.date(2023, 3, 5)),
        (dt.datetime(2023, 3, 5, 0, 0), dt.date(2023, 3, 5)),
        ("20230305", dt.date(2023, 3, 5)),
    ],
)
def test_dates_written_many_ways(text: Any, expected: dt.date) -> None:
    assert parse_date(text) == expected


def test_numeric_credit_code_is_an_error(session: Any, world: Any) -> None:
    row = [1, "项目甲", "甲公司", NUMERIC_CODE, "IC", None, 1, None, "线索", None, None, None, None]
    parsed = read(build_xlsx([row]))
    assert "存成了数字" in parsed.rows[0].errors[0]
    plan = plan_import(session, world.officer, parsed)
    assert plan.rows[0].outcome == "error"


def test_csv_in_gb18030(session: Any, world: Any) -> None:
    text = "项目名称,企业名称,园区,总投资（万元）\n测试项目,甲科技有限公司,IC,35000\n"
    parsed = read(text.encode("gb18030"), "台账.csv")
    assert parsed.rows[0].values["total_investment"] == Decimal("3.5")
    assert parsed.rows[0].number == 2


# --- bad files --------------------------------------------------------------------------------


def _formula_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["项目名称", "企业名称", "总投资"])
    sheet.append(["甲", "甲公司", "=1+2"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _bomb_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 2_000_000)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "limits", "message"),
    [
        (b"%PDF-1.4 not a sheet", "a.xlsx", {}, "不是有效的 Excel"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "a.xlsx", {}, "加密"),
        (b"hello", "a.pdf", {}, "只能导入"),
        (b"", "a.xlsx", {}, "空"),
        ("备注\n随便写写\n".encode(), "a.csv", {}, "未找到可识别的表头"),
        (b"x" * 2000, "a.csv", {"max_bytes": 1000}, "文件过大"),
        (None, "a.xlsx", {"max_rows": 2}, "数据行过多"),
        ("bomb", "a.xlsx", {"max_uncompressed": 1_000_000}, "解压后过大"),
        ("formula", "a.xlsx", {}, "公式"),
    ],
)
def test_bad_files(
    session: Any, data: Any, name: str, limits: dict, message: str, messy_xlsx: bytes
) -> None:
    data = {None: messy_xlsx, "bomb": _bomb_xlsx(), "formula": _formula_xlsx()}.get(data, data)
    before = counts(session)
    with pytest.raises(LedgerFileError) as exc:
        read(data, name, **limits)
    assert message in exc.value.message
    assert counts(session) == before


def test_header_only_is_empty() -> None:
    with pytest.raises(LedgerFileError, match="没有数据行"):
        read(build_xlsx([]))


# --- plan and apply ---------------------------------------------------------------------------


def test_dry_run_writes_nothing(session: Any, world: Any, messy_xlsx: bytes) -> None:
    before = counts(session)
    plan = plan_import(session, world.officer, read(messy_xlsx))
    assert outcomes(plan) == {5: "create", 6: "create", 7: "create", 8: "create"}
    assert not plan.has_errors
    assert counts(session) == before


def test_manager_apply_writes_everything(session: Any, world: Any, messy_xlsx: bytes) -> None:
    plan = plan_import(session, world.manager, read(messy_xlsx))
    assert not plan.has_errors, [r.message for r in plan.rows]
    result = apply_import(session, world.manager, plan)
    assert (result.enterprises, result.leads, result.projects) == (3, 3, 4)
    enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == CODE_A))
    assert enterprise.name == "青岛芯云科技有限公司"
    projects = {p.name: p for p in session.scalars(select(Project))}
    design = projects["芯片设计中心"]
    assert design.total_investment == Decimal("3.5")
    assert design.fixed_asset_investment == Decimal("0.5")
    assert design.stage is Stage.NEGOTIATING
    assert design.chain_link_id == world.link.id
    assert design.owner_id == world.officer.id
    assert design.description == "首期"
    packaging = projects["封测基地二期"]
    assert packaging.stage is Stage.SIGNED and packaging.signed_on == dt.date(2023, 3, 5)
    assert packaging.lead_id == design.lead_id  # one lead per enterprise and park
    panel = projects["面板模组项目"]
    assert panel.enterprise.credit_code == CODE_B
    assert panel.stage is Stage.CONSTRUCTION
    assert (panel.signed_on, panel.construction_on) == (dt.date(2023, 3, 5), dt.date(2023, 6, 1))
    materials = projects["材料项目"]
    assert materials.stage is Stage.LEAD and materials.owner_id == world.manager.id
    sources = set(
        session.scalars(select(AuditLog.source).where(AuditLog.entity == "project").distinct())
    )
    assert sources == {"import"}

    # The same file again creates nothing.
    before = counts(session)
    again = plan_import(session, world.manager, read(messy_xlsx))
    assert set(outcomes(again).values()) == {"skip"}
    apply_import(session, world.manager, again)
    assert counts(session) == before


def test_officer_milestones_become_proposals(session: Any, world: Any, messy_xlsx: bytes) -> None:
    plan = plan_import(session, world.officer, read(messy_xlsx))
    result = apply_import(session, world.officer, plan)
    assert result.proposals == 2
    assert session.scalar(select(func.count()).select_from(StageProposal)) == 2
    again = plan_import(session, world.officer, read(messy_xlsx))
    assert set(outcomes(again).values()) == {"skip"}


def test_update_changes_amounts(session: Any, world: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    ProjectFactory(lead=lead, name="老项目", total_investment=Decimal("1"))
    row = [1, "老项目", lead.enterprise.name, lead.enterprise.credit_code, "IC", None,
           "2亿", None, None, None, None, None, None]  # fmt: skip
    plan = plan_import(session, world.officer, read(build_xlsx([row])))
    assert plan.rows[0].outcome == "update", plan.rows[0].message
    apply_import(session, world.officer, plan)
    assert session.scalar(select(Project.total_investment).where(Project.name == "老项目")) == 2


def test_error_row_blocks_apply(session: Any, world: Any) -> None:
    rows = [
        [1, "好项目", "好公司", None, "IC", None, 1, None, None, None, None, None, None],
        [2, "坏项目", "坏公司", None, "IC", None, "很多", None, None, None, None, None, None],
        [3, "坏日期", "丙公司", None, "IC", None, 1, None, "在建", "2023.9.1", "2023.3.1",
         None, None],
    ]  # fmt: skip
    plan = plan_import(session, world.manager, read(build_xlsx(rows)))
    assert outcomes(plan) == {5: "create", 6: "error", 7: "error"}
    assert "无法识别的金额" in plan.rows[1].message
    assert "阶段与日期不符" in plan.rows[2].message
    before = counts(session)
    with pytest.raises(LedgerFileError, match="错误"):
        apply_import(session, world.manager, plan)
    assert counts(session) == before


def test_visibility(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory()
    lead = LeadFactory(owner=world.other_officer, park=world.park_a, enterprise=enterprise)
    ProjectFactory(lead=lead, name="别人的项目")
    row = [1, "别人的项目", enterprise.name, enterprise.credit_code, "IC", None, 9, None,
           None, None, None, None, None]  # fmt: skip
    other_park = [2, "乙项目", "乙公司", None, "DISPLAY", None, 1, None, None, None, None,
                  None, None]  # fmt: skip
    someone_else = [3, "丙项目", "丙公司", None, "IC", None, 1, None, None, None, None,
                    "李专员", None]  # fmt: skip
    parsed = read(build_xlsx([row, other_park, someone_else]))
    officer = plan_import(session, world.officer, parsed)
    assert outcomes(officer) == {5: "error", 6: "create", 7: "error"}
    assert "不在您的负责范围" in officer.rows[0].message
    assert "本人负责" in officer.rows[2].message
    manager = plan_import(session, world.manager, parsed)
    assert outcomes(manager) == {5: "update", 6: "error", 7: "create"}
    assert "不负责" in manager.rows[1].message
    leader = plan_import(session, world.leader, parsed)
    assert set(outcomes(leader).values()) == {"error"}


def test_report_workbook_has_error_column(session: Any, world: Any) -> None:
    rows = [
        [1, "=HYPERLINK(\"http://x\")", "好公司", None, "IC", None, 1, None, None, None, None,
         None, None],
        [2, "坏项目", "坏公司", None, "IC", None, "很多", None, None, None, None, None, None],
    ]  # fmt: skip
    plan = plan_import(session, world.manager, read(build_xlsx(rows)))
    sheet = load_workbook(io.BytesIO(plan_report_xlsx(plan))).active
    values = list(sheet.values)
    assert values[0][0] == "行号" and values[0][-2:] == ("处理结果", "错误说明")
    assert values[0][1 : 1 + len(HEADERS)] == tuple(h.strip() for h in HEADERS)
    assert values[1][2] == '=HYPERLINK("http://x")'
    assert sheet.cell(row=2, column=3).data_type == "s"
    assert values[2][-2] == "错误" and "无法识别的金额" in values[2][-1]


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_through_the_export(
    session: Any, world: Any, messy_xlsx: bytes, fmt: str, locale: str
) -> None:
    """Whatever the language of the page, an export is a Chinese ledger that imports again."""
    from flask_babel import force_locale

    from app.ledger.exporter import export_ledger
    from app.pipeline.queries import ListFilters

    apply_import(session, world.manager, plan_import(session, world.manager, read(messy_xlsx)))
    before = counts(session)
    with force_locale(locale):
        data = export_ledger(session, world.manager, "projects", ListFilters(), fmt)
    again = plan_import(session, world.manager, read(data, f"导出.{fmt}"))
    assert set(outcomes(again).values()) == {"skip"}, [r.message for r in again.rows]
    apply_import(session, world.manager, again)
    assert counts(session) == before
