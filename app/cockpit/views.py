"""The cockpit and the chain map: leaders and admins see every park, managers their own."""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.auth.decorators import roles_required
from app.auth.models import Role
from app.cockpit.charts import chain_chart, cockpit_charts, list_url, tally_title
from app.cockpit.services import (
    COCKPIT_ROLES,
    CockpitError,
    Scope,
    build_chain_map,
    build_cockpit,
    parks_for,
)
from app.core.timeutil import today_local
from app.extensions import db
from app.parks.services import list_chains
from app.pipeline.flags import current_thresholds
from app.pipeline.stats import COUNTED_EVENTS, REPORT_TIERS
from app.targets.services import describe

bp = Blueprint("cockpit", __name__, url_prefix="/cockpit")

bp.add_app_template_global(list_url, "list_url")
bp.add_app_template_global(tally_title, "tally_title")

cockpit_users = roles_required(*COCKPIT_ROLES)


def _check_park(park_id: int | None) -> None:
    """A manager's cockpit covers his parks only: another park is not found."""
    manager = current_user.role is Role.MANAGER
    if park_id is not None and manager and park_id not in current_user.park_ids:
        abort(404)


@bp.route("/")
@cockpit_users
def index():
    today = today_local()
    try:
        scope = Scope.from_args(request.args, today)
    except CockpitError as exc:
        flash(exc.message, "danger")
        scope = Scope.from_args(MultiDict(), today)
    _check_park(scope.park_id)
    funnel_kind = "projects" if request.args.get("funnel") == "projects" else "leads"
    thresholds = current_thresholds()
    cockpit = build_cockpit(db.session, current_user, scope, thresholds, today, funnel_kind)
    return render_template(
        "cockpit/index.html",
        cockpit=cockpit,
        charts=cockpit_charts(cockpit),
        all_parks=parks_for(db.session, current_user),
        events=COUNTED_EVENTS,
        tiers=REPORT_TIERS,
        describe=describe,
        today=today,
    )


@bp.route("/chains")
@cockpit_users
def chain_map():
    chains = list_chains(db.session)
    if not chains:
        return render_template("cockpit/chains.html", chain_map=None, chains=[], chart=None)
    try:
        chain_id = int(request.args.get("chain", ""))
    except ValueError:
        chain_id = chains[0].id
    chain = next((c for c in chains if c.id == chain_id), None)
    if chain is None:
        abort(404)
    try:
        park_id: int | None = int(request.args.get("park", ""))
    except ValueError:
        park_id = None
    _check_park(park_id)
    chain_map = build_chain_map(
        db.session, current_user, chain, current_thresholds(), today_local(), park_id
    )
    return render_template(
        "cockpit/chains.html",
        chain_map=chain_map,
        chains=chains,
        chart=chain_chart(chain_map),
        all_parks=parks_for(db.session, current_user),
    )
