"""Pages of the pipeline: my work, lead and project lists and details, the park board,
stage proposals, and the thresholds page. Views load and check, call a service, commit once.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload
from wtforms import Field

from app.auth.decorators import admin_required, roles_required
from app.auth.models import EDITOR_ROLES, Role, User
from app.auth.services import owner_ids_named
from app.core.db import SAME_PLAN
from app.core.forms import as_choices
from app.core.i18n import gettext as _
from app.core.paging import keyset_page
from app.core.templating import url_with
from app.core.timeutil import today_local
from app.core.web import attempt, commit
from app.enterprises.credit_code import normalize_credit_code
from app.enterprises.models import Enterprise
from app.enterprises.services import RelatedSection, register_related
from app.extensions import db
from app.parks.models import ChainLink, Park
from app.parks.services import link_choices, list_chains, list_parks
from app.pipeline import badges, queries, services, visibility
from app.pipeline.flags import current_thresholds, save_thresholds
from app.pipeline.forms import (
    ContactEditForm,
    ContactForm,
    DecisionForm,
    LeadForm,
    ProjectForm,
    ReassignForm,
    SimpleForm,
    StageForm,
    ThresholdForm,
)
from app.pipeline.lifecycle import MAIN_LINE, Move, Stage, allowed_targets, skipped_stages
from app.pipeline.models import FIELD_LABELS, ContactType, Lead, LeadSource, Project, StageProposal

bp = Blueprint("pipeline", __name__)


@bp.before_app_request
def _fresh_thresholds() -> None:
    # A cache in ``g`` lives as long as the app context; each request reads the table anew.
    g.pop("thresholds", None)


bp.add_app_template_global(current_thresholds, "thresholds")
for _badge in (badges.stage_badge, badges.tier_badge, badges.stale_badge):
    bp.add_app_template_global(_badge)
bp.add_app_template_global(queries.is_stale, "is_stale")
bp.add_app_template_global(lambda name: FIELD_LABELS.get(name, name), "field_label")
bp.add_app_template_global(queries.too_long_in_stage, "too_long_in_stage")
bp.add_app_template_global(queries.event_label, "event_label")

KINDS: dict[str, type[Lead] | type[Project]] = {"leads": Lead, "projects": Project}


def _model(kind: str) -> type[Lead] | type[Project]:
    if kind not in KINDS:
        abort(404)
    return KINDS[kind]


def _kind(record: Lead | Project) -> str:
    return "leads" if isinstance(record, Lead) else "projects"


def detail_url(record: Lead | Project) -> str:
    return url_for("pipeline.record_detail", kind=_kind(record), record_id=record.id)


def _back_to_record(kind: str, record_id: int) -> Response:
    """The redirect after a write on a record's page, built from the URL: the committed record
    would be read from the database again for its id."""
    return redirect(url_for("pipeline.record_detail", kind=kind, record_id=record_id))


# --- my work and lists ----------------------------------------------------------------------


@bp.route("/my")
@roles_required(Role.OFFICER, Role.MANAGER)
def my_work():
    work = queries.my_work(db.session, current_user)
    return render_template("pipeline/my_work.html", work=work)


def _filter_options() -> dict[str, Any]:
    return {
        "parks": list_parks(db.session),
        "chains": list_chains(db.session),
        "owner_filter": current_user.role is not Role.OFFICER,
        "stages": list(Stage),
    }


def _owner_by_name(filters: queries.ListFilters) -> Any:
    """The owner filter submitted without JavaScript: ``owner_name`` (typed text) beside the
    ``owner`` id it was shown with. Returns a redirect to the list filtered by the one owner of
    that exact name (or unfiltered, for empty text), else None after a message, the list then
    being unfiltered by owner."""
    text = request.args.get("owner_name", "")
    if not text.strip():
        return redirect(url_with(owner=None, owner_name=None))
    ids = owner_ids_named(db.session, text)
    chosen = filters.owner_id if filters.owner_id in ids else ids[0] if len(ids) == 1 else None
    if chosen is not None:
        return redirect(url_with(owner=chosen, owner_name=None))
    if request.args.get("owner"):
        # Drop the id the text replaced; the next request explains.
        return redirect(url_with(owner=None))
    name = text.strip()[:40]
    if ids:
        flash(
            _(
                "有 %(n)d 位负责人名为“%(name)s”，请从提示中选择；列表未按负责人筛选。",
                n=len(ids),
                name=name,
            ),
            "warning",
        )
    else:
        flash(
            _("没有名为“%(name)s”的招商专员或园区负责人；列表未按负责人筛选。", name=name),
            "warning",
        )
    return None


def _owner_text(filters: queries.ListFilters) -> str:
    """What the owner filter's text box shows: the typed text, or the chosen owner's name."""
    if current_user.role is Role.OFFICER:
        return ""
    if "owner_name" in request.args:
        return request.args["owner_name"].strip()[:100]
    owner = db.session.get(User, filters.owner_id) if filters.owner_id else None
    return owner.full_name if owner is not None else ""


@bp.route("/leads", endpoint="lead_list", defaults={"kind": "leads"})
@bp.route("/projects", endpoint="project_list", defaults={"kind": "projects"})
@login_required
def record_list(kind: str):
    model = _model(kind)
    filters = queries.ListFilters.from_args(request.args)
    if "owner_name" in request.args and current_user.role is not Role.OFFICER:
        response = _owner_by_name(filters)
        if response is not None:
            return response
    thresholds = current_thresholds()
    # Read first: the rows' parks and chain links are then in the session (list_page_stmt).
    options = _filter_options()

    def listed(search_form: queries.SearchForm = "any") -> Select:
        found = queries.filtered(current_user, model, filters, thresholds, search_form=search_form)
        return queries.list_page_stmt(found, model)

    reading = queries.list_reading(db.session, current_user, model, filters)
    filters = reading.filters
    limit = "SEARCH_COUNT_LIMIT" if reading.common_word else "LIST_COUNT_LIMIT"
    page = keyset_page(
        db.session,
        listed(reading.page_form),
        model.updated_at,
        model.id,
        request.args,
        _per_page(),
        count_limit=current_app.config[limit],
        counted=listed(reading.count_form) if reading.count_form else None,
        few_by_ids=reading.few_by_ids,
    )
    return render_template(
        "pipeline/list.html",
        kind=kind,
        page=page,
        filters=filters,
        can_create=visibility.can_create(current_user) and kind == "leads",
        owner_text=_owner_text(filters),
        **options,
    )


def _per_page() -> int:
    return int(current_app.config["PAGE_SIZE"])


# --- detail ---------------------------------------------------------------------------------


def _load(kind: str, record_id: int, for_page: bool = False) -> Lead | Project:
    model = _model(kind)
    # The record's page shows its enterprise, owner, park and chain link: read in the same
    # statement.
    neighbours = (
        (
            joinedload(model.enterprise, innerjoin=True),
            joinedload(model.owner, innerjoin=True),
            *queries.reference_options(model),
        )
        if for_page
        else ()
    )
    return visibility.get_or_404(db.session, current_user, model, record_id, neighbours)


def _stage_form(record: Lead | Project, formdata: Any = None) -> StageForm:
    form = StageForm(formdata=formdata, prefix="stage")
    form.target.choices = as_choices(
        (s.value, s.label) for s in allowed_targets(record.stage, record.held_from)
    )
    if formdata is None:
        form.effective_on.data = today_local()
        form.version.data = str(record.version)
    return form


def _reassign_form(record: Lead | Project, formdata: Any = None) -> ReassignForm:
    form = ReassignForm(formdata=formdata, prefix="reassign")
    if formdata is None:
        form.version.data = str(record.version)
    return form


def _picked_owner(id_field: Field, name_field: Field, park_id: int | None) -> tuple[bool, Any]:
    """The person an owner picker (``owner_picker`` in macros.html) names: ``(True, user)`` for
    the one chosen from the suggestions, or the only one of the typed name whom a record of
    *park_id* may be given; ``(True, None)`` when nothing was picked; ``(False, None)`` when the
    typed name fits no one or several, the reason then on *name_field*."""
    chosen = (id_field.data or "").strip()
    if chosen.isdigit():
        owner = db.session.get(User, int(chosen))
        if owner is not None:
            return True, owner
    name = (name_field.data or "").strip()
    if not name:
        return True, None
    ids = owner_ids_named(db.session, name, park_id=park_id)
    if len(ids) == 1:
        return True, db.session.get(User, ids[0])
    if ids:
        message = _("有 %(n)d 位负责人名为“%(name)s”，请从提示中选择。", n=len(ids), name=name)
    else:
        message = _("没有名为“%(name)s”、可负责本园区记录的招商专员或园区负责人。", name=name)
    name_field.errors = [*name_field.errors, message]
    return False, None


def _render_detail(
    record: Lead | Project,
    contact_form: ContactForm | None = None,
    stage_form: StageForm | None = None,
    reassign_form: ReassignForm | None = None,
    status: int = 200,
):
    can_edit = visibility.can_edit(current_user, record)
    can_manage = visibility.can_manage(current_user, record)
    if contact_form is None:
        contact_form = ContactForm(prefix="contact", contact_type=ContactType.VISIT.value)
        contact_form.contact_on.data = today_local()
    shown = None if request.args.get("timeline") == "all" else queries.TIMELINE_SHOWN
    context = {
        "record": record,
        "kind": _kind(record),
        "timeline": queries.timeline(db.session, record, limit=shown),
        "audit": queries.audit_history(
            db.session,
            record,
            limit=None if request.args.get("history") == "all" else queries.HISTORY_SHOWN,
        ),
        "proposal": services.pending_proposal(db.session, record),
        "can_edit": can_edit,
        "can_manage": can_manage,
        "may_change_contact": functools.partial(
            visibility.can_change_contact, current_user, record
        ),
        "contact_form": contact_form,
        "stage_form": stage_form or _stage_form(record),
        "reassign_form": (reassign_form or _reassign_form(record)) if can_manage else None,
        "decision_form": DecisionForm(),
        "simple_form": SimpleForm(),
        "main_line": [s.value for s in MAIN_LINE],
        "skippable": MAIN_LINE[1:-1],
        "projects": _visible_projects(record) if isinstance(record, Lead) else [],
    }
    return render_template("pipeline/detail.html", **context), status


def _visible_projects(lead: Lead) -> list[Project]:
    stmt = visibility.visible(select(Project), current_user, Project).where(
        Project.lead_id == lead.id
    )
    return list(db.session.scalars(stmt.order_by(Project.id).execution_options(**SAME_PLAN)))


@bp.route("/<any(leads, projects):kind>/<int:record_id>")
@login_required
def record_detail(kind: str, record_id: int):
    return _render_detail(_load(kind, record_id, for_page=True))


@bp.route("/<any(leads, projects):kind>/<int:record_id>/contacts", methods=["POST"])
@login_required
def record_contact(kind: str, record_id: int):
    record = _load(kind, record_id)
    if not visibility.can_edit(current_user, record):
        abort(403)
    form = ContactForm(prefix="contact")
    if form.validate_on_submit():
        ok, _result = attempt(
            form,
            lambda: services.log_contact(db.session, current_user, record, **form.contact_fields()),
        )
        if ok:
            flash(_("已记录联系。"), "success")
            return _back_to_record(kind, record_id)
    db.session.rollback()
    return _render_detail(record, contact_form=form, status=422)


def _contact_to_change(kind: str, record_id: int, contact_id: int) -> tuple[Lead | Project, Any]:
    """The record of the URL and its contact *contact_id* (404 when either is out of sight), for
    a user who may correct or remove that contact (403 otherwise)."""
    record = _load(kind, record_id)
    contact = services.find_contact(db.session, record, contact_id)
    if contact is None:
        abort(404)
    if not visibility.can_change_contact(current_user, record, contact.created_by_id):
        abort(403)
    return record, contact


@bp.route(
    "/<any(leads, projects):kind>/<int:record_id>/contacts/<int:contact_id>/edit",
    methods=["GET", "POST"],
)
@login_required
def record_contact_edit(kind: str, record_id: int, contact_id: int):
    record, contact = _contact_to_change(kind, record_id, contact_id)
    form = ContactEditForm(obj=contact)
    if request.method == "GET":
        form.contact_type.data = contact.contact_type.value
        form.version.data = str(contact.version)
    if form.validate_on_submit():
        ok, _result = attempt(
            form,
            lambda: services.correct_contact(
                db.session,
                current_user,
                record,
                contact,
                version=form.version.data,
                **form.contact_fields(),
            ),
        )
        if ok:
            flash(_("已更正联系记录。"), "success")
            return _back_to_record(kind, record_id)
        # The form keeps what was typed, with the version now stored (after a conflict, saving
        # again replaces the other change, as the message says).
        stored = services.find_contact(db.session, record, contact_id)
        if stored is None:
            flash(_("该联系记录已被他人删除。"), "warning")
            return _back_to_record(kind, record_id)
        form.version.data = str(stored.version)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "pipeline/contact_form.html", form=form, record=record, kind=kind, contact=contact
    ), status


@bp.route(
    "/<any(leads, projects):kind>/<int:record_id>/contacts/<int:contact_id>/delete",
    methods=["POST"],
)
@login_required
def record_contact_delete(kind: str, record_id: int, contact_id: int):
    record, contact = _contact_to_change(kind, record_id, contact_id)
    form = SimpleForm()
    if form.validate_on_submit():
        ok, _result = attempt(
            None,
            lambda: services.remove_contact(
                db.session, current_user, record, contact, version=request.form.get("version")
            ),
        )
        if ok:
            flash(_("已删除联系记录。"), "success")
    return redirect(url_for("pipeline.record_detail", kind=kind, record_id=record_id) + "#timeline")


@bp.route("/<any(leads, projects):kind>/<int:record_id>/stage", methods=["POST"])
@login_required
def record_stage(kind: str, record_id: int):
    record = _load(kind, record_id)
    if not visibility.can_edit(current_user, record):
        abort(403)
    form = _stage_form(record, request.form)
    if form.validate_on_submit():
        move = _move_from(form, record)
        ok, proposal = attempt(
            form,
            lambda: services.move_stage(
                db.session, current_user, record, move, version=form.version.data
            ),
        )
        if ok:
            if proposal is not None:
                flash(_("阶段变更已提交，等待园区负责人确认。"), "info")
            else:
                flash(_("阶段已变更为“%(stage)s”。", stage=move.target.label), "success")
            return _back_to_record(kind, record_id)
    db.session.rollback()
    return _render_detail(record, stage_form=form, status=422)


def _move_from(form: StageForm, record: Lead | Project) -> Move:
    target = Stage(form.target.data)
    skips = {}
    for stage in skipped_stages(record.stage, target):
        day = getattr(form, f"skip_{stage.value}").data
        if day is not None:
            skips[stage] = day
    return Move(
        target=target,
        effective_on=form.effective_on.data,
        skipped_dates=skips,
        reason=form.reason.data or "",
        note=form.note.data or "",
    )


@bp.route("/<any(leads, projects):kind>/<int:record_id>/reassign", methods=["POST"])
@login_required
def record_reassign(kind: str, record_id: int):
    record = _load(kind, record_id)
    if not visibility.can_manage(current_user, record):
        abort(403)
    form = _reassign_form(record, request.form)
    owner = None
    if form.validate_on_submit():
        picked, owner = _picked_owner(form.owner_id, form.owner_name, record.park_id)
        if picked and owner is None:
            form.owner_name.errors = [*form.owner_name.errors, _("请选择新负责人。")]
    if owner is not None:
        ok, _result = attempt(
            form,
            lambda: services.reassign(
                db.session, current_user, record, owner=owner, version=form.version.data
            ),
        )
        if ok:
            flash(_("负责人已变更为 %(name)s。", name=owner.full_name), "success")
            return _back_to_record(kind, record_id)
    db.session.rollback()
    return _render_detail(record, reassign_form=form, status=422)


@bp.route("/<any(leads, projects):kind>/<int:record_id>/next-step/done", methods=["POST"])
@login_required
def record_next_step_done(kind: str, record_id: int):
    record = _load(kind, record_id)
    if not visibility.can_edit(current_user, record):
        abort(403)
    if SimpleForm().validate_on_submit():
        services.complete_next_step(db.session, current_user, record)
        if commit():
            flash(_("下一步工作已完成。"), "success")
    return redirect(
        (request.form.get("back") == "my" and url_for("pipeline.my_work")) or detail_url(record)
    )


# --- create and edit ------------------------------------------------------------------------


def _fill_choices(form: LeadForm | ProjectForm, park_id: int | None = None) -> None:
    """Offer the active parks the user works in, plus the record's own park (*park_id*)."""
    parks = [
        p
        for p in list_parks(db.session)
        if p.id == park_id or (p.active and visibility.may_work_in_park(current_user, p.id))
    ]
    form.park_id.choices = as_choices((p.id, p.name) for p in parks)
    form.chain_link_id.choices = as_choices([("", _("（不指定）")), *link_choices(db.session)])
    if current_user.role not in (Role.MANAGER, Role.ADMIN):
        _without_owner(form)


