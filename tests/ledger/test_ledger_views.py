"""The ledger pages as each role: upload, dry-run report, apply, report download, export."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask_babel import refresh
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.pipeline.models import Project
from tests.ledger.conftest import build_xlsx


def upload(client: Any, data: bytes, name: str = "台账.xlsx") -> Any:
    return client.post(
        "/ledger/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def projects(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(Project))


def test_manager_uploads_checks_and_applies(
    session: Any, world: Any, login_as: Any, messy_xlsx: bytes
) -> None:
    client = login_as(world.manager)
    assert client.get("/ledger/import").status_code == 200
    response = upload(client, messy_xlsx)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('data-outcome="create"') == 4
    assert projects(session) == 0
    token = re.search(r"/ledger/import/([A-Za-z0-9_-]+)/apply", page)[1]
    report = client.get(f"/ledger/import/{token}/report.xlsx")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.data)).active
    assert sheet.cell(row=1, column=sheet.max_column).value == "错误说明"
    done = client.post(f"/ledger/import/{token}/apply")
    assert done.status_code == 302
    assert projects(session) == 4
    # The upload is gone once applied.
    assert client.post(f"/ledger/import/{token}/apply").status_code == 404


def test_error_rows_show_no_apply_button(session: Any, world: Any, login_as: Any) -> None:
    rows = [[1, "坏项目", "坏公司", None, "IC", None, "很多", None, None, None, None, None, None]]
    client = login_as(world.officer)
    page = upload(client, build_xlsx(rows)).get_data(as_text=True)
    assert "无法识别的金额" in page
    assert "/apply" not in page


def test_bad_file_message(world: Any, login_as: Any) -> None:
    client = login_as(world.officer)
    page = upload(client, b"not a spreadsheet").get_data(as_text=True)
    assert "不是有效的 Excel" in page


def test_other_users_token_is_hidden(world: Any, login_as: Any, messy_xlsx: bytes) -> None:
    client = login_as(world.manager)
    page = upload(client, messy_xlsx).get_data(as_text=True)
    token = re.search(r"/ledger/import/([A-Za-z0-9_-]+)/apply", page)[1]
    client = login_as(world.officer)
    assert client.post(f"/ledger/import/{token}/apply").status_code == 404
    assert client.get(f"/ledger/import/{token}/report.xlsx").status_code == 404


def test_an_english_user_reads_the_check_and_its_report_in_english(
    session: Any, world: Any, login_as: Any, messy_xlsx: bytes
) -> None:
    world.manager.locale = "en"
    client = login_as(world.manager)
    refresh()  # the suite's requests share one application context, where the locale is kept

    page = upload(client, messy_xlsx).get_data(as_text=True)

    assert "New enterprise “青岛芯云科技有限公司”" in page
    assert "New project “芯片设计中心”" in page
    assert "Added to the lead created by row 5" in page  # the file's first data row
    assert "新增" not in page
    token = re.search(r"/ledger/import/([A-Za-z0-9_-]+)/apply", page)[1]
    refresh()
    sheet = load_workbook(io.BytesIO(client.get(f"/ledger/import/{token}/report.xlsx").data)).active
    assert sheet.title == "Import result"
    assert sheet.cell(row=1, column=1).value == "Row"
    assert sheet.cell(row=1, column=sheet.max_column - 1).value == "Outcome"
    assert sheet.cell(row=1, column=sheet.max_column).value == "Errors"
    assert sheet.cell(row=2, column=sheet.max_column - 1).value.startswith("New: New enterprise")

    rows = [[1, "坏项目", "坏公司", None, "IC", None, 1, None, "谈判中", "明天", None, None, None]]
    refresh()
    page = upload(client, build_xlsx(rows)).get_data(as_text=True)
    assert "Unrecognised stage: 谈判中" in page
    assert "Unrecognised date: 明天" in page
    assert "/apply" not in page
    refresh()
    page = upload(client, b"not a spreadsheet").get_data(as_text=True)
    assert "The file is not a valid Excel workbook (.xlsx)" in page


@pytest.mark.parametrize("role", ["officer", "manager", "admin", "leader"])
def test_import_page_by_role(world: Any, login_as: Any, role: str) -> None:
    client = login_as(getattr(world, role))
    expected = 403 if role == "leader" else 200
    assert client.get("/ledger/import").status_code == expected


def test_leader_exports_and_downloads_reports(world: Any, login_as: Any) -> None:
    client = login_as(world.leader)
    assert client.get("/ledger/reports").status_code == 200
    response = client.get("/ledger/reports.xlsx?period=2026")
    assert response.status_code == 200
    assert response.data[:2] == b"PK"
    export = client.get("/ledger/export/projects.csv")
    assert export.status_code == 200
    assert client.get("/ledger/export/projects.xlsx").data[:2] == b"PK"
    bad = client.get("/ledger/reports.xlsx?period=nonsense")
    assert bad.status_code == 302


def test_list_has_export_links(world: Any, login_as: Any) -> None:
    client = login_as(world.manager)
    page = client.get("/projects?stage=signed").get_data(as_text=True)
    assert "/ledger/export/projects.xlsx?stage=signed" in page
    assert "/ledger/export/projects.csv?stage=signed" in page


def test_cli_import_and_report(
    runner: Any, session: Any, world: Any, tmp_path: Any, messy_xlsx: bytes
) -> None:
    path = tmp_path / "台账.xlsx"
    path.write_bytes(messy_xlsx)
    dry = runner.invoke(args=["ledger", "import", str(path), "--dry-run", "--as", "manager"])
    assert dry.exit_code == 0, dry.output
    assert "试运行" in dry.output
    assert projects(session) == 0
    done = runner.invoke(args=["ledger", "import", str(path), "--as", "manager"])
    assert done.exit_code == 0, done.output
    assert projects(session) == 4
    out = tmp_path / "report.xlsx"
    report = runner.invoke(args=["ledger", "report", "--period", "2026", "-o", str(out)])
    assert report.exit_code == 0, report.output
    assert out.read_bytes()[:2] == b"PK"
    exported = tmp_path / "export.csv"
    result = runner.invoke(
        args=["ledger", "export", "-o", str(exported), "--kind", "projects", "--as", "manager"]
    )
    assert result.exit_code == 0, result.output
    assert exported.stat().st_size > 0
