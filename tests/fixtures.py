"""Shared fixtures: a small world of parks, chains and one user per role, and logins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.auth.models import Role, User
from app.parks.models import Chain, ChainLink, Park
from tests.factories import (
    PASSWORD,
    ChainFactory,
    ChainLinkFactory,
    ParkFactory,
    UserFactory,
)


@dataclass
class World:
    park_a: Park
    park_b: Park
    chain: Chain
    link: ChainLink
    officer: User
    other_officer: User
    manager: User
    other_manager: User
    leader: User
    admin: User


@pytest.fixture
def world(session: Any) -> World:
    park_a = ParkFactory(code="IC", name="集成电路产业园")
    park_b = ParkFactory(code="DISPLAY", name="新型显示产业园")
    chain = ChainFactory(code="CHIP", name="芯")
    link = ChainLinkFactory(chain=chain, name="芯片设计", position=2)
    return World(
        park_a=park_a,
        park_b=park_b,
        chain=chain,
        link=link,
        officer=UserFactory(username="officer", full_name="张专员", role=Role.OFFICER),
        other_officer=UserFactory(username="officer2", full_name="李专员", role=Role.OFFICER),
        manager=UserFactory(
            username="manager", full_name="王主任", role=Role.MANAGER, parks=[park_a]
        ),
        other_manager=UserFactory(
            username="manager2", full_name="赵主任", role=Role.MANAGER, parks=[park_b]
        ),
        leader=UserFactory(username="leader", full_name="刘局长", role=Role.LEADER),
        admin=UserFactory(username="admin", full_name="管理员", role=Role.ADMIN),
    )


def login(client: FlaskClient, user: User) -> FlaskClient:
    """Log *user* in through the real login form."""
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    """``login_as(user)`` logs the test client in as *user* and returns it."""

    def _login(user: User) -> FlaskClient:
        client.get("/", follow_redirects=False)
        with client.session_transaction() as sess:
            sess.clear()
        return login(client, user)

    return _login
