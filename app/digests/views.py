"""Pages of the weekly digest: each user's choice and preview, and the admin's delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, HiddenField

from app.auth.decorators import admin_required
from app.auth.models import User
from app.core.web import commit
from app.digests.delivery import preference_of, retry_failed
from app.digests.models import DeliveryStatus, DigestDelivery, DigestPreference
from app.digests.weeks import IsoWeek
from app.extensions import db

bp = Blueprint("digests", __name__)


class PreferenceForm(FlaskForm):
    enabled = BooleanField(_l("接收每周周报邮件"))
    send_when_empty = BooleanField(_l("本周没有新内容时，也发送一封简短的“无新内容”周报"))


class RetryForm(FlaskForm):
    delivery_id = HiddenField()


@bp.route("/digests/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    stored = preference_of(db.session, current_user.id)
    form = PreferenceForm(obj=stored)
    if form.validate_on_submit():
        preference = db.session.get(DigestPreference, current_user.id)
        if preference is None:
            preference = DigestPreference(user_id=current_user.id)
            db.session.add(preference)
        preference.enabled = form.enabled.data
        preference.send_when_empty = form.send_when_empty.data
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
    from app.digests.content import build_digest
    from app.digests.render import render_digest

    try:
        week = IsoWeek.parse(request.args.get("week", "")) if request.args.get("week") else None
    except ValueError:
        abort(404)
    week = week or IsoWeek.last_completed()
    digest = build_digest(db.session, current_user, week, current_app.config["BASE_URL"])
    return render_digest(digest).html


def _weeks() -> list[tuple[IsoWeek, dict[DeliveryStatus, int]]]:
    rows = db.session.execute(
        select(
            DigestDelivery.iso_year, DigestDelivery.iso_week, DigestDelivery.status, func.count()
        )
        .group_by(DigestDelivery.iso_year, DigestDelivery.iso_week, DigestDelivery.status)
        .order_by(DigestDelivery.iso_year.desc(), DigestDelivery.iso_week.desc())
    )
    weeks: dict[IsoWeek, dict[DeliveryStatus, int]] = {}
    for year, number, status, count in rows:
        counts = weeks.setdefault(IsoWeek(year, number), dict.fromkeys(DeliveryStatus, 0))
        counts[status] = count
    return sorted(weeks.items(), reverse=True)[:26]


@bp.route("/admin/digests")
@admin_required
def admin_deliveries():
    weeks = _weeks()
    try:
        chosen = IsoWeek.parse(request.args["week"]) if request.args.get("week") else None
    except ValueError:
        chosen = None
    week = chosen or (weeks[0][0] if weeks else IsoWeek.last_completed())
    rows = db.session.execute(
        select(DigestDelivery, User)
        .join(User, User.id == DigestDelivery.user_id)
        .where(
            DigestDelivery.iso_year == week.year,
            DigestDelivery.iso_week == week.week,
            DigestDelivery.status != DeliveryStatus.SENT,
        )
        .order_by(DigestDelivery.status, User.username)
    ).all()
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
