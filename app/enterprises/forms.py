"""Forms for enterprises, their contact people and the enterprise list's search."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.i18n import lazy_gettext as _l
from app.enterprises.credit_code import CreditCodeError, normalize_credit_code, validate_credit_code
from app.enterprises.models import OWNERSHIP_LABELS, TAGS, Ownership
from app.enterprises.services import EnterpriseFilters


def strip(value: Any) -> Any:
    """Filter: remove surrounding whitespace from text."""
    return value.strip() if isinstance(value, str) else value


def credit_code_filter(value: Any) -> Any:
    """Filter: write a credit code without spaces, half-width and upper-case."""
    if isinstance(value, str):
        return normalize_credit_code(value) or ""
    return value


def valid_credit_code(form: Any, field: Any) -> None:
    """Validator: a filled-in code must be a valid Unified Social Credit Code."""
    if field.data:
        try:
            field.data = validate_credit_code(field.data)
        except CreditCodeError as exc:
            raise ValidationError(exc.message) from None


def ownership_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("（未填写）")),
        *(SelectChoice(o.value, OWNERSHIP_LABELS[o]) for o in Ownership),
    ]


def tag_choices() -> list[SelectChoice]:
    return [SelectChoice(key, label) for key, label in TAGS.items()]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


_NOT_ENTERPRISE = frozenset({"csrf_token", "version", "confirm_duplicate"})


class EnterpriseForm(FlaskForm):
    name = StringField(
        _l("企业名称"),
        filters=[strip],
        validators=[DataRequired(_l("请填写企业名称。")), Length(max=120)],
    )
    credit_code = StringField(
        _l("统一社会信用代码"),
        filters=[credit_code_filter],
        validators=[Optional(), valid_credit_code],
        description=_l("18位，填写后系统自动校验；境外企业可不填。"),
    )
    ownership = SelectField(_l("企业性质"), choices=ownership_choices, default="")
    is_global500 = BooleanField(TAGS["is_global500"])
    is_china500 = BooleanField(TAGS["is_china500"])
    is_listed = BooleanField(TAGS["is_listed"])
    industry = StringField(_l("所属行业"), filters=[strip], validators=[Optional(), Length(max=60)])
    region = StringField(
        _l("所在地区"),
        filters=[strip],
        validators=[Optional(), Length(max=60)],
        description=_l("如：北京、广东深圳、日本东京"),
    )
    address = StringField(_l("地址"), filters=[strip], validators=[Optional(), Length(max=200)])
    website = StringField(_l("网址"), filters=[strip], validators=[Optional(), Length(max=200)])
    description = TextAreaField(
        _l("企业简介"), filters=[strip], validators=[Optional(), Length(max=2000)]
    )
    confirm_duplicate = BooleanField(_l("确认不是同一家企业，仍然创建"))
    version = HiddenField()

    def enterprise_fields(self) -> dict[str, Any]:
        """Return the submitted values as keyword arguments for the enterprise services."""
        return {name: value for name, value in self.data.items() if name not in _NOT_ENTERPRISE}

    def saved_differences(self, enterprise: Any) -> list[tuple[str, str]]:
        """Return (label, saved value) for each field whose saved value differs from the input."""
        out = []
        for field in self:
            if field.name in _NOT_ENTERPRISE:
                continue
            saved = getattr(enterprise, field.name)
            if isinstance(field, BooleanField):
                if bool(saved) != bool(field.data):
                    out.append((str(field.label.text), str(_l("是") if saved else _l("否"))))
                continue
            saved_text = saved.value if isinstance(saved, Ownership) else (saved or "")
            if str(saved_text) != (field.data or ""):
                shown = saved.label if isinstance(saved, Ownership) else saved_text
                out.append((str(field.label.text), str(shown or _l("（未填写）"))))
        return out


class ContactPersonForm(FlaskForm):
    name = StringField(
        _l("姓名"), filters=[strip], validators=[DataRequired(_l("请填写姓名。")), Length(max=40)]
    )
    title = StringField(_l("职务"), filters=[strip], validators=[Optional(), Length(max=60)])
    phone = StringField(_l("电话"), filters=[strip], validators=[Optional(), Length(max=40)])
    email = EmailField(
        _l("电子邮箱"),
        filters=[strip],
        validators=[Optional(), Email(_l("邮箱格式不正确。")), Length(max=120)],
    )
    note = TextAreaField(_l("备注"), filters=[strip], validators=[Optional(), Length(max=2000)])
    version = HiddenField()

    def person_fields(self) -> dict[str, Any]:
        """Return the submitted values as keyword arguments for the contact person services."""
        return {name: self[name].data for name in ("name", "title", "phone", "email", "note")}


class EnterpriseSearchForm(FlaskForm):
    """The list's search box and filters, read from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("搜索"), filters=[strip], validators=[Optional(), Length(max=120)])
    ownership = SelectField(_l("企业性质"), choices=ownership_choices, default="")
    tag = MultiCheckboxField(_l("标签"), choices=tag_choices)

    def filters(self) -> EnterpriseFilters:
        """Return the chosen filters; invalid choices are ignored."""
        ownership = self.ownership.data if not self.ownership.errors else ""
        tags = frozenset(self.tag.data or ()) if not self.tag.errors else frozenset()
        return EnterpriseFilters(
            ownership=Ownership(ownership) if ownership else None, tags=tags & set(TAGS)
        )

    def query(self) -> str | None:
        return self.q.data if self.q.data and not self.q.errors else None
