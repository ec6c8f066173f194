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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import Role, User
from app.core.audit import set_actor
from app.core.exceptions import UserError
from app.core.money import UNIT_WAN, UNIT_YI, UNIT_YUAN, AmountError, parse_amount
from app.core.timeutil import today_local
from app.enterprises.credit_code import CreditCodeError, validate_credit_code
from app.enterprises.models import Enterprise
from app.enterprises.names import normalize_name
from app.enterprises.services import NAME_MAX, create_enterprise
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
from app.pipeline.models import Lead, LeadSource, Project

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
OUTCOME_LABELS = {CREATE: "新增", UPDATE: "更新", SKIP: "跳过", ERROR: "错误"}
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
    "owner": ("招商专员", "责任人", "负责人", "招商人员"),
    "note": ("备注", "说明"),
}
_HEADER_INDEX = {name: key for key, names in HEADERS.items() for name in names}
AMOUNT_FIELDS = ("total_investment", "fixed_asset_investment")
DATE_FIELDS = ("signed_on", "construction_on", "production_on", "full_production_on")
_DATE_RE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?(?:\s+[\d:]+)?")
_BRACKET_RE = re.compile(r"[(\[【].*?[)\]】]")
_FORMULA_CELL_RE = re.compile(rb"<c\b[^>]*>(.*?)</c>", re.S)
_VALUE_RE = re.compile(rb"<v>[^<]+</v>")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class LedgerFileError(UserError):
    """A file that cannot be imported at all; the message says why, in Chinese."""


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
                "该文件已加密（设置了打开密码）或不是 .xlsx 格式，请取消密码后另存为 .xlsx 再导入。"
            ) from None
        raise LedgerFileError("文件不是有效的 Excel 表格（.xlsx），请检查文件。") from None
    with archive:
        total = sum(info.file_size for info in archive.infolist())
        if total > max_uncompressed:
            raise LedgerFileError(
                f"文件解压后过大（{total // (1024 * 1024)}MB），超过上限"
                f"{max_uncompressed // (1024 * 1024)}MB，请拆分后导入。"
            )
        names = archive.namelist()
        if not any(n.startswith("xl/worksheets/") for n in names):
            raise LedgerFileError("文件不是有效的 Excel 表格（.xlsx），请检查文件。")
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
                        "表格中有公式没有计算结果（可能由程序生成而未在 Excel 中保存过），"
                        "请用 Excel 或 WPS 打开并保存后再导入，或将公式粘贴为数值。"
                    )


def _read_frame(data: bytes, filename: str, max_uncompressed: int) -> list[list[Any]]:
    import pandas as pd

    name = filename.lower()
    if name.endswith(".csv"):
        if b"\x00" in data[:4096]:
            raise LedgerFileError("文件不是有效的表格文件（CSV），请检查文件。")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes nearly anything
            raise LedgerFileError("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码。")
        try:
            frame = pd.read_csv(
                io.StringIO(text), header=None, dtype=object, keep_default_na=False,
                skip_blank_lines=False,
            )  # fmt: skip
        except pd.errors.EmptyDataError:
            raise LedgerFileError("文件是空的，没有可导入的内容。") from None
        except (ValueError, pd.errors.ParserError):
            raise LedgerFileError("文件不是有效的表格文件（CSV），请检查文件。") from None
    else:
        if name.endswith(".xlsx"):
            _check_zip(data, max_uncompressed)
        elif not data.startswith(OLE_SIGNATURE):
            raise LedgerFileError("文件不是有效的 Excel 表格（.xls），请检查文件。")
        try:
            frame = pd.read_excel(
                io.BytesIO(data), engine="calamine", header=None, dtype=object, sheet_name=0
            )
        except Exception as exc:  # calamine raises its own error types for broken files
            text = str(exc).lower()
            if "password" in text or "encrypt" in text:
                raise LedgerFileError(
                    "该文件已加密（设置了打开密码），请取消密码后再导入。"
                ) from None
            raise LedgerFileError("无法读取该表格文件，文件可能已损坏或加密。") from None
    return [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]


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
            "未找到可识别的表头：前15行中应有一行包含“项目名称”或“企业名称”等列名。"
        )
    return best[0], best[2], best[3]