def _without_owner(form: LeadForm | ProjectForm) -> None:
    """Drop the owner picker: only managers and admins give a new record to someone else, and an
    edit keeps the owner (reassigning has its own form)."""
    for name in ("owner_id", "owner_name"):
        if getattr(form, name, None) is not None:
            delattr(form, name)


def _resolve_enterprise(text: str) -> Enterprise | None:
    code = normalize_credit_code(text)
    return db.session.scalar(
        select(Enterprise).where(
            or_(Enterprise.name == text.strip(), Enterprise.credit_code == code)
        )
    )


def _link(link_id: int | None) -> ChainLink | None:
    return db.session.get(ChainLink, link_id) if link_id else None


def _owner(form: LeadForm | ProjectForm) -> tuple[bool, User | None]:
    """The owner a manager or admin picked on a new record's form (None: himself); False when
    the typed name fits no one or several (the reason on the form)."""
    # A removed WTForms field stays as an attribute set to None.
    if getattr(form, "owner_id", None) is None:
        return True, None
    return _picked_owner(form.owner_id, form.owner_name, form.park_id.data)


@bp.route("/leads/new", methods=["GET", "POST"])
@roles_required(*EDITOR_ROLES)
def lead_create():
    form = LeadForm()
    _fill_choices(form)
    duplicate_warning = False
    if request.method == "GET" and request.args.get("enterprise_id"):
        enterprise = db.session.get(Enterprise, request.args.get("enterprise_id", type=int))
        if enterprise is not None:
            form.enterprise.data = enterprise.credit_code or enterprise.name
    if form.validate_on_submit():
        enterprise = _resolve_enterprise(form.enterprise.data)
        if enterprise is None:
            form.enterprise.errors.append(
                _("找不到该企业，请填写完整名称或统一社会信用代码，或先新建企业。")
            )
        else:
            picked, owner = _owner(form)
            ok, lead = (
                (False, None)
                if not picked
                else attempt(
                    form,
                    lambda: services.create_lead(
                        db.session,
                        current_user,
                        enterprise=enterprise,
                        title=form.title.data,
                        park=db.session.get(Park, form.park_id.data),
                        source=LeadSource(form.source.data),
                        chain_link=_link(form.chain_link_id.data),
                        estimated_investment=form.estimated_investment.data,
                        owner=owner,
                        description=form.description.data,
                        allow_duplicate=form.confirm_duplicate.data,
                    ),
                )
            )
            if ok:
                flash(_("已创建线索。"), "success")
                return redirect(detail_url(lead))
            # Managers and admins may create a second lead once they have seen who courts it.
            duplicate_warning = current_user.role in (Role.MANAGER, Role.ADMIN) and bool(
                services.active_leads_elsewhere(
                    db.session, enterprise.id, (owner or current_user).id
                )
            )
    return render_template(
        "pipeline/lead_form.html", form=form, lead=None, duplicate_warning=duplicate_warning
    )


