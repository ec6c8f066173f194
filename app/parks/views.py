"""Admin pages for parks, chains and chain links."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app.auth.decorators import admin_required
from app.core.db import check_version
from app.core.i18n import gettext as _
from app.core.web import attempt
from app.extensions import db
from app.parks.forms import ChainForm, LinkForm, ParkForm
from app.parks.models import Chain, ChainLink, Park
from app.parks.services import (
    list_chains,
    list_parks,
    save_chain,
    save_link,
    save_park,
)

bp = Blueprint("parks", __name__, url_prefix="/admin")


def _save(form, save, success_url: str, record=None, **extra):
    """Validate, check the version, call the service, commit once; return a redirect or None."""
    if not form.validate_on_submit():
        return None

    def _check_and_save():
        if record is not None:
            check_version(record, request.form.get("version"))
        fields = {k: v for k, v in form.data.items() if k not in ("csrf_token", "version")}
        return save(db.session, *extra.values(), record, **fields)

    ok, _result = attempt(form, _check_and_save)
    if not ok:
        return None
    flash(_("已保存。"), "success")
    return redirect(success_url)


@bp.route("/parks")
@admin_required
def park_list():
    return render_template("parks/park_list.html", parks=list_parks(db.session))


@bp.route("/parks/new", methods=["GET", "POST"])
@bp.route("/parks/<int:park_id>", methods=["GET", "POST"])
@admin_required
def park_edit(park_id: int | None = None):
    park = db.get_or_404(Park, park_id) if park_id else None
    form = ParkForm(obj=park)
    if park is not None and request.method == "GET":
        form.version.data = str(park.version)
    return _save(form, save_park, url_for("parks.park_list"), park) or render_template(
        "parks/park_form.html", form=form, park=park
    )


@bp.route("/chains")
@admin_required
def chain_list():
    return render_template("parks/chain_list.html", chains=list_chains(db.session))


@bp.route("/chains/new", methods=["GET", "POST"])
@bp.route("/chains/<int:chain_id>", methods=["GET", "POST"])
@admin_required
def chain_edit(chain_id: int | None = None):
    chain = db.get_or_404(Chain, chain_id) if chain_id else None
    form = ChainForm(obj=chain)
    if chain is not None and request.method == "GET":
        form.version.data = str(chain.version)
    return _save(form, save_chain, url_for("parks.chain_list"), chain) or render_template(
        "parks/chain_form.html", form=form, chain=chain
    )


@bp.route("/chains/<int:chain_id>/links/new", methods=["GET", "POST"])
@bp.route("/chains/<int:chain_id>/links/<int:link_id>", methods=["GET", "POST"])
@admin_required
def link_edit(chain_id: int, link_id: int | None = None):
    chain = db.get_or_404(Chain, chain_id)
    link = None
    if link_id:
        link = db.get_or_404(ChainLink, link_id)
        if link.chain_id != chain.id:
            abort(404)
    form = LinkForm(obj=link)
    if link is not None and request.method == "GET":
        form.version.data = str(link.version)
    return _save(
        form, save_link, url_for("parks.chain_list"), link, chain=chain
    ) or render_template("parks/link_form.html", form=form, chain=chain, link=link)
