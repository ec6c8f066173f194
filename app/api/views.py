"""The JSON API under /api/v1: enterprises, leads, projects, their contacts and stage changes,
parks and chains, and the board's aggregates.

Each view authenticates the bearer token (``before_request``), checks the role and loads the
record through ``app.pipeline.visibility`` (out of sight: 404) before the body is read, then
calls the same service as the page and commits once (:func:`app.api.errors.run`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import current_app, g, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import MultiDict

from app.api import schemas as s
from app.api import tokens
from app.api.errors import api_abort, run
from app.api.fields import MAX_ID
from app.auth.models import EDITOR_ROLES, Role, User
from app.core.audit import set_actor
from app.core.db import check_version
from app.core.i18n import gettext as _
from app.core.paging import (
    OrderKey,
    counted_rows,
    decode_position,
    encode_position,
    rows_in_order,
)
from app.core.timeutil import today_local
from app.enterprises import services as enterprise_services
from app.enterprises.models import TAGS, Enterprise, EnterpriseContact
from app.enterprises.services import PERSON_LIMITS, EnterpriseFilters
from app.extensions import db
from app.parks.models import Chain, ChainLink, Park
from app.parks.services import list_chains, list_parks
from app.pipeline import queries, services, visibility
from app.pipeline.lifecycle import Move, Stage, skipped_stages
from app.pipeline.models import ContactLog, Lead, Project, StageChange, StageProposal

PREFIX = "/api/v1"
ID = f"int(min=1, max={MAX_ID})"

enterprises_bp = Blueprint(
    "api_enterprises", __name__, url_prefix=f"{PREFIX}/enterprises", description="企业"
)
leads_bp = Blueprint(
    "api_leads",
    __name__,
    url_prefix=f"{PREFIX}/leads",
    description="线索，及其联系记录和阶段变更",
)
projects_bp = Blueprint(
    "api_projects",
    __name__,
    url_prefix=f"{PREFIX}/projects",
    description="项目，及其联系记录和阶段变更",
)
reference_bp = Blueprint(
    "api_reference", __name__, url_prefix=PREFIX, description="园区和产业链（只读）"
)
pipeline_bp = Blueprint(
    "api_pipeline", __name__, url_prefix=f"{PREFIX}/pipeline", description="看板统计"
)
BLUEPRINTS = (enterprises_bp, leads_bp, projects_bp, reference_bp, pipeline_bp)


# --- authentication and checks ------------------------------------------------------------------


def authenticate() -> None:
    """Accept only ``Authorization: Bearer <token>``; a cookie session is never enough."""
    scheme, _sep, text = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        api_abort(401)
    found = tokens.authenticate(db.session, text.strip())
    if found is None:
        api_abort(401)
    token, user = found
    if tokens.touch(db.session, token):
        db.session.commit()
    g.api_user = user
    # Inside the API, current_user is the token's owner (language, anything reading it).
    g._login_user = user
    set_actor(db.session, user.id, "api")


for _bp in BLUEPRINTS:
    _bp.before_request(authenticate)


def user() -> User:
    return g.api_user


def roles(*allowed: Role) -> Callable:
    """Refuse (403) a user whose role may not use the operation, before the body is read."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if user().role not in allowed:
                api_abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def record(model: type[Lead] | type[Project], need: str = "view") -> Callable:
    """Load the record of the URL through visibility (404), check *need* ("edit" or "manage",
    403) and pass it to the view in place of its id, before the body is read."""
    id_name = "lead_id" if model is Lead else "project_id"
    check = {"view": None, "edit": visibility.can_edit, "manage": visibility.can_manage}[need]

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            found = visibility.get_or_404(db.session, user(), model, kwargs.pop(id_name))
            if check is not None and not check(user(), found):
                api_abort(403)
            return view(*args, record=found, **kwargs)

        return wrapped

    return decorator


def _get(model: Any, row_id: int, field: str) -> Any:
    """A referenced row of the body, or 422 on *field*."""
    if row_id is None:
        return None
    row = db.session.get(model, row_id)
    if row is None:
        api_abort(422, code="invalid", fields={field: [_not_found(field)]})
    return row


def _not_found(field: str) -> str:
    return {
        "enterprise_id": _("找不到该企业。"),
        "park_id": _("找不到该园区。"),
        "chain_link_id": _("找不到该产业链环节。"),
        "owner_id": _("找不到该用户。"),
    }[field]


