"""The form of the token page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.api.tokens import LIFETIMES, NAME_MAX
from app.core.forms import as_choices
from app.core.i18n import lazy_gettext as _l


def lifetime_choices() -> list:
    labels = {0: _l("永不过期"), 30: _l("30天"), 90: _l("90天"), 365: _l("一年")}
    return as_choices((days, labels[days]) for days in LIFETIMES)


class TokenForm(FlaskForm):
    name = StringField(
        _l("令牌名称"),
        validators=[DataRequired(_l("请填写令牌名称。")), Length(max=NAME_MAX)],
        description=_l("写明用途，如“市项目平台对接”“手机客户端”。"),
    )
    days = SelectField(_l("有效期"), coerce=int, choices=lifetime_choices, default=90)


class RevokeForm(FlaskForm):
    """Only the CSRF token."""
