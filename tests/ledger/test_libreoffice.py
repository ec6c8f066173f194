"""Ledgers written by LibreOffice Calc (.xlsx and .xls) import like the ones Excel writes.

The messy ledger of ``conftest`` is saved by ``soffice --headless --convert-to``; the test is
skipped where LibreOffice is not installed (Debian: ``apt-get install libreoffice-calc-nogui``,
which ``.ci/run`` does).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.core.timeutil import today_local
from app.enterprises.models import Enterprise
from app.ledger.importer import apply_import, plan_import, read_ledger
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project, StageChange
from tests.ledger.conftest import CODE_A, CODE_B

LIMITS = {"max_bytes": 5_000_000, "max_rows": 1000, "max_uncompressed": 50_000_000}
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed (soffice not found; Debian package "
    "libreoffice-calc-nogui): the ledgers it writes are not tested here",
)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The messy ledger as LibreOffice saves it, as .xlsx and as .xls (one conversion each)."""
    from tests.ledger.conftest import build_xlsx

    work = tmp_path_factory.mktemp("soffice")
    source = work / "in" / "台账.xlsx"
    source.parent.mkdir()
    source.write_bytes(build_xlsx())
    profile = (work / "profile").as_uri()  # its own profile: parallel runs do not collide
    out: dict[str, bytes] = {}
    for fmt, filt in (("xlsx", "Calc MS Excel 2007 XML"), ("xls", "MS Excel 97")):
        target = work / fmt
        subprocess.run(  # noqa: S603 (fixed arguments)
            [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
             "--convert-to", f"{fmt}:{filt}", "--outdir", str(target), str(source)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        written = target / f"台账.{fmt}"
        assert written.is_file(), f"soffice wrote no {fmt}"
        out[fmt] = written.read_bytes()
    return out


def stored(session: Any) -> dict[str, tuple]:
    """Every value the import stores for each project, its lead and its enterprise."""
    out = {}
    for project in session.scalars(select(Project).order_by(Project.id)):
        lead: Lead = project.lead
        enterprise: Enterprise = project.enterprise
        out[project.name] = (
            enterprise.name, enterprise.credit_code, enterprise.name_key,
            project.park.code, project.chain_link.name if project.chain_link else None,
            project.total_investment, project.fixed_asset_investment,
            project.stage, project.stage_since, project.signed_on, project.construction_on,
            project.production_on, project.owner.username, project.description,
            lead.title, lead.park.code, lead.stage, lead.estimated_investment,
            lead.owner.username,
            [(c.from_stage, c.to_stage, c.effective_on) for c in session.scalars(
                select(StageChange).where(StageChange.project_id == project.id)
                .order_by(StageChange.id))],
        )  # fmt: skip
    return out


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_libreoffice_ledger_imports_every_value(
    session: Any, world: Any, converted: dict[str, bytes], fmt: str
) -> None:
    parsed = read_ledger(converted[fmt], f"台账.{fmt}", **LIMITS)
    assert parsed.header_row == 3
    assert [r.number for r in parsed.rows] == [5, 6, 7, 8]
    plan = plan_import(session, world.manager, parsed)
    assert [r.outcome for r in plan.rows] == ["create"] * 4, [r.message for r in plan.rows]
    result = apply_import(session, world.manager, plan)
    assert (result.enterprises, result.leads, result.projects) == (3, 3, 4)

    today = today_local()
    march5, june1 = dt.date(2023, 3, 5), dt.date(2023, 6, 1)
    lead, contacted, negotiating, signed, construction = (
        Stage.LEAD, Stage.CONTACTED, Stage.NEGOTIATING, Stage.SIGNED, Stage.CONSTRUCTION
    )  # fmt: skip
    chip = "青岛芯云科技有限公司"
    assert stored(session) == {
        "芯片设计中心": (
            chip, CODE_A, "芯云科技", "IC", "芯片设计", Decimal("3.5"), Decimal("0.5"),
            negotiating, today, None, None, None, "officer", "首期",
            "芯片设计中心", "IC", lead, Decimal("3.5"), "officer",
            [(None, lead, today), (lead, contacted, today), (contacted, negotiating, today)],
        ),
        "封测基地二期": (
            chip, CODE_A, "芯云科技", "IC", "芯片设计", Decimal("12"), Decimal("0.8"),
            signed, march5, march5, None, None, "officer", None,
            "芯片设计中心", "IC", lead, Decimal("3.5"), "officer",
            [(None, lead, march5), (lead, contacted, march5), (contacted, negotiating, march5),
             (negotiating, signed, march5)],
        ),
        "面板模组项目": (
            "屏星光电股份有限公司", CODE_B, "屏星光电", "IC", None, Decimal("0.5"), None,
            construction, june1, march5, june1, None, "officer", None,
            "面板模组项目", "IC", lead, Decimal("0.5"), "officer",
            [(None, lead, march5), (lead, contacted, march5), (contacted, negotiating, march5),
             (negotiating, signed, march5), (signed, construction, june1)],
        ),
        "材料项目": (
            "新材料科技（青岛）有限公司", None, "新材料科技", "IC", None, Decimal("2"), None,
            lead, today, None, None, None, "manager", None,
            "材料项目", "IC", lead, Decimal("2"), "manager",
            [(None, lead, today)],
        ),
    }  # fmt: skip

    # The same file again creates nothing.
    again = plan_import(session, world.manager, read_ledger(converted[fmt], f"a.{fmt}", **LIMITS))
    assert {r.outcome for r in again.rows} == {"skip"}
