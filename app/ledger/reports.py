"""Statistical reports for a month, quarter or year, and their .xlsx workbook.

Every table is computed by :mod:`app.pipeline.stats` (GROUP BY and filtered aggregates, a fixed
number of statements whatever the data size) over the rows :mod:`app.pipeline.visibility` lets
the user see, so a park manager's report covers only his parks. The cockpit computes its numbers
with the same functions and filters, so the workbook, the cockpit and the lists agree.

Tables:
(a) leads and projects by park × stage as they stand now (the board's numbers);
(b) projects of 1亿元+, 5亿元+ and 50亿元+ signed, started and producing in the period;
(c) signings per month of the period;
(d) progress against the annual targets of the period's year (:mod:`app.targets`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.core.i18n import in_chinese
from app.core.timeutil import today_local
from app.parks.models import Park
from app.pipeline.flags import Thresholds, load_thresholds
from app.pipeline.lifecycle import ALL_STAGES, Stage
from app.pipeline.models import Lead, Project
from app.pipeline.queries import ListFilters
from app.pipeline.stats import REPORT_TIERS, milestones, monthly, tally
from app.targets.services import TargetProgress, describe, progress

__all__ = [
    "MILESTONES",
    "REPORT_TIERS",
    "TARGETS_NOTE",
    "MonthRow",
    "Period",
    "Report",
    "StageRow",
    "TierRow",
    "build_report",
    "report_workbook",
]

ZERO = Decimal(0)
CENT = Decimal("0.01")
# The milestones table (b) counts: (key, milestone, Chinese label).
MILESTONES = (
    ("signed", Stage.SIGNED, "签约"),
    ("started", Stage.CONSTRUCTION, "开工"),
    ("producing", Stage.PRODUCTION, "投产"),
)
TARGETS_NOTE = "该年度尚未设置年度目标（系统管理 → 年度目标）。"

_PERIOD_RE = re.compile(r"(?P<year>\d{4})(?:-(?:[Qq](?P<quarter>[1-4])|(?P<month>\d{1,2})))?")


def _period_error(text: object) -> ValueError:
    return ValueError(
        f"无法识别的统计期间：{text}。"
        "请填写年份（如 2026）、季度（如 2026-Q1）或月份（如 2026-03）。"
    )


@dataclass(frozen=True)
class Period:
    """A year, a quarter or a month; ``end`` is exclusive."""

    kind: str  # "year", "quarter" or "month"
    year: int
    number: int = 0  # quarter 1..4 or month 1..12; 0 for a year

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read "2026", "2026-Q1" … "2026-Q4" or "2026-03"; raise ValueError otherwise."""
        cleaned = (text or "").strip() if isinstance(text, str) else ""
        match = _PERIOD_RE.fullmatch(cleaned)
        if match is None:
            raise _period_error(text)
        year = int(match["year"])
        if not 1900 <= year <= 2999:
            raise _period_error(text)
        if match["quarter"]:
            return cls("quarter", year, int(match["quarter"]))
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise _period_error(text)
            return cls("month", year, month)
        return cls("year", year)

    @property
    def start(self) -> dt.date:
        if self.kind == "quarter":
            return dt.date(self.year, 3 * self.number - 2, 1)
        if self.kind == "month":
            return dt.date(self.year, self.number, 1)
        return dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        if self.kind == "quarter":
            return _add_months(self.start, 3)
        if self.kind == "month":
            return _add_months(self.start, 1)
        return dt.date(self.year + 1, 1, 1)

    @property
    def last_day(self) -> dt.date:
        """The period's last day (``end`` is exclusive)."""
        return self.end - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.year}年第{self.number}季度"
        if self.kind == "month":
            return f"{self.year}年{self.number}月"
        return f"{self.year}年"

    def months(self) -> list[dt.date]:
        """The first day of each month in the period."""
        result, month = [], self.start
        while month < self.end:
            result.append(month)
            month = _add_months(month, 1)
        return result

    def __str__(self) -> str:
        if self.kind == "quarter":
            return f"{self.year}-Q{self.number}"
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        return str(self.year)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass
class StageRow:
    """Table (a): one park and stage, leads or projects."""

    kind: str  # "project" or "lead"
    park: Park
    stage: Stage
    count: int = 0
    total: Decimal = ZERO


@dataclass
class TierRow:
    """Table (b): projects of one tier in one park (park None: all parks of the report)."""

    park: Park | None
    tier: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class MonthRow:
    """Table (c): the projects signed in one month."""

    month: dt.date
    count: int = 0
    total: Decimal = ZERO

    @property
    def label(self) -> str:
        return f"{self.month.year}年{self.month.month}月"