def read_ledger(
    data: bytes, filename: str, *, max_bytes: int, max_rows: int, max_uncompressed: int
) -> ParsedLedger:
    """Read a ledger file; raise :class:`LedgerFileError` for a file that cannot be imported."""
    if len(data) > max_bytes:
        raise LedgerFileError(
            f"文件过大（{len(data) / 1024 / 1024:.1f}MB），上限为"
            f"{max_bytes / 1024 / 1024:.1f}MB，请拆分后导入。"
        )
    if not filename.lower().endswith(EXTENSIONS):
        raise LedgerFileError("只能导入 .xlsx、.xls 或 .csv 格式的表格文件。")
    if not data.strip():
        raise LedgerFileError("文件是空的，没有可导入的内容。")
    rows = _read_frame(data, filename, max_uncompressed)
    if not any(any(v is not None for v in row) for row in rows):
        raise LedgerFileError("文件是空的，没有可导入的内容。")
    header_index, columns, units = _find_header(rows)
    headers = [str(v) if v is not None else "" for v in rows[header_index]]
    kind = "projects" if "project_name" in columns else "leads"
    parsed: list[ParsedRow] = []
    for offset, cells in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(v is not None for v in cells):
            continue
        parsed.append(_parse_row(offset, cells, columns, units))
        if len(parsed) > max_rows:
            raise LedgerFileError(f"数据行过多，上限为{max_rows}行，请拆分后导入。")
    if not parsed:
        raise LedgerFileError("表格只有表头，没有数据行。")
    return ParsedLedger(kind, header_index + 1, headers, columns, units, parsed)


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
                "统一社会信用代码被 Excel 存成了数字（如 9.13702E+17），后几位已丢失，"
                "请把该列设为文本格式并重新填写代码。"
            )
    text = str(value).strip().lstrip("'")
    try:
        return validate_credit_code(text)
    except CreditCodeError as exc:
        if isinstance(value, int):
            raise ValueError(
                f"统一社会信用代码 {text} 被 Excel 存成了数字，后几位可能已丢失（{exc.message}），"
                "请把该列设为文本格式并重新填写代码。"
            ) from None
        raise ValueError(f"统一社会信用代码有误：{exc.message}") from None


def _parse_row(
    number: int, cells: list[Any], columns: dict[str, int], units: dict[str, str]
) -> ParsedRow:
    row = ParsedRow(number, cells)
    for key, col in columns.items():
        raw = cells[col] if col < len(cells) else None
        try:
            if key in AMOUNT_FIELDS:
                value: Any = parse_amount(raw, units.get(key, UNIT_YI))
            elif key in DATE_FIELDS:
                try:
                    value = parse_date(raw)
                except (ValueError, OverflowError):
                    raise ValueError(f"无法识别的日期：{raw}") from None
            elif key == "credit_code":
                value = _parse_credit_code(raw)
            elif key == "stage":
                value = None
                if raw is not None:
                    word = re.sub(r"\s+", "", str(raw))
                    value = stage_from_word(word)
                    if value is None:
                        raise ValueError(f"无法识别的阶段：{raw}")
            else:
                value = None if raw is None else re.sub(r"\s+", " ", str(raw)).strip() or None
        except AmountError as exc:
            row.errors.append(exc.message)
            continue
        except ValueError as exc:
            row.errors.append(str(exc))
            continue
        row.values[key] = value
    return row


# --- planning ---------------------------------------------------------------------------------


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
        return OUTCOME_LABELS[self.outcome]

    @property
    def message(self) -> str:
        return "；".join(self.messages)


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
    """Reference data read once per plan: parks, chain links, users."""

    def __init__(self, session: Session) -> None:
        self.parks: dict[str, Park] = {}
        for park in session.scalars(select(Park)):
            self.parks[park.name] = park
            self.parks[park.code.upper()] = park
        self.links: dict[str, list[ChainLink]] = {}
        chains = session.scalars(select(Chain).options(selectinload(Chain.links)))
        for chain in chains:
            for link in chain.links:
                for key in (link.name, f"{chain.name}·{link.name}", f"{chain.name}{link.name}"):
                    self.links.setdefault(key, []).append(link)
        self.users: dict[str, list[User]] = {}
        for user in session.scalars(select(User).options(selectinload(User.parks))):
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

    def park(self, text: str) -> Park | None:
        return self.parks.get(text) or self.parks.get(text.upper())

    def link(self, text: str) -> ChainLink | None:
        key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace("•", "·")
        found = self.links.get(key) or self.links.get(key.replace("-", "·"))
        if found is None or len({link.id for link in found}) != 1:
            raise ValueError(
                f"无法识别的产业链环节：{text}"
                if not found
                else f"产业链环节“{text}”不唯一，请写成“产业链 · 环节”"
            )
        return found[0]

    def user(self, text: str) -> User | None:
        found = [u for u in self.users.get(text, []) if u.active]
        if len(found) != 1:
            return None
        return found[0]


