"""Login and account forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.auth.models import Role
from app.core.forms import as_choices
from app.core.i18n import lazy_gettext as _l


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[SelectChoice]:
    return as_choices((r.value, r.label) for r in Role)


class LoginForm(FlaskForm):
    username = StringField(
        _l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=40)]
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=200)]
    )
    remember = BooleanField(_l("记住我"))
    next = HiddenField()


class UserForm(FlaskForm):
    username = StringField(
        _l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=40)]
    )
    full_name = StringField(
        _l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=40)]
    )
    role = SelectField(_l("角色"), choices=role_choices, validators=[DataRequired()])
    parks = MultiCheckboxField(_l("负责园区"), coerce=int, validate_choice=True)
    email = EmailField(
        _l("电子邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确。")), Length(max=120)]
    )
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=30)])
    active = BooleanField(_l("启用"), default=True)
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=200)])
    version = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请填写当前密码。"))]
    )
    password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=200)]
    )
    confirm = PasswordField(
        _l("确认新密码"), validators=[EqualTo("password", _l("两次输入的密码不一致。"))]
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=200)]
    )
