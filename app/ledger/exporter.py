"""Export filtered lists of leads and projects as ledgers (台账): .xlsx like offices keep, or CSV.

The rows are exactly those of the list page with the same filters and the same user, in its order:
the statement is :func:`app.pipeline.queries.filtered` (visibility included) reading the ledger's
columns alone, joined to the enterprise, owner, park and chain link, so an export runs a fixed
number of queries whatever the row count. Rows are plain tuples, not records: building a hundred
thousand records with their neighbours took as long as writing the workbook. They are streamed
(``yield_per``) into an XlsxWriter workbook in constant-memory mode (about twice as fast as
openpyxl's write-only mode) or a CSV writer, so memory stays flat for a hundred thousand rows.

A ledger is Chinese whatever the language of the page (headers, stages, sources), as offices
keep them and as the import reads them. The workbook has a title row merged across the columns,
amounts in 亿元 as numbers shown with two decimals, dates as real dates, credit codes as text and a
frozen header.
Text that a spreadsheet could take for a formula (starting with =, +, -, @, tab or carriage
return) is stored as a string cell in the workbook and prefixed with a single quote in the CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.i18n import in_chinese
from app.core.timeutil import today_local
from app.enterprises.models import Enterprise
from app.parks.models import Chain, ChainLink, Park
from app.pipeline.flags import load_thresholds
from app.pipeline.models import Lead, Project
from app.pipeline.queries import ListFilters, filtered, list_order

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "EXPORT_KINDS",
    "Column",
    "export_filename",
    "export_ledger",
    "export_title",
]

EXPORT_KINDS = ("leads", "projects")
EXPORT_FORMATS = ("xlsx", "csv")
#: How many rows are fetched from the database at a time.
BATCH_SIZE = 1000

MODELS: dict[str, type[Lead] | type[Project]] = {"leads": Lead, "projects": Project}
KIND_LABELS = {"leads": "线索", "projects": "项目"}
MIME_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

# Text starting with one of these may be run as a formula by a spreadsheet (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry at all (and spreadsheet readers refuse): they are dropped.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CENT = Decimal("0.01")
_ESCAPED_CR = re.compile(rb"(?<!_x005F)_x000D_")

# Kinds of column value. LABEL values are enums with a translated ``label``, looked up once.
TEXT, CODE, AMOUNT, DATE, LABEL = "text", "code", "amount", "date", "label"


@dataclass(frozen=True)
class Column:
    """One column of a ledger: its header, its kind of value, its width and the SQL expression
    it is read from (a column of the record or of a table joined to it, see :func:`_rows`)."""

    header: str
    kind: str
    width: float
    expr: Any


def _common_head(model: type[Lead] | type[Project], name_header: str, name: Any) -> list[Column]:
    return [
        Column(name_header, TEXT, 32, name),
        Column("企业名称", TEXT, 32, Enterprise.name),
        Column("统一社会信用代码", CODE, 22, Enterprise.credit_code),
        Column("所属园区", TEXT, 18, Park.name),
        Column("产业链", TEXT, 12, Chain.name),
        Column("产业链环节", TEXT, 16, ChainLink.name),
        Column("阶段", LABEL, 8, model.stage),
        Column("阶段日期", DATE, 12, model.stage_since),
    ]


def _milestones(model: type[Lead] | type[Project]) -> list[Column]:
    return [
        Column("签约日期", DATE, 12, model.signed_on),
        Column("开工日期", DATE, 12, model.construction_on),
        Column("投产日期", DATE, 12, model.production_on),
        Column("达产日期", DATE, 12, model.full_production_on),
    ]


def _common_tail(model: type[Lead] | type[Project]) -> list[Column]:
    return [
        Column("最近联系", DATE, 12, model.last_contact_on),
        Column("下一步工作", TEXT, 24, model.next_step),
        Column("下一步日期", DATE, 12, model.next_step_due),
        Column("负责人", TEXT, 10, User.full_name),
        Column("备注", TEXT, 40, model.description),
    ]


#: The columns of each kind of ledger after the leading 序号 column, in order.
EXPORT_COLUMNS: dict[str, tuple[Column, ...]] = {
    "leads": tuple(
        [
            *_common_head(Lead, "线索名称", Lead.title),
            Column("预计投资（亿元）", AMOUNT, 16, Lead.estimated_investment),
            Column("线索来源", LABEL, 12, Lead.source),
            *_milestones(Lead),
            *_common_tail(Lead),
        ]
    ),
    "projects": tuple(
        [
            *_common_head(Project, "项目名称", Project.name),
            Column("总投资（亿元）", AMOUNT, 16, Project.total_investment),
            Column("固定资产投资（亿元）", AMOUNT, 20, Project.fixed_asset_investment),
            *_milestones(Project),
            Column("计划开工日期", DATE, 14, Project.planned_construction_on),
            Column("计划投产日期", DATE, 14, Project.planned_production_on),
            *_common_tail(Project),
        ]
    ),
}
SERIAL_HEADER = "序号"


def headers(kind: str) -> list[str]:
    """Return the header row of a ledger of *kind*."""
    return [SERIAL_HEADER, *(c.header for c in EXPORT_COLUMNS[kind])]


def export_title(kind: str, today: dt.date | None = None) -> str:
    """Return the title row, e.g. "线索台账（导出于 2026-11-27）"."""
    day = today or today_local()
    return f"{KIND_LABELS[kind]}台账（导出于 {day:%Y-%m-%d}）"


def export_filename(kind: str, fmt: str, today: dt.date | None = None) -> str:
    """Return a download file name, e.g. "项目台账-20261127.xlsx"."""
    day = today or today_local()
    return f"{KIND_LABELS[kind]}台账-{day:%Y%m%d}.{fmt}"


def _check(kind: str, fmt: str) -> None:
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind: {kind!r} (expected one of {EXPORT_KINDS})")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format: {fmt!r} (expected one of {EXPORT_FORMATS})")


def _rows(session: Session, user: User, kind: str, filters: ListFilters) -> Iterator[Row[Any]]:
    """Stream the ledger's values of the visible, filtered records, one tuple per record in the
    order of :data:`EXPORT_COLUMNS`, in list-page order (two queries in all)."""
    model = MODELS[kind]
    stmt = (
        filtered(user, model, filters, load_thresholds(session))
        .with_only_columns(*(column.expr for column in EXPORT_COLUMNS[kind]))
        .select_from(model)
        .join(Enterprise, Enterprise.id == model.enterprise_id)
        .join(User, User.id == model.owner_id)
        .join(Park, Park.id == model.park_id)
        .outerjoin(ChainLink, ChainLink.id == model.chain_link_id)
        .outerjoin(Chain, Chain.id == ChainLink.chain_id)
        .order_by(*list_order(model))
    )
    yield from session.execute(stmt.execution_options(yield_per=BATCH_SIZE))


def export_ledger(
    session: Session,
    user: User,
    kind: str,
    filters: ListFilters,
    fmt: str,
    today: dt.date | None = None,
) -> bytes:
    """Return the ledger of the *kind* records *user* sees under *filters*, as xlsx or CSV bytes.

    *kind* is "leads" or "projects", *fmt* "xlsx" or "csv"; anything else raises ValueError.
    """
    _check(kind, fmt)
    rows = _rows(session, user, kind, filters)
    if fmt == "csv":
        return _write_csv(kind, rows)
    return _write_xlsx(kind, rows, export_title(kind, today))


# --- values ---------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def is_formula_like(text: str) -> bool:
    """Return whether a spreadsheet could read *text* as a formula."""
    return text.startswith(FORMULA_PREFIXES)


def csv_safe(text: str) -> str:
    """Neutralise a text cell for CSV: formula-like text gets a leading single quote (OWASP)."""
    return "'" + text if is_formula_like(text) else text


def amount_2(amount: Decimal) -> str:
    """Write an amount in 亿元 with exactly two decimals, half up, no separators ("12.50")."""
    rounded = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:f}"


# --- CSV ------------------------------------------------------------------------------------


class _Labels(dict):
    """The Chinese labels of enum members (stages, sources), each looked up once per export: a
    ledger is written in Chinese whatever the language of the page, so that it imports again."""

    def __missing__(self, member: Any) -> str:
        with in_chinese():
            label = self[member] = str(member.label)
        return label


def _csv_cell(column: Column, value: Any, labels: _Labels) -> str:
    if value is None:
        return ""
    if column.kind == LABEL:
        return csv_safe(labels[value])
    if column.kind == AMOUNT:
        return amount_2(value)
    if column.kind == DATE:
        return value.isoformat()
    return csv_safe(str(value))


def _write_csv(kind: str, rows: Iterable[Sequence[Any]]) -> bytes:
    columns = EXPORT_COLUMNS[kind]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers(kind))
    labels = _Labels()
    for serial, row in enumerate(rows, start=1):
        writer.writerow(
            [serial, *(_csv_cell(c, v, labels) for c, v in zip(columns, row, strict=True))]
        )
    return out.getvalue().encode("utf-8-sig")


# --- xlsx -----------------------------------------------------------------------------------

# XlsxWriter formats, as keyword dictionaries (a format object belongs to one workbook).
_TITLE = {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}
_HEADER = {
    "bold": True,
    "bg_color": "#DDEBF7",
    "pattern": 1,
    "align": "center",
    "valign": "vcenter",
    "text_wrap": True,
}


def _write_xlsx(kind: str, rows: Iterable[Sequence[Any]], title: str) -> bytes:
    """Write the ledger with XlsxWriter in constant-memory mode (one row in memory at a time).

    Every text is written with ``write_string``, which never makes a formula of it, whatever it
    starts with; credit codes get the text format "@", amounts "0.00", dates "yyyy-mm-dd".
    """
    import xlsxwriter

    columns = EXPORT_COLUMNS[kind]
    names = headers(kind)
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    ws = wb.add_worksheet(f"{KIND_LABELS[kind]}台账")
    code_format = wb.add_format({"num_format": "@"})
    amount_format = wb.add_format({"num_format": "0.00"})
    date_format = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.set_column(0, 0, 6)
    for index, column in enumerate(columns, start=1):
        ws.set_column(index, index, column.width)
    ws.freeze_panes(2, 0)
    ws.repeat_rows(0, 1)
    ws.set_row(0, 28)
    ws.merge_range(0, 0, 0, len(names) - 1, title, wb.add_format(_TITLE))
    header_format = wb.add_format(_HEADER)
    for col, name in enumerate(names):
        ws.write_string(1, col, name, header_format)

    labels = _Labels()
    saw_carriage_return = False
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
    for row, values in enumerate(rows, start=2):
        write_number(row, 0, row - 1)
        for col, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            if value is None:
                continue
            kind_ = column.kind
            if kind_ == AMOUNT:
                write_number(row, col, float(value), amount_format)
            elif kind_ == DATE:
                write_datetime(row, col, value, date_format)
            else:
                text = labels[value] if kind_ == LABEL else str(value)
                text = _ILLEGAL_XML.sub("", text)
                if "\r" in text:
                    saw_carriage_return = True
                write_string(row, col, text, code_format if kind_ == CODE else None)
    wb.close()
    if saw_carriage_return:
        return _keep_carriage_returns(out.getvalue())
    return out.getvalue()


def _keep_carriage_returns(data: bytes) -> bytes:
    """Write the carriage returns of the worksheets' texts as ``&#13;``.

    XlsxWriter writes a CR as Excel's escape ``_x000D_`` (a typed "_x000D_" becomes
    "_x005F_x000D_"), which Excel reads back but other readers (openpyxl) keep as it is; a raw CR
    would become LF in any XML reader. The character reference survives both. XlsxWriter writes
    texts inline in constant-memory mode and no CR of its own.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            with source.open(info) as reader, target.open(info, "w") as writer:
                if info.filename.startswith("xl/worksheets/"):
                    writer.write(_ESCAPED_CR.sub(b"&#13;", reader.read().replace(b"\r", b"&#13;")))
                else:
                    shutil.copyfileobj(reader, writer)
    return out.getvalue()
