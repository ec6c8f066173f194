"""Forms of the digest pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField

from app.core.i18n import lazy_gettext as _l


class PreferenceForm(FlaskForm):
    enabled = BooleanField(_l("接收每周周报邮件"))
    send_when_empty = BooleanField(_l("本周没有新内容时，也发送一封简短的“无新内容”周报"))


class RetryForm(FlaskForm):
    delivery_id = HiddenField()
