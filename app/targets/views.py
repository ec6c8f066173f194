"""Admin pages for annual targets: the year's targets with their progress, add, edit, remove."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import admin_required
from app.core.db import check_version
from app.core.forms import as_choices
from app.core.i18n import gettext as _
from app.core.timeutil import today_local
from app.core.web import attempt
from app.extensions import db
from app.parks.models import Chain, Park
from app.parks.services import list_chains, list_parks
from app.pipeline.flags import current_thresholds
from app.targets import services
from app.targets.forms import CopyForm, TargetForm
from app.targets.models import AnnualTarget, Metric

bp = Blueprint("targets", __name__, url_prefix="/admin/targets")


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return today_local().year
    return year if services.MIN_YEAR <= year <= services.MAX_YEAR else today_local().year


@bp.route("/")
@admin_required
def target_list():
    year = _year()
    thresholds = current_thresholds()
    rows = services.progress(db.session, current_user, year, thresholds)
    copy_form = CopyForm(source=year - 1, year=year)
    return render_template(
        "targets/list.html",
        year=year,
        rows=rows,
        thresholds=thresholds,
        describe=services.describe,
        copy_form=copy_form,
    )


def _form(target: AnnualTarget | None) -> TargetForm:
    form = TargetForm()
    thresholds = current_thresholds()
    form.metric.choices = as_choices((m.value, m.label) for m in Metric)
    form.tier.choices = as_choices(
        [("", _("不限")), *((t, thresholds.label(t)) for t in ("yi", "major", "big"))]
    )
    form.park_id.choices = as_choices(
        [("", _("全区")), *((str(p.id), p.name) for p in list_parks(db.session))]
    )
    form.chain_id.choices = as_choices(
        [("", _("不限")), *((str(c.id), c.name) for c in list_chains(db.session))]
    )
    if request.method == "GET":
        if target is not None:
            form.year.data = target.year
            form.metric.data = target.metric.value
            form.tier.data = target.tier or ""
            form.park_id.data = str(target.park_id or "")
            form.chain_id.data = str(target.chain_id or "")
            form.goal.data = format(target.goal.normalize(), "f")
            form.note.data = target.note
            form.version.data = str(target.version)
        else:
            form.year.data = _year()
    return form


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:target_id>", methods=["GET", "POST"])
@admin_required
def target_edit(target_id: int | None = None):
    target = db.get_or_404(AnnualTarget, target_id) if target_id else None
    form = _form(target)
    if form.validate_on_submit():

        def _save() -> AnnualTarget:
            if target is not None:
                check_version(target, form.version.data)
            return services.save_target(
                db.session,
                current_user,
                target,
                year=form.year.data,
                metric=Metric(form.metric.data),
                tier=form.tier.data or None,
                park=db.session.get(Park, int(form.park_id.data)) if form.park_id.data else None,
                chain=(
                    db.session.get(Chain, int(form.chain_id.data)) if form.chain_id.data else None
                ),
                goal=form.goal_value,
                note=form.note.data,
            )

        ok, saved = attempt(form, _save)
        if ok and saved is not None:
            flash(_("已保存。"), "success")
            return redirect(url_for("targets.target_list", year=saved.year))
    return render_template("targets/form.html", form=form, target=target)


@bp.route("/<int:target_id>/delete", methods=["POST"])
@admin_required
def target_delete(target_id: int):
    target = db.get_or_404(AnnualTarget, target_id)
    year = target.year

    def _delete() -> None:
        check_version(target, request.form.get("version"))
        services.delete_target(db.session, current_user, target)

    ok, _result = attempt(None, _delete)
    if ok:
        flash(_("已删除该目标。"), "success")
    return redirect(url_for("targets.target_list", year=year))


@bp.route("/copy", methods=["POST"])
@admin_required
def target_copy():
    form = CopyForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return redirect(url_for("targets.target_list"))
    ok, copied = attempt(
        None,
        lambda: services.copy_year(db.session, current_user, form.source.data, form.year.data),
    )
    if ok:
        flash(_("已复制%(count)s个目标。", count=copied), "success")
        return redirect(url_for("targets.target_list", year=form.year.data))
    return redirect(url_for("targets.target_list", year=form.source.data))
