"""The API's marshmallow schemas: they validate requests and describe responses, and the
OpenAPI description is generated from them (flask-smorest / apispec).

Request schemas only type and bound the input; the rules (permissions, stages, duplicates,
lengths the services own) stay in the services, which the views call.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g

from app.api.fields import (
    Amount,
    Bool,
    Choice,
    Int,
    LocalDate,
    Text,
    max_length,
    not_in_future,
    record_id,
)
from app.core.i18n import lazy_gettext as _l
from app.core.timeutil import today_local
from app.enterprises.models import TAGS, Ownership
from app.enterprises.services import PERSON_LIMITS
from app.extensions import db
from app.pipeline import queries
from app.pipeline.flags import TIERS, Thresholds, load_thresholds
from app.pipeline.lifecycle import MAIN_LINE, Stage
from app.pipeline.models import ContactType, LeadSource, ProposalStatus

F = ma.fields


class RequestSchema(ma.Schema):
    """Unknown fields are refused (a typo must not be silently ignored)."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {
        "unknown": _l("不支持的字段。"),
        "type": _l("请求内容应为 JSON 对象。"),
    }


def thresholds() -> Thresholds:
    """The investment tiers, read once per request."""
    if "api_thresholds" not in g:
        g.api_thresholds = load_thresholds(db.session)
    return g.api_thresholds


# --- small references -------------------------------------------------------------------------


class ParkRefSchema(ma.Schema):
    id = F.Integer(required=True)
    code = F.String(required=True)
    name = F.String(required=True)


class UserRefSchema(ma.Schema):
    id = F.Integer(required=True)
    username = F.String(required=True)
    full_name = F.String(required=True)


class EnterpriseRefSchema(ma.Schema):
    id = F.Integer(required=True)
    name = F.String(required=True)
    credit_code = F.String(required=True, allow_none=True)


class ChainLinkRefSchema(ma.Schema):
    id = F.Integer(required=True)
    name = F.String(required=True)
    chain_id = F.Integer(required=True)
    chain_name = F.String(required=True, attribute="chain.name")


# --- paging and sorting -------------------------------------------------------------------------

MAX_PAGE = 100_000
MAX_PER_PAGE = 100
MAX_CURSOR = 1000


class PageArgsSchema(RequestSchema):
    page = Int(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_PAGE, error=str(_l("页码无效。"))),
        metadata={"description": "页码，从1开始（默认1）；与 after 二选一"},
    )
    after = Text(
        load_default=None,
        validate=max_length(MAX_CURSOR),
        metadata={
            "description": "游标：上一页返回的 next，取其后一页。按游标翻页不随页数变慢，"
            "适合逐页读取全部记录；与 page 二选一"
        },
    )
    per_page = Int(
        load_default=None,
        validate=ma.validate.Range(
            min=1, max=MAX_PER_PAGE, error=str(_l("每页条数须在1到100之间。"))
        ),
        metadata={"description": "每页条数（默认同页面，最多100）"},
    )

    @ma.validates_schema
    def _page_or_after(self, data: dict, **_kwargs: Any) -> None:
        if data.get("page") is not None and data.get("after") is not None:
            raise ma.ValidationError(str(_l("page 与 after 只能给出其一。")), "after")


def sort_field(choices: list[str], default: str) -> Text:
    return Text(
        load_default=default,
        validate=ma.validate.OneOf(choices, error=str(_l("不支持的排序方式。"))),
        metadata={"description": "排序字段，前加“-”为倒序"},
    )


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page of *item*s: the items and where they sit in the whole list."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": F.List(F.Nested(item), required=True),
            "page": F.Integer(
                required=True,
                allow_none=True,
                metadata={"description": "页码；按游标（after）取得的页为 null"},
            ),
            "per_page": F.Integer(required=True),
            "total": F.Integer(required=True),
            "pages": F.Integer(required=True),
            "next": F.String(
                required=True,
                allow_none=True,
                metadata={"description": "下一页的游标，作为 after 传回；没有下一页时为 null"},
            ),
        },
    )


# --- parks and chains -------------------------------------------------------------------------


class ParkSchema(ma.Schema):
    id = F.Integer(required=True)
    code = F.String(required=True)
    name = F.String(required=True)
    description = F.String(required=True, allow_none=True)
    active = F.Boolean(required=True)


class ChainLinkSchema(ma.Schema):
    id = F.Integer(required=True)
    name = F.String(required=True)
    position = F.Integer(required=True)
    description = F.String(required=True, allow_none=True)


