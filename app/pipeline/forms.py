"""Forms for leads, projects, contacts, stage moves, reassignment and thresholds."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from app.core.forms import AmountField, LocalDateField, as_choices, not_in_future
from app.core.i18n import lazy_gettext as _l
from app.pipeline.lifecycle import MAIN_LINE, STAGE_LABELS
from app.pipeline.models import CONTACT_TYPE_LABELS, SOURCE_LABELS, ContactType, LeadSource


class Required:
    """Like DataRequired for parsed fields (dates, amounts), but keeps the field's own parse
    error ("日期…无效", "无法识别的金额…") instead of replacing it, and accepts an amount of 0."""

    field_flags = {"required": True}

    def __init__(self, message: object) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is None:
            raise StopValidation(None if field.errors else str(self.message))


def _optional_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class LeadForm(FlaskForm):
    title = StringField(
        _l("线索名称"), validators=[DataRequired(_l("请填写线索名称。")), Length(max=120)]
    )
    enterprise = StringField(
        _l("企业（名称或统一社会信用代码）"),
        validators=[DataRequired(_l("请填写企业。")), Length(max=120)],
    )
    source = SelectField(
        _l("线索来源"), choices=as_choices((s.value, SOURCE_LABELS[s]) for s in LeadSource)
    )
    park_id = SelectField(_l("意向园区"), coerce=int, validators=[DataRequired(_l("请选择园区。"))])
    chain_link_id = SelectField(_l("产业链环节"), coerce=_optional_int, validate_choice=False)
    estimated_investment = AmountField(_l("预计投资（亿元）"))
    # Managers and admins: the owner picked (id) or typed (name); neither: oneself.
    owner_id = StringField(validators=[Optional(), Length(max=20)])
    owner_name = StringField(_l("负责人"), validators=[Optional(), Length(max=40)])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=5000)])
    confirm_duplicate = BooleanField(_l("我已知悉该企业另有线索，仍然创建"))
    version = HiddenField()


class ProjectForm(FlaskForm):
    name = StringField(
        _l("项目名称"), validators=[DataRequired(_l("请填写项目名称。")), Length(max=120)]
    )
    park_id = SelectField(_l("所属园区"), coerce=int, validators=[DataRequired(_l("请选择园区。"))])
    chain_link_id = SelectField(_l("产业链环节"), coerce=_optional_int, validate_choice=False)
    total_investment = AmountField(_l("总投资（亿元）"))
    fixed_asset_investment = AmountField(_l("固定资产投资（亿元）"))
    owner_id = StringField(validators=[Optional(), Length(max=20)])
    owner_name = StringField(_l("负责人"), validators=[Optional(), Length(max=40)])
    planned_signing_on = LocalDateField(_l("计划签约日期"), validators=[Optional()])
    planned_construction_on = LocalDateField(_l("计划开工日期"), validators=[Optional()])
    planned_production_on = LocalDateField(_l("计划投产日期"), validators=[Optional()])
    planned_full_production_on = LocalDateField(_l("计划达产日期"), validators=[Optional()])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()


class ContactForm(FlaskForm):
    contact_type = SelectField(
        _l("方式"), choices=as_choices((c.value, CONTACT_TYPE_LABELS[c]) for c in ContactType)
    )
    contact_on = LocalDateField(
        _l("日期"), validators=[Required(_l("请填写日期。")), not_in_future]
    )
    participants = StringField(_l("参与人员"), validators=[Optional(), Length(max=300)])
    summary = TextAreaField(
        _l("联系内容"), validators=[DataRequired(_l("请填写联系内容。")), Length(max=5000)]
    )
    next_step = StringField(_l("下一步工作"), validators=[Optional(), Length(max=200)])
    next_step_due = LocalDateField(_l("下一步日期"), validators=[Optional()])

    def contact_fields(self) -> dict[str, Any]:
        """The submitted values as keyword arguments of ``log_contact`` and ``correct_contact``."""
        return {
            "contact_type": ContactType(self.contact_type.data),
            **{
                name: self[name].data
                for name in ("contact_on", "participants", "summary", "next_step", "next_step_due")
            },
        }


class ContactEditForm(ContactForm):
    """A logged contact corrected: the fields of a new one, and the version it was loaded at."""

    version = HiddenField()


class StageForm(FlaskForm):
    target = SelectField(_l("变更为"), validate_choice=True)
    effective_on = LocalDateField(
        _l("生效日期"), validators=[Required(_l("请填写生效日期。")), not_in_future]
    )
    reason = StringField(_l("终止原因"), validators=[Optional(), Length(max=500)])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()


# One optional date per main-line stage, for the stages a move skips over.
for _stage in MAIN_LINE[1:-1]:
    setattr(
        StageForm,
        f"skip_{_stage.value}",
        LocalDateField(_l("“%(stage)s”日期", stage=STAGE_LABELS[_stage]), validators=[Optional()]),
    )


class ReassignForm(FlaskForm):
    """The new owner: chosen from suggestions (``owner_id``) or typed (``owner_name``, the exact
    name of one person the record may be given to)."""

    owner_id = StringField(validators=[Optional(), Length(max=20)])
    owner_name = StringField(_l("新负责人"), validators=[Optional(), Length(max=40)])
    version = HiddenField()


class DecisionForm(FlaskForm):
    note = StringField(_l("意见"), validators=[Optional(), Length(max=500)])


class ThresholdForm(FlaskForm):
    major = AmountField(_l("重大项目门槛（亿元）"), validators=[Required(_l("请填写门槛。"))])
    big = AmountField(_l("大项目门槛（亿元）"), validators=[Required(_l("请填写门槛。"))])


class SimpleForm(FlaskForm):
    """A form with only the CSRF token, for one-button posts."""
