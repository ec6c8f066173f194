"""Login, logout, the user's own profile, and the admin's user pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.auth.decorators import admin_required, roles_required
from app.auth.forms import LoginForm, PasswordForm, ResetPasswordForm, UserForm
from app.auth.models import Role, User
from app.auth.services import (
    authenticate,
    create_user,
    set_password,
    suggest_owners,
    update_user,
)
from app.auth.throttle import account_locked_until, unlock_account
from app.core.db import SAME_PLAN, check_version
from app.core.forms import as_choices
from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.core.web import attempt, is_safe_next
from app.extensions import db, login_manager
from app.parks.models import Park

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("请先登录。")
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session or remember-me cookie, while it is still valid.

    The stored id is "user id:session version" (`User.get_id`): a session from before a password
    change, or of a disabled account, is refused at once and its holder must log in again.
    """
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id), execution_options=SAME_PLAN)
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def home_url() -> str:
    """Return the page a user starts on after login."""
    if current_user.role is Role.OFFICER:
        return url_for("pipeline.my_work")
    if current_user.role is Role.MANAGER:
        return url_for("pipeline.board")
    return url_for("pipeline.lead_list")


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_url())


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(db.session, form.username.data, form.password.data)
        if user is None:
            form.password.errors.append(_("用户名或密码错误，或账号已停用。"))
        else:
            session.clear()
            login_user(user, remember=form.remember.data)
            db.session.commit()
            target = form.next.data
            return redirect(target if is_safe_next(target) else home_url())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = PasswordForm()
    if form.validate_on_submit():
        if authenticate(db.session, current_user.username, form.current_password.data) is None:
            form.current_password.errors.append(_("当前密码不正确。"))
        else:
            ok, _result = attempt(form, lambda: set_password(current_user, form.password.data))
            if ok:
                # Every other session of the user ended; this one continues under the new id.
                login_user(current_user._get_current_object())
                flash(_("密码已修改。"), "success")
                return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    from flask import current_app

    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("auth.index"))


@bp.route("/owners/suggest")
@roles_required(Role.MANAGER, Role.LEADER, Role.ADMIN)
def owner_suggest():
    """Typeahead of the lists' owner filter (officers see only their own records) and, with
    ``park``, of the new owner of a record of that park."""
    park_id = request.args.get("park", type=int)
    found = suggest_owners(db.session, request.args.get("q", ""), park_id=park_id)
    return {
        "results": [
            {"id": o.id, "name": o.name, "label": o.label, "active": o.active} for o in found
        ]
    }


# --- admin: users ---------------------------------------------------------------------------


def _park_choices() -> list:
    parks = db.session.scalars(select(Park).order_by(Park.sort_order, Park.id))
    return as_choices((p.id, p.name) for p in parks)


@bp.route("/admin/users")
@admin_required
def user_list():
    users = db.session.scalars(
        select(User).options(selectinload(User.parks)).order_by(User.role, User.username)
    ).all()
    return render_template("auth/user_list.html", users=users)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def user_create():
    form = UserForm()
    form.parks.choices = _park_choices()
    if form.validate_on_submit():
        parks = db.session.scalars(select(Park).where(Park.id.in_(form.parks.data or []))).all()
        ok, user = attempt(
            form,
            lambda: create_user(
                db.session,
                username=form.username.data,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                password=form.password.data or "",
                park_codes=[p.code for p in parks],
                email=form.email.data,
                phone=form.phone.data,
            ),
        )
        if ok:
            flash(_("已创建账号 %(name)s。", name=user.username), "success")
            return redirect(url_for("auth.user_list"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.parks.choices = _park_choices()
    if request.method == "GET":
        form.parks.data = [p.id for p in user.parks]
        form.role.data = user.role.value
        form.version.data = str(user.version)
    del form.password
    form.username.data = user.username
    if form.validate_on_submit():
        parks = list(db.session.scalars(select(Park).where(Park.id.in_(form.parks.data or []))))

        def _check_and_save() -> User:
            check_version(user, request.form.get("version"))
            return update_user(
                db.session,
                user,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                parks=parks,
                email=form.email.data,
                phone=form.phone.data,
                active=form.active.data,
                acting=current_user,
            )

        ok, _result = attempt(form, _check_and_save)
        if ok:
            flash(_("已保存。"), "success")
            return redirect(url_for("auth.user_list"))
    return render_template(
        "auth/user_form.html",
        form=form,
        user=user,
        locked_until=account_locked_until(current_app, user.username),
        unlock_form=FlaskForm(),
    )


@bp.route("/admin/users/<int:user_id>/unlock", methods=["POST"])
@admin_required
def user_unlock(user_id: int):
    """Let an account locked by failed logins in again before its lock runs out."""
    user = db.get_or_404(User, user_id)
    if FlaskForm().validate_on_submit():
        unlock_account(current_app, user.username)
        current_app.logger.info(
            "login lock of %s lifted by %s", user.username, current_user.username
        )
        flash(_("已解除 %(name)s 的登录锁定。", name=user.username), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        ok, _result = attempt(form, lambda: set_password(user, form.password.data))
        if ok:
            flash(_("已为 %(name)s 设置新密码。", name=user.username), "success")
            return redirect(url_for("auth.user_list"))
    return render_template("auth/user_password.html", form=form, user=user)
