"""Every route of the URL map, as every role and ownership case, against one declared table.

A route missing from ACCESS fails the test, so a new page cannot ship without a rule. The
record used for record pages belongs to `officer` in park A; `officer2` is a stranger to it,
`manager` runs park A and `manager2` runs park B.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from app.api.models import ApiToken
from app.api.tokens import create_token
from app.pipeline.lifecycle import Stage
from app.pipeline.models import StageProposal
from app.targets.models import AnnualTarget, Metric
from tests.factories import (
    ContactLogFactory,
    EnterpriseContactFactory,
    LeadFactory,
    ProjectFactory,
)

CASES = ("anonymous", "officer", "officer2", "manager", "manager2", "leader", "admin")

OK, LOGIN, FORBIDDEN, HIDDEN = "ok", "login", "403", "404"


def rule(**by_case: str) -> dict[str, str]:
    """Build a row: the default for logged-in cases is OK, anonymous is sent to the login page."""
    row = {case: OK for case in CASES}
    row["anonymous"] = LOGIN
    row.update(by_case)
    return row


ANY_USER = rule()
CREATORS = rule(leader=FORBIDDEN)
ADMIN_ONLY = rule(
    **{c: FORBIDDEN for c in ("officer", "officer2", "manager", "manager2", "leader")}
)
RECORD_VIEW = rule(officer2=HIDDEN, manager2=HIDDEN)
RECORD_EDIT = rule(officer2=HIDDEN, manager2=HIDDEN, leader=FORBIDDEN)
RECORD_MANAGE = rule(officer=FORBIDDEN, officer2=HIDDEN, manager2=HIDDEN, leader=FORBIDDEN)
MANAGERS = rule(officer=FORBIDDEN, officer2=FORBIDDEN, leader=FORBIDDEN)
# Leaders, admins and park managers (their own parks); officers work from their lists.
COCKPIT = rule(officer=FORBIDDEN, officer2=FORBIDDEN)
# A stored upload belongs to its uploader: any other token is 404 for those who may import.
UPLOAD_TOKEN = rule(**{c: HIDDEN for c in CASES[1:] if c != "leader"}, leader=FORBIDDEN)

# endpoint -> method -> case -> expected outcome
ACCESS: dict[str, dict[str, dict[str, str]]] = {
    "auth.index": {"GET": ANY_USER},
    "auth.login": {"GET": rule(anonymous=OK), "POST": rule(anonymous=OK)},
    # Logging out always ends on the login page.
    "auth.logout": {"POST": {case: LOGIN for case in CASES}},
    "auth.profile": {"GET": ANY_USER, "POST": ANY_USER},
    "auth.set_language": {"POST": rule(anonymous=OK)},
    # The lists' owner filter; officers have none (they see only their own records).
    "auth.owner_suggest": {"GET": rule(officer=FORBIDDEN, officer2=FORBIDDEN)},
    "auth.user_list": {"GET": ADMIN_ONLY},
    "auth.user_create": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "auth.user_edit": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "auth.user_password": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "auth.user_unlock": {"POST": ADMIN_ONLY},
    "parks.park_list": {"GET": ADMIN_ONLY},
    "parks.park_edit": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "parks.chain_list": {"GET": ADMIN_ONLY},
    "parks.chain_edit": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "parks.link_edit": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "enterprises.enterprise_list": {"GET": ANY_USER},
    "enterprises.enterprise_detail": {"GET": ANY_USER},
    "enterprises.enterprise_create": {"GET": CREATORS, "POST": CREATORS},
    "enterprises.enterprise_edit": {"GET": CREATORS, "POST": CREATORS},
    "enterprises.person_create": {"GET": CREATORS, "POST": CREATORS},
    "enterprises.person_edit": {"GET": CREATORS, "POST": CREATORS},
    "enterprises.person_delete": {"POST": CREATORS},
    "pipeline.my_work": {"GET": rule(leader=FORBIDDEN, admin=FORBIDDEN)},
    "pipeline.lead_list": {"GET": ANY_USER},
    "pipeline.project_list": {"GET": ANY_USER},
    "pipeline.lead_create": {"GET": CREATORS, "POST": CREATORS},
    "pipeline.record_detail": {"GET": RECORD_VIEW},
    "pipeline.lead_edit": {"GET": RECORD_EDIT, "POST": RECORD_EDIT},
    "pipeline.project_edit": {"GET": RECORD_EDIT, "POST": RECORD_EDIT},
    "pipeline.project_create": {"GET": RECORD_EDIT, "POST": RECORD_EDIT},
    "pipeline.record_contact": {"POST": RECORD_EDIT},
    # The scene's contact was logged by `officer`, who owns the record (a stranger's contact is
    # refused to officers: tests/pipeline/test_contact_changes.py).
    "pipeline.record_contact_edit": {"GET": RECORD_EDIT, "POST": RECORD_EDIT},
    "pipeline.record_contact_delete": {"POST": RECORD_EDIT},
    "pipeline.record_stage": {"POST": RECORD_EDIT},
    "pipeline.record_next_step_done": {"POST": RECORD_EDIT},
    "pipeline.record_reassign": {"POST": RECORD_MANAGE},
    "pipeline.board": {"GET": rule(officer=FORBIDDEN, officer2=FORBIDDEN)},
    "pipeline.proposal_list": {"GET": MANAGERS},
    "pipeline.proposal_decide": {
        "POST": rule(officer=FORBIDDEN, officer2=FORBIDDEN, leader=FORBIDDEN, manager2=HIDDEN)
    },
    "pipeline.thresholds": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "digests.preferences": {"GET": ANY_USER, "POST": ANY_USER},
    "digests.preview": {"GET": ANY_USER},
    "digests.admin_deliveries": {"GET": ADMIN_ONLY},
    "digests.admin_retry": {"POST": ADMIN_ONLY},
    "ledger.import_upload": {"GET": CREATORS, "POST": CREATORS},
    # Uploads are stored per user: an unknown token is 404 for everyone allowed to import.
    "ledger.import_apply": {"POST": UPLOAD_TOKEN},
    "ledger.import_report": {"GET": UPLOAD_TOKEN},
    "ledger.export": {"GET": ANY_USER},
    "ledger.reports": {"GET": ANY_USER},
    "ledger.report_download": {"GET": ANY_USER},
    # The cockpit and chain map (app/cockpit); annual targets (app/targets).
    "cockpit.index": {"GET": COCKPIT},
    "cockpit.chain_map": {"GET": COCKPIT},
    "targets.target_list": {"GET": ADMIN_ONLY},
    "targets.target_edit": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "targets.target_delete": {"POST": ADMIN_ONLY},
    "targets.target_copy": {"POST": ADMIN_ONLY},
}

# --- The JSON API (app/api) ---------------------------------------------------------------------
# API calls carry the case user's bearer token (see `api_token` in the scene) instead of a login,
# and write with a JSON body; without a token (anonymous) the answer is 401. The token pages and
# the documentation are ordinary pages.
UNAUTHORIZED = "401"
API_BLUEPRINTS = ("api_enterprises", "api_leads", "api_projects", "api_reference", "api_pipeline")


def api_rule(**by_case: str) -> dict[str, str]:
    return {**rule(**by_case), "anonymous": UNAUTHORIZED}


API_ANY = api_rule()
API_CREATORS = api_rule(leader=FORBIDDEN)
API_RECORD_VIEW = api_rule(officer2=HIDDEN, manager2=HIDDEN)
API_RECORD_EDIT = api_rule(officer2=HIDDEN, manager2=HIDDEN, leader=FORBIDDEN)
API_RECORD_MANAGE = api_rule(officer=FORBIDDEN, officer2=HIDDEN, manager2=HIDDEN, leader=FORBIDDEN)
PUBLIC = {case: OK for case in CASES}
ACCESS.update(
    {
        "api-docs.openapi_json": {"GET": PUBLIC},
        "api_docs.docs": {"GET": PUBLIC},
        "api_tokens.token_list": {"GET": ANY_USER, "POST": ANY_USER},
        # The scene's token belongs to `officer`; anyone else's revoke finds no such token.
        "api_tokens.token_revoke": {"POST": rule(**{c: HIDDEN for c in CASES[2:]})},
        "api_enterprises.enterprise_list": {"GET": API_ANY, "POST": API_CREATORS},
        "api_enterprises.enterprise_item": {"GET": API_ANY, "PATCH": API_CREATORS},
        "api_enterprises.person_list": {"POST": API_CREATORS},
        "api_enterprises.person_item": {"PATCH": API_CREATORS, "DELETE": API_CREATORS},
        "api_leads.lead_list": {"GET": API_ANY, "POST": API_CREATORS},
        "api_leads.lead_item": {"GET": API_RECORD_VIEW, "PATCH": API_RECORD_EDIT},
        "api_leads.lead_projects": {"POST": API_RECORD_EDIT},
        "api_leads.lead_owner": {"PUT": API_RECORD_MANAGE},
        "api_leads.lead_contacts": {"GET": API_RECORD_VIEW, "POST": API_RECORD_EDIT},
        "api_leads.lead_contact": {"PATCH": API_RECORD_EDIT, "DELETE": API_RECORD_EDIT},
        "api_leads.lead_stage_changes": {"GET": API_RECORD_VIEW, "POST": API_RECORD_EDIT},
        "api_projects.project_list": {"GET": API_ANY},
        "api_projects.project_item": {"GET": API_RECORD_VIEW, "PATCH": API_RECORD_EDIT},
        "api_projects.project_owner": {"PUT": API_RECORD_MANAGE},
        "api_projects.project_contacts": {"GET": API_RECORD_VIEW, "POST": API_RECORD_EDIT},
        "api_projects.project_contact": {"PATCH": API_RECORD_EDIT, "DELETE": API_RECORD_EDIT},
        "api_projects.project_stage_changes": {"GET": API_RECORD_VIEW, "POST": API_RECORD_EDIT},
        "api_reference.park_list": {"GET": API_ANY},
        "api_reference.park_item": {"GET": API_ANY},
        "api_reference.chain_list": {"GET": API_ANY},
        "api_reference.chain_item": {"GET": API_ANY},
        "api_pipeline.board": {"GET": api_rule(officer=FORBIDDEN, officer2=FORBIDDEN)},
        "api_pipeline.proposal_list": {
            "GET": api_rule(officer=FORBIDDEN, officer2=FORBIDDEN, leader=FORBIDDEN)
        },
        "api_pipeline.proposal_decide": {
            "POST": api_rule(
                officer=FORBIDDEN, officer2=FORBIDDEN, leader=FORBIDDEN, manager2=HIDDEN
            )
        },
    }
)

SKIPPED = {"static"}


def _routes() -> list[tuple[str, str, frozenset[str], dict[str, Any]]]:
    """Every (endpoint, rule, arguments, fixed values); `kind` routes appear once per kind."""
    from app import create_app

    app = create_app("testing")
    out = []
    for r in app.url_map.iter_rules():
        if r.endpoint in SKIPPED:
            continue
        arguments = frozenset(r.arguments - set(r.defaults or {}))
        for kind in ("leads", "projects") if "kind" in arguments else (None,):
            out.append((r.endpoint, r.rule, arguments, {"kind": kind} if kind else {}))
    return out


ROUTES = _routes()


def test_every_route_has_a_rule() -> None:
    endpoints = {route[0] for route in ROUTES}
    missing = sorted(endpoints - set(ACCESS))
    assert not missing, f"routes without an access rule: {missing}"
    stale = sorted(set(ACCESS) - endpoints)
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.fixture
def scene(world: Any, session: Any) -> dict[str, Any]:
    lead = LeadFactory(owner=world.officer, park=world.park_a, chain_link=world.link)
    project = ProjectFactory(lead=lead)
    person = EnterpriseContactFactory(enterprise=lead.enterprise)
    # Logged on the project, so that the lead's page and the project's both show it.
    contact = ContactLogFactory(lead=lead, project_id=project.id, created_by_id=world.officer.id)
    proposal = StageProposal(
        lead_id=lead.id,
        park_id=lead.park_id,
        from_stage=Stage.LEAD,
        to_stage=Stage.CONTACTED,
        effective_on=dt.date.today(),
        proposed_by_id=world.officer.id,
    )
    session.add(proposal)
    target = AnnualTarget(year=2026, metric=Metric.SIGNED, goal_count=10)
    session.add(target)
    session.flush()
    users = {
        "officer": world.officer,
        "officer2": world.other_officer,
        "manager": world.manager,
        "manager2": world.other_manager,
        "leader": world.leader,
        "admin": world.admin,
    }
    # The API (app/api): each user's bearer token, and the officer's token row for its pages.
    api_tokens = {case: create_token(session, user, name=case)[1] for case, user in users.items()}
    officer_token = session.scalar(select(ApiToken).where(ApiToken.user_id == world.officer.id))
    values = {
        "lead_id": lead.id,
        "project_id": project.id,
        "token_id": officer_token.id,
        "user_id": world.officer.id,
        "park_id": world.park_a.id,
        "chain_id": world.chain.id,
        "link_id": world.link.id,
        "enterprise_id": lead.enterprise_id,
        "person_id": person.id,
        "contact_id": contact.id,
        "proposal_id": proposal.id,
        "target_id": target.id,
        "decision": "confirm",
        "code": "en",
        "token": "x" * 32,
        "fmt": "xlsx",
    }
    return {
        "users": users,
        "values": values,
        "lead": lead,
        "project": project,
        "api_tokens": api_tokens,
    }


def _url(endpoint: str, arguments: frozenset[str], fixed: dict[str, Any], scene: dict) -> str:
    from flask import url_for

    values = {k: v for k, v in scene["values"].items() if k in arguments}
    values.update(fixed)
    if "record_id" in arguments:
        on_project = fixed.get("kind") == "projects" or endpoint == "pipeline.project_edit"
        values["record_id"] = scene["project" if on_project else "lead"].id
    return url_for(endpoint, **values)


def _outcome(response: Any) -> str:
    if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
        return LOGIN
    if response.status_code in (401, 403, 404):
        return str(response.status_code)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    return OK


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    ("endpoint", "rule_text", "arguments", "fixed"),
    ROUTES,
    ids=[f"{e}{'-' + f['kind'] if f else ''}:{r}" for e, r, _, f in ROUTES],
)
def test_access(
    app: Any,
    client: Any,
    login_as: Any,
    scene: dict[str, Any],
    case: str,
    endpoint: str,
    rule_text: str,
    arguments: frozenset[str],
    fixed: dict[str, Any],
) -> None:
    expected = ACCESS[endpoint]
    on_api = endpoint.split(".")[0] in API_BLUEPRINTS
    if case != "anonymous" and not on_api:
        login_as(scene["users"][case])
    with app.test_request_context():
        url = _url(endpoint, arguments, fixed, scene)
    for method, by_case in expected.items():
        if on_api:
            token = scene["api_tokens"].get(case)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {} if method == "GET" else {"json": {}}
            response = client.open(url, method=method, headers=headers, **body)
        else:
            response = client.open(url, method=method, data={})
        assert _outcome(response) == by_case[case], f"{method} {url} as {case}"