def _move_for(
    stage: Stage, values: dict[str, Any], start: dt.date, today: dt.date
) -> tuple[Move | None, dt.date]:
    """Build the move from 线索 to *stage* with dates from the milestone columns.

    Returns the move (None for 线索) and the date the record starts from (the earliest date).
    """
    if stage is Stage.LEAD:
        return None, start
    milestones = {s: values.get(f) for s, f in MILESTONE_FIELDS.items() if values.get(f)}
    target = stage
    effective = milestones.get(stage) if stage in MILESTONE_FIELDS else None
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


def _forward_move(record: Lead | Project, stage: Stage, values: dict[str, Any], today: dt.date):
    """Build the move from the record's stage to a later ledger *stage*."""
    milestones = {s: values.get(f) for s, f in MILESTONE_FIELDS.items() if values.get(f)}
    effective = milestones.get(stage) or today
    skipped: dict[Stage, dt.date] = {}
    following = effective
    for s in reversed(skipped_stages(record.stage, stage)):
        if s in milestones:
            following = milestones[s]
        skipped[s] = following
    return Move(target=stage, effective_on=effective, skipped_dates=skipped)


def plan_import(session: Session, user: User, parsed: ParsedLedger) -> ImportPlan:
    """Decide, row by row, what importing *parsed* as *user* would do. Writes nothing."""
    look = _Lookups(session)
    look.load_known(session, parsed)
    today = today_local()
    planned: list[PlannedRow] = []
    new_enterprises: dict[str, str] = {}  # code or name key -> first row label
    new_leads: set[tuple[str, int]] = set()
    seen_projects: set[tuple[str, str]] = set()
    for row in parsed.rows:
        out = PlannedRow(row.number, row.cells, ERROR, list(row.errors))
        planned.append(out)
        if not visibility.can_create(user):
            out.messages.append("您没有导入权限。")
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
                out.messages = [f"与前面的行重复：同一企业的项目“{data['name']}”出现了两次。"]
                continue
            seen_projects.add(pkey)
            if data.get("lead") is None:
                lkey = (ekey, data["park"].id)
                data["reuse_new_lead"] = lkey in new_leads
                new_leads.add(lkey)
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
        raise ValueError("缺少企业名称。")
    key = normalize_name(enterprise_name)[:NAME_MAX]
    if not key:
        raise ValueError("企业名称须包含文字或字母数字。")
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
        raise ValueError("缺少项目名称。")
    data["name"] = name[:120]
    park_text = values.get("park")
    park = look.park(park_text) if park_text else None
    if park_text and park is None:
        raise ValueError(f"无法识别的园区：{park_text}")
    data["park"] = park
    link_text, chain_text = values.get("chain_link"), values.get("chain")
    if link_text and chain_text and "·" not in link_text:
        link_text = f"{chain_text}·{link_text}"
    link_text = link_text or chain_text
    data["chain_link"] = look.link(link_text) if link_text else None
    owner_text = values.get("owner")
    owner = look.user(owner_text) if owner_text else user
    if owner is None:
        raise ValueError(f"找不到在职用户：{owner_text}")
    if user.role is Role.OFFICER and owner.id != user.id:
        raise ValueError(f"招商专员只能导入本人负责的记录（本行负责人为{owner_text}）。")
    if owner.role not in (Role.OFFICER, Role.MANAGER):
        owner = user if user.role in (Role.OFFICER, Role.MANAGER) else None
    data["owner"] = owner
    total = values.get("total_investment")
    fixed = values.get("fixed_asset_investment")
    if total is not None and fixed is not None and fixed > total:
        raise ValueError("固定资产投资不能大于总投资。")
    data.update(total=total, fixed=fixed, note=values.get("note"))
    stage = values.get("stage") or Stage.LEAD
    data["stage"] = stage
    record = look.records.get((enterprise.id, data["name"])) if enterprise is not None else None
    if record is not None:
        _plan_update(session, user, record, values, out, today)
        data["project" if kind == "projects" else "lead_record"] = record
        return
    # A new record.
    if park is None:
        raise ValueError("新建记录须填写所属园区。")
    if not visibility.may_work_in_park(user, park.id):
        raise ValueError(f"您不负责“{park.name}”，不能导入到该园区。")
    if not park.active:
        raise ValueError(f"园区“{park.name}”已停用。")
    if owner is None:
        raise ValueError("请在“招商专员”列填写负责人（在职的招商专员或园区负责人）。")
    if owner.role is Role.MANAGER and park.id not in owner.park_ids:
        raise ValueError(f"{owner.full_name}不负责“{park.name}”。")
    if stage is Stage.DROPPED and not data["note"]:
        raise ValueError("终止的记录须在“备注”中填写原因。")
    move, start = _move_for(stage, values, today, today)
    if move is not None:
        if stage is Stage.DROPPED:
            move.reason = data["note"] or ""
        try:
            plan_move(Stage.LEAD, start, move, today)
        except TransitionError as exc:
            raise ValueError(f"阶段与日期不符：{exc.message}") from None
    data.update(move=move, start=start)
    messages = []
    if enterprise is None:
        messages.append(f"新增企业“{enterprise_name}”")
    if kind == "projects":
        lead = None
        if enterprise is not None:
            stmt = select(Lead).where(
                Lead.enterprise_id == enterprise.id,
                Lead.park_id == park.id,
                Lead.stage.in_(ACTIVE | {Stage.ON_HOLD}),
            )
            lead = session.scalars(
                visibility.visible(stmt, user, Lead).order_by(Lead.id).limit(1)
            ).first()
            if lead is not None and not visibility.can_edit(user, lead):
                lead = None
        data["lead"] = lead
        if lead is None:
            _check_no_rival(session, enterprise, owner)
            messages.append("新增线索")
        else:
            messages.append(f"归入已有线索“{lead.title}”")
        messages.append(f"新增项目“{data['name']}”")
    else:
        _check_no_rival(session, enterprise, owner)
        messages.append(f"新增线索“{data['name']}”")
    if move is not None:
        label = "（待园区负责人确认）" if _needs_proposal(user, move) else ""
        messages.append(f"阶段：{stage.label}{label}")
    out.outcome = CREATE
    out.messages = messages


