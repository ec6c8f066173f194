"""Import the office's Excel ledgers (台账): read, plan (a dry run, row by row), apply.

``read_ledger`` checks the file (size, zip size, encryption, formulas without values), finds the
header row itself and reads every data row into typed values; ``plan_import`` decides for each row
what would be created, updated or skipped and what is wrong; ``apply_import`` writes a plan without
errors through the enterprise and pipeline services, in the caller's one transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.auth.models import Role, User
from app.core.audit import set_actor
from app.core.exceptions import UserError
from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.core.i18n import pgettext
from app.core.money import UNIT_WAN, UNIT_YI, UNIT_YUAN, AmountError, parse_amount
from app.core.timeutil import today_local
from app.enterprises.credit_code import CreditCodeError, validate_credit_code
from app.enterprises.models import Enterprise
from app.enterprises.names import normalize_name
from app.enterprises.services import NAME_MAX
from app.ledger.bulk import BATCH_SIZE, gc_paused, write_new_records
from app.parks.models import Chain, ChainLink, Park
from app.pipeline import services, visibility
from app.pipeline.lifecycle import (
    ACTIVE,
    MAIN_LINE,
    MILESTONE_FIELDS,
    Move,
    Stage,
    TransitionError,
    needs_confirmation,
    plan_move,
    skipped_stages,
    stage_from_word,
)
from app.pipeline.models import Lead, Project, ProposalStatus, StageProposal

__all__ = [
    "CREATE",
    "ERROR",
    "SKIP",
    "UPDATE",
    "ImportPlan",
    "ImportResult",
    "LedgerFileError",
    "ParsedLedger",
    "PlannedRow",
    "apply_import",
    "plan_import",
    "plan_report_xlsx",
    "read_ledger",
]

CREATE, UPDATE, SKIP, ERROR = "create", "update", "skip", "error"
OUTCOME_LABELS = {CREATE: _l("新增"), UPDATE: _l("更新"), SKIP: _l("跳过"), ERROR: _l("错误")}
HEADER_SCAN_ROWS = 15
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXTENSIONS = (".xlsx", ".xls", ".csv")

# field -> header names (normalised: no spaces, no bracketed unit, half-width).
HEADERS: dict[str, tuple[str, ...]] = {
    "project_name": ("项目名称", "项目", "项目名", "招商项目"),
    "lead_title": ("线索名称", "线索"),
    "enterprise_name": ("企业名称", "企业", "投资方", "投资主体", "投资企业", "签约企业"),
    "credit_code": ("统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码"),
    "park": ("所属园区", "园区", "园区名称", "落地园区"),
    "chain": ("产业链",),
    "chain_link": ("产业环节", "产业链环节", "环节"),
    "total_investment": ("总投资", "计划总投资", "项目总投资", "投资额", "预计投资"),
    "fixed_asset_investment": ("固定资产投资", "固投"),
    "stage": ("阶段", "项目进展", "状态", "项目阶段", "进展", "当前阶段"),
    "signed_on": ("签约时间", "签约日期"),
    "construction_on": ("开工时间", "开工日期"),
    "production_on": ("投产时间", "投产日期"),
    "full_production_on": ("达产时间", "达产日期"),
    "stage_on": ("阶段日期", "阶段时间", "进展日期", "阶段变更日期"),
    "owner": ("招商专员", "责任人", "负责人", "招商人员"),
    "note": ("备注", "说明"),
}
_HEADER_INDEX = {name: key for key, names in HEADERS.items() for name in names}
AMOUNT_FIELDS = ("total_investment", "fixed_asset_investment")
DATE_FIELDS = ("signed_on", "construction_on", "production_on", "full_production_on", "stage_on")
_DATE_RE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?(?:\s+[\d:]+)?")
_BRACKET_RE = re.compile(r"[(\[【].*?[)\]】]")
_FORMULA_CELL_RE = re.compile(rb"<c\b[^>]*>(.*?)</c>", re.S)
_VALUE_RE = re.compile(rb"<v>[^<]+</v>")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class LedgerFileError(UserError):
    """A file that cannot be imported at all; the message says why, in the user's language."""


# --- reading ----------------------------------------------------------------------------------


@dataclass
class ParsedRow:
    """One data row: its Excel row number, the original cells, typed values, reading errors."""

    number: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedLedger:
    kind: str  # "projects" or "leads"
    header_row: int
    headers: list[str]
    columns: dict[str, int]
    units: dict[str, str]
    rows: list[ParsedRow]


