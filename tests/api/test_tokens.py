"""Personal API tokens: stored hashed, shown once, optional expiry, revocable, audited, and
acting exactly as their owner; cookie sessions never open the API."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from app import create_app
from app.api import tokens
from app.api.models import ApiToken
from app.core.audit import AuditLog
from app.extensions import db
from tests.api.helpers import ApiClient, error, make_token
from tests.factories import LeadFactory


def test_a_token_is_stored_only_as_its_hash(session: Any, world: Any) -> None:
    row, text = tokens.create_token(session, world.officer, name="手机客户端", days=30)
    assert text.startswith(f"crm_{row.prefix}_") and len(text) > 40
    assert row.secret_hash == hashlib.sha256(text.encode()).hexdigest()
    stored = session.execute(select(ApiToken.__table__)).mappings().one()
    assert text not in {str(v) for v in stored.values()}
    assert row.expires_at is not None and row.expires_at - row.created_at == dt.timedelta(days=30)


def test_authenticate_refuses_wrong_expired_revoked_and_inactive(session: Any, world: Any) -> None:
    row, text = tokens.create_token(session, world.officer, name="a")
    assert tokens.authenticate(session, text) == (row, world.officer)
    for wrong in ("", "crm_", text[:-1] + ("x" if text[-1] != "x" else "y"), "Bearer " + text):
        assert tokens.authenticate(session, wrong) is None
    row.expires_at = row.created_at - dt.timedelta(seconds=1)
    assert tokens.authenticate(session, text) is None
    row.expires_at = None
    tokens.revoke_token(session, world.officer, row)
    assert tokens.authenticate(session, text) is None

    _row2, text2 = tokens.create_token(session, world.manager, name="b")
    world.manager.active = False
    session.flush()
    assert tokens.authenticate(session, text2) is None


def test_names_and_lifetimes_are_checked(app: Any, session: Any, world: Any) -> None:
    with app.test_request_context():
        with pytest.raises(tokens.TokenError, match="请填写令牌名称"):
            tokens.create_token(session, world.officer, name="  ")
        with pytest.raises(tokens.TokenError, match="最多60字"):
            tokens.create_token(session, world.officer, name="长" * 61)
        with pytest.raises(tokens.TokenError, match="有效期"):
            tokens.create_token(session, world.officer, name="x", days=7)


def test_the_page_shows_a_new_token_once_and_revokes_it(
    session: Any, world: Any, login_as: Any
) -> None:
    client = login_as(world.officer)
    page = client.get("/profile")
    assert "/profile/tokens" in page.get_data(as_text=True)

    response = client.post("/profile/tokens", data={"name": "市项目平台", "days": "90"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == world.officer.id))
    assert row.name == "市项目平台"
    shown = html.split('id="new-token"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert tokens.authenticate(session, shown) == (row, world.officer)

    again = client.get("/profile/tokens").get_data(as_text=True)
    assert shown not in again and row.display in again

    ok = ApiClient(client, shown).get("/api/v1/parks")
    assert ok.status_code == 200

    client.post(f"/profile/tokens/{row.id}/revoke")
    assert row.revoked_at is not None
    refused = ApiClient(client, shown).get("/api/v1/parks")
    assert refused.status_code == 401

    audit = session.scalars(
        select(AuditLog).where(AuditLog.entity == "api_token", AuditLog.entity_id == row.id)
    ).all()
    assert [a.action for a in audit][:1] == ["create"]
    assert any(a.field == "revoked_at" and a.actor_id == world.officer.id for a in audit)
    assert all(a.field != "secret_hash" for a in audit)


def test_a_user_cannot_revoke_someone_elses_token(session: Any, world: Any, login_as: Any) -> None:
    row, _text = tokens.create_token(session, world.other_officer, name="他人的")
    client = login_as(world.officer)
    assert client.post(f"/profile/tokens/{row.id}/revoke").status_code == 404
    assert row.revoked_at is None


def test_the_form_shows_its_errors(session: Any, world: Any, login_as: Any) -> None:
    client = login_as(world.officer)
    response = client.post("/profile/tokens", data={"name": "", "days": "90"})
    assert "请填写令牌名称" in response.get_data(as_text=True)
    assert session.scalar(select(ApiToken)) is None


# --- authentication ------------------------------------------------------------------------------


def test_without_a_token_the_api_answers_401(api_as: Any) -> None:
    response = api_as(None).get("/api/v1/leads")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error(response)["code"] == "unauthorized"


def test_a_cookie_session_opens_no_api_call(session: Any, world: Any, login_as: Any) -> None:
    client = login_as(world.admin)
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    assert client.get("/api/v1/leads").status_code == 401
    response = client.post(f"/api/v1/leads/{lead.id}/contacts", json={"summary": "x"})
    assert response.status_code == 401
    response = client.get("/api/v1/leads", headers={"Authorization": "Basic YWRtaW46eA=="})
    assert response.status_code == 401


def test_api_writes_need_no_csrf_token_and_pages_still_do(
    app: Any, session: Any, world: Any
) -> None:
    """With CSRF protection on, a token write works without a CSRF token (the API takes no
    cookies), and a page post without one is still refused."""
    strict = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        WTF_CSRF_ENABLED=True,
    )
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    text = make_token(session, world.officer)
    with strict.app_context():
        client = strict.test_client()
        response = ApiClient(client, text).post(
            f"/api/v1/leads/{lead.id}/contacts",
            json={"contact_on": dt.date.today().isoformat(), "summary": "电话沟通"},
        )
        assert response.status_code == 201, response.get_json()
        login_page = client.post("/login", data={"username": "officer", "password": "x"})
        assert login_page.status_code == 400
    db.session.rollback()


def test_the_token_acts_as_its_owner(session: Any, world: Any, api_as: Any) -> None:
    mine = LeadFactory(owner=world.officer, park=world.park_a)
    LeadFactory(owner=world.other_officer, park=world.park_a)
    body = api_as(world.officer).get("/api/v1/leads").get_json()
    assert [item["id"] for item in body["items"]] == [mine.id]


def test_calls_are_audited_as_api_and_stamp_last_use(session: Any, world: Any, client: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    row, text = tokens.create_token(session, world.officer, name="x")
    session.flush()
    response = ApiClient(client, text).patch(
        f"/api/v1/leads/{lead.id}", json={"title": "新名称", "version": lead.version}
    )
    assert response.status_code == 200, response.get_json()
    entry = session.scalar(
        select(AuditLog).where(AuditLog.entity == "lead", AuditLog.field == "title")
    )
    assert (entry.source, entry.actor_id, entry.new_value) == ("api", world.officer.id, "新名称")
    assert row.last_used_at is not None