class ChainSchema(ma.Schema):
    id = F.Integer(required=True)
    code = F.String(required=True)
    name = F.String(required=True)
    description = F.String(required=True, allow_none=True)
    links = F.List(F.Nested(ChainLinkSchema), required=True)


# --- enterprises ------------------------------------------------------------------------------


class EnterprisePersonSchema(ma.Schema):
    id = F.Integer(required=True)
    name = F.String(required=True)
    title = F.String(required=True, allow_none=True)
    phone = F.String(required=True, allow_none=True)
    email = F.String(required=True, allow_none=True)
    note = F.String(required=True, allow_none=True)
    version = F.Integer(required=True)


# A contact person's fields are the service's (which checks their lengths, as for the form).
PersonCreateSchema = RequestSchema.from_dict(
    {
        name: Text(required=True) if name == "name" else Text(allow_none=True, load_default=None)
        for name in PERSON_LIMITS
    },
    name="EnterprisePersonCreate",
)
PersonUpdateSchema = RequestSchema.from_dict(
    {
        **{name: Text(allow_none=True) for name in PERSON_LIMITS},
        "version": Int(required=True, metadata={"description": "读取时的版本号"}),
    },
    name="EnterprisePersonUpdate",
)


class EnterpriseSchema(ma.Schema):
    id = F.Integer(required=True)
    name = F.String(required=True)
    credit_code = F.String(required=True, allow_none=True)
    ownership = F.Enum(Ownership, by_value=True, required=True, allow_none=True)
    is_global500 = F.Boolean(required=True)
    is_china500 = F.Boolean(required=True)
    is_listed = F.Boolean(required=True)
    industry = F.String(required=True, allow_none=True)
    region = F.String(required=True, allow_none=True)
    address = F.String(required=True, allow_none=True)
    website = F.String(required=True, allow_none=True)
    description = F.String(required=True, allow_none=True)
    version = F.Integer(required=True)
    created_at = F.DateTime(required=True)
    updated_at = F.DateTime(required=True)


class EnterpriseDetailSchema(EnterpriseSchema):
    people = F.List(F.Nested(EnterprisePersonSchema), required=True)


class EnterpriseListArgsSchema(PageArgsSchema):
    q = Text(
        load_default=None, validate=max_length(120), metadata={"description": "名称或信用代码"}
    )
    ownership = Choice(Ownership, load_default=None)
    tag = F.List(
        Text(validate=ma.validate.OneOf(list(TAGS), error=str(_l("请选择有效的选项。")))),
        load_default=list,
        metadata={"description": "标签（可多次给出，须全部具备）"},
    )
    sort = sort_field(["relevance", "name", "-name", "id", "-id", "-updated_at"], "relevance")


def _enterprise_fields(required: bool) -> dict[str, ma.fields.Field]:
    """The enterprise form's fields (lengths and the credit code are the service's to check)."""
    opt = {"load_default": None} if required else {}
    return {
        "name": Text(required=required),
        "credit_code": Text(allow_none=True, metadata={"description": "统一社会信用代码"}, **opt),
        "ownership": Choice(Ownership, allow_none=True, **opt),
        **{tag: Bool(**({"load_default": False} if required else {})) for tag in TAGS},
        **{
            name: Text(allow_none=True, **opt)
            for name in ("industry", "region", "address", "website", "description")
        },
    }


EnterpriseCreateSchema = RequestSchema.from_dict(
    {
        **_enterprise_fields(required=True),
        "confirm_duplicate": Bool(
            load_default=False,
            metadata={"description": "已确认与名称相近的企业不是同一家，仍然登记"},
        ),
    },
    name="EnterpriseCreate",
)
EnterpriseUpdateSchema = RequestSchema.from_dict(
    {
        **_enterprise_fields(required=False),
        "version": Int(required=True, metadata={"description": "读取时的版本号"}),
    },
    name="EnterpriseUpdate",
)


# --- leads and projects -----------------------------------------------------------------------