@bp.route("/leads/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def lead_edit(record_id: int):
    lead = _load("leads", record_id)
    if not visibility.can_edit(current_user, lead):
        abort(403)
    form = LeadForm(obj=lead)
    _fill_choices(form, lead.park_id)
    _without_owner(form)
    del form.enterprise
    if request.method == "GET":
        form.version.data = str(lead.version)
        form.source.data = lead.source.value
    if form.validate_on_submit():
        ok, _result = attempt(
            form,
            lambda: services.update_lead(
                db.session,
                current_user,
                lead,
                version=request.form.get("version"),
                title=form.title.data,
                park=db.session.get(Park, form.park_id.data),
                source=LeadSource(form.source.data),
                chain_link=_link(form.chain_link_id.data),
                estimated_investment=form.estimated_investment.data,
                description=form.description.data,
            ),
        )
        if ok:
            flash(_("已保存。"), "success")
            return redirect(detail_url(lead))
        db.session.rollback()
    return render_template("pipeline/lead_form.html", form=form, lead=lead, duplicate_warning=False)


def _planned(form: ProjectForm) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in services.PLANNED_FIELDS}


@bp.route("/leads/<int:record_id>/projects/new", methods=["GET", "POST"])
@login_required
def project_create(record_id: int):
    lead = _load("leads", record_id)
    if not visibility.can_edit(current_user, lead):
        abort(403)
    form = ProjectForm()
    _fill_choices(form)
    stage_form = StageForm(prefix="stage")
    stage_form.target.choices = as_choices((s.value, s.label) for s in MAIN_LINE)
    if request.method == "GET":
        form.park_id.data = lead.park_id
        form.chain_link_id.data = lead.chain_link_id
        form.total_investment.data = lead.estimated_investment
        stage_form.target.data = Stage.LEAD.value
        stage_form.effective_on.data = today_local()
    picked, owner = (False, None)
    if form.validate_on_submit() and stage_form.validate():
        picked, owner = _owner(form)
    if picked:
        target = Stage(stage_form.target.data)
        skips = {
            s: getattr(stage_form, f"skip_{s.value}").data
            for s in skipped_stages(Stage.LEAD, target)
            if getattr(stage_form, f"skip_{s.value}").data is not None
        }
        move = Move(
            target=target,
            effective_on=stage_form.effective_on.data,
            skipped_dates=skips,
            note=stage_form.note.data or "",
        )
        started_on = min([stage_form.effective_on.data, *skips.values()])
        ok, created = attempt(
            (form, stage_form),
            lambda: services.create_project(
                db.session,
                current_user,
                lead,
                name=form.name.data,
                park=db.session.get(Park, form.park_id.data),
                chain_link=_link(form.chain_link_id.data),
                total_investment=form.total_investment.data,
                fixed_asset_investment=form.fixed_asset_investment.data,
                owner=owner,
                planned=_planned(form),
                description=form.description.data,
                started_on=started_on,
                move=move,
            ),
        )
        if ok:
            project, proposal = created
            flash(_("已创建项目。"), "success")
            if proposal is not None:
                flash(_("阶段变更已提交，等待园区负责人确认。"), "info")
            return redirect(detail_url(project))
    return render_template(
        "pipeline/project_form.html",
        form=form,
        stage_form=stage_form,
        lead=lead,
        project=None,
        main_line=[s.value for s in MAIN_LINE],
        skippable=MAIN_LINE[1:-1],
    )