def _clean_header(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    return re.sub(r"\s+", "", text)


def _header_field(value: Any) -> tuple[str | None, str]:
    """Return (field, unit) for a header cell; unit is read from the header text."""
    text = _clean_header(value)
    unit = UNIT_WAN if "万" in text else UNIT_YUAN if re.search(r"\(元\)|（元）", text) else UNIT_YI
    bare = _BRACKET_RE.sub("", text).replace("*", "")
    bare = re.sub(r"(万元|亿元|万|亿)$", "", bare)
    return _HEADER_INDEX.get(bare), unit


def _cell(value: Any) -> Any:
    """Turn a pandas cell into a plain Python value (NaN -> None, Timestamp -> datetime)."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            return value.to_pydatetime()
        except ValueError:
            return None
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if type(value).__module__.startswith("numpy"):
        return value.item()
    return value


def _check_zip(data: bytes, max_uncompressed: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        if data.startswith(OLE_SIGNATURE):
            raise LedgerFileError(
                _(
                    "该文件已加密（设置了打开密码）或不是 .xlsx 格式，"
                    "请取消密码后另存为 .xlsx 再导入。"
                )
            ) from None
        raise LedgerFileError(_("文件不是有效的 Excel 表格（.xlsx），请检查文件。")) from None
    with archive:
        total = sum(info.file_size for info in archive.infolist())
        if total > max_uncompressed:
            raise LedgerFileError(
                _(
                    "文件解压后过大（%(size)dMB），超过上限%(limit)dMB，请拆分后导入。",
                    size=total // (1024 * 1024),
                    limit=max_uncompressed // (1024 * 1024),
                )
            )
        names = archive.namelist()
        if not any(n.startswith("xl/worksheets/") for n in names):
            raise LedgerFileError(_("文件不是有效的 Excel 表格（.xlsx），请检查文件。"))
        for name in names:
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            xml = archive.read(name)
            if b"<f" not in xml:
                continue
            for match in _FORMULA_CELL_RE.finditer(xml):
                inner = match.group(1)
                if (b"<f>" in inner or b"<f " in inner) and not _VALUE_RE.search(inner):
                    raise LedgerFileError(
                        _(
                            "表格中有公式没有计算结果（可能由程序生成而未在 Excel 中保存过），"
                            "请用 Excel 或 WPS 打开并保存后再导入，或将公式粘贴为数值。"
                        )
                    )


def _read_frame(data: bytes, filename: str, max_uncompressed: int) -> Any:
    import pandas as pd

    name = filename.lower()
    if name.endswith(".csv"):
        if b"\x00" in data[:4096]:
            raise LedgerFileError(_("文件不是有效的表格文件（CSV），请检查文件。"))
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes nearly anything
            raise LedgerFileError(_("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码。"))
        try:
            frame = pd.read_csv(
                io.StringIO(text), header=None, dtype=object, keep_default_na=False,
                skip_blank_lines=False,
            )  # fmt: skip
        except pd.errors.EmptyDataError:
            raise LedgerFileError(_("文件是空的，没有可导入的内容。")) from None
        except (ValueError, pd.errors.ParserError):
            raise LedgerFileError(_("文件不是有效的表格文件（CSV），请检查文件。")) from None
    else:
        if name.endswith(".xlsx"):
            _check_zip(data, max_uncompressed)
        elif not data.startswith(OLE_SIGNATURE):
            raise LedgerFileError(_("文件不是有效的 Excel 表格（.xls），请检查文件。"))
        try:
            frame = pd.read_excel(
                io.BytesIO(data), engine="calamine", header=None, dtype=object, sheet_name=0
            )
        except Exception as exc:  # calamine raises its own error types for broken files
            text = str(exc).lower()
            if "password" in text or "encrypt" in text:
                raise LedgerFileError(
                    _("该文件已加密（设置了打开密码），请取消密码后再导入。")
                ) from None
            raise LedgerFileError(_("无法读取该表格文件，文件可能已损坏或加密。")) from None
    return frame


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int], dict[str, str]]:
    best: tuple[int, int, dict[str, int], dict[str, str]] | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        units: dict[str, str] = {}
        for col, value in enumerate(row):
            if value is None:
                continue
            key, unit = _header_field(value)
            if key is not None and key not in columns:
                columns[key] = col
                units[key] = unit
        names = {"project_name", "enterprise_name"} & set(columns)
        if len(columns) >= 2 and names and (best is None or len(columns) > best[1]):
            best = (index, len(columns), columns, units)
    if best is None:
        raise LedgerFileError(
            _(
                "未找到可识别的表头：前%(rows)d行中应有一行包含“项目名称”或“企业名称”等列名。",
                rows=HEADER_SCAN_ROWS,
            )
        )
    return best[0], best[2], best[3]


@gc_paused
def read_ledger(
    data: bytes, filename: str, *, max_bytes: int, max_rows: int, max_uncompressed: int
) -> ParsedLedger:
    """Read a ledger file; raise :class:`LedgerFileError` for a file that cannot be imported."""
    if len(data) > max_bytes:
        raise LedgerFileError(
            _(
                "文件过大（%(size).1fMB），上限为%(limit).1fMB，请拆分后导入。",
                size=len(data) / 1024 / 1024,
                limit=max_bytes / 1024 / 1024,
            )
        )
    if not filename.lower().endswith(EXTENSIONS):
        raise LedgerFileError(_("只能导入 .xlsx、.xls 或 .csv 格式的表格文件。"))
    if not data.strip():
        raise LedgerFileError(_("文件是空的，没有可导入的内容。"))
    frame = _read_frame(data, filename, max_uncompressed)
    # Each column is read once per distinct value (pandas factorize), then spread over its rows.
    cleaned = [_Column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    present = np.zeros(frame.shape[0], dtype=bool)
    for column in cleaned:
        present |= column.present
    if not present.any():
        raise LedgerFileError(_("文件是空的，没有可导入的内容。"))
    top = [[c.value(i) for c in cleaned] for i in range(min(HEADER_SCAN_ROWS, frame.shape[0]))]
    header_index, columns, units = _find_header(top)
    headers = [str(v) if v is not None else "" for v in top[header_index]]
    kind = "projects" if "project_name" in columns else "leads"
    present[: header_index + 1] = False
    indexes = np.flatnonzero(present)
    if len(indexes) > max_rows:
        raise LedgerFileError(_("数据行过多，上限为%(limit)d行，请拆分后导入。", limit=max_rows))
    if not len(indexes):
        raise LedgerFileError(_("表格只有表头，没有数据行。"))
    fields = [
        (key, cleaned[col].parsed(key, units.get(key, UNIT_YI))) for key, col in columns.items()
    ]
    raw = frame.to_numpy(dtype=object)
    parsed: list[ParsedRow] = []
    for index in indexes.tolist():
        row = ParsedRow(index + 1, _Cells(raw[index]))
        values, errors = row.values, row.errors
        for key, (results, failed) in fields:
            result = results[index]
            if failed[index]:
                errors.append(result)
            else:
                values[key] = result
        parsed.append(row)
    return ParsedLedger(kind, header_index + 1, headers, columns, units, parsed)


class _Cells(Sequence):
    """The original cells of a row, as the report workbook shows them (cleaned when read)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [_cell(v) for v in self.raw[index]]
        return _cell(self.raw[index])

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]