def paginate(
    stmt: Any,
    args: dict[str, Any],
    order: list[OrderKey],
    sort: str,
    counted: Any = None,
    few_by_ids: bool = True,
) -> dict[str, Any]:
    """The page of *stmt* that *args* ask for, in *order* (named *sort* in its cursors): by
    page number (``OFFSET``), or after a cursor (a seek, as fast on the thousandth page as on
    the first). Either way ``next`` is the cursor of the page after it. Statements: one
    ``COUNT`` and one page query (none when the count finds nothing).

    Counted as the pages count theirs, but exactly (*counted*, *few_by_ids*:
    ``app.core.paging.counted_rows``): a page of few matches is read by their ids, not by
    walking the order and testing every row."""
    per_page = min(args.get("per_page") or int(current_app.config["PAGE_SIZE"]), s.MAX_PER_PAGE)
    # The last key is the id: a count of few reads their ids.
    stmt, total, _more = counted_rows(db.session, stmt, order[-1].expr, counted, None, few_by_ids)
    page = args.get("page") or 1
    if args.get("after") is not None:
        try:
            position = decode_position(args["after"], sort, order)
        except ValueError:
            message = _("游标无效或不属于此排序方式，请从第一页重新读取。")
            api_abort(422, message, fields={"after": [message]})
        page, offset = None, 0
    else:
        position, offset = None, (page - 1) * per_page
    # The keys ride along with each row: the last one's are the next cursor.
    rows = (
        rows_in_order(db.session, stmt, order, after=position, offset=offset, limit=per_page + 1)
        if total
        else []
    )
    return {
        "items": [row[0] for row in rows[:per_page]],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": -(-total // per_page),
        "next": encode_position(sort, rows[per_page - 1][1:]) if len(rows) > per_page else None,
    }


def sorted_by(
    columns: dict[str, Any], sort: str, tiebreak: Any, nullable: set[str]
) -> list[OrderKey]:
    """The order *sort* names (``-`` for descending) among *columns*, ties broken by
    *tiebreak* in the same direction; the columns named in *nullable* put NULLs last."""
    name = sort.lstrip("-")
    descending = sort.startswith("-")
    ties = [] if columns[name] is tiebreak else [OrderKey(tiebreak, descending)]
    return [OrderKey(columns[name], descending, nullable=name in nullable), *ties]


# --- enterprises --------------------------------------------------------------------------------

EnterprisePage = s.page_schema(s.EnterpriseSchema, "EnterprisePageSchema")


def _enterprise_values(enterprise: Enterprise) -> dict[str, Any]:
    values = {
        name: getattr(enterprise, name)
        for name in ("name", "credit_code", "industry", "region", "address", "website")
    }
    values["description"] = enterprise.description
    values["ownership"] = enterprise.ownership
    values.update({tag: getattr(enterprise, tag) for tag in TAGS})
    return values