def _needs_proposal(user: User, move: Move) -> bool:
    return user.role is Role.OFFICER and needs_confirmation(move.target)


def _check_no_rival(session: Session, enterprise: Enterprise | None, owner: User) -> None:
    if enterprise is None:
        return
    others = services.active_leads_elsewhere(session, enterprise.id, owner.id)
    if others:
        who = "；".join(f"{o}（{p}）" for o, p in others)
        raise ValueError(f"该企业已有他人正在跟进的线索（{who}），请与其联系。")


def _plan_update(
    session: Session,
    user: User,
    record: Lead | Project,
    values: dict[str, Any],
    out: PlannedRow,
    today: dt.date,
) -> None:
    data = out.data
    if not visibility.can_edit(user, record):
        raise ValueError("系统中已有该记录，但不在您的负责范围内，不能修改。")
    changes: dict[str, Any] = {}
    labels = []
    if isinstance(record, Project):
        for attr, key, label in (
            ("total_investment", "total", "总投资"),
            ("fixed_asset_investment", "fixed", "固定资产投资"),
        ):
            if data[key] is not None and getattr(record, attr) != data[key]:
                changes[attr] = data[key]
                labels.append(label)
    elif data["total"] is not None and record.estimated_investment != data["total"]:
        changes["estimated_investment"] = data["total"]
        labels.append("预计投资")
    link = data["chain_link"]
    if link is not None and record.chain_link_id != link.id:
        changes["chain_link"] = link
        labels.append("产业链环节")
    if data["note"] and record.description != data["note"]:
        changes["description"] = data["note"]
        labels.append("备注")
    stage = values.get("stage")
    move = None
    notes = []
    pending = services.pending_proposal(session, record)
    if pending is not None and stage is not None and stage != record.stage:
        notes.append(f"“{pending.to_stage.label}”的阶段变更正等待园区负责人确认")
    elif stage is not None and stage != record.stage:
        if stage.is_main and record.stage.is_main and stage.rank < record.stage.rank:
            notes.append(f"系统中阶段已是“{record.stage.label}”，台账阶段较早，未回退")
        else:
            move = _forward_move(record, stage, values, today)
            if stage is Stage.DROPPED:
                move.reason = data["note"] or ""
            try:
                plan_move(record.stage, record.stage_since, move, today, record.held_from)
            except TransitionError as exc:
                raise ValueError(f"阶段与日期不符：{exc.message}") from None
            suffix = "（待园区负责人确认）" if _needs_proposal(user, move) else ""
            labels.append(f"阶段 {record.stage.label}→{stage.label}{suffix}")
    data.update(changes=changes, move=move)
    if changes or move is not None:
        out.outcome = UPDATE
        out.messages = ["更新：" + "、".join(labels), *notes]
    else:
        out.outcome = SKIP
        out.messages = ["已存在，无变化", *notes]