class _Column:
    """One column of the sheet, factorized: each distinct value is cleaned and parsed once."""

    def __init__(self, series: Any) -> None:
        import pandas as pd

        codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
        # The last entry stands for pandas' missing values (code -1).
        self.codes = codes
        self.uniques = [_cell(v) for v in uniques] + [None]
        self.present = np.array([v is not None for v in self.uniques], dtype=bool)[codes]

    def value(self, index: int) -> Any:
        return self.uniques[self.codes[index]]

    def parsed(self, key: str, unit: str) -> tuple[Any, Any]:
        """(values, failed): per row the typed value, or the error message where *failed*."""
        results: list[Any] = []
        failed: list[bool] = []
        for raw in self.uniques:
            try:
                results.append(_parse_value(key, raw, unit))
                failed.append(False)
            except AmountError as exc:
                results.append(exc.message)
                failed.append(True)
            except ValueError as exc:
                results.append(str(exc))
                failed.append(True)
        values = np.empty(len(results), dtype=object)
        values[:] = results
        return values[self.codes], np.array(failed, dtype=bool)[self.codes]


def parse_date(value: Any) -> dt.date | None:
    """Read a date written in any of the ways ledgers write them; ValueError if unreadable."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE_RE.fullmatch(text)
    if match is None and re.fullmatch(r"\d{8}", text):
        match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if match is None and re.fullmatch(r"\d{5}(\.0)?", text):
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    if match is None:
        raise ValueError(value)
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


def _parse_credit_code(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            value = int(value)
        else:
            raise ValueError(
                _(
                    "统一社会信用代码被 Excel 存成了数字（如 9.13702E+17），后几位已丢失，"
                    "请把该列设为文本格式并重新填写代码。"
                )
            )
    text = str(value).strip().lstrip("'")
    try:
        return validate_credit_code(text)
    except CreditCodeError as exc:
        if isinstance(value, int):
            raise ValueError(
                _(
                    "统一社会信用代码 %(code)s 被 Excel 存成了数字，后几位可能已丢失"
                    "（%(reason)s），请把该列设为文本格式并重新填写代码。",
                    code=text,
                    reason=exc.message,
                )
            ) from None
        raise ValueError(_("统一社会信用代码有误：%(reason)s", reason=exc.message)) from None


def _parse_value(key: str, raw: Any, unit: str) -> Any:
    """The typed value of one cell of column *key*; AmountError or ValueError if unreadable."""
    if key in AMOUNT_FIELDS:
        return parse_amount(raw, unit)
    if key in DATE_FIELDS:
        try:
            return parse_date(raw)
        except (ValueError, OverflowError):
            raise ValueError(_("无法识别的日期：%(text)s", text=raw)) from None
    if key == "credit_code":
        return _parse_credit_code(raw)
    if key == "stage":
        if raw is None:
            return None
        value = stage_from_word(re.sub(r"\s+", "", str(raw)))
        if value is None:
            raise ValueError(_("无法识别的阶段：%(text)s", text=raw))
        return value
    return None if raw is None else re.sub(r"\s+", " ", str(raw)).strip() or None


# --- planning ---------------------------------------------------------------------------------


def _joined(parts: Iterable[str]) -> str:
    """Sentences of one row, joined as the language joins them ("；" in Chinese)."""
    return pgettext("between the messages of an imported row", "；").join(parts)


@dataclass
class PlannedRow:
    """What the import will do with one row, and why."""

    number: int
    cells: list[Any]
    outcome: str
    messages: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])

    @property
    def message(self) -> str:
        return _joined(self.messages)


@dataclass
class ImportPlan:
    ledger: ParsedLedger
    rows: list[PlannedRow]

    @property
    def has_errors(self) -> bool:
        return any(r.outcome == ERROR for r in self.rows)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {o: self.count(o) for o in (CREATE, UPDATE, SKIP, ERROR)}


@dataclass
class ImportResult:
    enterprises: int = 0
    leads: int = 0
    projects: int = 0
    updated: int = 0
    proposals: int = 0
    skipped: int = 0


def _chunks(values: list[Any], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Lookups:
    """Reference data read once per plan: parks, chain links, users, stage labels."""

    def __init__(self, session: Session) -> None:
        self.labels = {stage: stage.label for stage in Stage}
        self.parks: dict[str, Park] = {}
        self.park_names: dict[int, str] = {}
        for park in session.scalars(select(Park)):
            self.park_names[park.id] = park.name
            self.parks[park.name] = park
            self.parks[park.code.upper()] = park
        self.links: dict[str, list[ChainLink]] = {}
        chains = session.scalars(select(Chain).options(selectinload(Chain.links)))
        for chain in chains:
            for link in chain.links:
                for key in (link.name, f"{chain.name}·{link.name}", f"{chain.name}{link.name}"):
                    self.links.setdefault(key, []).append(link)
        self.users: dict[str, list[User]] = {}
        self._user_by_text: dict[str, User | None] = {}
        self.user_names: dict[int, str] = {}
        for user in session.scalars(select(User).options(selectinload(User.parks))):
            self.user_names[user.id] = user.full_name
            for key in {user.full_name, user.username}:
                self.users.setdefault(key, []).append(user)

    def load_known(self, session: Session, parsed: ParsedLedger) -> None:
        """Read the enterprises and records the ledger may name, in a few bulk queries."""
        codes = sorted(
            {r.values["credit_code"] for r in parsed.rows if r.values.get("credit_code")}
        )
        keys = sorted(
            {
                normalize_name(r.values["enterprise_name"])[:NAME_MAX]
                for r in parsed.rows
                if r.values.get("enterprise_name")
            }
            - {""}
        )
        found: dict[int, Enterprise] = {}
        for column, values in ((Enterprise.credit_code, codes), (Enterprise.name_key, keys)):
            for chunk in _chunks(values):
                found.update(
                    (e.id, e) for e in session.scalars(select(Enterprise).where(column.in_(chunk)))
                )
        self.by_code = {e.credit_code: e for e in found.values() if e.credit_code}
        self.by_key: dict[str, list[Enterprise]] = {}
        for enterprise in sorted(found.values(), key=lambda e: e.id):
            self.by_key.setdefault(enterprise.name_key, []).append(enterprise)
        model = Project if parsed.kind == "projects" else Lead
        self.records: dict[tuple[int, str], Lead | Project] = {}
        for chunk in _chunks(sorted(found)):
            for record in session.scalars(select(model).where(model.enterprise_id.in_(chunk))):
                name = record.name if isinstance(record, Project) else record.title
                self.records.setdefault((record.enterprise_id, name), record)
        # The enterprises' leads still being worked on (what services.active_leads_elsewhere
        # reads, for all of them at once), with their owner's and park's names.
        self.active_leads: dict[int, list[tuple[Lead, str, str]]] = {}
        for chunk in _chunks(sorted(found)):
            stmt = select(Lead).where(
                Lead.enterprise_id.in_(chunk), Lead.stage.in_(ACTIVE | {Stage.ON_HOLD})
            )
            for lead in session.scalars(stmt.order_by(Lead.id)):
                self.active_leads.setdefault(lead.enterprise_id, []).append(
                    (lead, self.user_names[lead.owner_id], self.park_names[lead.park_id])
                )
        # Pending stage proposals of the records (what services.pending_proposal reads).
        column = StageProposal.project_id if model is Project else StageProposal.lead_id
        self.pending: dict[int, StageProposal] = {}
        for chunk in _chunks(sorted({r.id for r in self.records.values()})):
            stmt = select(StageProposal).where(
                column.in_(chunk), StageProposal.status == ProposalStatus.PENDING
            )
            for proposal in session.scalars(stmt.order_by(StageProposal.id)):
                self.pending.setdefault(getattr(proposal, column.key), proposal)

    def open_lead(self, user: User, enterprise: Enterprise, park: Park) -> Lead | None:
        """The enterprise's first lead in *park* still being worked on that *user* may see."""
        for lead, _owner, _park in self.active_leads.get(enterprise.id, []):
            if lead.park_id == park.id and visibility.can_view(user, lead):
                return lead
        return None

    def rivals(self, enterprise: Enterprise | None, owner: User) -> list[tuple[str, str]]:
        """(owner, park) of the enterprise's leads being worked on by someone else."""
        if enterprise is None:
            return []
        leads = self.active_leads.get(enterprise.id, [])
        return [(name, park) for lead, name, park in leads if lead.owner_id != owner.id]

    def park(self, text: str) -> Park | None:
        return self.parks.get(text) or self.parks.get(text.upper())

    def link(self, text: str) -> ChainLink | None:
        key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace("•", "·")
        found = self.links.get(key) or self.links.get(key.replace("-", "·"))
        if found is None or len({link.id for link in found}) != 1:
            raise ValueError(
                _("无法识别的产业链环节：%(text)s", text=text)
                if not found
                else _("产业链环节“%(text)s”不唯一，请写成“产业链 · 环节”", text=text)
            )
        return found[0]

    def user(self, text: str) -> User | None:
        if text not in self._user_by_text:
            found = [u for u in self.users.get(text, []) if u.active]
            self._user_by_text[text] = found[0] if len(found) == 1 else None
        return self._user_by_text[text]


