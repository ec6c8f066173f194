"""A new password or a disabled account ends the user's existing sessions at once.

Each login session (and remember-me cookie) carries "user id:session version"; raising the
version refuses every session made before it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient

from app.auth.services import set_password, update_user
from tests.factories import PASSWORD
from tests.fixtures import login

NEW_PASSWORD = "Neu-Passw0rt"


def _logged_in(client: FlaskClient) -> bool:
    # The test's app context (and so `g`) outlives requests: forget the user Flask-Login loaded
    # for another client, so that this request loads its own from the session.
    g.pop("_login_user", None)
    return client.get("/profile").status_code == 200


def _second_client(app: Flask, user: Any) -> FlaskClient:
    return login(app.test_client(), user)


def test_the_session_keeps_the_user_and_his_session_version(login_as: Any, world: Any) -> None:
    client = login_as(world.officer)

    with client.session_transaction() as sess:
        assert sess["_user_id"] == f"{world.officer.id}:{world.officer.session_version}"


def test_an_admin_setting_a_new_password_ends_the_users_sessions(
    app: Flask, login_as: Any, session: Any, world: Any
) -> None:
    officer = _second_client(app, world.officer)
    assert _logged_in(officer)
    admin = login_as(world.admin)
    assert _logged_in(admin)

    response = admin.post(
        f"/admin/users/{world.officer.id}/password", data={"password": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert not _logged_in(officer)
    g.pop("_login_user", None)
    assert officer.get("/leads").headers["Location"].startswith("/login")


def test_changing_ones_own_password_ends_the_other_sessions_but_not_this_one(
    app: Flask, login_as: Any, world: Any
) -> None:
    phone = _second_client(app, world.officer)
    desk = login_as(world.officer)
    assert _logged_in(desk)

    response = desk.post(
        "/profile",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert _logged_in(desk)
    assert not _logged_in(phone)


def test_disabling_an_account_ends_its_sessions(app: Flask, session: Any, world: Any) -> None:
    officer = _second_client(app, world.officer)
    version = world.officer.session_version

    update_user(
        session,
        world.officer,
        full_name=world.officer.full_name,
        role=world.officer.role,
        parks=[],
        email=None,
        phone=None,
        active=False,
        acting=world.admin,
    )
    session.flush()

    assert not _logged_in(officer)
    # Enabling the account again does not bring the old sessions back.
    world.officer.active = True
    session.flush()
    assert world.officer.session_version == version + 1
    assert not _logged_in(officer)


def test_a_remember_me_cookie_is_refused_after_a_new_password(
    client: FlaskClient, session: Any, world: Any
) -> None:
    response = client.post(
        "/login", data={"username": "officer", "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    # The browser was closed: the session cookie is gone, the remember-me cookie stays.
    client.delete_cookie("session", domain="crm.test")
    assert _logged_in(client)
    client.delete_cookie("session", domain="crm.test")

    set_password(world.officer, NEW_PASSWORD)
    session.flush()

    assert not _logged_in(client)


def test_a_session_without_a_version_is_refused(client: FlaskClient, world: Any) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = str(world.officer.id)
        sess["_fresh"] = True

    assert not _logged_in(client)


def test_a_hash_upgrade_at_login_does_not_end_sessions(
    app: Flask, session: Any, world: Any
) -> None:
    from argon2 import PasswordHasher

    from app.auth.services import authenticate

    old_hash = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    world.officer.password_hash = old_hash
    session.flush()
    first = _second_client(app, world.officer)
    version = world.officer.session_version

    assert authenticate(session, "officer", PASSWORD) is world.officer
    session.flush()

    assert world.officer.password_hash != old_hash

    assert world.officer.session_version == version
    assert _logged_in(first)