@enterprises_bp.route("", endpoint="enterprise_list")
class EnterpriseList(MethodView):
    @enterprises_bp.arguments(s.EnterpriseListArgsSchema, location="query")
    @enterprises_bp.response(200, EnterprisePage)
    def get(self, args: dict[str, Any]) -> Any:
        """企业列表：按名称或信用代码搜索，按性质和标签筛选"""
        filters = EnterpriseFilters(ownership=args["ownership"], tags=frozenset(args["tag"]))
        stmt = enterprise_services.search_enterprises(db.session, args["q"], filters)
        if args["sort"] == "relevance":
            order = enterprise_services.relevance_order(args["q"])
        else:
            columns = {
                "name": Enterprise.name,
                "id": Enterprise.id,
                "updated_at": Enterprise.updated_at,
            }
            order = sorted_by(columns, args["sort"], Enterprise.id, nullable=set())
        return paginate(stmt, args, order, args["sort"])

    @roles(*EDITOR_ROLES)
    @enterprises_bp.arguments(s.EnterpriseCreateSchema)
    @enterprises_bp.response(201, s.EnterpriseDetailSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """登记企业（信用代码须有效且未登记；名称相近时须确认 confirm_duplicate）"""
        confirm = args.pop("confirm_duplicate")
        return run(
            lambda: enterprise_services.create_enterprise(
                db.session, user(), check_similar=not confirm, **args
            )
        )


def _enterprise(enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(
        Enterprise, enterprise_id, options=[selectinload(Enterprise.people)]
    )
    if enterprise is None:
        api_abort(404)
    return enterprise


@enterprises_bp.route(f"/<{ID}:enterprise_id>", endpoint="enterprise_item")
class EnterpriseItem(MethodView):
    @enterprises_bp.response(200, s.EnterpriseDetailSchema)
    def get(self, enterprise_id: int) -> Any:
        """企业详情，含联系人"""
        return _enterprise(enterprise_id)

    @roles(*EDITOR_ROLES)
    @enterprises_bp.arguments(s.EnterpriseUpdateSchema)
    @enterprises_bp.response(200, s.EnterpriseDetailSchema)
    def patch(self, args: dict[str, Any], enterprise_id: int) -> Any:
        """修改企业：只改给出的字段；version 须为读取时的版本号"""
        enterprise = _enterprise(enterprise_id)
        version = args.pop("version")
        values = {**_enterprise_values(enterprise), **args}

        def action() -> Enterprise:
            check_version(enterprise, version)
            return enterprise_services.update_enterprise(db.session, user(), enterprise, **values)

        return run(action)


@enterprises_bp.route(f"/<{ID}:enterprise_id>/people", endpoint="person_list")
class EnterprisePeople(MethodView):
    @roles(*EDITOR_ROLES)
    @enterprises_bp.arguments(s.PersonCreateSchema)
    @enterprises_bp.response(201, s.EnterprisePersonSchema)
    def post(self, args: dict[str, Any], enterprise_id: int) -> Any:
        """添加企业联系人"""
        enterprise = _enterprise(enterprise_id)
        return run(
            lambda: enterprise_services.add_contact_person(db.session, user(), enterprise, **args)
        )


def _person(enterprise_id: int, person_id: int) -> EnterpriseContact:
    person = enterprise_services.contact_person(db.session, enterprise_id, person_id)
    if person is None:
        api_abort(404)
    return person


@enterprises_bp.route(f"/<{ID}:enterprise_id>/people/<{ID}:person_id>", endpoint="person_item")
class EnterprisePerson(MethodView):
    @roles(*EDITOR_ROLES)
    @enterprises_bp.arguments(s.PersonUpdateSchema)
    @enterprises_bp.response(200, s.EnterprisePersonSchema)
    def patch(self, args: dict[str, Any], enterprise_id: int, person_id: int) -> Any:
        """修改联系人：只改给出的字段；version 须为读取时的版本号"""
        person = _person(enterprise_id, person_id)
        version = args.pop("version")
        kept = {name: getattr(person, name) for name in PERSON_LIMITS}

        def action() -> EnterpriseContact:
            check_version(person, version)
            return enterprise_services.update_contact_person(
                db.session, user(), person, **{**kept, **args}
            )

        return run(action)

    @roles(*EDITOR_ROLES)
    @enterprises_bp.response(204)
    def delete(self, enterprise_id: int, person_id: int) -> None:
        """删除联系人"""
        person = _person(enterprise_id, person_id)
        run(lambda: enterprise_services.delete_contact_person(db.session, user(), person))


# --- leads and projects: lists, details, edits --------------------------------------------------

LeadPage = s.page_schema(s.LeadSchema, "LeadPageSchema")
ProjectPage = s.page_schema(s.ProjectSchema, "ProjectPageSchema")


def _filter_args(args: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [
        (name, str(getattr(args[name], "value", args[name])))
        for name in ("park", "link", "stage", "tier", "owner", "q")
        if args[name] not in (None, "")
    ]
    pairs += [("chain", str(chain)) for chain in args["chain"]]
    pairs += [(name, "1") for name in ("stale", "too_long") if args[name]]
    return pairs


#: The record sorts by a column that may be empty (those records then come last).
NULLABLE_SORTS = {"last_contact_on", "investment"}


def _list(model: type[Lead] | type[Project], args: dict[str, Any]) -> dict[str, Any]:
    # The pages' own reading of the filters, from the validated arguments: one mapping of
    # names to filters, kept in app.pipeline.queries.
    filters = queries.ListFilters.from_args(MultiDict(_filter_args(args)))
    # Read as the pages read theirs: a search word's pairs chosen once, its form by its rarity.
    reading = queries.list_reading(db.session, user(), model, filters)

    def listed(form: queries.SearchForm) -> Any:
        found = queries.filtered(user(), model, reading.filters, s.thresholds(), search_form=form)
        return queries.list_page_stmt(found, model).options(*queries.reference_options(model))

    columns = {
        "updated_at": model.updated_at,
        "id": model.id,
        "stage_since": model.stage_since,
        "last_contact_on": model.last_contact_on,
        "investment": queries.amount_column(model),
        "name": model.title if model is Lead else model.name,
    }
    order = sorted_by(columns, args["sort"], model.id, nullable=NULLABLE_SORTS)
    return paginate(
        listed(reading.page_form),
        args,
        order,
        args["sort"],
        counted=listed(reading.count_form) if reading.count_form else None,
        few_by_ids=reading.few_by_ids,
    )


def _park(park_id: int) -> Park:
    return _get(Park, park_id, "park_id")


def _link(link_id: int | None) -> ChainLink | None:
    return _get(ChainLink, link_id, "chain_link_id")


def _owner(owner_id: int | None) -> User | None:
    return _get(User, owner_id, "owner_id")


@leads_bp.route("", endpoint="lead_list")
class LeadList(MethodView):
    @leads_bp.arguments(s.RecordListArgsSchema, location="query")
    @leads_bp.response(200, LeadPage)
    def get(self, args: dict[str, Any]) -> Any:
        """线索列表：筛选同页面（园区、产业链、环节、阶段、投资档次、负责人、久未联系、搜索）"""
        return _list(Lead, args)

    @roles(*EDITOR_ROLES)
    @leads_bp.arguments(s.LeadCreateSchema)
    @leads_bp.response(201, s.LeadSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """新建线索（同一企业已有他人跟进时拒绝，园区负责人和管理员可确认 allow_duplicate）"""
        enterprise = _get(Enterprise, args["enterprise_id"], "enterprise_id")
        park, link, owner = _park(args["park_id"]), _link(args["chain_link_id"]), None
        if user().role in (Role.MANAGER, Role.ADMIN):
            owner = _owner(args["owner_id"])
        return run(
            lambda: services.create_lead(
                db.session,
                user(),
                enterprise=enterprise,
                title=args["title"],
                park=park,
                source=args["source"],
                chain_link=link,
                estimated_investment=args["estimated_investment"],
                owner=owner,
                description=args["description"],
                allow_duplicate=args["allow_duplicate"],
            )
        )


def _lead_values(lead: Lead) -> dict[str, Any]:
    return {
        "title": lead.title,
        "park_id": lead.park_id,
        "source": lead.source,
        "chain_link_id": lead.chain_link_id,
        "estimated_investment": lead.estimated_investment,
        "description": lead.description,
    }


@leads_bp.route(f"/<{ID}:lead_id>", endpoint="lead_item")
class LeadItem(MethodView):
    @record(Lead)
    @leads_bp.response(200, s.LeadSchema)
    def get(self, record: Lead) -> Any:
        """线索详情"""
        return record

    @record(Lead, "edit")
    @leads_bp.arguments(s.LeadUpdateSchema)
    @leads_bp.response(200, s.LeadSchema)
    def patch(self, args: dict[str, Any], record: Lead) -> Any:
        """修改线索：只改给出的字段（阶段和负责人另有操作）；version 须为读取时的版本号"""
        values = {**_lead_values(record), **args}
        park, link = _park(values["park_id"]), _link(values["chain_link_id"])
        return run(
            lambda: services.update_lead(
                db.session,
                user(),
                record,
                version=values["version"],
                title=values["title"],
                park=park,
                source=values["source"],
                chain_link=link,
                estimated_investment=values["estimated_investment"],
                description=values["description"],
            )
        )


@projects_bp.route("", endpoint="project_list")
class ProjectList(MethodView):
    @projects_bp.arguments(s.RecordListArgsSchema, location="query")
    @projects_bp.response(200, ProjectPage)
    def get(self, args: dict[str, Any]) -> Any:
        """项目列表：筛选同页面"""
        return _list(Project, args)


@leads_bp.route(f"/<{ID}:lead_id>/projects", endpoint="lead_projects")
class LeadProjects(MethodView):
    @record(Lead, "edit")
    @leads_bp.arguments(s.ProjectCreateSchema)
    @leads_bp.response(201, s.ProjectCreatedSchema)
    def post(self, args: dict[str, Any], record: Lead) -> Any:
        """由线索新建项目，并移到其已到达的阶段（规则同阶段变更）"""
        lead = record
        park = _park(args["park_id"]) if args["park_id"] else lead.park
        link = _link(args["chain_link_id"]) if "chain_link_id" in args else lead.chain_link
        total = args.get("total_investment", lead.estimated_investment)
        owner = _owner(args["owner_id"])
        target = args["stage"]
        effective_on = args["effective_on"] or today_local()
        skips = _skips(Stage.LEAD, target, args["skipped_dates"])
        move = Move(
            target=target, effective_on=effective_on, skipped_dates=skips, note=args["note"]
        )
        started_on = min([effective_on, *skips.values()])
        project, proposal = run(
            lambda: services.create_project(
                db.session,
                user(),
                lead,
                name=args["name"],
                park=park,
                chain_link=link,
                total_investment=total,
                fixed_asset_investment=args["fixed_asset_investment"],
                owner=owner,
                planned={key: args[key] for key in s.PLANNED},
                description=args["description"],
                started_on=started_on,
                move=move,
            )
        )
        # An officer's milestone waits for his manager, as on the page: say so in the answer.
        project.proposal = proposal
        return project


def _project_values(project: Project) -> dict[str, Any]:
    values = {
        "name": project.name,
        "park_id": project.park_id,
        "chain_link_id": project.chain_link_id,
        "total_investment": project.total_investment,
        "fixed_asset_investment": project.fixed_asset_investment,
        "description": project.description,
    }
    values.update({key: getattr(project, key) for key in s.PLANNED})
    return values


@projects_bp.route(f"/<{ID}:project_id>", endpoint="project_item")
class ProjectItem(MethodView):
    @record(Project)
    @projects_bp.response(200, s.ProjectSchema)
    def get(self, record: Project) -> Any:
        """项目详情"""
        return record

    @record(Project, "edit")
    @projects_bp.arguments(s.ProjectUpdateSchema)
    @projects_bp.response(200, s.ProjectSchema)
    def patch(self, args: dict[str, Any], record: Project) -> Any:
        """修改项目：只改给出的字段（阶段和负责人另有操作）；version 须为读取时的版本号"""
        values = {**_project_values(record), **args}
        park, link = _park(values["park_id"]), _link(values["chain_link_id"])
        return run(
            lambda: services.update_project(
                db.session,
                user(),
                record,
                version=values["version"],
                name=values["name"],
                park=park,
                chain_link=link,
                total_investment=values["total_investment"],
                fixed_asset_investment=values["fixed_asset_investment"],
                planned={key: values[key] for key in s.PLANNED},
                description=values["description"],
            )
        )


# --- what leads and projects share: owner, contacts, stage changes -----------------------------

ContactPage = s.page_schema(s.ContactSchema, "ContactPageSchema")


def _skips(current: Stage, target: Stage, given: dict[str, Any]) -> dict[Stage, Any]:
    """The dates of the stages the move skips (others are ignored, as on the page)."""
    return {
        stage: given[stage.value]
        for stage in skipped_stages(current, target)
        if given.get(stage.value) is not None
    }


def _shared_routes(blp: Blueprint, model: type[Lead] | type[Project]) -> None:
    id_name = "lead_id" if model is Lead else "project_id"
    word = "线索" if model is Lead else "项目"
    schema = s.LeadSchema if model is Lead else s.ProjectSchema
    subject = ContactLog.lead_id if model is Lead else ContactLog.project_id
    history = StageChange.lead_id if model is Lead else StageChange.project_id

    class Owner(MethodView):
        @record(model, "manage")
        @blp.arguments(s.ReassignSchema)
        @blp.response(200, schema)
        def put(self, args: dict[str, Any], record: Any) -> Any:
            owner = _owner(args["owner_id"])
            run(
                lambda: services.reassign(
                    db.session, user(), record, owner=owner, version=args["version"]
                )
            )
            return record

    Owner.put.__doc__ = f"更换{word}负责人（园区负责人和管理员）"

    class Contacts(MethodView):
        @record(model)
        @blp.arguments(s.PageArgsSchema, location="query")
        @blp.response(200, ContactPage)
        def get(self, args: dict[str, Any], record: Any) -> Any:
            stmt = (
                select(ContactLog)
                .where(subject == record.id)
                .options(joinedload(ContactLog.created_by))
            )
            order = [OrderKey(ContactLog.contact_on, True), OrderKey(ContactLog.id, True)]
            # One record's log, read in order through its index (lead or project, date).
            return paginate(stmt, args, order, "-contact_on", few_by_ids=False)

        @record(model, "edit")
        @blp.arguments(s.ContactCreateSchema)
        @blp.response(201, s.ContactSchema)
        def post(self, args: dict[str, Any], record: Any) -> Any:
            return run(lambda: services.log_contact(db.session, user(), record, **args))

    Contacts.get.__doc__ = f"{word}的联系记录，新的在前"
    Contacts.post.__doc__ = f"记录一次联系（同时更新{word}的最近联系日期和下一步工作）"

    def contact_of(record: Any, contact_id: int) -> ContactLog:
        contact = services.find_contact(db.session, record, contact_id)
        if contact is None:
            api_abort(404)
        return contact

    class ContactItem(MethodView):
        @record(model, "edit")
        @blp.arguments(s.ContactUpdateSchema)
        @blp.response(200, s.ContactSchema)
        def patch(self, args: dict[str, Any], record: Any, contact_id: int) -> Any:
            contact = contact_of(record, contact_id)
            version = args.pop("version")
            kept = {name: getattr(contact, name) for name in s.CONTACT_FIELDS}
            return run(
                lambda: services.correct_contact(
                    db.session, user(), record, contact, version=version, **{**kept, **args}
                )
            )

        @record(model, "edit")
        @blp.arguments(s.VersionArgsSchema, location="query")
        @blp.response(204)
        def delete(self, args: dict[str, Any], record: Any, contact_id: int) -> None:
            contact = contact_of(record, contact_id)
            run(
                lambda: services.remove_contact(
                    db.session, user(), record, contact, version=args["version"]
                )
            )

    ContactItem.patch.__doc__ = (
        "更正一条联系记录：只改给出的字段，规则同新记录；version 须为读取时的版本号。"
        "限记录人本人和园区负责人、管理员"
    )
    ContactItem.delete.__doc__ = (
        "删除一条联系记录（version 为读取时的版本号）；删除前的内容保留在修改记录中。"
        "限记录人本人和园区负责人、管理员"
    )

    class StageChanges(MethodView):
        @record(model)
        @blp.response(200, s.StageChangeSchema(many=True))
        def get(self, record: Any) -> Any:
            return db.session.scalars(
                select(StageChange)
                .where(history == record.id)
                .options(joinedload(StageChange.recorded_by), joinedload(StageChange.confirmed_by))
                .order_by(StageChange.effective_on, StageChange.id)
            ).all()

        @record(model, "edit")
        @blp.arguments(s.StageMoveSchema)
        @blp.response(201, s.StageMoveResultSchema, description="已变更")
        @blp.alt_response(202, schema=s.StageMoveResultSchema, description="等待园区负责人确认")
        def post(self, args: dict[str, Any], record: Any) -> Any:
            move = Move(
                target=args["target"],
                effective_on=args["effective_on"],
                skipped_dates=_skips(record.stage, args["target"], args["skipped_dates"]),
                reason=args["reason"],
                note=args["note"],
            )
            proposal = run(
                lambda: services.move_stage(
                    db.session, user(), record, move, version=args["version"]
                )
            )
            result = {
                "status": "proposed" if proposal is not None else "applied",
                "stage": record.stage,
                "stage_since": record.stage_since,
                "version": record.version,
                "proposal": proposal,
            }
            return result, 202 if proposal is not None else 201

    StageChanges.get.__doc__ = f"{word}的阶段变更历史，按时间先后"
    StageChanges.post.__doc__ = (
        "变更阶段，规则同页面：可跳过阶段但须填写各阶段日期，不能晚于今天；"
        "招商专员进入签约、开工、投产、达产或终止须园区负责人确认（202）"
    )

    prefix = f"/<{ID}:{id_name}>"
    for name, view in (("owner", Owner), ("contacts", Contacts), ("stage-changes", StageChanges)):
        view.__name__ = f"{model.__name__}{view.__name__}"
        blp.route(f"{prefix}/{name}", endpoint=f"{model.__tablename__}_{name.replace('-', '_')}")(
            view
        )
    ContactItem.__name__ = f"{model.__name__}ContactItem"
    blp.route(f"{prefix}/contacts/<{ID}:contact_id>", endpoint=f"{model.__tablename__}_contact")(
        ContactItem
    )


_shared_routes(leads_bp, Lead)
_shared_routes(projects_bp, Project)


# --- parks and chains ---------------------------------------------------------------------------


@reference_bp.route("/parks", endpoint="park_list")
class ParkList(MethodView):
    @reference_bp.response(200, s.ParkSchema(many=True))
    def get(self) -> Any:
        """园区（含已停用的）"""
        return list_parks(db.session)


@reference_bp.route(f"/parks/<{ID}:park_id>", endpoint="park_item")
class ParkItem(MethodView):
    @reference_bp.response(200, s.ParkSchema)
    def get(self, park_id: int) -> Any:
        """一个园区"""
        park = db.session.get(Park, park_id)
        if park is None:
            api_abort(404)
        return park


@reference_bp.route("/chains", endpoint="chain_list")
class ChainList(MethodView):
    @reference_bp.response(200, s.ChainSchema(many=True))
    def get(self) -> Any:
        """产业链及其环节（上游在前）"""
        return list_chains(db.session)


@reference_bp.route(f"/chains/<{ID}:chain_id>", endpoint="chain_item")
class ChainItem(MethodView):
    @reference_bp.response(200, s.ChainSchema)
    def get(self, chain_id: int) -> Any:
        """一条产业链及其环节"""
        chain = db.session.get(Chain, chain_id, options=[selectinload(Chain.links)])
        if chain is None:
            api_abort(404)
        return chain


# --- the board ----------------------------------------------------------------------------------


@pipeline_bp.route("/board", endpoint="board")
class Board(MethodView):
    @roles(Role.MANAGER, Role.LEADER, Role.ADMIN)
    @pipeline_bp.arguments(s.BoardArgsSchema, location="query")
    @pipeline_bp.response(200, s.BoardSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """园区看板：每个阶段的数量、亿元合计和投资最大的记录，规则同看板页面"""
        parks = list_parks(db.session)
        if user().role is Role.MANAGER:
            parks = [p for p in parks if p.id in user().park_ids]
        park_id = args["park"]
        if park_id is not None and park_id not in {p.id for p in parks}:
            api_abort(404)
        if park_id is None and user().role is Role.MANAGER and parks:
            park_id = parks[0].id
        model = Lead if args["kind"] == "leads" else Project
        columns = queries.board(db.session, user(), model, park_id)
        return {"kind": args["kind"], "park_id": park_id, "columns": columns}


# --- stage proposals ----------------------------------------------------------------------------


@pipeline_bp.route("/proposals", endpoint="proposal_list")
class ProposalList(MethodView):
    @roles(Role.MANAGER, Role.ADMIN)
    @pipeline_bp.arguments(s.ProposalListArgsSchema, location="query")
    @pipeline_bp.response(200, s.ProposalSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """待确认的阶段变更（园区负责人：其园区；管理员：全部），先提交的在前，最多200条"""
        return queries.proposals_for(db.session, user(), pending_only=args["pending"])


@pipeline_bp.route(
    f"/proposals/<{ID}:proposal_id>/<any(confirm, reject):decision>", endpoint="proposal_decide"
)
class ProposalDecision(MethodView):
    @roles(Role.MANAGER, Role.ADMIN)
    @pipeline_bp.arguments(s.DecisionSchema, required=False)
    @pipeline_bp.response(200, s.ProposalSchema)
    def post(self, args: dict[str, Any], proposal_id: int, decision: str) -> Any:
        """确认（按申请人所报重新检查后生效）或退回（须填写意见）一项阶段变更"""
        proposal = db.session.get(StageProposal, proposal_id)
        if proposal is None or not visibility.can_manage(user(), proposal.subject):
            api_abort(404)
        decide = services.confirm_proposal if decision == "confirm" else services.reject_proposal
        run(lambda: decide(db.session, user(), proposal, args["note"]))
        return proposal


# --- documentation ------------------------------------------------------------------------------

docs_bp = FlaskBlueprint("api_docs", __name__, url_prefix=PREFIX)


@docs_bp.route("/docs")
def docs() -> Any:
    """Swagger UI over /api/v1/openapi.json, from the vendored assets (no CDN)."""
    return render_template("api/docs.html")