class RecordSchema(ma.Schema):
    """What leads and projects share."""

    id = F.Integer(required=True)
    enterprise = F.Nested(EnterpriseRefSchema, required=True)
    park = F.Nested(ParkRefSchema, required=True)
    chain_link = F.Nested(ChainLinkRefSchema, required=True, allow_none=True)
    owner = F.Nested(UserRefSchema, required=True)
    stage = F.Enum(Stage, by_value=True, required=True)
    stage_label = F.Function(lambda r: r.stage.label, required=True, metadata={"type": "string"})
    stage_since = F.Date(required=True)
    held_from = F.Enum(Stage, by_value=True, required=True, allow_none=True)
    signed_on = F.Date(required=True, allow_none=True)
    construction_on = F.Date(required=True, allow_none=True)
    production_on = F.Date(required=True, allow_none=True)
    full_production_on = F.Date(required=True, allow_none=True)
    last_contact_on = F.Date(required=True, allow_none=True)
    next_step = F.String(required=True, allow_none=True)
    next_step_due = F.Date(required=True, allow_none=True)
    description = F.String(required=True, allow_none=True)
    tier = F.Function(
        lambda r: thresholds().tier_of(r.amount),
        required=True,
        allow_none=True,
        metadata={
            "type": "string",
            "enum": ["big", "major", None],
            "description": "big（大项目）、major（重大项目）或 null",
        },
    )
    stale = F.Function(
        lambda r: queries.is_stale(r),
        required=True,
        metadata={"type": "boolean", "description": "30天以上未联系"},
    )
    too_long_in_stage = F.Function(
        lambda r: queries.too_long_in_stage(r, today_local()),
        required=True,
        metadata={"type": "boolean", "description": "在当前阶段停留过久"},
    )
    version = F.Integer(required=True)
    created_at = F.DateTime(required=True)
    updated_at = F.DateTime(required=True)


class LeadSchema(RecordSchema):
    title = F.String(required=True)
    source = F.Enum(LeadSource, by_value=True, required=True)
    estimated_investment = Amount(required=True, allow_none=True)


class ProjectSchema(RecordSchema):
    lead_id = F.Integer(required=True)
    name = F.String(required=True)
    total_investment = Amount(required=True, allow_none=True)
    fixed_asset_investment = Amount(required=True, allow_none=True)
    planned_signing_on = F.Date(required=True, allow_none=True)
    planned_construction_on = F.Date(required=True, allow_none=True)
    planned_production_on = F.Date(required=True, allow_none=True)
    planned_full_production_on = F.Date(required=True, allow_none=True)


RECORD_SORTS = [
    "-updated_at",
    "updated_at",
    "id",
    "-id",
    "stage_since",
    "-stage_since",
    "last_contact_on",
    "-last_contact_on",
    "investment",
    "-investment",
    "name",
    "-name",
]


class RecordListArgsSchema(PageArgsSchema):
    """The list pages' filters, under the same names."""

    park = record_id(load_default=None, metadata={"description": "园区编号"})
    chain = F.List(
        record_id(), load_default=list, metadata={"description": "产业链编号（可多次给出）"}
    )
    link = record_id(load_default=None, metadata={"description": "产业链环节编号"})
    stage = Choice(Stage, load_default=None)
    tier = Text(
        load_default=None,
        validate=ma.validate.OneOf(TIERS, error=str(_l("请选择有效的选项。"))),
        metadata={"description": "big（大项目及以上）、major（重大项目及以上）、yi（1亿元以上）"},
    )
    owner = record_id(load_default=None, metadata={"description": "负责人编号"})
    stale = Bool(load_default=False, metadata={"description": "只看30天以上未联系的"})
    too_long = Bool(load_default=False, metadata={"description": "只看在当前阶段停留过久的"})
    q = Text(load_default="", validate=max_length(100), metadata={"description": "名称或企业"})
    sort = sort_field(RECORD_SORTS, "-updated_at")


amount_doc = {"description": "亿元：可填“3.5亿”“35000万”或以亿元为单位的数字"}


class LeadCreateSchema(RequestSchema):
    enterprise_id = record_id(required=True)
    title = Text(required=True)
    park_id = record_id(required=True)
    source = Choice(LeadSource, load_default=LeadSource.OTHER)
    chain_link_id = record_id(load_default=None, allow_none=True)
    estimated_investment = Amount(load_default=None, allow_none=True, metadata=amount_doc)
    owner_id = record_id(
        load_default=None,
        allow_none=True,
        metadata={"description": "负责人（园区负责人和管理员可指定；招商专员只能是本人）"},
    )
    description = Text(load_default=None, allow_none=True)
    allow_duplicate = Bool(
        load_default=False,
        metadata={"description": "已知悉该企业另有线索仍然创建（园区负责人和管理员）"},
    )


class LeadUpdateSchema(RequestSchema):
    version = Int(required=True, metadata={"description": "读取时的版本号"})
    title = Text()
    park_id = record_id()
    source = Choice(LeadSource)
    chain_link_id = record_id(allow_none=True)
    estimated_investment = Amount(allow_none=True, metadata=amount_doc)
    description = Text(allow_none=True)


