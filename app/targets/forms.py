"""The annual target form (admins)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.core.i18n import lazy_gettext as _l
from app.core.money import AmountError, parse_amount
from app.targets.models import Metric
from app.targets.services import MAX_YEAR, MIN_YEAR


class TargetForm(FlaskForm):
    year = IntegerField(
        _l("年度"),
        validators=[
            DataRequired(_l("请填写年度。")),
            NumberRange(MIN_YEAR, MAX_YEAR, message=_l("年份须在2000至2100之间。")),
        ],
    )
    metric = SelectField(_l("指标"), validators=[DataRequired(_l("请选择指标。"))])
    tier = SelectField(_l("投资额"), validators=[Optional()])
    park_id = SelectField(_l("园区"), validators=[Optional()])
    chain_id = SelectField(_l("产业链"), validators=[Optional()])
    goal = StringField(
        _l("目标值"),
        validators=[DataRequired(_l("请填写目标值。")), Length(max=30)],
        description=_l("项目数填写整数；投资额以亿元为单位，可写“1500亿”。"),
    )
    note = StringField(_l("备注"), validators=[Optional(), Length(max=200)])
    version = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.goal_value: Decimal | None = None

    def validate_goal(self, field: StringField) -> None:
        text = (field.data or "").strip()
        if self.metric.data == Metric.SIGNED_INVESTMENT.value:
            try:
                self.goal_value = parse_amount(text, "亿元")
            except AmountError as exc:
                raise ValidationError(exc.message) from exc
            return
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation as exc:
            raise ValidationError(_l("项目数目标必须是整数。")) from exc
        if not value.is_finite() or value != value.to_integral_value():
            raise ValidationError(_l("项目数目标必须是整数。"))
        self.goal_value = value


class CopyForm(FlaskForm):
    source = IntegerField(
        _l("从年度"), validators=[DataRequired(_l("请填写年度。")), NumberRange(MIN_YEAR, MAX_YEAR)]
    )
    year = IntegerField(
        _l("复制到年度"),
        validators=[DataRequired(_l("请填写年度。")), NumberRange(MIN_YEAR, MAX_YEAR)],
    )
