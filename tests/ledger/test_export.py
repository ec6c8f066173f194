"""Ledger export: xlsx and CSV shape, values and types, formula injection, visibility, filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from app.enterprises.models import Enterprise
from app.ledger.exporter import EXPORT_COLUMNS, export_ledger, export_title, headers
from app.pipeline.flags import load_thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project
from app.pipeline.queries import ListFilters, filtered, list_page_stmt
from tests.factories import (
    ChainLinkFactory,
    EnterpriseFactory,
    LeadFactory,
    ParkFactory,
    ProjectFactory,
    credit_code,
)

TODAY = dt.date(2026, 11, 27)
INJECTIONS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture
def ctx(app: Flask, session: Session) -> Iterator[None]:
    with app.test_request_context():
        yield


def _xlsx(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data)).active


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _column(kind: str, header: str) -> int:
    """1-based column index of *header* in a ledger of *kind*."""
    return headers(kind).index(header) + 1


def _ids(session: Session, user: Any, model: Any, filters: ListFilters) -> list[int]:
    stmt = list_page_stmt(filtered(user, model, filters, load_thresholds(session)), model)
    return [r.id for r in session.scalars(stmt)]


def _names(data: bytes, kind: str) -> list[str]:
    col = _column(kind, "线索名称" if kind == "leads" else "项目名称")
    ws = _xlsx(data)
    return [row[col - 1] for row in ws.iter_rows(min_row=3, values_only=True)]


@pytest.fixture
def project(world: Any) -> Project:
    enterprise = EnterpriseFactory(name="青岛芯恩半导体有限公司", credit_code=credit_code(42))
    lead = LeadFactory(
        title="芯恩二期线索",
        enterprise=enterprise,
        owner=world.officer,
        park=world.park_a,
        chain_link=world.link,
        estimated_investment=Decimal("12.5"),
    )
    return ProjectFactory(
        lead=lead,
        name="芯恩12英寸晶圆二期",
        chain_link=world.link,
        total_investment=Decimal("150.456"),
        fixed_asset_investment=Decimal("3.5"),
        stage=Stage.CONSTRUCTION,
        signed_on=dt.date(2026, 3, 5),
        construction_on=dt.date(2026, 6, 1),
        last_contact_on=dt.date(2026, 11, 20),
        description="要素保障：用地已落实",
    )


def test_xlsx_project_ledger_shape_and_values(
    session: Session, world: Any, project: Project, ctx: None
) -> None:
    data = export_ledger(session, world.admin, "projects", ListFilters(), "xlsx", today=TODAY)
    ws = _xlsx(data)
    width = len(headers("projects"))

    assert ws["A1"].value == "项目台账（导出于 2026-11-27）"
    assert [str(r) for r in ws.merged_cells.ranges] == [f"A1:{get_column_letter(width)}1"]
    assert [c.value for c in ws[2]] == headers("projects")
    assert headers("projects")[:4] == ["序号", "项目名称", "企业名称", "统一社会信用代码"]
    assert ws.freeze_panes == "A3"
    assert ws.column_dimensions["B"].width >= 20
    assert ws.max_row == 3

    def cell(header: str) -> Any:
        return ws.cell(3, _column("projects", header))

    assert cell("序号").value == 1
    assert cell("项目名称").value == "芯恩12英寸晶圆二期"
    assert cell("企业名称").value == "青岛芯恩半导体有限公司"
    code = cell("统一社会信用代码")
    assert code.value == credit_code(42)
    assert code.data_type == "s"
    assert code.number_format == "@"
    assert cell("所属园区").value == "集成电路产业园"
    assert cell("产业链").value == "芯"
    assert cell("产业链环节").value == "芯片设计"
    assert cell("阶段").value == "开工"
    total = cell("总投资（亿元）")
    assert total.data_type == "n"
    assert total.value == pytest.approx(150.456)
    assert total.number_format == "0.00"
    fixed = cell("固定资产投资（亿元）")
    assert fixed.value == pytest.approx(3.5)
    assert fixed.number_format == "0.00"
    signed = cell("签约日期")
    assert signed.is_date
    assert signed.value.date() == dt.date(2026, 3, 5)
    assert signed.number_format == "yyyy-mm-dd"
    assert cell("开工日期").value.date() == dt.date(2026, 6, 1)
    assert cell("投产日期").value is None
    assert cell("最近联系").value.date() == dt.date(2026, 11, 20)
    assert cell("负责人").value == "张专员"
    assert cell("备注").value == "要素保障：用地已落实"


def test_xlsx_lead_ledger(session: Session, world: Any, project: Project, ctx: None) -> None:
    data = export_ledger(session, world.admin, "leads", ListFilters(), "xlsx", today=TODAY)
    ws = _xlsx(data)
    assert ws["A1"].value == export_title("leads", TODAY) == "线索台账（导出于 2026-11-27）"
    assert ws.cell(2, 2).value == "线索名称"
    amount = ws.cell(3, _column("leads", "预计投资（亿元）"))
    assert amount.value == pytest.approx(12.5)
    assert amount.number_format == "0.00"
    assert ws.cell(3, _column("leads", "线索来源")).value == "上门拜访"


def test_csv_project_ledger(session: Session, world: Any, project: Project, ctx: None) -> None:
    rows = _csv(export_ledger(session, world.admin, "projects", ListFilters(), "csv"))
    assert rows[0] == headers("projects")  # no title row
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["序号"] == "1"
    assert row["项目名称"] == "芯恩12英寸晶圆二期"
    assert row["统一社会信用代码"] == credit_code(42)
    assert row["总投资（亿元）"] == "150.46"
    assert row["固定资产投资（亿元）"] == "3.50"
    assert row["签约日期"] == "2026-03-05"
    assert row["投产日期"] == ""
    assert row["阶段"] == "开工"


def test_empty_amounts_and_missing_credit_code(session: Session, world: Any, ctx: None) -> None:
    foreign = EnterpriseFactory(name="Foreign GmbH", credit_code=None)
    LeadFactory(
        enterprise=foreign, owner=world.officer, park=world.park_a, estimated_investment=None
    )
    ws = _xlsx(export_ledger(session, world.admin, "leads", ListFilters(), "xlsx"))
    assert ws.cell(3, _column("leads", "统一社会信用代码")).value is None
    assert ws.cell(3, _column("leads", "预计投资（亿元）")).value is None
    rows = _csv(export_ledger(session, world.admin, "leads", ListFilters(), "csv"))
    assert rows[1][_column("leads", "预计投资（亿元）") - 1] == ""


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_injection_is_text_in_both_formats(
    session: Session, world: Any, ctx: None, text: str
) -> None:
    enterprise = EnterpriseFactory(name=text + "公司")
    LeadFactory(title=text, enterprise=enterprise, owner=world.officer, park=world.park_a)

    ws = _xlsx(export_ledger(session, world.admin, "leads", ListFilters(), "xlsx"))
    for header, expected in (("线索名称", text), ("企业名称", text + "公司")):
        cell = ws.cell(3, _column("leads", header))
        assert cell.data_type == "s", header
        assert cell.value == expected, header

    rows = _csv(export_ledger(session, world.admin, "leads", ListFilters(), "csv"))
    assert rows[1][_column("leads", "线索名称") - 1] == "'" + text
    assert rows[1][_column("leads", "企业名称") - 1] == "'" + text + "公司"


def test_xlsx_formula_text_is_not_stored_as_formula(
    session: Session, world: Any, ctx: None
) -> None:
    LeadFactory(title='=HYPERLINK("http://x")', owner=world.officer, park=world.park_a)
    data = export_ledger(session, world.admin, "leads", ListFilters(), "xlsx")
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    assert "HYPERLINK" in sheet


def test_plain_text_with_dash_inside_is_unchanged(session: Session, world: Any, ctx: None) -> None:
    LeadFactory(title="二期-扩产", owner=world.officer, park=world.park_a)
    rows = _csv(export_ledger(session, world.admin, "leads", ListFilters(), "csv"))
    assert rows[1][1] == "二期-扩产"


def test_officer_sees_only_his_rows(session: Session, world: Any, ctx: None) -> None:
    LeadFactory(title="我的线索", owner=world.officer, park=world.park_a)
    LeadFactory(title="别人的线索", owner=world.other_officer, park=world.park_a)
    data = export_ledger(session, world.officer, "leads", ListFilters(), "xlsx")
    assert _names(data, "leads") == ["我的线索"]
    rows = _csv(export_ledger(session, world.officer, "leads", ListFilters(), "csv"))
    assert [r[1] for r in rows[1:]] == ["我的线索"]


def test_manager_sees_only_his_parks(session: Session, world: Any, ctx: None) -> None:
    lead_a = LeadFactory(owner=world.officer, park=world.park_a)
    lead_b = LeadFactory(owner=world.officer, park=world.park_b)
    ProjectFactory(lead=lead_a, name="A园项目")
    ProjectFactory(lead=lead_b, name="B园项目")
    data = export_ledger(session, world.manager, "projects", ListFilters(), "xlsx")
    assert _names(data, "projects") == ["A园项目"]
    data = export_ledger(session, world.other_manager, "projects", ListFilters(), "xlsx")
    assert _names(data, "projects") == ["B园项目"]


def test_filters_give_the_same_rows_as_the_list(session: Session, world: Any, ctx: None) -> None:
    for i in range(6):
        lead = LeadFactory(
            title=f"线索{i}",
            owner=world.officer if i % 2 else world.other_officer,
            park=world.park_a if i < 3 else world.park_b,
            chain_link=world.link if i % 3 == 0 else None,
            estimated_investment=Decimal(i * 3),
        )
        ProjectFactory(lead=lead, name=f"项目{i}", total_investment=Decimal(i * 20))
    cases = [
        ListFilters(),
        ListFilters(park_id=world.park_a.id),
        ListFilters(link_id=world.link.id),
        ListFilters(chain_ids=(world.chain.id,)),
        ListFilters(tier="major"),
        ListFilters(tier="big"),
        ListFilters(owner_id=world.officer.id),
        ListFilters(stage=Stage.SIGNED),
        ListFilters(q="项目3"),
        ListFilters(q="线索4"),
    ]
    for kind, model in (("leads", Lead), ("projects", Project)):
        name_of = {r.id: (r.title if model is Lead else r.name) for r in session.query(model)}
        for filters in cases:
            expected = [name_of[i] for i in _ids(session, world.admin, model, filters)]
            data = export_ledger(session, world.admin, kind, filters, "xlsx")
            assert _names(data, kind) == expected, (kind, filters)
            rows = _csv(export_ledger(session, world.admin, kind, filters, "csv"))
            assert [r[1] for r in rows[1:]] == expected, (kind, filters)
    assert session.query(Enterprise).count() >= 6


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_query_count_does_not_grow_with_rows(
    session: Session, world: Any, ctx: None, count_queries: Any, fmt: str
) -> None:
    def make(n: int) -> None:
        # Each record in a park and chain link of its own: their names come with the rows.
        for _ in range(n):
            park, link = ParkFactory(), ChainLinkFactory()
            lead = LeadFactory(owner=world.officer, park=park, chain_link=link)
            ProjectFactory(lead=lead, park=park, chain_link=link)

    make(3)
    session.expire_all()
    with count_queries() as few:
        for kind in ("leads", "projects"):
            export_ledger(session, world.admin, kind, ListFilters(), fmt)
    make(27)
    session.expire_all()
    with count_queries() as many:
        for kind in ("leads", "projects"):
            data = export_ledger(session, world.admin, kind, ListFilters(), fmt)
    assert few.count == many.count
    if fmt == "xlsx":
        assert _xlsx(data).max_row == 2 + 30


def test_unknown_kind_or_format(session: Session, world: Any, ctx: None) -> None:
    with pytest.raises(ValueError):
        export_ledger(session, world.admin, "enterprises", ListFilters(), "xlsx")
    with pytest.raises(ValueError):
        export_ledger(session, world.admin, "leads", ListFilters(), "pdf")


def test_columns_are_declared_per_kind() -> None:
    assert set(EXPORT_COLUMNS) == {"leads", "projects"}
    assert "预计投资（亿元）" in headers("leads")
    assert {"总投资（亿元）", "固定资产投资（亿元）"} <= set(headers("projects"))
