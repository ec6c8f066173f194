"""Forms for parks, chains and links."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.core.i18n import lazy_gettext as _l

CODE_RULE = Regexp(
    r"^[A-Za-z][A-Za-z0-9_-]*$",
    message=_l("代码只能包含字母、数字、下划线和连字符，且以字母开头。"),
)


class ParkForm(FlaskForm):
    code = StringField(
        _l("代码"), validators=[DataRequired(_l("请填写代码。")), Length(max=20), CODE_RULE]
    )
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=60)])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    sort_order = IntegerField(
        _l("排序"), default=0, validators=[Optional(), NumberRange(-9999, 9999)]
    )
    active = BooleanField(_l("启用"), default=True)
    version = HiddenField()


class ChainForm(FlaskForm):
    code = StringField(
        _l("代码"), validators=[DataRequired(_l("请填写代码。")), Length(max=20), CODE_RULE]
    )
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=60)])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    sort_order = IntegerField(
        _l("排序"), default=0, validators=[Optional(), NumberRange(-9999, 9999)]
    )
    version = HiddenField()


class LinkForm(FlaskForm):
    name = StringField(
        _l("环节名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=60)]
    )
    position = IntegerField(
        _l("位置（从上游到下游递增）"), default=0, validators=[Optional(), NumberRange(0, 999)]
    )
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()
