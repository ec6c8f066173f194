"""Helpers shared by the pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import func, select


@pytest.fixture
def ctx(app: Flask, session: Any) -> Iterator[None]:
    """A request context for service calls: messages are translated per request (locale)."""
    with app.test_request_context():
        yield


def count(session: Any, model: Any, *where: Any) -> int:
    """Return the number of rows of *model* matching *where*."""
    return session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(session: Any) -> None:
    """Make the next request start as a real one would: nothing cached from earlier requests.

    The test client's requests share the test's application context (and so ``g``) and the
    test's database session, where every object created by a factory is already loaded.
    """
    session.flush()
    session.expunge_all()
    for key in ("_login_user", "thresholds", "_flask_babel"):
        g.pop(key, None)