def _move_for(
    stage: Stage, values: dict[str, Any], start: dt.date, today: dt.date
) -> tuple[Move | None, dt.date]:
    """Build the move from 线索 to *stage* with dates from the milestone columns.

    Returns the move (None for 线索) and the date the record starts from (the earliest date).
    """
    stage_on = _stage_date(stage, values, today)
    if stage is Stage.LEAD:
        return None, stage_on or start
    milestones = {s: values.get(f) for s, f in MILESTONE_FIELDS.items() if values.get(f)}
    target = stage
    effective = milestones.get(stage) if stage in MILESTONE_FIELDS else stage_on
    if effective is None:
        later = [d for s, d in milestones.items() if s.rank <= stage.rank]
        effective = max(later) if later else today
    skipped: dict[Stage, dt.date] = {}
    line_target = stage if stage.is_main else Stage.LEAD
    if stage.is_main:
        following = effective
        for s in reversed(skipped_stages(Stage.LEAD, line_target)):
            if s in milestones:
                following = milestones[s]
                skipped[s] = following
            elif s not in MILESTONE_FIELDS:
                skipped[s] = following
    dates = [effective, *skipped.values()]
    return Move(target=target, effective_on=effective, skipped_dates=skipped), min([*dates, start])


def _stage_date(stage: Stage, values: dict[str, Any], today: dt.date) -> dt.date | None:
    """The 阶段日期 column: the day the record entered its ledger stage (None if not given)."""
    stage_on = values.get("stage_on")
    if stage_on is None:
        return None
    if stage_on > today:
        raise ValueError(_("阶段日期（%(day)s）不能晚于今天。", day=stage_on.isoformat()))
    field = MILESTONE_FIELDS.get(stage)
    milestone = values.get(field) if field else None
    if milestone is not None and milestone != stage_on:
        raise ValueError(
            _(
                "阶段日期（%(day)s）与%(stage)s日期（%(milestone)s）不一致，"
                "请改为同一天或留空其一。",
                day=stage_on.isoformat(),
                stage=stage.label,
                milestone=milestone.isoformat(),
            )
        )
    return stage_on


