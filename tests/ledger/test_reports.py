"""Statistical reports: periods, the four tables, visibility, board equality, the workbook."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from app.ledger.reports import TARGETS_NOTE, Period, build_report, report_workbook
from app.pipeline.lifecycle import ALL_STAGES, Stage
from app.pipeline.models import Lead, Project
from app.pipeline.queries import board
from tests.factories import LeadFactory, ProjectFactory

D = Decimal
Q1 = Period.parse("2026-Q1")
YEAR = Period.parse("2026")


def day(month: int, dom: int = 15, year: int = 2026) -> dt.date:
    return dt.date(year, month, dom)


def project(park: Any, owner: Any, amount: str, stage: Stage = Stage.SIGNED, **dates: Any) -> Any:
    lead = LeadFactory(park=park, owner=owner, stage=Stage.NEGOTIATING)
    fields = {"signed_on": None, "construction_on": None, "production_on": None, **dates}
    return ProjectFactory(
        lead=lead, stage=stage, total_investment=D(amount) if amount else None, **fields
    )


@pytest.fixture
def data(session: Any, world: Any) -> Any:
    """Projects in park A (IC) and park B (DISPLAY) across tiers, months and milestones."""
    a, b, officer = world.park_a, world.park_b, world.officer
    # park A
    project(a, officer, "0.5", signed_on=day(1))  # below 1亿元: counted nowhere in (b)
    project(a, officer, "1", signed_on=day(1, 31))  # 1亿元+ exactly
    project(a, officer, "5", signed_on=day(2, 1))  # 5亿元+ exactly
    project(a, officer, "60", Stage.CONSTRUCTION, signed_on=day(3), construction_on=day(3, 31))
    project(a, officer, "8", Stage.PRODUCTION, signed_on=day(1, 1, 2025), production_on=day(2))
    project(a, officer, "3.333", signed_on=day(4, 1))  # Q2: outside Q1
    project(a, officer, "2", signed_on=day(12, 31, 2025))  # 2025: outside
    project(a, officer, "", Stage.NEGOTIATING)  # no amount, not signed
    # park B
    project(b, world.other_officer, "50", signed_on=day(2, 28))
    project(b, world.other_officer, "1.2", Stage.DROPPED, signed_on=day(3, 1))
    LeadFactory(park=b, owner=world.other_officer, estimated_investment=D("7"))
    session.flush()
    return world


def test_period_parse_good() -> None:
    assert (YEAR.start, YEAR.end, YEAR.label) == (day(1, 1), day(1, 1, 2027), "2026年")
    assert (Q1.start, Q1.end, Q1.label) == (day(1, 1), day(4, 1), "2026年第1季度")
    q4 = Period.parse("2026-q4")
    assert (q4.start, q4.end, q4.label) == (day(10, 1), day(1, 1, 2027), "2026年第4季度")
    march = Period.parse(" 2026-03 ")
    assert (march.start, march.end, march.label) == (day(3, 1), day(4, 1), "2026年3月")
    december = Period.parse("2026-12")
    assert december.end == day(1, 1, 2027)
    assert str(december) == "2026-12" and str(q4) == "2026-Q4" and str(YEAR) == "2026"
    assert len(YEAR.months()) == 12 and len(Q1.months()) == 3 and march.months() == [day(3, 1)]


@pytest.mark.parametrize(
    "text",
    ["", "26", "2026-Q5", "2026-Q0", "2026-13", "2026-00", "2026/03", "abc", "2026-", "0999"],
)
def test_period_parse_bad(text: str) -> None:
    with pytest.raises(ValueError, match="无法识别的统计期间"):
        Period.parse(text)


def test_tiers_in_quarter(session: Any, data: Any) -> None:
    report = build_report(session, data.admin, Q1)
    a, b = data.park_a.id, data.park_b.id
    yi_a = report.tier_row("yi", a)
    assert yi_a.counts == {"signed": 3, "started": 1, "producing": 1}
    assert yi_a.totals == {"signed": D(66), "started": D(60), "producing": D(8)}
    major_a = report.tier_row("major", a)
    assert major_a.counts == {"signed": 2, "started": 1, "producing": 1}
    assert report.tier_row("big", a).counts == {"signed": 1, "started": 1, "producing": 0}
    # park B: 50 (exactly big) and 1.2 (dropped, but it was signed in the quarter)
    assert report.tier_row("yi", b).counts["signed"] == 2
    assert report.tier_row("yi", b).totals["signed"] == D("51.2")
    assert report.tier_row("big", b).counts["signed"] == 1
    # all parks
    assert report.tier_row("yi").counts == {"signed": 5, "started": 1, "producing": 1}
    assert report.tier_row("big").counts["signed"] == 2
    assert report.tier_row("big").totals["signed"] == D(110)


def test_tiers_in_year_and_month(session: Any, data: Any) -> None:
    year = build_report(session, data.admin, YEAR)
    assert year.tier_row("yi").counts["signed"] == 6  # adds the Q2 signing of 3.333
    assert year.tier_row("yi").totals["signed"] == D("120.533")
    march = build_report(session, data.admin, Period.parse("2026-03"))
    assert march.tier_row("yi").counts == {"signed": 2, "started": 1, "producing": 0}
    assert march.tier_row("yi").totals["signed"] == D("61.2")


def test_signings_per_month(session: Any, data: Any) -> None:
    report = build_report(session, data.admin, Q1)
    assert [(m.label, m.count, m.total) for m in report.months] == [
        ("2026年1月", 2, D("1.5")),
        ("2026年2月", 2, D(55)),
        ("2026年3月", 2, D("61.2")),
    ]
    year = build_report(session, data.admin, YEAR)
    assert len(year.months) == 12
    assert year.months[3].count == 1 and year.months[3].total == D("3.333")
    assert sum(m.count for m in year.months) == 7


def test_park_filter(session: Any, data: Any) -> None:
    report = build_report(session, data.admin, Q1, park_code="DISPLAY")
    assert report.park.id == data.park_b.id
    assert [p.id for p in report.parks] == [data.park_b.id]
    assert report.tier_row("yi").counts["signed"] == 2
    assert [m.count for m in report.months] == [0, 1, 1]
    assert report.stage_cell("lead", data.park_b.id, Stage.LEAD).count == 1
    assert {row.park.id for row in report.project_stages} == {data.park_b.id}
    with pytest.raises(ValueError, match="未知的园区代码"):
        build_report(session, data.admin, Q1, park_code="NOPE")


def test_manager_sees_only_his_parks(session: Any, data: Any) -> None:
    report = build_report(session, data.manager, Q1)  # manager of park A
    assert [p.id for p in report.parks] == [data.park_a.id]
    assert report.tier_row("yi").counts["signed"] == 3
    assert report.tier_row("big").totals["signed"] == D(60)
    assert [m.count for m in report.months] == [2, 1, 1]
    # asking for the other park gives nothing of it
    other = build_report(session, data.manager, Q1, park_code="DISPLAY")
    assert other.parks == [] and other.project_stages == []
    assert other.tier_row("yi").counts["signed"] == 0
    assert sum(m.count for m in other.months) == 0


def test_officer_sees_only_his_records(session: Any, data: Any) -> None:
    report = build_report(session, data.other_officer, Q1)
    assert report.tier_row("yi").counts["signed"] == 2
    assert report.stage_cell("project", data.park_a.id, Stage.SIGNED).count == 0


@pytest.mark.parametrize("who", ["admin", "manager", "other_manager", "officer", "leader"])
def test_stage_table_equals_board(session: Any, data: Any, who: str) -> None:
    user = getattr(data, who)
    report = build_report(session, user, YEAR)
    seen = 0
    for park in report.parks:
        for model, kind in ((Project, "project"), (Lead, "lead")):
            for column in board(session, user, model, park.id):
                cell = report.stage_cell(kind, park.id, column.stage)
                assert (cell.count, cell.total) == (column.count, column.total), (
                    kind,
                    park.code,
                    column.stage,
                )
                seen += cell.count
    assert seen == sum(r.count for r in report.project_stages + report.lead_stages)
    if who == "admin":
        assert report.stage_cell("project", data.park_a.id, Stage.SIGNED).count == 5
        assert report.stage_cell("project", data.park_a.id, Stage.SIGNED).total == D("11.833")


def test_targets_table_is_empty_with_note(session: Any, data: Any) -> None:
    report = build_report(session, data.admin, YEAR)
    assert report.targets == []
    assert report.targets_note == TARGETS_NOTE


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_workbook_reads_back(session: Any, data: Any, locale: str) -> None:
    """The same Chinese workbook whatever the language of the page."""
    with force_locale(locale):
        content = report_workbook(session, data.admin, Q1)
    report = build_report(session, data.admin, Q1)
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == [
        "项目分阶段统计",
        "线索分阶段统计",
        "亿元以上项目",
        "月度签约",
        "年度目标进展",
    ]
    for sheet in book.worksheets:
        assert "2026年第1季度" in sheet["A1"].value and "全部园区" in sheet["A1"].value
        assert sheet["A2"].value in ("园区", "月份")

    projects = book["项目分阶段统计"]
    assert [c.value for c in projects[2]] == ["园区", "阶段", "项目数（个）", "总投资（亿元）"]
    rows = list(projects.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 2 * len(ALL_STAGES) + len(ALL_STAGES)
    for row, cell in zip(rows, report.project_stages, strict=False):
        assert row == (cell.park.name, cell.stage.label, cell.count, float(round(cell.total, 2)))
    assert ("集成电路产业园", "签约", 5, 11.83) in rows
    assert projects.cell(row=3, column=4).number_format == "#,##0.00"

    tiers = list(book["亿元以上项目"].iter_rows(min_row=3, values_only=True))
    assert ("合计", "1亿元+", 5, 117.2, 1, 60.0, 1, 8.0) in tiers
    assert ("集成电路产业园", "50亿元+", 1, 60.0, 1, 60.0, 0, 0.0) in tiers

    months = list(book["月度签约"].iter_rows(min_row=3, values_only=True))
    assert months == [
        ("2026年1月", 2, 1.5),
        ("2026年2月", 2, 55.0),
        ("2026年3月", 2, 61.2),
        ("合计", 6, 117.7),
    ]
    targets = book["年度目标进展"]
    assert targets["A3"].value == TARGETS_NOTE
    assert targets.max_row == 3


def test_workbook_names_the_park(session: Any, data: Any) -> None:
    book = load_workbook(io.BytesIO(report_workbook(session, data.admin, YEAR, "IC")))
    assert book["月度签约"]["A1"].value.startswith("2026年招商引资统计报表（集成电路产业园）")


def _add_projects(world: Any, count: int, offset: int) -> None:
    stages = [Stage.SIGNED, Stage.CONSTRUCTION, Stage.PRODUCTION, Stage.NEGOTIATING]
    for i in range(count):
        park = world.park_a if i % 2 else world.park_b
        owner = world.officer if i % 3 else world.other_officer
        project(
            park,
            owner,
            str(1 + (i + offset) * 3),
            stages[i % len(stages)],
            signed_on=day(1 + (i % 12), 1 + i % 27),
            construction_on=day(1 + (i % 6)) if i % 2 else None,
            production_on=day(2 + (i % 6)) if i % 3 else None,
        )


def _measure(session: Any, user: Any, count_queries: Any) -> Any:
    session.commit()  # expires everything: the report loads what it shows
    assert user.role and user.park_ids is not None  # the logged-in user is loaded per request
    with count_queries() as counter:
        report_workbook(session, user, YEAR)
    return counter


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_query_count_does_not_grow(session: Any, world: Any, count_queries: Any, who: str) -> None:
    user = getattr(world, who)
    _add_projects(world, 3, 0)
    small = _measure(session, user, count_queries)
    _add_projects(world, 27, 3)
    large = _measure(session, user, count_queries)
    assert sum(m.count for m in build_report(session, user, YEAR).months) > 3
    assert large.count == small.count, (small.statements, large.statements)
    assert small.count <= 7  # parks, thresholds, 4 tables, the year's targets
