"""The token page: a user creates, lists and revokes his own API tokens (/profile/tokens)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.api import tokens
from app.api.forms import RevokeForm, TokenForm
from app.api.models import ApiToken
from app.core.i18n import gettext as _
from app.core.timeutil import now_utc
from app.core.web import attempt
from app.extensions import db

bp = Blueprint("api_tokens", __name__, url_prefix="/profile/tokens")


def _render(form: TokenForm, created: str | None = None, status: int = 200):
    return (
        render_template(
            "api/tokens.html",
            form=form,
            revoke_form=RevokeForm(),
            tokens=tokens.list_tokens(db.session, current_user),
            created=created,
            now=now_utc(),
        ),
        status,
    )


@bp.route("", methods=["GET", "POST"])
@login_required
def token_list():
    form = TokenForm()
    if form.validate_on_submit():
        ok, result = attempt(
            form,
            lambda: tokens.create_token(
                db.session, current_user, name=form.name.data, days=form.days.data or None
            ),
        )
        if ok and result is not None:
            # Shown once, in this response only: never flashed (the session is a cookie).
            flash(_("已创建令牌。请立即复制保存，离开本页后将无法再次查看。"), "success")
            return _render(TokenForm(formdata=None), created=result[1])
    return _render(form)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def token_revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if RevokeForm().validate_on_submit():
        ok, _result = attempt(None, lambda: tokens.revoke_token(db.session, current_user, token))
        if ok:
            flash(_("已撤销令牌“%(name)s”。", name=token.name), "success")
    return redirect(url_for(".token_list"))