def _forward_move(record: Lead | Project, stage: Stage, values: dict[str, Any], today: dt.date):
    """Build the move from the record's stage to a later ledger *stage*."""
    milestones = {s: values.get(f) for s, f in MILESTONE_FIELDS.items() if values.get(f)}
    effective = milestones.get(stage) or _stage_date(stage, values, today) or today
    skipped: dict[Stage, dt.date] = {}
    following = effective
    for s in reversed(skipped_stages(record.stage, stage)):
        if s in milestones:
            following = milestones[s]
        skipped[s] = following
    return Move(target=stage, effective_on=effective, skipped_dates=skipped)


@gc_paused
def plan_import(session: Session, user: User, parsed: ParsedLedger) -> ImportPlan:
    """Decide, row by row, what importing *parsed* as *user* would do. Writes nothing."""
    look = _Lookups(session)
    look.load_known(session, parsed)
    today = today_local()
    planned: list[PlannedRow] = []
    new_enterprises: dict[str, str] = {}  # code or name key -> first row label
    new_leads: dict[tuple[str, int], int] = {}  # (enterprise, park) -> row creating the lead
    # Owners of the leads this file creates, per enterprise: the services refuse a second
    # owner's lead for an enterprise someone is courting, within one file as across files.
    lead_owners: dict[str, list[tuple[User, str]]] = {}
    seen_projects: set[tuple[str, str]] = set()
    for row in parsed.rows:
        out = PlannedRow(row.number, row.cells, ERROR, list(row.errors))
        planned.append(out)
        if not visibility.can_create(user):
            out.messages.append(_("您没有导入权限。"))
            continue
        if row.errors:
            continue
        try:
            _plan_row(session, user, parsed.kind, row.values, out, look, today)
        except ValueError as exc:
            out.outcome = ERROR
            out.messages.append(str(exc))
            continue
        data = out.data
        if out.outcome == ERROR:
            continue
        ekey = data["enterprise_key"]
        if data.get("enterprise") is None:
            new_enterprises.setdefault(ekey, str(row.number))
        if parsed.kind == "projects" and data.get("project") is None:
            pkey = (ekey, data["name"])
            if pkey in seen_projects:
                out.outcome = ERROR
                out.messages = [
                    _("与前面的行重复：同一企业的项目“%(name)s”出现了两次。", name=data["name"])
                ]
                continue
            seen_projects.add(pkey)
            if data.get("lead") is not None:
                continue
            lkey = (ekey, data["park"].id)
            data["reuse_new_lead"] = lkey in new_leads
            if data["reuse_new_lead"]:
                out.messages[data["new_lead_message"]] = _(
                    "归入第%(row)d行新增的线索", row=new_leads[lkey]
                )
                continue
        elif parsed.kind == "projects" or data.get("lead_record") is not None:
            continue
        # This row creates a lead.
        owner, park = data["owner"], data["park"]
        others = [(o.full_name, p) for o, p in lead_owners.get(ekey, []) if o.id != owner.id]
        if others:
            out.outcome = ERROR
            out.messages = [
                _(
                    "该企业在本台账前面的行中已由他人跟进（%(who)s），请与其联系。",
                    who=_owners_in_parks(others),
                )
            ]
            continue
        lead_owners.setdefault(ekey, []).append((owner, park.name))
        if parsed.kind == "projects":
            new_leads[(ekey, park.id)] = row.number
    return ImportPlan(parsed, planned)


