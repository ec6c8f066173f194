"""Enterprise pages: the searchable list, the detail page with contact people, create and edit."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.core.db import StaleVersionError, check_version
from app.core.i18n import gettext as _
from app.core.web import commit
from app.enterprises.forms import ContactPersonForm, EnterpriseForm, EnterpriseSearchForm
from app.enterprises.models import Enterprise, EnterpriseContact
from app.enterprises.services import (
    EnterpriseError,
    PossibleDuplicatesError,
    add_contact_person,
    can_edit_enterprises,
    contact_person,
    create_enterprise,
    delete_contact_person,
    related_sections,
    search_enterprises,
    update_contact_person,
    update_enterprise,
)
from app.extensions import db

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")


def _require_editor() -> None:
    """Leaders read only: changing enterprises is a 403 for them."""
    if not can_edit_enterprises(current_user):
        abort(403)


def _get_person(enterprise_id: int, person_id: int) -> EnterpriseContact:
    """Load a contact person of the enterprise in the URL, or 404."""
    person = contact_person(db.session, enterprise_id, person_id)
    if person is None:
        abort(404)
    return person


def _field_error(form: FlaskForm, exc: EnterpriseError, default: str) -> None:
    field = form[exc.field] if exc.field and exc.field in form else form[default]
    field.errors = [*field.errors, exc.message]


def _render_related(enterprise: Enterprise) -> list[Markup]:
    """Render the sections other features add to the enterprise page (trusted templates)."""
    user = current_user._get_current_object()
    return [
        Markup(render_template(section.template, enterprise=enterprise, **section.context))  # noqa: S704
        for section in related_sections(db.session, user, enterprise)
    ]


@bp.route("/")
@login_required
def enterprise_list():
    form = EnterpriseSearchForm(formdata=request.args)
    form.validate()
    stmt = search_enterprises(db.session, form.query(), form.filters())
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "enterprises/list.html",
        form=form,
        page=page,
        can_edit=can_edit_enterprises(current_user),
    )


@bp.route("/<int:enterprise_id>")
@login_required
def enterprise_detail(enterprise_id: int):
    enterprise = db.get_or_404(Enterprise, enterprise_id, options=[selectinload(Enterprise.people)])
    return render_template(
        "enterprises/detail.html",
        enterprise=enterprise,
        person_form=ContactPersonForm(),
        can_edit=can_edit_enterprises(current_user),
        related=_render_related(enterprise),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def enterprise_create():
    _require_editor()
    form = EnterpriseForm()
    duplicates: list[Enterprise] = []
    if form.validate_on_submit():
        try:
            enterprise = create_enterprise(
                db.session,
                current_user,
                check_similar=not form.confirm_duplicate.data,
                **form.enterprise_fields(),
            )
        except PossibleDuplicatesError as exc:
            duplicates = exc.duplicates
        except EnterpriseError as exc:
            _field_error(form, exc, "name")
        else:
            if commit():
                flash(_("已登记企业“%(name)s”。", name=enterprise.name), "success")
                return redirect(url_for(".enterprise_detail", enterprise_id=enterprise.id))
    return render_template(
        "enterprises/form.html", form=form, enterprise=None, duplicates=duplicates
    )


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@login_required
def enterprise_edit(enterprise_id: int):
    _require_editor()
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    form = EnterpriseForm(obj=enterprise)
    if request.method == "GET":
        form.version.data = str(enterprise.version)
    changes: list[tuple[str, str]] = []
    if form.validate_on_submit():
        try:
            check_version(enterprise, request.form.get("version"))
            update_enterprise(db.session, current_user, enterprise, **form.enterprise_fields())
        except (StaleVersionError, StaleDataError):
            flash(str(StaleVersionError.message), "danger")
            changes = form.saved_differences(enterprise)
            form.version.data = str(enterprise.version)
        except EnterpriseError as exc:
            _field_error(form, exc, "name")
        else:
            if commit():
                flash(_("已保存。"), "success")
                return redirect(url_for(".enterprise_detail", enterprise_id=enterprise.id))
    return render_template(
        "enterprises/form.html", form=form, enterprise=enterprise, duplicates=[], changes=changes
    )


@bp.route("/<int:enterprise_id>/people/new", methods=["GET", "POST"])
@login_required
def person_create(enterprise_id: int):
    _require_editor()
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    form = ContactPersonForm()
    if form.validate_on_submit():
        try:
            add_contact_person(db.session, current_user, enterprise, **form.person_fields())
        except EnterpriseError as exc:
            _field_error(form, exc, "name")
        else:
            if commit():
                flash(_("已添加联系人。"), "success")
                return redirect(url_for(".enterprise_detail", enterprise_id=enterprise.id))
    return render_template(
        "enterprises/person_form.html", form=form, enterprise=enterprise, person=None
    )


@bp.route("/<int:enterprise_id>/people/<int:person_id>/edit", methods=["GET", "POST"])
@login_required
def person_edit(enterprise_id: int, person_id: int):
    _require_editor()
    person = _get_person(enterprise_id, person_id)
    form = ContactPersonForm(obj=person)
    if request.method == "GET":
        form.version.data = str(person.version)
    if form.validate_on_submit():
        try:
            check_version(person, request.form.get("version"))
            update_contact_person(db.session, current_user, person, **form.person_fields())
        except (StaleVersionError, StaleDataError):
            flash(str(StaleVersionError.message), "danger")
            form.version.data = str(person.version)
        except EnterpriseError as exc:
            _field_error(form, exc, "name")
        else:
            if commit():
                flash(_("已保存。"), "success")
                return redirect(url_for(".enterprise_detail", enterprise_id=enterprise_id))
    return render_template(
        "enterprises/person_form.html", form=form, enterprise=person.enterprise, person=person
    )


@bp.route("/<int:enterprise_id>/people/<int:person_id>/delete", methods=["POST"])
@login_required
def person_delete(enterprise_id: int, person_id: int):
    _require_editor()
    person = _get_person(enterprise_id, person_id)
    delete_contact_person(db.session, current_user, person)
    if commit():
        flash(_("已删除联系人。"), "success")
    return redirect(url_for(".enterprise_detail", enterprise_id=enterprise_id))
