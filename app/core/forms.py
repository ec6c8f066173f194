"""Form fields shared by features: amounts in 亿元/万元 and dates written as YYYY-MM-DD."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from wtforms import DateField, SelectChoice, StringField
from wtforms.validators import ValidationError

from app.core.i18n import lazy_gettext as _l
from app.core.money import AmountError, format_yi, parse_amount

UNIT_LABELS = {"亿元": _l("亿元"), "万元": _l("万元"), "元": _l("元")}


class AmountField(StringField):
    """An amount typed as "3.5亿", "35000万" or a number in the field's unit; data is 亿元."""

    def __init__(
        self, label: Any = None, validators: Any = None, unit: str = "亿元", **kwargs: Any
    ):
        kwargs.setdefault(
            "description",
            _l("可填写“3.5亿”“35000万”，或以%(unit)s为单位的数字", unit=UNIT_LABELS[unit]),
        )
        super().__init__(label, validators, **kwargs)
        self.unit = unit
        self.amount_error: str | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = valuelist[0] if valuelist else ""
        self.amount_error = None
        try:
            self.data = parse_amount(self.raw, self.unit)
        except AmountError as exc:
            self.data = None
            self.amount_error = exc.message

    def pre_validate(self, form: Any) -> None:
        if self.amount_error:
            raise ValidationError(self.amount_error)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_yi(self.data).replace(",", "") if self.data is not None else ""


class LocalDateField(DateField):
    """A calendar date written YYYY-MM-DD, with a Chinese message and a sane year range."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any):
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        try:
            self.data = dt.datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(str(_l("日期“%(text)s”无效，请按 YYYY-MM-DD 填写。", text=text[:20])))
        if not 1949 <= self.data.year <= 2100:
            self.data = None
            raise ValueError(str(_l("日期“%(text)s”超出合理范围。", text=text[:20])))


def not_in_future(form: Any, field: Any) -> None:
    """Validator: the date is not after today (Asia/Shanghai)."""
    from app.core.timeutil import today_local

    if field.data is not None and field.data > today_local():
        raise ValidationError(str(_l("日期不能晚于今天。")))


def as_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into select choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]