@dataclass
class Report:
    period: Period
    park: Park | None
    parks: list[Park]
    thresholds: Thresholds
    project_stages: list[StageRow]
    lead_stages: list[StageRow]
    tiers: list[TierRow]
    months: list[MonthRow]
    targets: list[TargetProgress] = field(default_factory=list)
    targets_note: str = TARGETS_NOTE

    @property
    def scope_label(self) -> str:
        return self.park.name if self.park is not None else "全部园区"

    def stage_cell(self, kind: str, park_id: int, stage: Stage) -> StageRow:
        rows = self.project_stages if kind == "project" else self.lead_stages
        for row in rows:
            if row.park.id == park_id and row.stage is stage:
                return row
        raise KeyError((kind, park_id, stage))

    def tier_row(self, tier: str, park_id: int | None = None) -> TierRow:
        for row in self.tiers:
            if row.tier == tier and (row.park.id if row.park else None) == park_id:
                return row
        raise KeyError((tier, park_id))


def _report_parks(session: Session, user: User, park_code: str | None) -> tuple[list[Park], Any]:
    stmt = select(Park).order_by(Park.sort_order, Park.id)
    if user.role is Role.MANAGER:
        stmt = stmt.where(Park.id.in_(sorted(user.park_ids)))
    parks = list(session.scalars(stmt))
    if not park_code:
        return parks, None
    park = session.scalar(select(Park).where(Park.code == park_code.strip()))
    if park is None:
        raise ValueError(f"未知的园区代码：{park_code}")
    return [p for p in parks if p.id == park.id], park


def _stage_table(
    session: Session,
    user: User,
    model: type[Lead] | type[Project],
    parks: list[Park],
    base: ListFilters,
    thresholds: Thresholds,
    today: dt.date,
) -> list[StageRow]:
    """Counts and sums by park × stage as they stand now, in one query."""
    kind = "project" if model is Project else "lead"
    cells = {(p.id, s): StageRow(kind, p, s) for p in parks for s in ALL_STAGES}
    found = tally(session, user, model, base, thresholds, today, group_by=("park", "stage"))
    for (park_ref, stage), item in found.items():
        cell = cells.get((park_ref, Stage(stage)))
        if cell is None:  # a visible record in a park outside the report's list
            continue
        cell.count = item.count
        cell.total = item.total
    return [cells[(p.id, s)] for p in parks for s in ALL_STAGES]


def _tier_table(
    session: Session,
    user: User,
    parks: list[Park],
    base: ListFilters,
    period: Period,
    thresholds: Thresholds,
    today: dt.date,
) -> list[TierRow]:
    """Projects per tier and milestone in the period, per park and in all, in one query."""
    found = milestones(
        session, user, base, period.start, period.last_day, thresholds, today, group_by=("park",)
    )
    by_park = {(p.id, t): TierRow(p, t, thresholds.label(t)) for p in parks for t in REPORT_TIERS}
    totals = {t: TierRow(None, t, thresholds.label(t)) for t in REPORT_TIERS}
    for row in [*by_park.values(), *totals.values()]:
        row.counts = {key: 0 for key, _s, _l in MILESTONES}
        row.totals = {key: ZERO for key, _s, _l in MILESTONES}
    keys = {event: key for key, event, _label in MILESTONES}
    for (park_ref, (tier, event)), item in found.items():
        if tier is None or event not in keys:
            continue
        key = keys[event]
        row = by_park.get((park_ref, tier))
        if row is not None:
            row.counts[key] = item.count
            row.totals[key] = item.total
        totals[tier].counts[key] += item.count
        totals[tier].totals[key] += item.total
    ordered = [by_park[(p.id, t)] for p in parks for t in REPORT_TIERS]
    return ordered + [totals[t] for t in REPORT_TIERS]


def _month_table(
    session: Session,
    user: User,
    base: ListFilters,
    period: Period,
    thresholds: Thresholds,
    today: dt.date,
) -> list[MonthRow]:
    """Projects signed in each month of the period (count and 亿元 sum), in one query."""
    found = monthly(
        session,
        user,
        base,
        period.start,
        period.last_day,
        thresholds,
        today,
        events=(Stage.SIGNED,),
    )
    rows = []
    for month in period.months():
        item = found.get(((Stage.SIGNED, month),))
        rows.append(MonthRow(month, item.count, item.total) if item else MonthRow(month))
    return rows


def build_report(
    session: Session,
    user: User,
    period: Period,
    park_code: str | None = None,
    today: dt.date | None = None,
) -> Report:
    """Compute the four tables of the report for *user* (a fixed number of SQL statements)."""
    thresholds = load_thresholds(session)
    parks, park = _report_parks(session, user, park_code)
    park_id = park.id if park is not None else None
    base = ListFilters(park_id=park_id)
    today = today or today_local()
    return Report(
        period=period,
        park=park,
        parks=parks,
        thresholds=thresholds,
        project_stages=_stage_table(session, user, Project, parks, base, thresholds, today),
        lead_stages=_stage_table(session, user, Lead, parks, base, thresholds, today),
        tiers=_tier_table(session, user, parks, base, period, thresholds, today),
        months=_month_table(session, user, base, period, thresholds, today),
        targets=progress(session, user, period.year, thresholds, today, park_id),
    )


