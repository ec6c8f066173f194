"""Fixtures of the API tests: a personal token per user, and a client that sends it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.auth.models import User
from tests.api.helpers import ApiClient, make_token


@pytest.fixture
def api_as(client: FlaskClient, session: Any) -> Any:
    """``api_as(user)`` returns a client calling the API with a fresh token of *user*;
    ``api_as(None)`` one without any token."""

    def _as(user: User | None) -> ApiClient:
        return ApiClient(client, make_token(session, user) if user is not None else None)

    return _as