SKIPPABLE = [s.value for s in MAIN_LINE[1:-1]]


def skipped_dates_field() -> ma.fields.Dict:
    return F.Dict(
        keys=Text(validate=ma.validate.OneOf(SKIPPABLE, error=str(_l("请选择有效的选项。")))),
        values=LocalDate(),
        load_default=dict,
        metadata={"description": '跳过的阶段及其日期，如 {"contacted": "2026-01-05"}'},
    )


PLANNED = (
    "planned_signing_on",
    "planned_construction_on",
    "planned_production_on",
    "planned_full_production_on",
)


class ProjectCreateSchema(RequestSchema):
    name = Text(required=True)
    park_id = record_id(load_default=None, metadata={"description": "默认为线索的园区"})
    chain_link_id = record_id(allow_none=True, metadata={"description": "默认为线索的环节"})
    total_investment = Amount(allow_none=True, metadata={"description": "默认为线索的预计投资"})
    fixed_asset_investment = Amount(load_default=None, allow_none=True, metadata=amount_doc)
    owner_id = record_id(load_default=None, allow_none=True)
    planned_signing_on = LocalDate(load_default=None, allow_none=True)
    planned_construction_on = LocalDate(load_default=None, allow_none=True)
    planned_production_on = LocalDate(load_default=None, allow_none=True)
    planned_full_production_on = LocalDate(load_default=None, allow_none=True)
    description = Text(load_default=None, allow_none=True)
    stage = Choice(
        Stage,
        load_default=Stage.LEAD,
        validate=ma.validate.OneOf(list(MAIN_LINE), error=str(_l("请选择有效的选项。"))),
        metadata={"description": "项目已到达的阶段（招商专员进入签约等阶段需园区负责人确认）"},
    )
    effective_on = LocalDate(
        load_default=None,
        validate=not_in_future,
        metadata={"description": "该阶段的日期，默认今天"},
    )
    skipped_dates = skipped_dates_field()
    note = Text(load_default="", validate=max_length(2000))


class ProjectUpdateSchema(RequestSchema):
    version = Int(required=True, metadata={"description": "读取时的版本号"})
    name = Text()
    park_id = record_id()
    chain_link_id = record_id(allow_none=True)
    total_investment = Amount(allow_none=True, metadata=amount_doc)
    fixed_asset_investment = Amount(allow_none=True, metadata=amount_doc)
    planned_signing_on = LocalDate(allow_none=True)
    planned_construction_on = LocalDate(allow_none=True)
    planned_production_on = LocalDate(allow_none=True)
    planned_full_production_on = LocalDate(allow_none=True)
    description = Text(allow_none=True)


class ReassignSchema(RequestSchema):
    owner_id = record_id(required=True)
    version = Int(required=True, metadata={"description": "读取时的版本号"})


# --- contacts and stage changes -----------------------------------------------------------------


class ContactSchema(ma.Schema):
    id = F.Integer(required=True)
    lead_id = F.Integer(required=True)
    project_id = F.Integer(required=True, allow_none=True)
    contact_type = F.Enum(ContactType, by_value=True, required=True)
    contact_on = F.Date(required=True)
    participants = F.String(required=True, allow_none=True)
    summary = F.String(required=True)
    next_step = F.String(required=True, allow_none=True)
    next_step_due = F.Date(required=True, allow_none=True)
    created_by = F.Nested(UserRefSchema, required=True, allow_none=True)
    created_at = F.DateTime(required=True)
    updated_at = F.DateTime(required=True)
    version = F.Integer(required=True)


class ContactCreateSchema(RequestSchema):
    contact_type = Choice(ContactType, load_default=ContactType.VISIT)
    contact_on = LocalDate(required=True)
    participants = Text(load_default=None, allow_none=True)
    summary = Text(required=True)
    next_step = Text(load_default=None, allow_none=True)
    next_step_due = LocalDate(load_default=None, allow_none=True)


#: What a correction of a contact may give: any field of a new one.
CONTACT_FIELDS = (
    "contact_type",
    "contact_on",
    "participants",
    "summary",
    "next_step",
    "next_step_due",
)


class ContactUpdateSchema(RequestSchema):
    contact_type = Choice(ContactType)
    contact_on = LocalDate()
    participants = Text(allow_none=True)
    summary = Text()
    next_step = Text(allow_none=True)
    next_step_due = LocalDate(allow_none=True)
    version = Int(required=True, metadata={"description": "读取时的版本号"})