def _plan_row(
    session: Session,
    user: User,
    kind: str,
    values: dict[str, Any],
    out: PlannedRow,
    look: _Lookups,
    today: dt.date,
) -> None:
    data = out.data
    enterprise_name = values.get("enterprise_name")
    code = values.get("credit_code")
    if not enterprise_name:
        raise ValueError(_("缺少企业名称。"))
    key = normalize_name(enterprise_name)[:NAME_MAX]
    if not key:
        raise ValueError(_("企业名称须包含文字或字母数字。"))
    enterprise = look.by_code.get(code) if code else None
    if enterprise is None:
        candidates = look.by_key.get(key, [])
        if len(candidates) == 1 and not (code and candidates[0].credit_code):
            enterprise = candidates[0]
    data.update(enterprise=enterprise, enterprise_name=enterprise_name, credit_code=code)
    data["enterprise_key"] = code or key
    name = values.get("project_name") if kind == "projects" else values.get("lead_title")
    name = name or (enterprise_name if kind == "leads" else None)
    if not name:
        raise ValueError(_("缺少项目名称。"))
    data["name"] = name[:120]
    park_text = values.get("park")
    park = look.park(park_text) if park_text else None
    if park_text and park is None:
        raise ValueError(_("无法识别的园区：%(text)s", text=park_text))
    data["park"] = park
    link_text, chain_text = values.get("chain_link"), values.get("chain")
    if link_text and chain_text and "·" not in link_text:
        link_text = f"{chain_text}·{link_text}"
    link_text = link_text or chain_text
    data["chain_link"] = look.link(link_text) if link_text else None
    owner_text = values.get("owner")
    named = look.user(owner_text) if owner_text else None
    if owner_text and named is None:
        raise ValueError(_("找不到在职用户：%(text)s", text=owner_text))
    owner = named or user
    if user.role is Role.OFFICER and owner.id != user.id:
        raise ValueError(
            _("招商专员只能导入本人负责的记录（本行负责人为%(owner)s）。", owner=owner_text)
        )
    if owner.role not in (Role.OFFICER, Role.MANAGER):
        owner = user if user.role in (Role.OFFICER, Role.MANAGER) else None
    data["owner"] = owner
    # The owner the row names (for an existing record, a change of owner).
    data["named_owner"] = named if named is not None and named is owner else None
    total = values.get("total_investment")
    fixed = values.get("fixed_asset_investment")
    if total is not None and fixed is not None and fixed > total:
        raise ValueError(_("固定资产投资不能大于总投资。"))
    note = values.get("note")
    if note is not None and len(note) > services.MAX_TEXT:
        raise ValueError(_("备注过长（最多%(limit)d字）。", limit=services.MAX_TEXT))
    data.update(total=total, fixed=fixed, note=note)
    stage = values.get("stage") or Stage.LEAD
    data["stage"] = stage
    record = look.records.get((enterprise.id, data["name"])) if enterprise is not None else None
    if record is not None:
        _plan_update(session, user, record, values, out, today, look)
        data["project" if kind == "projects" else "lead_record"] = record
        return
    # A new record.
    if park is None:
        raise ValueError(_("新建记录须填写所属园区。"))
    if not visibility.may_work_in_park(user, park.id):
        raise ValueError(_("您不负责“%(park)s”，不能导入到该园区。", park=park.name))
    if not park.active:
        raise ValueError(_("园区“%(park)s”已停用。", park=park.name))
    if owner is None:
        raise ValueError(_("请在“招商专员”列填写负责人（在职的招商专员或园区负责人）。"))
    if owner.role is Role.MANAGER and park.id not in owner.park_ids:
        raise ValueError(_("%(owner)s不负责“%(park)s”。", owner=owner.full_name, park=park.name))
    if stage is Stage.DROPPED and not data["note"]:
        raise ValueError(_("终止的记录须在“备注”中填写原因。"))
    move, start = _move_for(stage, values, today, today)
    steps = []
    if move is not None:
        if stage is Stage.DROPPED:
            move.reason = data["note"] or ""
        try:
            steps = plan_move(Stage.LEAD, start, move, today)
        except TransitionError as exc:
            raise ValueError(_("阶段与日期不符：%(reason)s", reason=exc.message)) from None
    data.update(move=move, start=start, steps=steps)
    messages = []
    if enterprise is None:
        messages.append(_("新增企业“%(name)s”", name=enterprise_name))
    if kind == "projects":
        lead = look.open_lead(user, enterprise, park) if enterprise is not None else None
        if lead is not None and not visibility.can_edit(user, lead):
            lead = None
        data["lead"] = lead
        if lead is None:
            _check_no_rival(look.rivals(enterprise, owner))
            # Replaced when an earlier row of the file creates the same lead (plan_import).
            data["new_lead_message"] = len(messages)
            messages.append(_("新增线索"))
        else:
            messages.append(_("归入已有线索“%(title)s”", title=lead.title))
        messages.append(_("新增项目“%(name)s”", name=data["name"]))
    else:
        _check_no_rival(look.rivals(enterprise, owner))
        messages.append(_("新增线索“%(name)s”", name=data["name"]))
    if move is not None:
        if _needs_proposal(user, move):
            messages.append(_("阶段：%(stage)s（待园区负责人确认）", stage=look.labels[stage]))
        else:
            messages.append(_("阶段：%(stage)s", stage=look.labels[stage]))
    out.outcome = CREATE
    out.messages = messages