# --- applying ---------------------------------------------------------------------------------


def apply_import(session: Session, user: User, plan: ImportPlan) -> ImportResult:
    """Write a plan through the services; flushes, never commits. Refuses a plan with errors."""
    if plan.has_errors:
        raise LedgerFileError(
            f"有{plan.count(ERROR)}行存在错误，请修改台账后重新上传；导入须全部正确才会执行。"
        )
    set_actor(session, user.id, "import")
    result = ImportResult()
    enterprises: dict[str, Enterprise] = {}
    leads: dict[tuple[str, int], Lead] = {}
    kind = plan.ledger.kind
    for row in plan.rows:
        data = row.data
        if row.outcome == SKIP:
            result.skipped += 1
            continue
        try:
            if row.outcome == UPDATE:
                _apply_update(session, user, data, result)
                continue
            ekey = data["enterprise_key"]
            enterprise = data.get("enterprise") or enterprises.get(ekey)
            if enterprise is None:
                enterprise = create_enterprise(
                    session, user, name=data["enterprise_name"], credit_code=data["credit_code"]
                )
                enterprises[ekey] = enterprise
                result.enterprises += 1
            park = data["park"]
            owner = data["owner"]
            start = data["start"]
            if kind == "projects":
                lead = data.get("lead") or leads.get((ekey, park.id))
                if lead is None:
                    lead = services.create_lead(
                        session, user, enterprise=enterprise, title=data["name"], park=park,
                        source=LeadSource.OTHER, chain_link=data["chain_link"],
                        estimated_investment=data["total"], owner=owner, started_on=start,
                    )  # fmt: skip
                    leads[(ekey, park.id)] = lead
                    result.leads += 1
                _, proposal = services.create_project(
                    session, user, lead, name=data["name"], park=park,
                    chain_link=data["chain_link"], total_investment=data["total"],
                    fixed_asset_investment=data["fixed"], owner=owner,
                    description=data["note"], started_on=start, move=data["move"],
                )  # fmt: skip
                result.projects += 1
            else:
                lead = services.create_lead(
                    session, user, enterprise=enterprise, title=data["name"], park=park,
                    source=LeadSource.OTHER, chain_link=data["chain_link"],
                    estimated_investment=data["total"], owner=owner,
                    description=data["note"], started_on=start,
                )  # fmt: skip
                result.leads += 1
                proposal = None
                if data["move"] is not None:
                    proposal = services.move_stage(
                        session, user, lead, data["move"], version=lead.version
                    )
            if proposal is not None:
                result.proposals += 1
        except UserError as exc:
            raise LedgerFileError(f"第{row.number}行：{exc.message}", exc.field) from None
    session.flush()
    return result


def _apply_update(session: Session, user: User, data: dict[str, Any], result: ImportResult):
    record = data.get("project") or data.get("lead_record")
    for attr, value in data["changes"].items():
        setattr(record, attr, value)
    session.flush()
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
    sheet = workbook.create_sheet("导入结果")

    def cell(value: Any) -> WriteOnlyCell:
        if isinstance(value, Decimal):
            value = float(value)
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith(_INJECTION_PREFIXES):
            c.data_type = "s"
        return c

    sheet.append(
        [cell("行号"), *map(cell, plan.ledger.headers), cell("处理结果"), cell("错误说明")]
    )
    width = len(plan.ledger.headers)
    for row in plan.rows:
        cells = (list(row.cells) + [None] * width)[:width]
        error = row.message if row.outcome == ERROR else ""
        note = "" if row.outcome == ERROR else row.message
        sheet.append(
            [
                cell(row.number),
                *map(cell, cells),
                cell(row.outcome_label + (f"：{note}" if note else "")),
                cell(error),
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Stages in main-line order, for templates and reports of the import.
STAGE_ORDER = MAIN_LINE