# --- the workbook ---------------------------------------------------------------------------

YI_FORMAT = "#,##0.00"
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)


def _yi(amount: Decimal) -> float:
    """An amount in 亿元 as the number written into a cell: two decimals, half up."""
    return float(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def _sheet(workbook: Workbook, name: str, title: str, headers: list[str], widths: list[int]) -> Any:
    sheet = workbook.create_sheet(name)
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet["A1"].font = _TITLE_FONT
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = _BOLD
        cell.alignment = Alignment(horizontal="center")
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A3"
    return sheet


def _append(sheet: Any, values: list[Any], amount_columns: tuple[int, ...]) -> None:
    sheet.append(values)
    row = sheet.max_row
    for column in amount_columns:
        sheet.cell(row=row, column=column).number_format = YI_FORMAT


def report_workbook(
    session: Session, user: User, period: Period, park_code: str | None = None
) -> bytes:
    """Build the report and return it as one .xlsx workbook, one sheet per table: a Chinese
    document whatever the language of the page (the stages and tiers too)."""
    with in_chinese():
        return write_report(build_report(session, user, period, park_code))


def write_report(report: Report) -> bytes:
    """Write a built report as .xlsx bytes."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    heading = f"{report.period.label}招商引资统计报表（{report.scope_label}）"

    for rows, noun, amount_header in (
        (report.project_stages, "项目", "总投资（亿元）"),
        (report.lead_stages, "线索", "预计投资（亿元）"),
    ):
        sheet = _sheet(
            workbook,
            f"{noun}分阶段统计",
            f"{heading} · {noun}分园区分阶段统计（截至报表生成时）",
            ["园区", "阶段", f"{noun}数（个）", amount_header],
            [24, 10, 12, 18],
        )
        for row in rows:
            _append(sheet, [row.park.name, row.stage.label, row.count, _yi(row.total)], (4,))
        for stage in ALL_STAGES:
            count = sum(r.count for r in rows if r.stage is stage)
            total = sum((r.total for r in rows if r.stage is stage), ZERO)
            _append(sheet, ["合计", stage.label, count, _yi(total)], (4,))

    headers = ["园区", "投资规模"]
    for _key, _column, label in MILESTONES:
        headers += [f"{label}项目数（个）", f"{label}总投资（亿元）"]
    sheet = _sheet(
        workbook,
        "亿元以上项目",
        f"{heading} · 亿元以上项目签约、开工、投产情况",
        headers,
        [24, 12, 14, 16, 14, 16, 14, 16],
    )
    for row in report.tiers:
        values: list[Any] = [row.park.name if row.park else "合计", row.label]
        for key, _column, _label in MILESTONES:
            values += [row.counts[key], _yi(row.totals[key])]
        _append(sheet, values, (4, 6, 8))

    sheet = _sheet(
        workbook,
        "月度签约",
        f"{heading} · 各月签约项目",
        ["月份", "签约项目数（个）", "签约总投资（亿元）"],
        [14, 16, 18],
    )
    for month in report.months:
        _append(sheet, [month.label, month.count, _yi(month.total)], (3,))
    _append(
        sheet,
        [
            "合计",
            sum(m.count for m in report.months),
            _yi(sum((m.total for m in report.months), ZERO)),
        ],
        (3,),
    )

    sheet = _sheet(
        workbook,
        "年度目标进展",
        f"{heading} · {report.period.year}年度目标完成进度",
        ["园区", "目标", "年度目标", "已完成", "完成率", "时间进度", "进度"],
        [24, 40, 12, 12, 10, 10, 10],
    )
    for row in report.targets:
        amount = row.target.metric.is_amount
        _append(
            sheet,
            [
                row.target.park.name if row.target.park else "全区",
                describe(row.target, report.thresholds),
                _yi(row.goal) if amount else int(row.goal),
                _yi(row.actual) if amount else int(row.actual),
                float(row.share.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
                float(row.clock.share.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
                "正常" if row.on_pace else "滞后",
            ],
            (3, 4) if amount else (),
        )
        sheet.cell(row=sheet.max_row, column=5).number_format = "0.0%"
        sheet.cell(row=sheet.max_row, column=6).number_format = "0.0%"
    if not report.targets:
        sheet.append([report.targets_note])
        sheet.merge_cells(start_row=3, start_column=1, end_row=3, end_column=7)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
