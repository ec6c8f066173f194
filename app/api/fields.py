"""Marshmallow fields of the API with the pages' Chinese messages and the pages' parsers.

Amounts go through ``app.core.money.parse_amount`` (the same parser as the form field), dates
through the same range as the form's ``LocalDateField``; text refuses characters no form can
send (NUL and other control characters, unpaired surrogates).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import marshmallow as ma

from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.core.money import AmountError, parse_amount
from app.core.timeutil import today_local

MAX_ID = 2**31 - 1

BASE_MESSAGES = {
    "required": _l("此项为必填项。"),
    "null": _l("此项不能为空。"),
    "validator_failed": _l("此项的值无效。"),
}


class Text(ma.fields.String):
    default_error_messages = {
        **BASE_MESSAGES,
        "invalid": _l("请填写文字。"),
        "invalid_utf8": _l("文字编码无效。"),
        "control": _l("文字中含有无效字符。"),
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any((ord(c) < 32 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise self.make_error("control")
        return text


def max_length(limit: int) -> ma.validate.Length:
    """The forms' length check, with the services' message."""
    return ma.validate.Length(max=limit, error=str(_l("内容过长（最多%(n)d字）。", n=limit)))


class Int(ma.fields.Integer):
    default_error_messages = {
        **BASE_MESSAGES,
        "invalid": _l("请填写整数。"),
        "too_large": _l("数字过大。"),
    }


def record_id(**kwargs: Any) -> Int:
    """An id of a row (positive and within the database's integer range)."""
    return Int(validate=ma.validate.Range(min=1, max=MAX_ID, error=str(_l("编号无效。"))), **kwargs)


class Bool(ma.fields.Boolean):
    default_error_messages = {**BASE_MESSAGES, "invalid": _l("请填写 true 或 false。")}


class Choice(ma.fields.Enum):
    default_error_messages = {**BASE_MESSAGES, "unknown": _l("请选择有效的选项。")}

    def __init__(self, enum_class: type[enum.Enum], **kwargs: Any) -> None:
        super().__init__(enum_class, by_value=True, **kwargs)


class LocalDate(ma.fields.Date):
    """A calendar date written YYYY-MM-DD, within the form's sane range (1949-2100)."""

    default_error_messages = {
        **BASE_MESSAGES,
        "invalid": _l("日期无效，请按 YYYY-MM-DD 填写。"),
        "format": _l("日期无效，请按 YYYY-MM-DD 填写。"),
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date:
        text = str(value)[:20] if value is not None else ""
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            day = dt.datetime.strptime(value.strip(), "%Y-%m-%d").date()
        except ValueError:
            raise ma.ValidationError(
                _("日期“%(text)s”无效，请按 YYYY-MM-DD 填写。", text=text)
            ) from None
        if not 1949 <= day.year <= 2100:
            raise ma.ValidationError(_("日期“%(text)s”超出合理范围。", text=text))
        return day


def not_in_future(day: dt.date | None) -> None:
    """The form's validator: a date not after today (Asia/Shanghai)."""
    if day is not None and day > today_local():
        raise ma.ValidationError(_("日期不能晚于今天。"))


class Amount(ma.fields.Field):
    """An amount in 亿元: "3.5亿", "35000万", "3.5" or a JSON number, read by ``parse_amount``;
    written as a decimal string in 亿元 (exact, never a float)."""

    default_error_messages = {**BASE_MESSAGES}

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return format(Decimal(value).normalize(), "f")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ma.ValidationError(
                _("无法识别的金额：%(text)s，请填写如 3.5亿、35000万 或数字", text=str(value)[:20])
            )
        try:
            return parse_amount(value)
        except AmountError as exc:
            raise ma.ValidationError(exc.message) from None