def _needs_proposal(user: User, move: Move) -> bool:
    return user.role is Role.OFFICER and needs_confirmation(move.target)


def _owners_in_parks(others: list[tuple[str, str]]) -> str:
    """Who courts the enterprise, and where: "张三（集成电路产业园）；李四（新型显示产业园）"."""
    return _joined(_("%(owner)s（%(park)s）", owner=o, park=p) for o, p in others)


def _check_no_rival(others: list[tuple[str, str]]) -> None:
    if others:
        raise ValueError(
            _(
                "该企业已有他人正在跟进的线索（%(who)s），请与其联系。",
                who=_owners_in_parks(others),
            )
        )


def _plan_update(
    session: Session,
    user: User,
    record: Lead | Project,
    values: dict[str, Any],
    out: PlannedRow,
    today: dt.date,
    look: _Lookups,
) -> None:
    data = out.data
    names = look.labels
    if not visibility.can_edit(user, record):
        raise ValueError(_("系统中已有该记录，但不在您的负责范围内，不能修改。"))
    changes: dict[str, Any] = {}
    labels = []
    if isinstance(record, Project):
        for attr, key, label in (
            ("total_investment", "total", _("总投资")),
            ("fixed_asset_investment", "fixed", _("固定资产投资")),
        ):
            if data[key] is not None and getattr(record, attr) != data[key]:
                changes[attr] = data[key]
                labels.append(label)
    elif data["total"] is not None and record.estimated_investment != data["total"]:
        changes["estimated_investment"] = data["total"]
        labels.append(_("预计投资"))
    link = data["chain_link"]
    if link is not None and record.chain_link_id != link.id:
        changes["chain_link"] = link
        labels.append(_("产业链环节"))
    if data["note"] and record.description != data["note"]:
        changes["description"] = data["note"]
        labels.append(_("备注"))
    if isinstance(record, Project):
        total = changes.get("total_investment", record.total_investment)
        fixed = changes.get("fixed_asset_investment", record.fixed_asset_investment)
        if total is not None and fixed is not None and fixed > total:
            raise ValueError(_("固定资产投资不能大于总投资。"))
    park = data["park"]
    if park is not None and park.id != record.park_id:
        # As services.update_project/update_lead: the user must work in the new park.
        if not visibility.may_work_in_park(user, park.id):
            raise ValueError(_("您不负责“%(park)s”，不能把记录移入该园区。", park=park.name))
        if not park.active:
            raise ValueError(_("园区“%(park)s”已停用。", park=park.name))
        changes["park"] = park
        labels.append(_("园区 %(old)s→%(new)s", old=record.park.name, new=park.name))
    owner = data["named_owner"]
    if owner is not None and owner.id != record.owner_id:
        # As services.reassign: park managers (of the record's park) and admins reassign.
        if not visibility.can_manage(user, record):
            raise ValueError(
                _(
                    "更换负责人（%(old)s→%(new)s）须由该园区负责人或系统管理员导入。",
                    old=record.owner.full_name,
                    new=owner.full_name,
                )
            )
        target = park or record.park
        if owner.role is Role.MANAGER and target.id not in owner.park_ids:
            raise ValueError(
                _("%(owner)s不负责“%(park)s”。", owner=owner.full_name, park=target.name)
            )
        data["reassign"] = owner
        labels.append(_("负责人 %(old)s→%(new)s", old=record.owner.full_name, new=owner.full_name))
    stage = values.get("stage")
    move = None
    notes = []
    pending = look.pending.get(record.id)
    if pending is not None and stage is not None and stage != record.stage:
        notes.append(_("“%(stage)s”的阶段变更正等待园区负责人确认", stage=names[pending.to_stage]))
    elif stage is not None and stage != record.stage:
        if stage.is_main and record.stage.is_main and stage.rank < record.stage.rank:
            notes.append(
                _(
                    "系统中阶段已是“%(stage)s”，台账阶段较早，未回退",
                    stage=names[record.stage],
                )
            )
        else:
            move = _forward_move(record, stage, values, today)
            if stage is Stage.DROPPED:
                move.reason = data["note"] or ""
            try:
                plan_move(record.stage, record.stage_since, move, today, record.held_from)
            except TransitionError as exc:
                raise ValueError(_("阶段与日期不符：%(reason)s", reason=exc.message)) from None
            moved = {"old": names[record.stage], "new": names[stage]}
            if _needs_proposal(user, move):
                labels.append(_("阶段 %(old)s→%(new)s（待园区负责人确认）", **moved))
            else:
                labels.append(_("阶段 %(old)s→%(new)s", **moved))
    data.update(changes=changes, move=move)
    if changes or move is not None or data.get("reassign") is not None:
        out.outcome = UPDATE
        changed = pgettext("between the changes of an imported row", "、").join(labels)
        out.messages = [_("更新：%(changes)s", changes=changed), *notes]
    else:
        out.outcome = SKIP
        out.messages = [_("已存在，无变化"), *notes]


