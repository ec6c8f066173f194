"""Forms of the ledger pages: the upload, the confirmation, the report period."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import Optional, Regexp

from app.core.i18n import lazy_gettext as _l


class UploadForm(FlaskForm):
    """Upload a ledger for a dry run."""

    file = FileField(
        _l("台账文件"),
        validators=[
            FileRequired(_l("请选择要导入的文件。")),
            FileAllowed(
                ["xlsx", "xls", "csv"], _l("只能导入 .xlsx、.xls 或 .csv 格式的表格文件。")
            ),
        ],
    )


class ConfirmForm(FlaskForm):
    """Apply a checked upload (CSRF token only)."""


class ReportForm(FlaskForm):
    """Choose the period (and optionally the park) of the statistical report."""

    class Meta:
        csrf = False

    period = StringField(
        _l("统计期间"),
        validators=[
            Regexp(r"^\d{4}(-Q[1-4]|-\d{2})?$", message=_l("格式如 2026、2026-Q1 或 2026-03"))
        ],
    )
    park = SelectField(_l("园区"), choices=[], validators=[Optional()], validate_choice=False)