@bp.route("/projects/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def project_edit(record_id: int):
    project = _load("projects", record_id)
    if not visibility.can_edit(current_user, project):
        abort(403)
    form = ProjectForm(obj=project)
    _fill_choices(form, project.park_id)
    _without_owner(form)
    if request.method == "GET":
        form.version.data = str(project.version)
    if form.validate_on_submit():
        ok, _result = attempt(
            form,
            lambda: services.update_project(
                db.session,
                current_user,
                project,
                version=request.form.get("version"),
                name=form.name.data,
                park=db.session.get(Park, form.park_id.data),
                chain_link=_link(form.chain_link_id.data),
                total_investment=form.total_investment.data,
                fixed_asset_investment=form.fixed_asset_investment.data,
                planned=_planned(form),
                description=form.description.data,
            ),
        )
        if ok:
            flash(_("已保存。"), "success")
            return redirect(detail_url(project))
        db.session.rollback()
    return render_template(
        "pipeline/project_form.html",
        form=form,
        stage_form=None,
        lead=project.lead,
        project=project,
        main_line=[],
        skippable=[],
    )


# --- board and proposals --------------------------------------------------------------------


@bp.route("/board")
@roles_required(Role.MANAGER, Role.LEADER, Role.ADMIN)
def board():
    parks = list_parks(db.session)
    if current_user.role is Role.MANAGER:
        parks = [p for p in parks if p.id in current_user.park_ids]
    park_id = request.args.get("park", type=int)
    if park_id is not None and park_id not in {p.id for p in parks}:
        abort(404)
    if park_id is None and current_user.role is Role.MANAGER and parks:
        park_id = parks[0].id
    kind = request.args.get("kind", "leads")
    model = _model(kind)
    columns = queries.board(db.session, current_user, model, park_id, today=today_local())
    # The cards' links: the detail path up to the id, built once rather than once per card.
    detail_base = url_for("pipeline.record_detail", kind=kind, record_id=0).removesuffix("0")
    return render_template(
        "pipeline/board.html",
        columns=columns,
        detail_base=detail_base,
        parks=parks,
        park_id=park_id,
        kind=kind,
    )


@bp.route("/proposals")
@roles_required(Role.MANAGER, Role.ADMIN)
def proposal_list():
    proposals = queries.proposals_for(db.session, current_user)
    return render_template(
        "pipeline/proposals.html", proposals=proposals, form=DecisionForm(), detail_url=detail_url
    )


@bp.route("/proposals/<int:proposal_id>/<any(confirm, reject):decision>", methods=["POST"])
@roles_required(Role.MANAGER, Role.ADMIN)
def proposal_decide(proposal_id: int, decision: str):
    proposal = db.session.get(StageProposal, proposal_id)
    if proposal is None or not visibility.can_manage(current_user, proposal.subject):
        abort(404)
    form = DecisionForm()
    decide = services.confirm_proposal if decision == "confirm" else services.reject_proposal
    if form.validate_on_submit():
        ok, _result = attempt(
            None, lambda: decide(db.session, current_user, proposal, form.note.data or "")
        )
        if ok:
            flash(_("已确认。") if decision == "confirm" else _("已退回。"), "success")
    back = request.form.get("back")
    return redirect(
        detail_url(proposal.subject) if back == "detail" else url_for("pipeline.proposal_list")
    )


# --- thresholds -----------------------------------------------------------------------------


@bp.route("/admin/thresholds", methods=["GET", "POST"])
@admin_required
def thresholds():
    current = current_thresholds()
    form = ThresholdForm()
    if request.method == "GET":
        form.major.data, form.big.data = current.major, current.big
    if form.validate_on_submit():
        ok, _result = attempt(
            form, lambda: save_thresholds(db.session, form.major.data, form.big.data)
        )
        if ok:
            flash(_("门槛已保存，所有列表的标记随之更新。"), "success")
            return redirect(url_for("pipeline.thresholds"))
    counts = queries.projects_per_tier(db.session, current, ("major", "big"))
    return render_template("pipeline/thresholds.html", form=form, counts=counts)


# --- the enterprise page's section ----------------------------------------------------------


@register_related
def enterprise_records(session: Any, user: User, enterprise: Enterprise) -> RelatedSection:
    """List the enterprise's leads and projects that *user* may see on its page."""
    rows = {}
    for model in (Lead, Project):
        stmt = visibility.visible(select(model), user, model).where(
            model.enterprise_id == enterprise.id
        )
        stmt = queries.list_page_stmt(stmt, model).options(*queries.reference_options(model))
        rows[model] = list(session.scalars(stmt.limit(100)))
    others = services.active_leads_elsewhere(session, enterprise.id, user.id)
    visible_owners = {lead.owner.full_name for lead in rows[Lead]}
    return RelatedSection(
        template="pipeline/_enterprise_records.html",
        context={
            "leads": rows[Lead],
            "projects": rows[Project],
            "others": [o for o in others if o[0] not in visible_owners]
            if user.role is Role.OFFICER
            else [],
            "can_create": visibility.can_create(user),
        },
    )