# --- applying ---------------------------------------------------------------------------------


def apply_import(
    session: Session, user: User, plan: ImportPlan, *, batch_size: int = BATCH_SIZE
) -> ImportResult:
    """Write a plan; flushes, never commits. Refuses a plan with errors. All or nothing.

    New records are written in bulk (:mod:`app.ledger.bulk`: the rows, history and audit entries
    the services would write), updates of existing records through the services. Everything
    happens in a savepoint: if anything fails, nothing of the import stays in the session.
    """
    if plan.has_errors:
        raise LedgerFileError(
            _(
                "有%(n)d行存在错误，请修改台账后重新上传；导入须全部正确才会执行。",
                n=plan.count(ERROR),
            )
        )
    set_actor(session, user.id, "import")
    result = ImportResult()
    creates = [row for row in plan.rows if row.outcome == CREATE]
    session.flush()
    try:
        with session.begin_nested():
            counts = write_new_records(session, user, plan.ledger.kind, creates, batch_size)
            for row in plan.rows:
                if row.outcome == SKIP:
                    result.skipped += 1
                elif row.outcome == UPDATE:
                    try:
                        _apply_update(session, user, row.data, result)
                    except UserError as exc:
                        message = _("第%(row)d行：%(reason)s", row=row.number, reason=exc.message)
                        raise LedgerFileError(message, exc.field) from None
            session.flush()
    except UserError as exc:
        raise LedgerFileError(exc.message, exc.field) from None
    except (IntegrityError, StaleDataError):
        raise LedgerFileError(
            _(
                "导入期间系统中的数据已被他人修改（例如同一信用代码的企业刚被登记），"
                "未写入任何数据。请重新上传台账。"
            )
        ) from None
    result.enterprises = counts.enterprises
    result.leads = counts.leads
    result.projects = counts.projects
    result.proposals += counts.proposals
    return result


def _apply_update(session: Session, user: User, data: dict[str, Any], result: ImportResult):
    """Change an existing record through the services: details, park, owner, then stage."""
    record = data.get("project") or data.get("lead_record")
    changes = data["changes"]
    if changes:

        def get(attr: str) -> Any:
            return changes.get(attr, getattr(record, attr))

        common = {"park": get("park"), "chain_link": get("chain_link")}
        if isinstance(record, Project):
            services.update_project(
                session, user, record, version=record.version, name=record.name,
                total_investment=get("total_investment"),
                fixed_asset_investment=get("fixed_asset_investment"),
                planned={key: getattr(record, key) for key in services.PLANNED_FIELDS},
                description=get("description"), **common,
            )  # fmt: skip
        else:
            services.update_lead(
                session, user, record, version=record.version, title=record.title,
                source=record.source, estimated_investment=get("estimated_investment"),
                description=get("description"), **common,
            )  # fmt: skip
    if data.get("reassign") is not None:
        services.reassign(session, user, record, owner=data["reassign"], version=record.version)
    move = data["move"]
    if move is not None and services.move_stage(
        session, user, record, move, version=record.version
    ):
        result.proposals += 1
    result.updated += 1


# --- the report workbook ----------------------------------------------------------------------

_INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def plan_report_xlsx(plan: ImportPlan) -> bytes:
    """The original rows with 处理结果 and 错误说明 columns; formula-like text stays text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("导入结果"))

    def cell(value: Any) -> WriteOnlyCell:
        if isinstance(value, Decimal):
            value = float(value)
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith(_INJECTION_PREFIXES):
            c.data_type = "s"
        return c

    headings = (_("行号"), _("处理结果"), _("错误说明"))
    sheet.append([cell(headings[0]), *map(cell, plan.ledger.headers), *map(cell, headings[1:])])
    outcome_with_note = pgettext("an imported row's outcome and its note", "%(outcome)s：%(note)s")
    width = len(plan.ledger.headers)
    for row in plan.rows:
        cells = (list(row.cells) + [None] * width)[:width]
        error = row.message if row.outcome == ERROR else ""
        note = "" if row.outcome == ERROR else row.message
        sheet.append(
            [
                cell(row.number),
                *map(cell, cells),
                cell(
                    outcome_with_note % {"outcome": row.outcome_label, "note": note}
                    if note
                    else row.outcome_label
                ),
                cell(error),
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Stages in main-line order, for templates and reports of the import.
STAGE_ORDER = MAIN_LINE