class VersionArgsSchema(RequestSchema):
    version = Int(required=True, metadata={"description": "读取时的版本号"})


class StageChangeSchema(ma.Schema):
    id = F.Integer(required=True)
    from_stage = F.Enum(Stage, by_value=True, required=True, allow_none=True)
    to_stage = F.Enum(Stage, by_value=True, required=True)
    effective_on = F.Date(required=True)
    recorded_at = F.DateTime(required=True)
    recorded_by = F.Nested(UserRefSchema, required=True, allow_none=True)
    confirmed_by = F.Nested(UserRefSchema, required=True, allow_none=True)
    reason = F.String(required=True, allow_none=True)
    note = F.String(required=True, allow_none=True)


class StageMoveSchema(RequestSchema):
    """A stage move, as on the page: target, date, dates of skipped stages, reason, note."""

    target = Choice(Stage, required=True)
    effective_on = LocalDate(required=True)
    skipped_dates = skipped_dates_field()
    reason = Text(load_default="", validate=max_length(500), metadata={"description": "终止原因"})
    note = Text(load_default="", validate=max_length(2000))
    version = Int(required=True, metadata={"description": "读取时的版本号"})


class ProposalSchema(ma.Schema):
    id = F.Integer(required=True)
    lead_id = F.Integer(required=True, allow_none=True)
    project_id = F.Integer(required=True, allow_none=True)
    from_stage = F.Enum(Stage, by_value=True, required=True)
    to_stage = F.Enum(Stage, by_value=True, required=True)
    effective_on = F.Date(required=True)
    reason = F.String(required=True, allow_none=True)
    note = F.String(required=True, allow_none=True)
    status = F.Enum(ProposalStatus, by_value=True, required=True)
    proposed_by = F.Nested(UserRefSchema, required=True)
    proposed_at = F.DateTime(required=True)
    decided_by = F.Nested(UserRefSchema, required=True, allow_none=True)
    decided_at = F.DateTime(required=True, allow_none=True)
    decision_note = F.String(required=True, allow_none=True)


class ProposalListArgsSchema(RequestSchema):
    pending = Bool(load_default=True, metadata={"description": "只看等待确认的（默认）"})


class DecisionSchema(RequestSchema):
    note = Text(
        load_default="",
        validate=max_length(500),
        metadata={"description": "意见（退回时必填）"},
    )


class ProjectCreatedSchema(ProjectSchema):
    proposal = F.Nested(
        ProposalSchema,
        required=True,
        allow_none=True,
        metadata={"description": "项目所到阶段须园区负责人确认时的申请（否则为 null）"},
    )


class StageMoveResultSchema(ma.Schema):
    status = F.String(
        required=True,
        validate=ma.validate.OneOf(["applied", "proposed"]),
        metadata={"description": "applied：已变更；proposed：等待园区负责人确认"},
    )
    stage = F.Enum(Stage, by_value=True, required=True)
    stage_since = F.Date(required=True)
    version = F.Integer(required=True)
    proposal = F.Nested(ProposalSchema, required=True, allow_none=True)


# --- the board ----------------------------------------------------------------------------------


class BoardArgsSchema(RequestSchema):
    kind = Text(
        load_default="leads",
        validate=ma.validate.OneOf(["leads", "projects"], error=str(_l("请选择有效的选项。"))),
    )
    park = record_id(
        load_default=None, metadata={"description": "园区编号（园区负责人默认其第一个园区）"}
    )


class BoardCardSchema(ma.Schema):
    id = F.Integer(required=True)
    name = F.String(required=True, attribute="display_name")
    enterprise = F.String(required=True, attribute="enterprise_name")
    owner = F.String(required=True, attribute="owner_name")
    amount = Amount(required=True, allow_none=True)
    stage_since = F.Date(required=True)


class BoardColumnSchema(ma.Schema):
    stage = F.Enum(Stage, by_value=True, required=True)
    label = F.Function(lambda c: c.stage.label, required=True, metadata={"type": "string"})
    count = F.Integer(required=True)
    total = Amount(required=True, metadata={"description": "亿元合计"})
    cards = F.List(F.Nested(BoardCardSchema), required=True)


class BoardSchema(ma.Schema):
    kind = F.String(required=True)
    park_id = F.Integer(required=True, allow_none=True)
    columns = F.List(F.Nested(BoardColumnSchema), required=True)
