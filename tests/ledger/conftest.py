"""Messy ledgers built with openpyxl, as offices keep them."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import Workbook

from tests.factories import credit_code

HEADERS = [
    "序号",
    " 项目名称 ",
    "投资主体",
    "统一社会信用代码",
    "所属园区",
    "产业环节",
    "总投资（亿元）",
    "固定资产投资(万元)",
    "项目进展",
    "签约日期",
    "开工时间",
    "招商专员",
    "备注",
]
CODE_A = credit_code(9001)
CODE_B = credit_code(9002)
#: A valid code made of digits only: Excel keeps it as a number and loses its last digits.
NUMERIC_CODE = 913702110000000010


def ledger_rows() -> list[list[Any]]:
    """Data rows: text amounts, mixed date formats, a numeric credit code, stray spaces."""
    return [
        [1, "芯片设计中心", " 青岛芯云科技有限公司 ", CODE_A, "集成电路产业园", "芯片设计",
         "3.5亿", 5000, "在谈", None, None, "张专员", "首期"],
        [2, "封测基地二期", "青岛芯云科技有限公司", CODE_A, "IC", "芯 · 芯片设计",
         12, "8000万元", "已签约", "2023.3.5", None, "officer", None],
        [3, "面板模组项目", "屏星光电股份有限公司", CODE_B,
         "集成电路产业园", None, "5000万元", None, "在建", dt.datetime(2023, 3, 5),
         "2023年6月1日", "张专员", None],
        [4, "材料项目", "新材料科技（青岛）有限公司", None, "集成电路产业园", None,
         2, None, "线索", None, None, None, None],
    ]  # fmt: skip


def build_xlsx(rows: list[list[Any]] | None = None, headers: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    headers = headers or HEADERS
    sheet.append(["2026年重点招商项目台账"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet.append(["填报日期：2026年3月1日"])
    sheet.append(headers)
    sheet.append([])
    for row in ledger_rows() if rows is None else rows:
        sheet.append(row)
    sheet.append([])
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as a user typed it
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _uploads_in_tmp(app: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """Keep uploaded ledgers of the tests out of the real instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))


@pytest.fixture
def messy_xlsx() -> bytes:
    return build_xlsx()
