"""Pages of the ledger feature: import (upload, dry run, apply), export, statistical reports.

An uploaded file is kept under ``instance/ledger_uploads/<token>`` (never in the session cookie)
between the dry run and the confirmation; the plan is computed again when applying.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from app.auth.decorators import roles_required
from app.auth.models import Role
from app.core.exceptions import UserError
from app.core.timeutil import today_local
from app.core.web import commit
from app.extensions import db
from app.ledger.forms import ConfirmForm, ReportForm, UploadForm
from app.ledger.importer import (
    LedgerFileError,
    apply_import,
    plan_import,
    plan_report_xlsx,
    read_ledger,
)
from app.parks.services import list_parks
from app.pipeline.queries import ListFilters

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

IMPORTERS = (Role.OFFICER, Role.MANAGER, Role.ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


#: Uploads not applied within this many seconds are removed at the next upload.
UPLOAD_TTL_SECONDS = 24 * 3600


def _upload_dir() -> Path:
    path = Path(current_app.instance_path) / "ledger_uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_stale_uploads() -> None:
    limit = time.time() - UPLOAD_TTL_SECONDS
    for path in _upload_dir().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:  # removed meanwhile by another request
            continue


def _upload_path(token: str) -> Path:
    """The stored upload of *token*, which belongs to the current user, or 404."""
    if not _TOKEN_RE.match(token):
        abort(404)
    path = _upload_dir() / f"{current_user.id}-{token}"
    if not path.is_file():
        abort(404)
    return path


def _read(path: Path):
    name = path.with_suffix(".name").read_text(encoding="utf-8")
    data = path.read_bytes()
    return _read_bytes(data, name), name


def _read_bytes(data: bytes, name: str):
    cfg = current_app.config
    return read_ledger(
        data,
        name,
        max_bytes=cfg["LEDGER_MAX_BYTES"],
        max_rows=cfg["LEDGER_MAX_ROWS"],
        max_uncompressed=cfg["LEDGER_MAX_UNCOMPRESSED_BYTES"],
    )


def _attachment(data: bytes, filename: str, mimetype: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=ledger{Path(filename).suffix}; filename*=UTF-8''{quote(filename)}"
    )
    return response


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def import_upload():
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        name = Path(upload.filename or "ledger.xlsx").name
        data = upload.read(current_app.config["LEDGER_MAX_BYTES"] + 1)
        try:
            parsed = _read_bytes(data, name)
        except LedgerFileError as exc:
            form.file.errors = [*form.file.errors, exc.message]
        else:
            _remove_stale_uploads()
            token = secrets.token_urlsafe(24)
            path = _upload_dir() / f"{current_user.id}-{token}"
            path.write_bytes(data)
            path.with_suffix(".name").write_text(name, encoding="utf-8")
            plan = plan_import(db.session, current_user, parsed)
            return render_template(
                "ledger/import_report.html", plan=plan, token=token, name=name, form=ConfirmForm()
            )
    return render_template("ledger/import.html", form=form)


@bp.route("/import/<token>/apply", methods=["POST"])
@roles_required(*IMPORTERS)
def import_apply(token: str):
    path = _upload_path(token)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        parsed, _name = _read(path)
        plan = plan_import(db.session, current_user, parsed)
        result = apply_import(db.session, current_user, plan)
    except UserError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("ledger.import_upload"))
    if not commit():
        return redirect(url_for("ledger.import_upload"))
    path.unlink(missing_ok=True)
    path.with_suffix(".name").unlink(missing_ok=True)
    flash(
        f"导入完成：新增企业{result.enterprises}家、线索{result.leads}条、项目{result.projects}个，"
        f"更新{result.updated}条，跳过{result.skipped}条，待确认阶段变更{result.proposals}项。",
        "success",
    )
    target = "pipeline.project_list" if plan.ledger.kind == "projects" else "pipeline.lead_list"
    return redirect(url_for(target))


@bp.route("/import/<token>/report.xlsx")
@roles_required(*IMPORTERS)
def import_report(token: str):
    path = _upload_path(token)
    try:
        parsed, name = _read(path)
    except LedgerFileError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("ledger.import_upload"))
    plan = plan_import(db.session, current_user, parsed)
    return _attachment(plan_report_xlsx(plan), f"{Path(name).stem}-导入结果.xlsx", XLSX)


@bp.route("/export/<kind>.<fmt>", endpoint="export")
@login_required
def export(kind: str, fmt: str):
    if kind not in ("leads", "projects") or fmt not in ("xlsx", "csv"):
        abort(404)
    from app.ledger.exporter import export_ledger

    filters = ListFilters.from_args(request.args)
    data = export_ledger(db.session, current_user, kind, filters, fmt)
    title = "线索台账" if kind == "leads" else "项目台账"
    filename = f"{title}-{today_local().isoformat()}.{fmt}"
    mimetype = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return _attachment(data, filename, mimetype)


@bp.route("/reports")
@login_required
def reports():
    form = ReportForm(request.args)
    form.park.choices = [("", "全部园区")] + [(p.code, p.name) for p in list_parks(db.session)]
    if not form.period.data:
        form.period.data = str(today_local().year)
    return render_template("ledger/reports.html", form=form)


@bp.route("/reports.xlsx")
@login_required
def report_download():
    from app.ledger.reports import Period, report_workbook

    text = (request.args.get("period") or "").strip()
    park = (request.args.get("park") or "").strip() or None
    try:
        period = Period.parse(text)
    except (ValueError, UserError) as exc:
        flash(getattr(exc, "message", None) or f"无法识别的统计期间：{text}", "danger")
        return redirect(url_for("ledger.reports", period=text, park=park or ""))
    try:
        data = report_workbook(db.session, current_user, period, park_code=park)
    except UserError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("ledger.reports", period=text, park=park or ""))
    return _attachment(data, f"招商统计报表-{text}{'-' + park if park else ''}.xlsx", XLSX)
