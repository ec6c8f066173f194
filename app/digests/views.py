"""Pages of the weekly digest: each user's choice and preview, and the admin's delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth.decorators import admin_required
from app.core.i18n import gettext as _
from app.core.web import commit
from app.digests.content import build_digest
from app.digests.delivery import (
    preference_of,
    recent_weeks,
    retry_failed,
    save_preference,
    unsent_rows,
)
from app.digests.forms import PreferenceForm, RetryForm
from app.digests.models import DeliveryStatus
from app.digests.render import render_digest
from app.digests.weeks import IsoWeek
from app.extensions import db

bp = Blueprint("digests", __name__)


@bp.route("/digests/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    stored = preference_of(db.session, current_user.id)
    form = PreferenceForm(obj=stored)
    if form.validate_on_submit():
        save_preference(
            db.session,
            current_user.id,
            enabled=form.enabled.data,
            send_when_empty=form.send_when_empty.data,
        )
        if commit():
            flash(_("周报设置已保存。"), "success")
        return redirect(url_for("digests.preferences"))
    return render_template(
        "digests/preferences.html",
        form=form,
        week=IsoWeek.last_completed(),
        has_email=bool(current_user.email),
    )


@bp.route("/digests/preview")
@login_required
def preview():
    """The HTML of the digest the user would receive for a week (default: the last one)."""
    try:
        week = IsoWeek.parse(request.args.get("week", "")) if request.args.get("week") else None
    except ValueError:
        abort(404)
    week = week or IsoWeek.last_completed()
    digest = build_digest(db.session, current_user, week, current_app.config["BASE_URL"])
    return render_digest(digest).html


@bp.route("/admin/digests")
@admin_required
def admin_deliveries():
    weeks = recent_weeks(db.session)
    try:
        chosen = IsoWeek.parse(request.args["week"]) if request.args.get("week") else None
    except ValueError:
        chosen = None
    week = chosen or (weeks[0][0] if weeks else IsoWeek.last_completed())
    rows = unsent_rows(db.session, week)
    return render_template(
        "digests/admin_deliveries.html",
        weeks=weeks,
        week=week,
        rows=rows,
        statuses=list(DeliveryStatus),
        retry_form=RetryForm(),
    )


@bp.route("/admin/digests/retry", methods=["POST"])
@admin_required
def admin_retry():
    form = RetryForm()
    week = request.args.get("week")
    target = url_for("digests.admin_deliveries", week=week) if week else None
    target = target or url_for("digests.admin_deliveries")
    if not form.validate_on_submit() or not (form.delivery_id.data or "").isdigit():
        flash(_("没有找到要重新发送的记录。"), "warning")
        return redirect(target)
    if retry_failed(db.session, int(form.delivery_id.data)):
        if commit():
            flash(_("已重新排队，将在下一次发送任务中发出。"), "success")
    else:
        db.session.rollback()
        flash(_("该记录不是“发送失败”状态，无需重发。"), "warning")
    return redirect(target)
